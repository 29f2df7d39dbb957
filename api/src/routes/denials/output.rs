//! What the API shows of a denial.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use overturn_domain::Money;
use overturn_domain::denial_workflow::DenialStatus;
use overturn_entity::{denial, denial_event};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::routes::stored_money as money;

/// One denied adjustment and where its work stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct Denial {
    pub id: Uuid,
    /// Null while the payment waits for its claim.
    pub claim_id: Option<Uuid>,
    /// CLP01.
    #[schema(example = "CLM-1002")]
    pub claim_number: String,
    /// The remittance the denial came from; for a rejection (`source: acknowledgment`), the
    /// acknowledgment.
    pub remittance_id: Uuid,
    /// For a rejection, the work item's own key.
    pub claim_payment_id: Uuid,
    /// `remittance` (an 835's adjustment) or `acknowledgment` (a claim returned at the front
    /// door by a 999, 277CA or 277: category `rejection`).
    #[schema(example = "remittance")]
    pub source: String,
    /// A rejection's claim status codes, as sent.
    pub status_codes: Vec<overturn_service::acknowledgments::StatusCodeRecord>,
    /// The payer's id from the 835 (N1*PR, else TRN03): the key of payer rules.
    #[schema(example = "60054")]
    pub payer_id: String,
    /// 1-based service line; null at claim level.
    pub line_number: Option<i32>,
    #[schema(example = "99213")]
    pub procedure_code: Option<String>,
    /// Null for a denied claim (CLP02 = 4) without a recognised denial reason.
    #[schema(example = "CO")]
    pub group_code: Option<String>,
    #[schema(example = "197")]
    pub reason_code: Option<String>,
    #[schema(example = json!(["N54"]))]
    pub remark_codes: Vec<String>,
    /// The reason code's description (an imported official list wins over the built-in text).
    pub reason_description: Option<String>,
    /// Descriptions of the remark codes that have one.
    pub remark_descriptions: BTreeMap<String, String>,
    /// The reason, refined by the remark codes: what a person reads first in the worklist.
    #[schema(
        example = "The claim or service lacks information or has submission or billing errors. M51: Missing, incomplete or invalid procedure code or codes"
    )]
    pub explanation: String,
    /// `eligibility`, `authorization`, `coding`, `medical_necessity`, `timely_filing`,
    /// `duplicate`, `bundling`, `missing_information`, `coordination_of_benefits`,
    /// `non_covered`, `provider_eligibility`, `other`, or `rejection` (returned before
    /// adjudication: its explanation quotes the status codes in words).
    #[schema(example = "authorization")]
    pub category: String,
    /// The team that fixes it: `coding`, `registration`, `clinical` or `billing`.
    #[schema(example = "registration")]
    pub work_queue: String,
    #[schema(value_type = String, example = "145.00")]
    pub amount: Money,
    /// `correct_and_resubmit`, `appeal`, `verify_eligibility`, `obtain_authorization`,
    /// `bill_other_payer`, `bill_patient`, `write_off` or `review`.
    #[schema(example = "obtain_authorization")]
    pub recommended_action: String,
    /// Higher first; the formula is in the README.
    pub priority: i32,
    /// The 835's production date + the payer's appeal window.
    pub appeal_deadline: Option<NaiveDate>,
    /// `open`, `in_progress`, `appealed`, `resubmitted`, `overturned`, `upheld` or `written_off`.
    #[schema(example = "open")]
    pub status: String,
    pub assignee: Option<String>,
    /// Set when resolved.
    #[schema(value_type = Option<String>, example = "145.00")]
    pub recovered_amount: Option<Money>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Denial {
    pub fn from_row(
        row: &denial::Model,
        reasons: &BTreeMap<String, String>,
        remarks: &BTreeMap<String, String>,
    ) -> Self {
        let remark_codes: Vec<String> = serde_json::from_str(&row.remark_codes).unwrap_or_default();
        let reason = match (&row.reason_code, row.reason_code.as_ref().and_then(|c| reasons.get(c))) {
            (_, Some(text)) => text.clone(),
            (Some(code), None) => format!("Adjustment reason {code}"),
            (None, None) => "The payer denied the claim without a denial reason code".to_owned(),
        };
        let mut explanation = reason;
        for code in &remark_codes {
            if let Some(text) = remarks.get(code) {
                explanation.push_str(&format!(". {code}: {text}"));
            }
        }
        // A rejection's words were written when it came, from its status codes.
        if let Some(text) = &row.explanation {
            explanation = text.clone();
        }
        Self {
            explanation,
            id: row.id,
            claim_id: row.claim_id,
            claim_number: row.claim_number.clone(),
            remittance_id: row.remittance_id,
            claim_payment_id: row.claim_payment_id,
            source: row.source.clone(),
            status_codes: row.status_codes.as_deref().and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default(),
            payer_id: row.payer_id.clone(),
            line_number: row.line_number,
            procedure_code: row.procedure_code.clone(),
            group_code: row.group_code.clone(),
            reason_code: row.reason_code.clone(),
            reason_description: row.reason_code.as_ref().and_then(|c| reasons.get(c)).cloned(),
            remark_descriptions: remark_codes
                .iter()
                .filter_map(|c| remarks.get(c).map(|d| (c.clone(), d.clone())))
                .collect(),
            remark_codes,
            category: row.category.clone(),
            work_queue: row.work_queue.clone(),
            amount: money(row.amount_cents),
            recommended_action: row.recommended_action.clone(),
            priority: row.priority,
            appeal_deadline: row.appeal_deadline,
            status: row.status.as_str().to_owned(),
            assignee: row.assignee.clone(),
            recovered_amount: row.recovered_cents.map(money),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A denial with its history and notes.
#[derive(Debug, Serialize, ToSchema)]
pub struct DenialDetail {
    #[serde(flatten)]
    pub denial: Denial,
    /// Every change, oldest first; the first is the classification itself.
    pub history: Vec<DenialEvent>,
    /// The notes of the history, oldest first.
    pub notes: Vec<DenialNote>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DenialEvent {
    /// `classified`, `assign`, `start`, `appeal`, `resubmit`, `resolve`, `write_off` or `note`.
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub assignee: Option<String>,
    pub note: Option<String>,
    #[schema(value_type = Option<String>)]
    pub recovered_amount: Option<Money>,
    /// The API key's name (`overturn` for the workers).
    pub actor: String,
    pub actor_key_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DenialNote {
    pub note: String,
    pub actor: String,
    pub at: DateTime<Utc>,
}

impl DenialEvent {
    pub fn classified(row: &denial::Model) -> Self {
        Self {
            action: "classified".into(),
            from_status: None,
            to_status: DenialStatus::Open.as_str().into(),
            assignee: None,
            note: None,
            recovered_amount: None,
            actor: "overturn".into(),
            actor_key_id: None,
            at: row.created_at,
        }
    }

    pub fn from_row(row: &denial_event::Model) -> Self {
        Self {
            action: row.action.clone(),
            from_status: row.from_status.clone(),
            to_status: row.to_status.clone(),
            assignee: row.assignee.clone(),
            note: row.note.clone(),
            recovered_amount: row.recovered_cents.map(money),
            actor: row.actor_name.clone(),
            actor_key_id: row.actor_key_id,
            at: row.at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DenialList {
    pub items: Vec<DenialDetail>,
    pub next_cursor: Option<String>,
}
