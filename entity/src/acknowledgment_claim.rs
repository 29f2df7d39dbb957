use sea_orm::entity::prelude::*;

/// What one acknowledgment says about one claim: matched to the claim (and applied), waiting
/// for a claim of its number, or left unmatched because more than one claim fits.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "acknowledgment_claims")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub acknowledgment_id: Uuid,
    /// 0-based, in file order.
    pub position: i32,
    /// The acknowledgment's kind, `999`, `277CA` or `277`: what applying it means.
    pub kind: String,
    /// The patient control number (CLM01) the acknowledgment names.
    pub claim_number: String,
    /// TRN02 (a 999's claims: the set's ST02).
    pub trace: String,
    /// REF*1K.
    pub payer_claim_number: Option<String>,
    pub member_id: Option<String>,
    pub service_date: Option<Date>,
    pub charge_cents: Option<i64>,
    pub paid_cents: Option<i64>,
    pub effective_date: Option<Date>,
    /// `accepted`, `rejected`, `pending` or `finalized`.
    pub outcome: String,
    /// JSON text: `[{category, code, entity, line}]`.
    pub status_codes: String,
    pub message: Option<String>,
    pub claim_id: Option<Uuid>,
    /// `claim_number`, `payer_claim_number`, `member_and_service`, `claim_file`.
    pub matched_by: Option<String>,
    /// `applied`, `waiting` (no claim yet), `found` (its claim came; to apply), `ambiguous`, or
    /// `repeat` (the same file received before: shown, never applied).
    pub state: String,
    /// A 999 set waiting for its claim file (`claim_number` empty, `trace` its ST02): its GS06.
    pub group_control_number: Option<String>,
    pub received_at: DateTimeUtc,
    pub applied_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
