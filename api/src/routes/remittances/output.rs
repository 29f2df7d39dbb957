//! What the API shows of a remittance.

use chrono::{DateTime, NaiveDate, Utc};
use overturn_domain::Money;
use overturn_entity::{claim_payment, remittance, remittance_transaction};
pub use overturn_service::payment_detail::{AdjustmentOut, LinePaymentOut, PaymentDetail};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::routes::stored_money as money;

/// A remittance's totals, as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct RemittanceSummary {
    pub id: Uuid,
    /// Always `accepted`: a refused file is not stored.
    #[schema(example = "accepted")]
    pub status: &'static str,
    /// `x12` or `json`.
    pub source: String,
    pub received_at: DateTime<Utc>,
    pub byte_size: i64,
    /// SHA-256 of the body as received.
    pub sha256: String,
    pub transaction_count: i32,
    /// Transactions received before (same payer id and trace number): not applied again.
    pub duplicate_count: i32,
    /// Claim payments applied.
    pub claim_count: i32,
    /// Of those, how many found their claim.
    pub matched_count: i32,
    /// Σ of the payments applied (a debit counts negative).
    #[schema(value_type = String, example = "1250.00")]
    pub payment_total: Money,
    /// Situational segments a careful payer would have sent, and other oddities accepted.
    pub warnings: Vec<RemittanceWarning>,
    /// When the workers finished classifying its denials; null until then.
    pub classified_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RemittanceWarning {
    pub segment_index: usize,
    pub segment_id: String,
    pub message: String,
}

impl RemittanceSummary {
    pub fn from_row(row: &remittance::Model) -> Self {
        Self {
            id: row.id,
            status: "accepted",
            source: row.source.clone(),
            received_at: row.received_at,
            byte_size: row.byte_size,
            sha256: row.sha256.clone(),
            transaction_count: row.transaction_count,
            duplicate_count: row.duplicate_count,
            claim_count: row.claim_count,
            matched_count: row.matched_count,
            payment_total: money(row.payment_total_cents),
            warnings: serde_json::from_value(row.warnings.clone()).unwrap_or_default(),
            classified_at: row.classified_at,
        }
    }
}

/// The answer to `POST /v1/remittances`: totals, transactions, and each claim payment.
#[derive(Debug, Serialize, ToSchema)]
pub struct RemittanceAccepted {
    #[serde(flatten)]
    pub summary: RemittanceSummary,
    pub transactions: Vec<RemittanceTransaction>,
    pub claims: Vec<ClaimPaymentSummary>,
}

/// A remittance with everything in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Remittance {
    #[serde(flatten)]
    pub summary: RemittanceSummary,
    pub transactions: Vec<RemittanceTransaction>,
    /// The first 500 claim payments, in file order.
    pub claims: Vec<ClaimPaymentDetail>,
    /// Set when there are more: pass it as `cursor` to `GET /v1/remittances/{id}/claims`.
    pub claims_next_cursor: Option<String>,
    /// Descriptions of the remark codes in `claims` (imported, else built in).
    pub remark_descriptions: std::collections::BTreeMap<String, String>,
}

/// A page of a remittance's claim payments.
#[derive(Debug, Serialize, ToSchema)]
pub struct RemittanceClaimList {
    pub items: Vec<ClaimPaymentDetail>,
    pub next_cursor: Option<String>,
    /// Descriptions of the remark codes in `items`.
    pub remark_descriptions: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RemittanceList {
    pub items: Vec<RemittanceSummary>,
    pub next_cursor: Option<String>,
}

/// One payment (835 transaction set).
#[derive(Debug, Serialize, ToSchema)]
pub struct RemittanceTransaction {
    pub id: Uuid,
    /// 0-based order in the file.
    pub position: i32,
    /// The payer it answers for, as denials and follow-ups name it: the payer loop's id
    /// (N1*PR N104), else TRN03.
    pub payer_id: String,
    /// Who issued the trace number: TRN03, else the payer loop's id. A payment with the same
    /// originator and trace number as one received before is a duplicate.
    pub originator_id: String,
    pub payer_name: String,
    /// TRN02.
    pub trace_number: String,
    pub payee_name: String,
    /// The payee's id (NPI after `XX`).
    pub payee_id: String,
    #[schema(value_type = String, example = "1250.00")]
    pub payment_amount: Money,
    /// `C` credit or `D` debit.
    pub credit_debit: String,
    /// `ACH`, `CHK`, `NON`, …
    pub payment_method: String,
    pub payment_date: Option<NaiveDate>,
    /// DTM*405.
    pub production_date: Option<NaiveDate>,
    pub claim_count: i32,
    /// True when this payment was received before and so was not applied again.
    pub duplicate: bool,
    /// The transaction that applied it first.
    pub duplicate_of: Option<Uuid>,
    pub provider_adjustments: Vec<ProviderAdjustmentOut>,
    pub warnings: Vec<RemittanceWarning>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProviderAdjustmentOut {
    pub provider_id: String,
    pub fiscal_period_date: Option<NaiveDate>,
    pub reason_code: String,
    pub reference: Option<String>,
    /// Positive reduces the payment.
    #[schema(value_type = String, example = "25.00")]
    pub amount: String,
}

impl RemittanceTransaction {
    pub fn from_row(row: &remittance_transaction::Model) -> Self {
        Self {
            id: row.id,
            position: row.position,
            payer_id: row.payer_id.clone(),
            originator_id: row.originator_id.clone(),
            payer_name: row.payer_name.clone(),
            trace_number: row.trace_number.clone(),
            payee_name: row.payee_name.clone(),
            payee_id: row.payee_identifier.clone(),
            payment_amount: money(row.payment_amount_cents),
            credit_debit: row.credit_debit.clone(),
            payment_method: row.payment_method.clone(),
            payment_date: row.payment_date,
            production_date: row.production_date,
            claim_count: row.claim_count,
            duplicate: row.duplicate_of.is_some(),
            duplicate_of: row.duplicate_of,
            provider_adjustments: serde_json::from_value(row.provider_adjustments.clone()).unwrap_or_default(),
            warnings: serde_json::from_value(row.warnings.clone()).unwrap_or_default(),
        }
    }
}

/// One claim payment, as `POST /v1/remittances` reports it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimPaymentSummary {
    /// CLP01.
    pub claim_number: String,
    /// The claim it was matched to; null until that claim is created.
    pub claim_id: Option<Uuid>,
    /// `claim_number`, `payer_claim_control_number` or `line_control_number`.
    pub matched_by: Option<String>,
    /// CLP02.
    pub status_code: String,
    #[schema(value_type = String, example = "200.00")]
    pub charge: Money,
    #[schema(value_type = String, example = "120.00")]
    pub paid: Money,
    #[schema(value_type = String, example = "30.00")]
    pub patient_responsibility: Money,
    /// CLP07.
    pub payer_claim_control_number: Option<String>,
}

impl ClaimPaymentSummary {
    pub fn from_row(row: &claim_payment::Model) -> Self {
        Self {
            claim_number: row.claim_number.clone(),
            claim_id: row.claim_id,
            matched_by: row.matched_by.clone(),
            status_code: row.status_code.clone(),
            charge: money(row.charge_cents),
            paid: money(row.paid_cents),
            patient_responsibility: money(row.patient_responsibility_cents),
            payer_claim_control_number: row.payer_claim_control_number.clone(),
        }
    }
}

/// One claim payment with its adjustments, remark codes and service lines.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimPaymentDetail {
    pub id: Uuid,
    pub transaction_id: Uuid,
    #[serde(flatten)]
    pub summary: ClaimPaymentSummary,
    /// CLP09.
    pub frequency_code: String,
    /// CLP06.
    pub filing_indicator: String,
    /// Σ of the adjustments that are denials rather than contractual write-offs or patient shares.
    #[schema(value_type = String, example = "0.00")]
    pub denied_amount: Money,
    pub patient: PaymentPatient,
    #[serde(flatten)]
    pub detail: PaymentDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentPatient {
    pub member_id: Option<String>,
    pub first_name: String,
    pub last_name: String,
}

impl ClaimPaymentDetail {
    pub fn from_row(row: &claim_payment::Model) -> Self {
        Self {
            id: row.id,
            transaction_id: row.transaction_id,
            summary: ClaimPaymentSummary::from_row(row),
            frequency_code: row.frequency_code.clone(),
            filing_indicator: row.filing_indicator.clone(),
            denied_amount: money(row.denied_cents),
            patient: PaymentPatient {
                member_id: row.patient_member_id.clone(),
                first_name: row.patient_first_name.clone(),
                last_name: row.patient_last_name.clone(),
            },
            detail: serde_json::from_str(&row.detail).unwrap_or_default(),
        }
    }
}
