//! Claims as X12 837: the files received (with their bytes and the 999 answered), and each
//! claim's loops as they came, kept to write the claim back out. Claims made before this
//! migration (JSON claims) have no detail row; nothing about them changes.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ClaimFiles {
    Table,
    Id,
    Number,
    Kind,
    Format,
    ReceivedAt,
    ApiKeyId,
    ByteSize,
    Sha256,
    ClaimCount,
    CreatedCount,
    RejectedCount,
    DuplicateCount,
    TransactionSets,
    Outcomes,
    Acknowledgment,
}

#[derive(DeriveIden)]
enum ClaimFileBodies {
    Table,
    ClaimFileId,
    ContentType,
    Body,
}

#[derive(DeriveIden)]
enum ClaimDetails {
    Table,
    ClaimId,
    ClaimFileId,
    Format,
    Detail,
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ClaimFiles::Table)
                    .col(uuid(ClaimFiles::Id).primary_key())
                    // The control number of the file's 999 (ISA13, GS06): unique, counting up.
                    .col(big_integer_uniq(ClaimFiles::Number))
                    .col(string_len(ClaimFiles::Kind, 16))
                    .col(string_len(ClaimFiles::Format, 8))
                    .col(timestamp_with_time_zone(ClaimFiles::ReceivedAt))
                    .col(uuid(ClaimFiles::ApiKeyId))
                    .col(big_integer(ClaimFiles::ByteSize))
                    .col(string_len(ClaimFiles::Sha256, 64))
                    .col(integer(ClaimFiles::ClaimCount))
                    .col(integer(ClaimFiles::CreatedCount))
                    .col(integer(ClaimFiles::RejectedCount))
                    .col(integer(ClaimFiles::DuplicateCount))
                    .col(json(ClaimFiles::TransactionSets))
                    // JSON text, written and read whole: ten thousand claims' outcomes.
                    .col(text(ClaimFiles::Outcomes))
                    .col(text(ClaimFiles::Acknowledgment))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ClaimFileBodies::Table)
                    .col(uuid(ClaimFileBodies::ClaimFileId).primary_key())
                    .col(string_len(ClaimFileBodies::ContentType, 255))
                    .col(blob(ClaimFileBodies::Body))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ClaimFileBodies::Table, ClaimFileBodies::ClaimFileId)
                            .to(ClaimFiles::Table, ClaimFiles::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ClaimDetails::Table)
                    .col(uuid(ClaimDetails::ClaimId).primary_key())
                    .col(uuid_null(ClaimDetails::ClaimFileId))
                    .col(string_len(ClaimDetails::Format, 8))
                    // JSON text (`StoredClaim`): written and read whole, never queried inside.
                    .col(text(ClaimDetails::Detail))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ClaimDetails::Table, ClaimDetails::ClaimId)
                            .to(Alias::new("claims"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The claims of a file: what a 999 or 277CA rejecting the file's sets reaches.
        manager
            .create_index(
                Index::create()
                    .name("idx_claim_details_claim_file_id")
                    .table(ClaimDetails::Table)
                    .col(ClaimDetails::ClaimFileId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ClaimDetails::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(ClaimFileBodies::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(ClaimFiles::Table).to_owned()).await
    }
}
