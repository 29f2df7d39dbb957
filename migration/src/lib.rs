//! Schema history. One file per migration; never edit one that has shipped.
//!
//! Every migration runs on SQLite and PostgreSQL alike, so each statement changes one thing
//! (SQLite cannot take several ALTER options in one statement).

pub use sea_orm_migration::prelude::*;

mod m20261127_000001_foundation;
mod m20261127_000002_remittances;
mod m20261127_000003_code_descriptions;
mod m20261127_000004_denials;
mod m20261127_000005_webhooks;
mod m20261127_000006_follow_ups;
mod m20261206_000007_payer_of_transaction;
mod m20261207_000008_follow_up_partial_indexes;
mod m20261207_000009_patient_access;
mod m20261207_000010_audit_events;
mod m20261208_000011_claim_files;
mod m20261208_000012_claim_revisions;
mod m20261209_000013_acknowledgments;
mod m20261210_000014_scrubbing;

pub struct Migrator;

#[sea_orm_migration::async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_foundation::Migration),
            Box::new(m20261127_000002_remittances::Migration),
            Box::new(m20261127_000003_code_descriptions::Migration),
            Box::new(m20261127_000004_denials::Migration),
            Box::new(m20261127_000005_webhooks::Migration),
            Box::new(m20261127_000006_follow_ups::Migration),
            Box::new(m20261206_000007_payer_of_transaction::Migration),
            Box::new(m20261207_000008_follow_up_partial_indexes::Migration),
            Box::new(m20261207_000009_patient_access::Migration),
            Box::new(m20261207_000010_audit_events::Migration),
            Box::new(m20261208_000011_claim_files::Migration),
            Box::new(m20261208_000012_claim_revisions::Migration),
            Box::new(m20261209_000013_acknowledgments::Migration),
            Box::new(m20261210_000014_scrubbing::Migration),
        ]
    }
}
