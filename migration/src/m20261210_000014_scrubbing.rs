//! Scrubbing: the code sets imported for the scrubber (`overturn codes import icd10cm`), each
//! set's import (which the servers watch to reload) and the ICD-10-CM codes of each imported
//! fiscal year with the CDC's descriptions; and the edits a claim was stored with.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CodeSets {
    Table,
    Name,
    Version,
    Source,
    RowCount,
    ImportedAt,
    Data,
}

#[derive(DeriveIden)]
enum Icd10cmCodes {
    Table,
    FiscalYear,
    Code,
    Billable,
    ShortDescription,
    LongDescription,
}

#[derive(DeriveIden)]
enum Claims {
    Table,
    Edits,
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CodeSets::Table)
                    // `icd10cm:2027`, `hcpcs`, `ncci_ptp`, `mue`: one row per set in force.
                    .col(string_len(CodeSets::Name, 40).primary_key())
                    .col(string_len(CodeSets::Version, 255))
                    .col(string_len(CodeSets::Source, 255))
                    .col(integer(CodeSets::RowCount))
                    .col(timestamp_with_time_zone(CodeSets::ImportedAt))
                    // A set kept whole (NCCI PTP, MUE): its rows packed and compressed.
                    .col(blob_null(CodeSets::Data))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Icd10cmCodes::Table)
                    .col(integer(Icd10cmCodes::FiscalYear))
                    .col(string_len(Icd10cmCodes::Code, 8))
                    .col(boolean(Icd10cmCodes::Billable))
                    .col(text(Icd10cmCodes::ShortDescription))
                    .col(text(Icd10cmCodes::LongDescription))
                    .primary_key(Index::create().col(Icd10cmCodes::FiscalYear).col(Icd10cmCodes::Code))
                    .to_owned(),
            )
            .await?;
        // A JSON array of the claim's edits (warnings, and errors let through with ?scrub=warn).
        manager.alter_table(Table::alter().table(Claims::Table).add_column(text_null(Claims::Edits)).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Claims::Table).drop_column(Claims::Edits).to_owned()).await?;
        manager.drop_table(Table::drop().table(Icd10cmCodes::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(CodeSets::Table).to_owned()).await
    }
}
