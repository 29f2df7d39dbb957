//! Follow-ups: the chasing of claims and denials, one row each, fired when due.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum FollowUps {
    Table,
    Id,
    Kind,
    DedupeKey,
    ClaimId,
    ClaimNumber,
    ClaimPaymentId,
    DenialId,
    AnchorAt,
    PayerId,
    Target,
    Reference,
    OffsetDays,
    DueAt,
    Status,
    Assignee,
    Note,
    EnqueuedAt,
    FiredAt,
    FireCount,
    Snoozed,
    ClosedAt,
    CloseReason,
    CreatedAt,
    UpdatedAt,
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(FollowUps::Table)
                    .col(uuid(FollowUps::Id).primary_key())
                    .col(string_len(FollowUps::Kind, 32))
                    // What the follow-up is about (`status_check:<claim id>`, …): a claim or a
                    // denial processed twice schedules it once.
                    .col(string_len(FollowUps::DedupeKey, 160))
                    .col(uuid_null(FollowUps::ClaimId))
                    .col(string_len(FollowUps::ClaimNumber, 80))
                    // The payment behind a denial's or a balance's follow-up: its claim is copied
                    // here when the payment is matched to a claim later.
                    .col(uuid_null(FollowUps::ClaimPaymentId))
                    .col(uuid_null(FollowUps::DenialId))
                    // Where a payer-rule window starts (submission, date of service, production
                    // date), so a rule change can move the due date; null for fixed delays.
                    .col(timestamp_with_time_zone_null(FollowUps::AnchorAt))
                    .col(string_len(FollowUps::PayerId, 80))
                    .col(string_len(FollowUps::Target, 16))
                    // The payer id or the patient's member id the event is routed to.
                    .col(string_len(FollowUps::Reference, 80))
                    // For appeal reminders: days relative to the deadline (−30, −14, −3, +1).
                    .col(integer_null(FollowUps::OffsetDays))
                    .col(timestamp_with_time_zone(FollowUps::DueAt))
                    .col(string_len(FollowUps::Status, 16))
                    .col(string_len_null(FollowUps::Assignee, 100))
                    .col(text_null(FollowUps::Note))
                    .col(timestamp_with_time_zone_null(FollowUps::EnqueuedAt))
                    .col(timestamp_with_time_zone_null(FollowUps::FiredAt))
                    .col(integer(FollowUps::FireCount))
                    // Snoozed by a person: payer rule changes no longer move it.
                    .col(boolean(FollowUps::Snoozed))
                    .col(timestamp_with_time_zone_null(FollowUps::ClosedAt))
                    .col(string_len_null(FollowUps::CloseReason, 200))
                    .col(timestamp_with_time_zone(FollowUps::CreatedAt))
                    .col(timestamp_with_time_zone(FollowUps::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        for (name, cols, unique) in [
            ("ux_follow_ups_dedupe", vec![FollowUps::DedupeKey], true),
            ("idx_follow_ups_due", vec![FollowUps::Status, FollowUps::DueAt], false),
            ("idx_follow_ups_claim", vec![FollowUps::ClaimId], false),
            ("idx_follow_ups_denial", vec![FollowUps::DenialId], false),
            ("idx_follow_ups_payment", vec![FollowUps::ClaimPaymentId], false),
            ("idx_follow_ups_claim_number", vec![FollowUps::ClaimNumber], false),
            ("idx_follow_ups_payer", vec![FollowUps::PayerId, FollowUps::Status], false),
        ] {
            let mut index = Index::create();
            index.name(name).table(FollowUps::Table);
            for col in cols {
                index.col(col);
            }
            if unique {
                index.unique();
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(FollowUps::Table).to_owned()).await
    }
}
