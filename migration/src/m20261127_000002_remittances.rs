//! Payer responses: remittance files as received, their transactions, the claim payments
//! they carry, the (payer, trace number) registry that keeps a payment from being applied
//! twice, line control numbers on claim lines, and the outbox that hands work to the queue.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Remittances {
    Table,
    Id,
    Source,
    ReceivedAt,
    ApiKeyId,
    ByteSize,
    Sha256,
    TransactionCount,
    DuplicateCount,
    ClaimCount,
    MatchedCount,
    PaymentTotalCents,
    Warnings,
}

#[derive(DeriveIden)]
enum RemittanceFiles {
    Table,
    RemittanceId,
    ContentType,
    Body,
}

#[derive(DeriveIden)]
enum RemittanceTransactions {
    Table,
    Id,
    RemittanceId,
    Position,
    PayerId,
    TraceNumber,
    PayerName,
    PayerIdQualifier,
    PayerIdentifier,
    PayeeName,
    PayeeIdQualifier,
    PayeeIdentifier,
    HandlingCode,
    CreditDebit,
    PaymentMethod,
    PaymentAmountCents,
    PaymentDate,
    ProductionDate,
    InterchangeControlNumber,
    GroupControlNumber,
    TransactionControlNumber,
    ProviderAdjustments,
    ClaimCount,
    DuplicateOf,
    Warnings,
}

#[derive(DeriveIden)]
enum RemittanceTraces {
    Table,
    PayerId,
    TraceNumber,
    TransactionId,
}

#[derive(DeriveIden)]
enum ClaimPayments {
    Table,
    Id,
    RemittanceId,
    TransactionId,
    Position,
    ClaimId,
    MatchedBy,
    ClaimNumber,
    StatusCode,
    ChargeCents,
    PaidCents,
    PatientResponsibilityCents,
    DeniedCents,
    PayerClaimControlNumber,
    FrequencyCode,
    FilingIndicator,
    FacilityCode,
    PatientMemberId,
    PatientFirstName,
    PatientLastName,
    ProductionDate,
    Detail,
    ReceivedAt,
}

#[derive(DeriveIden)]
enum UnmatchedLineRefs {
    Table,
    ControlNumber,
    ClaimPaymentId,
}

#[derive(DeriveIden)]
enum ClaimLines {
    Table,
    LineControlNumber,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    Topic,
    Payload,
    CreatedAt,
    DispatchedAt,
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Remittances::Table)
                    .col(uuid(Remittances::Id).primary_key())
                    .col(string_len(Remittances::Source, 8))
                    .col(timestamp_with_time_zone(Remittances::ReceivedAt))
                    .col(uuid(Remittances::ApiKeyId))
                    .col(big_integer(Remittances::ByteSize))
                    .col(string_len(Remittances::Sha256, 64))
                    .col(integer(Remittances::TransactionCount))
                    .col(integer(Remittances::DuplicateCount))
                    .col(integer(Remittances::ClaimCount))
                    .col(integer(Remittances::MatchedCount))
                    .col(big_integer(Remittances::PaymentTotalCents))
                    .col(json(Remittances::Warnings))
                    .to_owned(),
            )
            .await?;

        // The file as received, apart from its summary so that listing never reads megabytes.
        manager
            .create_table(
                Table::create()
                    .table(RemittanceFiles::Table)
                    .col(uuid(RemittanceFiles::RemittanceId).primary_key())
                    .col(string_len(RemittanceFiles::ContentType, 100))
                    .col(blob(RemittanceFiles::Body))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_remittance_files_remittance")
                            .from(RemittanceFiles::Table, RemittanceFiles::RemittanceId)
                            .to(Remittances::Table, Remittances::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        if manager.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            // pglz over a file of tens of megabytes costs more than the request's other steps.
            manager
                .get_connection()
                .execute_unprepared("ALTER TABLE remittance_files ALTER COLUMN body SET STORAGE EXTERNAL")
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(RemittanceTransactions::Table)
                    .col(uuid(RemittanceTransactions::Id).primary_key())
                    .col(uuid(RemittanceTransactions::RemittanceId))
                    .col(integer(RemittanceTransactions::Position))
                    .col(string_len(RemittanceTransactions::PayerId, 80))
                    .col(string_len(RemittanceTransactions::TraceNumber, 80))
                    .col(string_len(RemittanceTransactions::PayerName, 60))
                    .col(string_len(RemittanceTransactions::PayerIdQualifier, 3))
                    .col(string_len(RemittanceTransactions::PayerIdentifier, 80))
                    .col(string_len(RemittanceTransactions::PayeeName, 60))
                    .col(string_len(RemittanceTransactions::PayeeIdQualifier, 3))
                    .col(string_len(RemittanceTransactions::PayeeIdentifier, 80))
                    .col(string_len(RemittanceTransactions::HandlingCode, 2))
                    .col(string_len(RemittanceTransactions::CreditDebit, 1))
                    .col(string_len(RemittanceTransactions::PaymentMethod, 3))
                    .col(big_integer(RemittanceTransactions::PaymentAmountCents))
                    .col(date_null(RemittanceTransactions::PaymentDate))
                    .col(date_null(RemittanceTransactions::ProductionDate))
                    .col(string_len(RemittanceTransactions::InterchangeControlNumber, 9))
                    .col(string_len(RemittanceTransactions::GroupControlNumber, 9))
                    .col(string_len(RemittanceTransactions::TransactionControlNumber, 9))
                    .col(json(RemittanceTransactions::ProviderAdjustments))
                    .col(integer(RemittanceTransactions::ClaimCount))
                    .col(uuid_null(RemittanceTransactions::DuplicateOf))
                    .col(json(RemittanceTransactions::Warnings))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_remittance_transactions_remittance")
                            .from(RemittanceTransactions::Table, RemittanceTransactions::RemittanceId)
                            .to(Remittances::Table, Remittances::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_remittance_transactions_remittance")
                    .table(RemittanceTransactions::Table)
                    .col(RemittanceTransactions::RemittanceId)
                    .col(RemittanceTransactions::Position)
                    .to_owned(),
            )
            .await?;

        // One row per payment applied: the primary key is what refuses a second application,
        // also when two files carrying it arrive at the same moment.
        manager
            .create_table(
                Table::create()
                    .table(RemittanceTraces::Table)
                    .col(string_len(RemittanceTraces::PayerId, 80))
                    .col(string_len(RemittanceTraces::TraceNumber, 80))
                    .col(uuid(RemittanceTraces::TransactionId))
                    .primary_key(Index::create().col(RemittanceTraces::PayerId).col(RemittanceTraces::TraceNumber))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ClaimPayments::Table)
                    .col(uuid(ClaimPayments::Id).primary_key())
                    .col(uuid(ClaimPayments::RemittanceId))
                    .col(uuid(ClaimPayments::TransactionId))
                    .col(integer(ClaimPayments::Position))
                    .col(uuid_null(ClaimPayments::ClaimId))
                    .col(string_len_null(ClaimPayments::MatchedBy, 32))
                    .col(string_len(ClaimPayments::ClaimNumber, 38))
                    .col(string_len(ClaimPayments::StatusCode, 2))
                    .col(big_integer(ClaimPayments::ChargeCents))
                    .col(big_integer(ClaimPayments::PaidCents))
                    .col(big_integer(ClaimPayments::PatientResponsibilityCents))
                    .col(big_integer(ClaimPayments::DeniedCents))
                    .col(string_len_null(ClaimPayments::PayerClaimControlNumber, 80))
                    .col(string_len(ClaimPayments::FrequencyCode, 1))
                    .col(string_len(ClaimPayments::FilingIndicator, 2))
                    .col(string_len(ClaimPayments::FacilityCode, 2))
                    .col(string_len_null(ClaimPayments::PatientMemberId, 80))
                    .col(string_len(ClaimPayments::PatientFirstName, 35))
                    .col(string_len(ClaimPayments::PatientLastName, 60))
                    .col(date_null(ClaimPayments::ProductionDate))
                    .col(text(ClaimPayments::Detail))
                    .col(timestamp_with_time_zone(ClaimPayments::ReceivedAt))
                    // No foreign keys on the two bulk tables: PostgreSQL checks each with a
                    // trigger per row, which doubled the time to store a 20,000-claim file.
                    // They are written only by `remittance_store`, inside the transaction that
                    // writes their remittance.
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            ("idx_claim_payments_remittance", vec![ClaimPayments::RemittanceId, ClaimPayments::Position]),
            ("idx_claim_payments_payer_claim_control_number", vec![ClaimPayments::PayerClaimControlNumber]),
        ] {
            let mut index = Index::create().name(name).table(ClaimPayments::Table).to_owned();
            for column in columns {
                index.col(column);
            }
            manager.create_index(index).await?;
        }

        // A claim's payments, for settling it; payments still waiting for their claim have no
        // place in it.
        manager
            .create_index(
                Index::create()
                    .name("idx_claim_payments_claim")
                    .table(ClaimPayments::Table)
                    .col(ClaimPayments::ClaimId)
                    .col(ClaimPayments::ReceivedAt)
                    .and_where(Expr::col(ClaimPayments::ClaimId).is_not_null())
                    .to_owned(),
            )
            .await?;

        // Only payments still waiting for their claim are looked up by claim number (when
        // that claim is created): a partial index keeps the matched majority out of it.
        manager
            .create_index(
                Index::create()
                    .name("idx_claim_payments_waiting")
                    .table(ClaimPayments::Table)
                    .col(ClaimPayments::ClaimNumber)
                    .and_where(Expr::col(ClaimPayments::ClaimId).is_null())
                    .to_owned(),
            )
            .await?;

        // REF*6R of claim payments no claim matched yet, so that a claim created later with
        // those line control numbers finds them.
        manager
            .create_table(
                Table::create()
                    .table(UnmatchedLineRefs::Table)
                    .col(string_len(UnmatchedLineRefs::ControlNumber, 50))
                    .col(uuid(UnmatchedLineRefs::ClaimPaymentId))
                    .primary_key(
                        Index::create().col(UnmatchedLineRefs::ControlNumber).col(UnmatchedLineRefs::ClaimPaymentId),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .alter_table(
                Table::alter()
                    .table(ClaimLines::Table)
                    .add_column(string_len_null(ClaimLines::LineControlNumber, 50))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_claim_lines_line_control_number")
                    .table(ClaimLines::Table)
                    .col(ClaimLines::LineControlNumber)
                    .to_owned(),
            )
            .await?;

        // Work for the queue, written in the transaction that causes it; a relay hands it on.
        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .col(uuid(Outbox::Id).primary_key())
                    .col(string_len(Outbox::Topic, 64))
                    .col(json(Outbox::Payload))
                    .col(timestamp_with_time_zone(Outbox::CreatedAt))
                    .col(timestamp_with_time_zone_null(Outbox::DispatchedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_outbox_pending")
                    .table(Outbox::Table)
                    .col(Outbox::DispatchedAt)
                    .col(Outbox::Id)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("idx_claim_lines_line_control_number").table(ClaimLines::Table).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(ClaimLines::Table).drop_column(ClaimLines::LineControlNumber).to_owned())
            .await?;
        for table in [
            Outbox::Table.into_iden(),
            UnmatchedLineRefs::Table.into_iden(),
            ClaimPayments::Table.into_iden(),
            RemittanceTraces::Table.into_iden(),
            RemittanceTransactions::Table.into_iden(),
            RemittanceFiles::Table.into_iden(),
            Remittances::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
