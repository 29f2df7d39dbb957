//! Follow-ups' denial and payment indexes hold only the rows that have one.
//!
//! A claim's status check and timely-filing watch, two rows written with every `POST
//! /v1/claims`, have neither a denial nor a payment, yet each added a NULL entry to both
//! indexes: four of the sixteen index entries a claim's follow-ups cost. Every lookup by
//! these columns compares them to a value (`denial_id = ?`, `claim_payment_id IN (…)`), which
//! both SQLite and PostgreSQL prove implies `IS NOT NULL`, so the partial indexes still serve
//! them. Measured in docs/benchmarks.md (issue #16).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum FollowUps {
    Table,
    DenialId,
    ClaimPaymentId,
}

const DENIAL: &str = "idx_follow_ups_denial";
const PAYMENT: &str = "idx_follow_ups_payment";

async fn replace(manager: &SchemaManager<'_>, name: &str, column: FollowUps, partial: bool) -> Result<(), DbErr> {
    manager.drop_index(Index::drop().name(name).table(FollowUps::Table).to_owned()).await?;
    let mut index = Index::create();
    index.name(name).table(FollowUps::Table).col(column);
    if partial {
        index.and_where(Expr::col(column).is_not_null());
    }
    manager.create_index(index.to_owned()).await
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        replace(manager, DENIAL, FollowUps::DenialId, true).await?;
        replace(manager, PAYMENT, FollowUps::ClaimPaymentId, true).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        replace(manager, DENIAL, FollowUps::DenialId, false).await?;
        replace(manager, PAYMENT, FollowUps::ClaimPaymentId, false).await
    }
}
