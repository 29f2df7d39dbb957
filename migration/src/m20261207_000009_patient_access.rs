//! What a patient portal may do: which key made a contact (a portal key changes only its
//! own), and patient sessions, the short-lived read-only tokens a portal hands to a browser.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Contacts {
    Table,
    CreatedByKeyId,
}

#[derive(DeriveIden)]
enum PatientSessions {
    Table,
    Id,
    TokenHash,
    MemberId,
    CreatedByKeyId,
    CreatedAt,
    ExpiresAt,
    EndedAt,
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Contacts made before this column existed have none, and so are read-only to portal
        // keys: nothing records which key made them.
        manager
            .alter_table(
                Table::alter().table(Contacts::Table).add_column(uuid_null(Contacts::CreatedByKeyId)).to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PatientSessions::Table)
                    .col(uuid(PatientSessions::Id).primary_key())
                    .col(string_len_uniq(PatientSessions::TokenHash, 64))
                    .col(string_len(PatientSessions::MemberId, 80))
                    .col(uuid(PatientSessions::CreatedByKeyId))
                    .col(timestamp_with_time_zone(PatientSessions::CreatedAt))
                    .col(timestamp_with_time_zone(PatientSessions::ExpiresAt))
                    .col(timestamp_with_time_zone_null(PatientSessions::EndedAt))
                    .to_owned(),
            )
            .await?;
        // Purging expired sessions walks this.
        manager
            .create_index(
                Index::create()
                    .name("idx_patient_sessions_expires_at")
                    .table(PatientSessions::Table)
                    .col(PatientSessions::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(PatientSessions::Table).to_owned()).await?;
        manager
            .alter_table(Table::alter().table(Contacts::Table).drop_column(Contacts::CreatedByKeyId).to_owned())
            .await
    }
}
