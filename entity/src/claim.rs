use overturn_domain::ClaimStatus;
use sea_orm::entity::prelude::*;

use crate::stored::Stored;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "claims")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Unique with `revision`: a correction keeps the number of the claim it replaces.
    pub claim_number: String,
    pub payer_id: String,
    pub payer_name: String,
    pub patient_member_id: String,
    pub patient_first_name: String,
    pub patient_last_name: String,
    pub patient_date_of_birth: Date,
    pub provider_npi: String,
    pub provider_name: String,
    pub service_date: Date,
    pub submitted_at: DateTimeUtc,
    pub frequency_code: String,
    pub payer_claim_control_number: Option<String>,
    pub diagnosis_codes: Json,
    pub total_charge_cents: i64,
    pub paid_amount_cents: i64,
    pub patient_responsibility_cents: i64,
    pub status: Stored<ClaimStatus>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The claim this one replaces or voids (a correction, frequency 7 or 8).
    pub replaces_claim_id: Option<Uuid>,
    /// 0 for an original claim; one more than the claim it replaces, under the same number.
    pub revision: i32,
    /// When the payer (or its clearinghouse) acknowledged taking the claim into adjudication
    /// (a 277CA category A1, A2 or A5): the status-check clock runs from then.
    pub accepted_at: Option<DateTimeUtc>,
    /// JSON text: the latest claim status answer (277) `{category, code, entity, effective_date,
    /// paid_amount, received_at}`.
    pub payer_status: Option<String>,
    /// JSON text: the scrubber's edits the claim was stored with (warnings, and errors a
    /// `?scrub=warn` request let through); `None` for a clean claim.
    pub edits: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::claim_line::Entity")]
    Lines,
}

impl Related<super::claim_line::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Lines.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
