//! API keys, claims with their lines, and idempotency records.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    Name,
    Role,
    KeyHash,
    DisplayPrefix,
    CreatedAt,
    CreatedBy,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Claims {
    Table,
    Id,
    ClaimNumber,
    PayerId,
    PayerName,
    PatientMemberId,
    PatientFirstName,
    PatientLastName,
    PatientDateOfBirth,
    ProviderNpi,
    ProviderName,
    ServiceDate,
    SubmittedAt,
    FrequencyCode,
    PayerClaimControlNumber,
    DiagnosisCodes,
    TotalChargeCents,
    PaidAmountCents,
    PatientResponsibilityCents,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ClaimLines {
    Table,
    ClaimId,
    LineNumber,
    ProcedureCode,
    Modifiers,
    Units,
    ChargeCents,
    ServiceDate,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    ApiKeyId,
    Key,
    RequestHash,
    ResponseStatus,
    ResponseBody,
    CreatedAt,
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .col(uuid(ApiKeys::Id).primary_key())
                    .col(string_len(ApiKeys::Name, 100))
                    .col(string_len(ApiKeys::Role, 16))
                    .col(string_len_uniq(ApiKeys::KeyHash, 64))
                    .col(string_len(ApiKeys::DisplayPrefix, 16))
                    .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                    .col(uuid_null(ApiKeys::CreatedBy))
                    .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Claims::Table)
                    .col(uuid(Claims::Id).primary_key())
                    .col(string_len_uniq(Claims::ClaimNumber, 38))
                    .col(string_len(Claims::PayerId, 80))
                    .col(string_len(Claims::PayerName, 60))
                    .col(string_len(Claims::PatientMemberId, 80))
                    .col(string_len(Claims::PatientFirstName, 60))
                    .col(string_len(Claims::PatientLastName, 60))
                    .col(date(Claims::PatientDateOfBirth))
                    .col(string_len(Claims::ProviderNpi, 10))
                    .col(string_len(Claims::ProviderName, 60))
                    .col(date(Claims::ServiceDate))
                    .col(timestamp_with_time_zone(Claims::SubmittedAt))
                    .col(string_len(Claims::FrequencyCode, 1))
                    .col(string_len_null(Claims::PayerClaimControlNumber, 80))
                    .col(json(Claims::DiagnosisCodes))
                    .col(big_integer(Claims::TotalChargeCents))
                    .col(big_integer(Claims::PaidAmountCents))
                    .col(big_integer(Claims::PatientResponsibilityCents))
                    .col(string_len(Claims::Status, 20))
                    .col(timestamp_with_time_zone(Claims::CreatedAt))
                    .col(timestamp_with_time_zone(Claims::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // The list filters; each ends in the id so the cursor walk stays on the index.
        for (name, column) in [
            ("idx_claims_payer_id", Claims::PayerId),
            ("idx_claims_status", Claims::Status),
            ("idx_claims_patient_member_id", Claims::PatientMemberId),
        ] {
            manager
                .create_index(Index::create().name(name).table(Claims::Table).col(column).col(Claims::Id).to_owned())
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(ClaimLines::Table)
                    .col(uuid(ClaimLines::ClaimId))
                    .col(integer(ClaimLines::LineNumber))
                    .col(string_len(ClaimLines::ProcedureCode, 5))
                    .col(json(ClaimLines::Modifiers))
                    .col(string_len(ClaimLines::Units, 16))
                    .col(big_integer(ClaimLines::ChargeCents))
                    .col(date(ClaimLines::ServiceDate))
                    .primary_key(Index::create().col(ClaimLines::ClaimId).col(ClaimLines::LineNumber))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_claim_lines_claim")
                            .from(ClaimLines::Table, ClaimLines::ClaimId)
                            .to(Claims::Table, Claims::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(uuid(IdempotencyKeys::ApiKeyId))
                    .col(string_len(IdempotencyKeys::Key, 255))
                    .col(string_len(IdempotencyKeys::RequestHash, 64))
                    .col(small_integer(IdempotencyKeys::ResponseStatus))
                    .col(text(IdempotencyKeys::ResponseBody))
                    .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                    .primary_key(Index::create().col(IdempotencyKeys::ApiKeyId).col(IdempotencyKeys::Key))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_idempotency_keys_created_at")
                    .table(IdempotencyKeys::Table)
                    .col(IdempotencyKeys::CreatedAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            IdempotencyKeys::Table.into_iden(),
            ClaimLines::Table.into_iden(),
            Claims::Table.into_iden(),
            ApiKeys::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
