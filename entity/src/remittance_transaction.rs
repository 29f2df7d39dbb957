use sea_orm::entity::prelude::*;

/// One 835 transaction set (ST/SE): one payment or advice from a payer to a payee.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "remittance_transactions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub remittance_id: Uuid,
    /// 0-based order in the file.
    pub position: i32,
    /// The payer it answers for (`overturn_domain::x12::payer_key`: N1*PR's id, else TRN03),
    /// resolved once when the file is received.
    pub payer_id: String,
    /// Who issued the trace number (`overturn_domain::x12::originator`: TRN03, else N1*PR's
    /// id); with `trace_number` what makes a payment received twice recognisable.
    pub originator_id: String,
    /// TRN02.
    pub trace_number: String,
    pub payer_name: String,
    pub payer_id_qualifier: String,
    pub payer_identifier: String,
    pub payee_name: String,
    pub payee_id_qualifier: String,
    pub payee_identifier: String,
    /// BPR01.
    pub handling_code: String,
    /// BPR03.
    pub credit_debit: String,
    /// BPR04.
    pub payment_method: String,
    /// BPR02.
    pub payment_amount_cents: i64,
    /// BPR16.
    pub payment_date: Option<Date>,
    /// DTM*405.
    pub production_date: Option<Date>,
    pub interchange_control_number: String,
    pub group_control_number: String,
    pub transaction_control_number: String,
    /// PLB: `[{provider_id, fiscal_period_date, reason_code, reference, amount}]`.
    pub provider_adjustments: Json,
    pub claim_count: i32,
    /// The transaction that applied this payment first; set when this one was a duplicate.
    pub duplicate_of: Option<Uuid>,
    pub warnings: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
