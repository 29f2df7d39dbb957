//! One payer key: a transaction's `payer_id` becomes the payer it answers for
//! (`overturn_domain::x12::payer_key`: N1*PR's id, else TRN03), and the trace's originator
//! (TRN03, else N1*PR's id), which made it the same payment again, moves to `originator_id`.
//!
//! Denials and follow-ups already carried the payer key; only transactions stored it the
//! other way round, so existing rows are rewritten here. The traces registry keeps its keys:
//! they were originators all along, and are what `originator_id` now holds.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RemittanceTransactions {
    Table,
    OriginatorId,
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(RemittanceTransactions::Table)
                    .add_column(string_len(RemittanceTransactions::OriginatorId, 80).default(""))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared("UPDATE remittance_transactions SET originator_id = payer_id").await?;
        db.execute_unprepared(
            "UPDATE remittance_transactions SET payer_id = TRIM(payer_identifier) WHERE TRIM(payer_identifier) <> ''",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("UPDATE remittance_transactions SET payer_id = originator_id").await?;
        manager
            .alter_table(
                Table::alter()
                    .table(RemittanceTransactions::Table)
                    .drop_column(RemittanceTransactions::OriginatorId)
                    .to_owned(),
            )
            .await
    }
}
