//! How acknowledgments look in responses.

use chrono::{DateTime, Utc};
use overturn_domain::acknowledgments::status_in_words;
use overturn_domain::code_sets::CodeList;
use overturn_domain::x12::ack::StatusCode;
use overturn_entity::{acknowledgment, acknowledgment_claim};
use overturn_service::acknowledgments::{SetVerdict, StatusCodeRecord};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct AcknowledgmentSummary {
    pub id: Uuid,
    /// `999`, `277CA` or `277`.
    #[schema(example = "277CA")]
    pub kind: String,
    pub received_at: DateTime<Utc>,
    pub transaction_count: i32,
    /// Claims the acknowledgment speaks of (for a 999: the claims created from the sets it answers).
    pub claim_count: i32,
    /// Of them, matched to a claim on file.
    pub matched_count: i32,
    pub rejected_count: i32,
    /// The first receipt of the same bytes, when this file was received before. A repeat is
    /// stored and its claims matched, but it is not applied again.
    pub repeat_of: Option<Uuid>,
}

impl AcknowledgmentSummary {
    pub fn from_row(row: &acknowledgment::Model) -> Self {
        Self {
            id: row.id,
            kind: row.kind.clone(),
            received_at: row.received_at,
            transaction_count: row.transaction_count,
            claim_count: row.claim_count,
            matched_count: row.matched_count,
            rejected_count: row.rejected_count,
            repeat_of: row.repeat_of,
        }
    }
}

/// An acknowledgment, with what it says about each claim.
#[derive(Debug, Serialize, ToSchema)]
pub struct Acknowledgment {
    #[serde(flatten)]
    pub summary: AcknowledgmentSummary,
    /// A 999's verdict on each transaction set it answers, and the claim file matched (by
    /// AK1 GS06 and AK2 ST02); empty for a 277.
    pub transaction_sets: Vec<SetVerdict>,
    /// In file order; the first 500 (`claims_next_cursor` leads to the rest).
    pub claims: Vec<AcknowledgmentClaim>,
    pub claims_next_cursor: Option<String>,
}

/// A status code as sent, with its meaning.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusCodeOut {
    #[serde(flatten)]
    pub code: StatusCodeRecord,
    /// The category, status and entity in words (imported descriptions where loaded).
    #[schema(
        example = "A7 (Acknowledgment: rejected for invalid information): 562 The entity's national provider identifier (NPI) [billing provider]"
    )]
    pub description: String,
}

/// What an acknowledgment says about one claim.
#[derive(Debug, Serialize, ToSchema)]
pub struct AcknowledgmentClaim {
    pub claim_number: String,
    /// The claim matched; null while it waits for a claim of its number, or when more than one
    /// claim fits.
    pub claim_id: Option<Uuid>,
    /// `accepted`, `rejected`, `pending` or `finalized`.
    #[schema(example = "rejected")]
    pub outcome: String,
    pub status_codes: Vec<StatusCodeOut>,
    pub message: Option<String>,
    /// `claim_number`, `payer_claim_number`, `member_and_service` or `claim_file` (a 999).
    pub matched_by: Option<String>,
    /// `applied`; `waiting` for its claim (applied when a claim of its number arrives);
    /// `found` (its claim arrived, being applied); `ambiguous` (more than one claim fits:
    /// left alone rather than misapplied); `repeat` (the file was received before: matched for
    /// the record, never applied).
    #[schema(example = "applied")]
    pub state: String,
    /// TRN02: the patient control number in a 277CA, the inquiry's trace in a 277, the set's
    /// ST02 for a 999.
    pub trace: String,
    /// REF*1K.
    pub payer_claim_number: Option<String>,
    /// STC04 and STC05 where sent.
    #[schema(example = "125.00")]
    pub charge: Option<String>,
    #[schema(example = "96.00")]
    pub paid: Option<String>,
    /// STC02.
    pub effective_date: Option<chrono::NaiveDate>,
}

fn money(cents: Option<i64>) -> Option<String> {
    cents.and_then(|c| overturn_domain::Money::from_cents(c).ok()).map(|m| m.to_string())
}

impl AcknowledgmentClaim {
    pub fn from_row(row: &acknowledgment_claim::Model, describe: &dyn Fn(CodeList, &str) -> Option<String>) -> Self {
        let codes: Vec<StatusCodeRecord> = serde_json::from_str(&row.status_codes).unwrap_or_default();
        Self {
            claim_number: row.claim_number.clone(),
            claim_id: row.claim_id,
            outcome: row.outcome.clone(),
            status_codes: codes
                .into_iter()
                .map(|c| {
                    let status =
                        StatusCode { category: &c.category, code: &c.code, entity: c.entity.as_deref(), line: c.line };
                    let description = status_in_words(&status, describe);
                    StatusCodeOut { code: c, description }
                })
                .collect(),
            message: row.message.clone(),
            matched_by: row.matched_by.clone(),
            state: row.state.clone(),
            trace: row.trace.clone(),
            payer_claim_number: row.payer_claim_number.clone(),
            charge: money(row.charge_cents),
            paid: money(row.paid_cents),
            effective_date: row.effective_date,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AcknowledgmentList {
    pub items: Vec<AcknowledgmentSummary>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AcknowledgmentClaimList {
    pub items: Vec<AcknowledgmentClaim>,
    pub next_cursor: Option<String>,
}
