use sea_orm::entity::prelude::*;

/// One CLP loop: what a payer did with one claim, matched to the claim when one is known.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "claim_payments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub remittance_id: Uuid,
    pub transaction_id: Uuid,
    /// 0-based order in the remittance.
    pub position: i32,
    pub claim_id: Option<Uuid>,
    /// `claim_number`, `payer_claim_control_number` or `line_control_number`.
    pub matched_by: Option<String>,
    /// CLP01.
    pub claim_number: String,
    /// CLP02.
    pub status_code: String,
    pub charge_cents: i64,
    pub paid_cents: i64,
    pub patient_responsibility_cents: i64,
    /// Σ of the adjustments (claim and line) that are denials rather than ordinary write-offs.
    pub denied_cents: i64,
    /// CLP07.
    pub payer_claim_control_number: Option<String>,
    pub frequency_code: String,
    pub filing_indicator: String,
    pub facility_code: String,
    pub patient_member_id: Option<String>,
    pub patient_first_name: String,
    pub patient_last_name: String,
    /// DTM*405 of its transaction, else BPR16: where appeal windows start.
    pub production_date: Option<Date>,
    /// `{adjustments, remark_codes, lines}` as the API shows them: JSON text, written once
    /// and only read back whole, so it is stored as text and never parsed by the database.
    pub detail: String,
    pub received_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
