//! Corrected claims: a replacement (frequency 7) or void (8) keeps the claim number of the claim
//! it replaces, so a claim number is unique with its revision (0 for the original, one more for
//! each correction), and a claim says which one it replaces. One index, as before: the unique
//! one on (claim_number, revision) also serves every lookup by claim number.
//!
//! SQLite cannot drop the column's UNIQUE constraint in place: the table is rebuilt, with
//! foreign keys off so that dropping the old table does not cascade to claim lines (SQLite's
//! documented twelve steps). Every row is copied; the rebuild checks the foreign keys before
//! it commits.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMNS: &str = "\"id\", \"claim_number\", \"payer_id\", \"payer_name\", \"patient_member_id\", \"patient_first_name\", \"patient_last_name\", \"patient_date_of_birth\", \"provider_npi\", \"provider_name\", \"service_date\", \"submitted_at\", \"frequency_code\", \"payer_claim_control_number\", \"diagnosis_codes\", \"total_charge_cents\", \"paid_amount_cents\", \"patient_responsibility_cents\", \"status\", \"created_at\", \"updated_at\"";

fn sqlite_table(name: &str, unique_number: bool) -> String {
    let unique = if unique_number { " UNIQUE" } else { "" };
    let replaces = if unique_number {
        ""
    } else {
        ", \"replaces_claim_id\" uuid_text NULL, \"revision\" integer NOT NULL DEFAULT 0"
    };
    format!(
        "CREATE TABLE \"{name}\" ( \"id\" uuid_text NOT NULL PRIMARY KEY, \"claim_number\" varchar(38) NOT NULL{unique}, \"payer_id\" varchar(80) NOT NULL, \"payer_name\" varchar(60) NOT NULL, \"patient_member_id\" varchar(80) NOT NULL, \"patient_first_name\" varchar(60) NOT NULL, \"patient_last_name\" varchar(60) NOT NULL, \"patient_date_of_birth\" date_text NOT NULL, \"provider_npi\" varchar(10) NOT NULL, \"provider_name\" varchar(60) NOT NULL, \"service_date\" date_text NOT NULL, \"submitted_at\" timestamp_with_timezone_text NOT NULL, \"frequency_code\" varchar(1) NOT NULL, \"payer_claim_control_number\" varchar(80) NULL, \"diagnosis_codes\" json_text NOT NULL, \"total_charge_cents\" integer NOT NULL, \"paid_amount_cents\" integer NOT NULL, \"patient_responsibility_cents\" integer NOT NULL, \"status\" varchar(20) NOT NULL, \"created_at\" timestamp_with_timezone_text NOT NULL, \"updated_at\" timestamp_with_timezone_text NOT NULL{replaces} )"
    )
}

const INDEXES: [&str; 3] = [
    "CREATE INDEX \"idx_claims_payer_id\" ON \"claims\" (\"payer_id\", \"id\")",
    "CREATE INDEX \"idx_claims_status\" ON \"claims\" (\"status\", \"id\")",
    "CREATE INDEX \"idx_claims_patient_member_id\" ON \"claims\" (\"patient_member_id\", \"id\")",
];

/// The claim number's index once claims have revisions.
const REVISION_INDEXES: [&str; 1] =
    ["CREATE UNIQUE INDEX \"idx_claims_claim_number_revision\" ON \"claims\" (\"claim_number\", \"revision\")"];

/// Rebuilds `claims` on SQLite as `create` makes it, copying `columns`.
async fn rebuild_sqlite(
    db: &SchemaManagerConnection<'_>,
    create: String,
    columns: &str,
    indexes: &[&str],
) -> Result<(), DbErr> {
    db.execute_unprepared("PRAGMA foreign_keys = OFF").await?;
    let steps = async {
        db.execute_unprepared("BEGIN").await?;
        db.execute_unprepared(&create).await?;
        db.execute_unprepared(&format!("INSERT INTO \"claims_rebuilt\" ({columns}) SELECT {columns} FROM \"claims\""))
            .await?;
        db.execute_unprepared("DROP TABLE \"claims\"").await?;
        db.execute_unprepared("ALTER TABLE \"claims_rebuilt\" RENAME TO \"claims\"").await?;
        for index in indexes {
            db.execute_unprepared(index).await?;
        }
        let broken = db
            .query_all_raw(sea_orm_migration::sea_orm::Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA foreign_key_check",
            ))
            .await?;
        if !broken.is_empty() {
            return Err(DbErr::Migration(format!("rebuilding claims would break {} foreign keys", broken.len())));
        }
        db.execute_unprepared("COMMIT").await
    }
    .await;
    if steps.is_err() {
        let _ = db.execute_unprepared("ROLLBACK").await;
    }
    db.execute_unprepared("PRAGMA foreign_keys = ON").await?;
    steps.map(|_| ())
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match db.get_database_backend() {
            DbBackend::Sqlite => {
                let indexes: Vec<&str> = INDEXES.iter().chain(&REVISION_INDEXES).copied().collect();
                rebuild_sqlite(db, sqlite_table("claims_rebuilt", false), COLUMNS, &indexes).await
            }
            _ => {
                db.execute_unprepared("ALTER TABLE \"claims\" ADD COLUMN \"replaces_claim_id\" uuid NULL").await?;
                db.execute_unprepared("ALTER TABLE \"claims\" ADD COLUMN \"revision\" integer NOT NULL DEFAULT 0")
                    .await?;
                db.execute_unprepared("ALTER TABLE \"claims\" DROP CONSTRAINT \"claims_claim_number_key\"").await?;
                for index in REVISION_INDEXES {
                    db.execute_unprepared(index).await?;
                }
                Ok(())
            }
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        // Back to one claim per number: the later revisions go.
        db.execute_unprepared("DELETE FROM \"claims\" WHERE \"revision\" > 0").await?;
        match db.get_database_backend() {
            DbBackend::Sqlite => rebuild_sqlite(db, sqlite_table("claims_rebuilt", true), COLUMNS, &INDEXES).await,
            _ => {
                db.execute_unprepared("DROP INDEX \"idx_claims_claim_number_revision\"").await?;
                db.execute_unprepared(
                    "ALTER TABLE \"claims\" ADD CONSTRAINT \"claims_claim_number_key\" UNIQUE (\"claim_number\")",
                )
                .await?;
                db.execute_unprepared("ALTER TABLE \"claims\" DROP COLUMN \"replaces_claim_id\"").await?;
                db.execute_unprepared("ALTER TABLE \"claims\" DROP COLUMN \"revision\"").await?;
                Ok(())
            }
        }
    }
}
