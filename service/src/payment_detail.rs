//! The stored `detail` of a claim payment: its adjustments, remark codes and service lines.
//! `PaymentDetail` is the one reading of the format, for the API and for classification
//! alike. Rows are written with one- and two-letter keys (half the size) straight from the
//! parsed file (`remittance_store::rows::Detail`, a serializer only, tested to read back
//! here as the file said); rows written before that carry the full names, and both read.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How the stored `detail` column reads.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct PaymentDetail {
    /// Claim-level adjustments (CAS in the claim loop).
    #[serde(alias = "a")]
    pub adjustments: Vec<AdjustmentOut>,
    /// Claim-level remark codes (MOA, MIA).
    #[serde(alias = "r")]
    pub remark_codes: Vec<String>,
    #[serde(alias = "l")]
    pub lines: Vec<LinePaymentOut>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AdjustmentOut {
    /// `CO`, `PR`, `OA`, `PI` (`CR` in old files).
    #[serde(alias = "g")]
    pub group_code: String,
    #[serde(alias = "c")]
    pub reason_code: String,
    /// The reason's description: the official text when a list was imported
    /// (`overturn codes import`), else Overturn's own summary; null for an unknown code.
    #[serde(default)]
    pub reason_description: Option<String>,
    #[schema(value_type = String, example = "50.00")]
    #[serde(alias = "m")]
    pub amount: String,
    #[serde(alias = "q")]
    pub quantity: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LinePaymentOut {
    /// 1-based order of the line within the claim payment.
    #[serde(alias = "n")]
    pub line_number: u32,
    #[serde(alias = "pq")]
    pub procedure_qualifier: String,
    #[serde(alias = "p")]
    pub procedure_code: String,
    #[serde(alias = "md")]
    pub modifiers: Vec<String>,
    /// The procedure as billed, when the payer paid another (SVC06).
    #[serde(alias = "op")]
    pub original_procedure_code: Option<String>,
    #[serde(alias = "om")]
    pub original_modifiers: Option<Vec<String>>,
    #[schema(value_type = String, example = "180.00")]
    #[serde(alias = "ch")]
    pub charge: String,
    #[schema(value_type = String, example = "100.00")]
    #[serde(alias = "pd")]
    pub paid: String,
    #[schema(value_type = Option<String>)]
    #[serde(alias = "al")]
    pub allowed: Option<String>,
    #[serde(alias = "u")]
    pub units: Option<String>,
    #[serde(alias = "d")]
    pub service_date: Option<NaiveDate>,
    /// REF*6R.
    #[serde(alias = "lc")]
    pub line_control_number: Option<String>,
    #[serde(alias = "a")]
    pub adjustments: Vec<AdjustmentOut>,
    /// LQ*HE.
    #[serde(alias = "r")]
    pub remark_codes: Vec<String>,
}
