use overturn_domain::denial_workflow::DenialStatus;
use sea_orm::entity::prelude::*;

use crate::stored::Stored;

/// One denied adjustment (or a denied claim without a recognised reason), classified by the
/// workers and worked by the billing team.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "denials")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub remittance_id: Uuid,
    pub claim_payment_id: Uuid,
    /// Null until the claim payment is matched to a claim.
    pub claim_id: Option<Uuid>,
    /// CLP01.
    pub claim_number: String,
    /// The payer key of the payment's transaction (`overturn_domain::x12::payer_key`).
    pub payer_id: String,
    /// 0-based service line, -1 at claim level.
    pub line_position: i32,
    /// 0-based CAS triplet, -1 for a denied claim without a recognised reason.
    pub adjustment_position: i32,
    pub line_number: Option<i32>,
    pub procedure_code: Option<String>,
    pub group_code: Option<String>,
    pub reason_code: Option<String>,
    /// JSON array of remark codes.
    pub remark_codes: String,
    pub category: String,
    pub work_queue: String,
    pub recommended_action: String,
    pub amount_cents: i64,
    pub production_date: Option<Date>,
    pub appeal_deadline: Option<Date>,
    pub priority: i32,
    pub status: Stored<DenialStatus>,
    pub assignee: Option<String>,
    pub recovered_cents: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// `remittance`, or `acknowledgment` for a front-door rejection (999, 277CA, 277): then
    /// `remittance_id` names the acknowledgment and `claim_payment_id` is the rejection's own key.
    pub source: String,
    /// JSON text of a rejection's status codes `[{category, code, entity, line}]`.
    pub status_codes: Option<String>,
    /// A rejection's explanation, the codes in words as they read when it came.
    pub explanation: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
