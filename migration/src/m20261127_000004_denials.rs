//! Denials classified by the workers, their audit trail, payers' deadline rules, and jobs
//! that ran out of retries.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Denials {
    Table,
    Id,
    RemittanceId,
    ClaimPaymentId,
    ClaimId,
    ClaimNumber,
    PayerId,
    LinePosition,
    AdjustmentPosition,
    LineNumber,
    ProcedureCode,
    GroupCode,
    ReasonCode,
    RemarkCodes,
    Category,
    WorkQueue,
    RecommendedAction,
    AmountCents,
    ProductionDate,
    AppealDeadline,
    Priority,
    Status,
    Assignee,
    RecoveredCents,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DenialEvents {
    Table,
    Id,
    DenialId,
    Action,
    FromStatus,
    ToStatus,
    Assignee,
    Note,
    RecoveredCents,
    ActorKeyId,
    ActorName,
    At,
}

#[derive(DeriveIden)]
enum PayerRules {
    Table,
    PayerId,
    AppealWindowDays,
    TimelyFilingDays,
    StatusCheckAfterDays,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum FailedJobs {
    Table,
    Id,
    Topic,
    SubjectId,
    Payload,
    Error,
    Attempts,
    FailedAt,
    RetriedAt,
}

#[derive(DeriveIden)]
enum Remittances {
    Table,
    ClassifiedAt,
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Denials::Table)
                    .col(uuid(Denials::Id).primary_key())
                    .col(uuid(Denials::RemittanceId))
                    .col(uuid(Denials::ClaimPaymentId))
                    .col(uuid_null(Denials::ClaimId))
                    .col(string_len(Denials::ClaimNumber, 38))
                    .col(string_len(Denials::PayerId, 80))
                    // -1 for "claim level" / "no adjustment": part of the natural key, so never NULL.
                    .col(integer(Denials::LinePosition))
                    .col(integer(Denials::AdjustmentPosition))
                    .col(integer_null(Denials::LineNumber))
                    .col(string_len_null(Denials::ProcedureCode, 48))
                    .col(string_len_null(Denials::GroupCode, 2))
                    .col(string_len_null(Denials::ReasonCode, 5))
                    .col(text(Denials::RemarkCodes))
                    .col(string_len(Denials::Category, 32))
                    .col(string_len(Denials::WorkQueue, 16))
                    .col(string_len(Denials::RecommendedAction, 32))
                    .col(big_integer(Denials::AmountCents))
                    .col(date_null(Denials::ProductionDate))
                    .col(date_null(Denials::AppealDeadline))
                    .col(integer(Denials::Priority))
                    .col(string_len(Denials::Status, 16))
                    .col(string_len_null(Denials::Assignee, 100))
                    .col(big_integer_null(Denials::RecoveredCents))
                    .col(timestamp_with_time_zone(Denials::CreatedAt))
                    .col(timestamp_with_time_zone(Denials::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // The natural key: classifying a payment again finds the same denials.
        manager
            .create_index(
                Index::create()
                    .name("ux_denials_source")
                    .table(Denials::Table)
                    .col(Denials::ClaimPaymentId)
                    .col(Denials::LinePosition)
                    .col(Denials::AdjustmentPosition)
                    .unique()
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("idx_denials_priority", vec![Denials::Priority, Denials::Id]),
            ("idx_denials_amount", vec![Denials::AmountCents, Denials::Id]),
            ("idx_denials_deadline", vec![Denials::AppealDeadline, Denials::Id]),
            ("idx_denials_status", vec![Denials::Status, Denials::Priority]),
            ("idx_denials_claim_number", vec![Denials::ClaimNumber]),
            ("idx_denials_claim", vec![Denials::ClaimId]),
            ("idx_denials_payer", vec![Denials::PayerId, Denials::Status]),
            ("idx_denials_remittance", vec![Denials::RemittanceId]),
            ("idx_denials_created", vec![Denials::CreatedAt]),
        ] {
            let mut index = Index::create();
            index.name(name).table(Denials::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(DenialEvents::Table)
                    .col(uuid(DenialEvents::Id).primary_key())
                    .col(uuid(DenialEvents::DenialId))
                    .col(string_len(DenialEvents::Action, 32))
                    .col(string_len_null(DenialEvents::FromStatus, 16))
                    .col(string_len(DenialEvents::ToStatus, 16))
                    .col(string_len_null(DenialEvents::Assignee, 100))
                    .col(text_null(DenialEvents::Note))
                    .col(big_integer_null(DenialEvents::RecoveredCents))
                    .col(uuid_null(DenialEvents::ActorKeyId))
                    .col(string_len(DenialEvents::ActorName, 100))
                    .col(timestamp_with_time_zone(DenialEvents::At))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_denial_events_denial")
                    .table(DenialEvents::Table)
                    .col(DenialEvents::DenialId)
                    .col(DenialEvents::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PayerRules::Table)
                    .col(string_len(PayerRules::PayerId, 80).primary_key())
                    .col(integer(PayerRules::AppealWindowDays))
                    .col(integer(PayerRules::TimelyFilingDays))
                    .col(integer(PayerRules::StatusCheckAfterDays))
                    .col(timestamp_with_time_zone(PayerRules::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(FailedJobs::Table)
                    .col(uuid(FailedJobs::Id).primary_key())
                    .col(string_len(FailedJobs::Topic, 64))
                    .col(uuid_null(FailedJobs::SubjectId))
                    .col(json(FailedJobs::Payload))
                    .col(text(FailedJobs::Error))
                    .col(integer(FailedJobs::Attempts))
                    .col(timestamp_with_time_zone(FailedJobs::FailedAt))
                    .col(timestamp_with_time_zone_null(FailedJobs::RetriedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .alter_table(
                Table::alter()
                    .table(Remittances::Table)
                    .add_column(timestamp_with_time_zone_null(Remittances::ClassifiedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Remittances::Table).drop_column(Remittances::ClassifiedAt).to_owned())
            .await?;
        for table in [
            FailedJobs::Table.into_iden(),
            PayerRules::Table.into_iden(),
            DenialEvents::Table.into_iden(),
            Denials::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
