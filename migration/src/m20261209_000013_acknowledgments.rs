//! Acknowledgments (999, 277CA, 277): the files received, and what each says about each
//! claim, matched or waiting for its claim. Claims gain what the payer said of them (accepted
//! into adjudication, the latest status answer); denials gain where they came from, since a
//! front-door rejection is worked like a denial but comes from an acknowledgment, not an 835.
//! Existing rows keep their meaning: claims with neither, denials from remittances.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Acknowledgments {
    Table,
    Id,
    Kind,
    ReceivedAt,
    ApiKeyId,
    ByteSize,
    Sha256,
    RepeatOf,
    TransactionCount,
    ClaimCount,
    MatchedCount,
    RejectedCount,
    Sets,
}

#[derive(DeriveIden)]
enum AcknowledgmentBodies {
    Table,
    AcknowledgmentId,
    ContentType,
    Body,
}

#[derive(DeriveIden)]
enum AcknowledgmentClaims {
    Table,
    Id,
    AcknowledgmentId,
    Position,
    Kind,
    ClaimNumber,
    Trace,
    PayerClaimNumber,
    MemberId,
    ServiceDate,
    ChargeCents,
    PaidCents,
    EffectiveDate,
    Outcome,
    StatusCodes,
    Message,
    ClaimId,
    MatchedBy,
    State,
    GroupControlNumber,
    ReceivedAt,
    AppliedAt,
}

/// The transaction sets of each claim file, by their control numbers: what a 999 about one
/// of them is matched on (AK1 GS06, AK2 ST02).
#[derive(DeriveIden)]
enum ClaimFileSets {
    Table,
    ClaimFileId,
    Position,
    InterchangeControlNumber,
    GroupControlNumber,
    TransactionControlNumber,
    FirstClaim,
    ClaimCount,
}

#[derive(DeriveIden)]
enum Claims {
    Table,
    AcceptedAt,
    PayerStatus,
}

#[derive(DeriveIden)]
enum Denials {
    Table,
    Source,
    StatusCodes,
    Explanation,
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Acknowledgments::Table)
                    .col(uuid(Acknowledgments::Id).primary_key())
                    .col(string_len(Acknowledgments::Kind, 8))
                    .col(timestamp_with_time_zone(Acknowledgments::ReceivedAt))
                    .col(uuid(Acknowledgments::ApiKeyId))
                    .col(big_integer(Acknowledgments::ByteSize))
                    .col(string_len(Acknowledgments::Sha256, 64))
                    .col(uuid_null(Acknowledgments::RepeatOf))
                    .col(integer(Acknowledgments::TransactionCount))
                    .col(integer(Acknowledgments::ClaimCount))
                    .col(integer(Acknowledgments::MatchedCount))
                    .col(integer(Acknowledgments::RejectedCount))
                    // JSON text: a 999's verdict on each transaction set, with its errors.
                    .col(text(Acknowledgments::Sets))
                    .to_owned(),
            )
            .await?;
        // A file received again is found by its digest.
        manager
            .create_index(
                Index::create()
                    .name("idx_acknowledgments_sha256")
                    .table(Acknowledgments::Table)
                    .col(Acknowledgments::Sha256)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AcknowledgmentBodies::Table)
                    .col(uuid(AcknowledgmentBodies::AcknowledgmentId).primary_key())
                    .col(string_len(AcknowledgmentBodies::ContentType, 255))
                    .col(blob(AcknowledgmentBodies::Body))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AcknowledgmentBodies::Table, AcknowledgmentBodies::AcknowledgmentId)
                            .to(Acknowledgments::Table, Acknowledgments::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AcknowledgmentClaims::Table)
                    .col(uuid(AcknowledgmentClaims::Id).primary_key())
                    .col(uuid(AcknowledgmentClaims::AcknowledgmentId))
                    .col(integer(AcknowledgmentClaims::Position))
                    .col(string_len(AcknowledgmentClaims::Kind, 8))
                    .col(string_len(AcknowledgmentClaims::ClaimNumber, 50))
                    .col(string_len(AcknowledgmentClaims::Trace, 50))
                    .col(string_len_null(AcknowledgmentClaims::PayerClaimNumber, 50))
                    .col(string_len_null(AcknowledgmentClaims::MemberId, 80))
                    .col(date_null(AcknowledgmentClaims::ServiceDate))
                    .col(big_integer_null(AcknowledgmentClaims::ChargeCents))
                    .col(big_integer_null(AcknowledgmentClaims::PaidCents))
                    .col(date_null(AcknowledgmentClaims::EffectiveDate))
                    .col(string_len(AcknowledgmentClaims::Outcome, 16))
                    .col(text(AcknowledgmentClaims::StatusCodes))
                    .col(text_null(AcknowledgmentClaims::Message))
                    .col(uuid_null(AcknowledgmentClaims::ClaimId))
                    .col(string_len_null(AcknowledgmentClaims::MatchedBy, 32))
                    .col(string_len(AcknowledgmentClaims::State, 16))
                    // A 999's set that no claim file had yet: its GS06, waiting with its ST02 (`trace`).
                    .col(string_len_null(AcknowledgmentClaims::GroupControlNumber, 20))
                    .col(timestamp_with_time_zone(AcknowledgmentClaims::ReceivedAt))
                    .col(timestamp_with_time_zone_null(AcknowledgmentClaims::AppliedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AcknowledgmentClaims::Table, AcknowledgmentClaims::AcknowledgmentId)
                            .to(Acknowledgments::Table, Acknowledgments::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_acknowledgment_claims_acknowledgment")
                    .table(AcknowledgmentClaims::Table)
                    .col(AcknowledgmentClaims::AcknowledgmentId)
                    .col(AcknowledgmentClaims::Position)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_acknowledgment_claims_claim")
                    .table(AcknowledgmentClaims::Table)
                    .col(AcknowledgmentClaims::ClaimId)
                    .and_where(Expr::col(AcknowledgmentClaims::ClaimId).is_not_null())
                    .to_owned(),
            )
            .await?;
        // Only the few rows still waiting for their claim, or whose claim has just come: what
        // every batch of new claims looks up by number, and what the job applies.
        manager
            .create_index(
                Index::create()
                    .name("idx_acknowledgment_claims_waiting")
                    .table(AcknowledgmentClaims::Table)
                    .col(AcknowledgmentClaims::ClaimNumber)
                    .and_where(Expr::col(AcknowledgmentClaims::State).eq("waiting"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_acknowledgment_claims_found")
                    .table(AcknowledgmentClaims::Table)
                    .col(AcknowledgmentClaims::Id)
                    .and_where(Expr::col(AcknowledgmentClaims::State).eq("found"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ClaimFileSets::Table)
                    .col(uuid(ClaimFileSets::ClaimFileId))
                    .col(integer(ClaimFileSets::Position))
                    .col(string_len(ClaimFileSets::InterchangeControlNumber, 20))
                    .col(string_len(ClaimFileSets::GroupControlNumber, 20))
                    .col(string_len(ClaimFileSets::TransactionControlNumber, 20))
                    .col(integer(ClaimFileSets::FirstClaim))
                    .col(integer(ClaimFileSets::ClaimCount))
                    .primary_key(Index::create().col(ClaimFileSets::ClaimFileId).col(ClaimFileSets::Position))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ClaimFileSets::Table, ClaimFileSets::ClaimFileId)
                            .to(Alias::new("claim_files"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_claim_file_sets_control_numbers")
                    .table(ClaimFileSets::Table)
                    .col(ClaimFileSets::GroupControlNumber)
                    .col(ClaimFileSets::TransactionControlNumber)
                    .to_owned(),
            )
            .await?;
        backfill_sets(manager).await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Claims::Table)
                    .add_column(timestamp_with_time_zone_null(Claims::AcceptedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(Table::alter().table(Claims::Table).add_column(text_null(Claims::PayerStatus)).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Denials::Table)
                    .add_column(string_len(Denials::Source, 16).default("remittance"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(Table::alter().table(Denials::Table).add_column(text_null(Denials::StatusCodes)).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(Denials::Table).add_column(text_null(Denials::Explanation)).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Denials::Explanation, Denials::StatusCodes, Denials::Source] {
            manager.alter_table(Table::alter().table(Denials::Table).drop_column(column).to_owned()).await?;
        }
        for column in [Claims::PayerStatus, Claims::AcceptedAt] {
            manager.alter_table(Table::alter().table(Claims::Table).drop_column(column).to_owned()).await?;
        }
        manager.drop_table(Table::drop().table(ClaimFileSets::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(AcknowledgmentClaims::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(AcknowledgmentBodies::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Acknowledgments::Table).to_owned()).await
    }
}

/// The sets of the claim files received before this migration, from their stored
/// `transaction_sets` (`[{interchange_control_number, group_control_number,
/// transaction_control_number, claim_count, …}]`, claims in file order).
async fn backfill_sets(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    use sea_orm_migration::sea_orm::{ConnectionTrait, JsonValue, Statement, Value};
    let db = manager.get_connection();
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_string(backend, "SELECT id, transaction_sets FROM claim_files".to_owned()))
        .await?;
    for row in rows {
        let id: sea_orm_migration::sea_orm::prelude::Uuid = row.try_get("", "id")?;
        let sets: JsonValue = row.try_get("", "transaction_sets")?;
        let mut first = 0i64;
        for (position, set) in sets.as_array().into_iter().flatten().enumerate() {
            let text =
                |key: &str| set.get(key).and_then(JsonValue::as_str).unwrap_or("").chars().take(20).collect::<String>();
            let count = set.get("claim_count").and_then(JsonValue::as_i64).unwrap_or(0);
            let mut insert = Query::insert();
            insert
                .into_table(ClaimFileSets::Table)
                .columns([
                    ClaimFileSets::ClaimFileId,
                    ClaimFileSets::Position,
                    ClaimFileSets::InterchangeControlNumber,
                    ClaimFileSets::GroupControlNumber,
                    ClaimFileSets::TransactionControlNumber,
                    ClaimFileSets::FirstClaim,
                    ClaimFileSets::ClaimCount,
                ])
                .values_panic([
                    Value::from(id).into(),
                    Value::from(position as i32).into(),
                    Value::from(text("interchange_control_number")).into(),
                    Value::from(text("group_control_number")).into(),
                    Value::from(text("transaction_control_number")).into(),
                    Value::from(first as i32).into(),
                    Value::from(count as i32).into(),
                ]);
            manager.exec_stmt(insert.to_owned()).await?;
            first += count;
        }
    }
    Ok(())
}
