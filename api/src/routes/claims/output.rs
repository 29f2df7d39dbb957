//! How a claim looks in responses.

use chrono::{DateTime, NaiveDate, Utc};
use overturn_domain::Money;
use overturn_entity::{claim, claim_line};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct Claim {
    pub id: Uuid,
    pub claim_number: String,
    /// `submitted`, `paid`, `partially_paid`, `denied` or `reversed`.
    #[schema(example = "submitted")]
    pub status: String,
    pub payer: Payer,
    pub patient: Patient,
    pub provider: Provider,
    pub service_date: NaiveDate,
    pub submitted_at: DateTime<Utc>,
    pub frequency_code: String,
    pub payer_claim_control_number: Option<String>,
    /// The claim this one replaces or voids (a correction).
    pub replaces_claim_id: Option<Uuid>,
    pub diagnosis_codes: Vec<String>,
    pub lines: Vec<ClaimLine>,
    #[schema(value_type = String, example = "200.00")]
    pub total_charge: Money,
    #[schema(value_type = String, example = "0.00")]
    pub paid_amount: Money,
    #[schema(value_type = String, example = "0.00")]
    pub patient_responsibility: Money,
    /// The denials classified from its payments, oldest first: the first 100 (`denial_count`
    /// says how many there are; `GET /v1/denials?claim_id=` pages them all).
    pub denials: Vec<crate::routes::denials::DenialDetail>,
    pub denial_count: i64,
    /// Its follow-ups (status check, timely filing, and those of its denials), soonest due
    /// first: the first 100 (`GET /v1/follow-ups?claim_id=` pages them all).
    pub follow_ups: Vec<crate::routes::followups::FollowUp>,
    pub follow_up_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Most denials and follow-ups a claim embeds; the rest are paged from their own lists.
pub const EMBEDDED: u64 = 100;

#[derive(Debug, Serialize, ToSchema)]
pub struct Payer {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Patient {
    pub member_id: String,
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: NaiveDate,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Provider {
    pub npi: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimLine {
    /// 1-based position on the claim.
    pub line_number: i32,
    pub procedure_code: String,
    pub modifiers: Vec<String>,
    /// Units of service as a decimal string ("1", "1.5").
    pub units: String,
    #[schema(value_type = String, example = "180.00")]
    pub charge: Money,
    pub service_date: NaiveDate,
    /// REF*6R, when the line was sent with one.
    pub line_control_number: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimList {
    pub items: Vec<Claim>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

use crate::routes::stored_money as money;

fn strings(json: &serde_json::Value) -> Vec<String> {
    json.as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

impl Claim {
    pub fn from_rows(row: claim::Model, lines: Vec<claim_line::Model>) -> Self {
        Self {
            id: row.id,
            claim_number: row.claim_number,
            status: row.status.as_str().to_owned(),
            payer: Payer { id: row.payer_id, name: row.payer_name },
            patient: Patient {
                member_id: row.patient_member_id,
                first_name: row.patient_first_name,
                last_name: row.patient_last_name,
                date_of_birth: row.patient_date_of_birth,
            },
            provider: Provider { npi: row.provider_npi, name: row.provider_name },
            service_date: row.service_date,
            submitted_at: row.submitted_at,
            frequency_code: row.frequency_code,
            payer_claim_control_number: row.payer_claim_control_number,
            replaces_claim_id: row.replaces_claim_id,
            diagnosis_codes: strings(&row.diagnosis_codes),
            lines: lines
                .into_iter()
                .map(|l| ClaimLine {
                    line_number: l.line_number,
                    procedure_code: l.procedure_code,
                    modifiers: strings(&l.modifiers),
                    units: l.units,
                    charge: money(l.charge_cents),
                    service_date: l.service_date,
                    line_control_number: l.line_control_number,
                })
                .collect(),
            total_charge: money(row.total_charge_cents),
            paid_amount: money(row.paid_amount_cents),
            patient_responsibility: money(row.patient_responsibility_cents),
            denials: Vec::new(),
            denial_count: 0,
            follow_ups: Vec::new(),
            follow_up_count: 0,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}
