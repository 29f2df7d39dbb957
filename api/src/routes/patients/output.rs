//! The patient-facing forms of claims, denials and balances: what a patient may read about
//! their own care, without the billing team's working data (notes, assignees, actors and key
//! ids, priorities, work queues, follow-ups).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use overturn_domain::Money;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::routes::claims::{Claim, ClaimLine, Patient, Payer, Provider};
use crate::routes::denials::Denial;

/// A claim as its patient sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PatientClaim {
    pub id: Uuid,
    pub claim_number: String,
    /// `submitted`, `paid`, `partially_paid`, `denied` or `reversed`.
    #[schema(example = "partially_paid")]
    pub status: String,
    pub payer: Payer,
    pub patient: Patient,
    pub provider: Provider,
    pub service_date: NaiveDate,
    pub submitted_at: DateTime<Utc>,
    pub diagnosis_codes: Vec<String>,
    pub lines: Vec<ClaimLine>,
    #[schema(value_type = String, example = "200.00")]
    pub total_charge: Money,
    #[schema(value_type = String, example = "120.00")]
    pub paid_amount: Money,
    #[schema(value_type = String, example = "30.00")]
    pub patient_responsibility: Money,
    /// What the payer denied, oldest first: the first 100 of `denial_count`.
    pub denials: Vec<PatientDenial>,
    pub denial_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Claim> for PatientClaim {
    fn from(c: Claim) -> Self {
        Self {
            id: c.id,
            claim_number: c.claim_number,
            status: c.status,
            payer: c.payer,
            patient: c.patient,
            provider: c.provider,
            service_date: c.service_date,
            submitted_at: c.submitted_at,
            diagnosis_codes: c.diagnosis_codes,
            lines: c.lines,
            total_charge: c.total_charge,
            paid_amount: c.paid_amount,
            patient_responsibility: c.patient_responsibility,
            denials: c.denials.into_iter().map(|d| PatientDenial::from(d.denial)).collect(),
            denial_count: c.denial_count,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PatientClaimList {
    pub items: Vec<PatientClaim>,
    pub next_cursor: Option<String>,
}

/// A denial as its patient sees it: what was denied and why, and where it stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct PatientDenial {
    pub id: Uuid,
    /// Null while the payer's answer waits for its claim.
    pub claim_id: Option<Uuid>,
    pub claim_number: String,
    /// 1-based service line; null at claim level.
    pub line_number: Option<i32>,
    pub procedure_code: Option<String>,
    #[schema(example = "CO")]
    pub group_code: Option<String>,
    #[schema(example = "27")]
    pub reason_code: Option<String>,
    pub remark_codes: Vec<String>,
    pub reason_description: Option<String>,
    pub remark_descriptions: BTreeMap<String, String>,
    /// The reason, refined by the remark codes.
    pub explanation: String,
    /// `eligibility`, `authorization`, `coding`, …: the same categories as the worklist.
    #[schema(example = "eligibility")]
    pub category: String,
    #[schema(value_type = String, example = "145.00")]
    pub amount: Money,
    /// Until when the denial can be appealed.
    pub appeal_deadline: Option<NaiveDate>,
    /// `open`, `in_progress`, `appealed`, `resubmitted`, `overturned`, `upheld` or `written_off`.
    #[schema(example = "open")]
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Denial> for PatientDenial {
    fn from(d: Denial) -> Self {
        Self {
            id: d.id,
            claim_id: d.claim_id,
            claim_number: d.claim_number,
            line_number: d.line_number,
            procedure_code: d.procedure_code,
            group_code: d.group_code,
            reason_code: d.reason_code,
            remark_codes: d.remark_codes,
            reason_description: d.reason_description,
            remark_descriptions: d.remark_descriptions,
            explanation: d.explanation,
            category: d.category,
            amount: d.amount,
            appeal_deadline: d.appeal_deadline,
            status: d.status,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

/// One part of a patient's share: a PR adjustment reason and its amount.
#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceShare {
    #[schema(example = "PR")]
    pub group_code: String,
    /// 1 deductible, 2 coinsurance, 3 copay, …
    #[schema(example = "2")]
    pub reason_code: String,
    #[schema(example = "Coinsurance Amount")]
    pub reason_description: Option<String>,
    #[schema(value_type = String, example = "30.00")]
    pub amount: Money,
}

/// A claim the patient owes on.
#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceClaim {
    pub claim_id: Uuid,
    pub claim_number: String,
    pub service_date: NaiveDate,
    pub payer: Payer,
    #[schema(value_type = String, example = "30.00")]
    pub patient_responsibility: Money,
    /// The share by PR reason, over every payer answer on the claim.
    pub breakdown: Vec<BalanceShare>,
}

/// What a patient owes.
#[derive(Debug, Serialize, ToSchema)]
pub struct PatientBalance {
    pub member_id: String,
    /// Over every claim the patient owes on.
    #[schema(value_type = String, example = "30.00")]
    pub total_due: Money,
    /// How many claims make up `total_due`.
    pub claim_count: u64,
    /// The newest 500 of them, newest first.
    pub claims: Vec<BalanceClaim>,
}
