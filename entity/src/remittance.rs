use sea_orm::entity::prelude::*;

/// One payer-response file (or JSON document) as accepted, with its totals.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "remittances")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `x12` or `json`.
    pub source: String,
    pub received_at: DateTimeUtc,
    /// The API key that sent it.
    pub api_key_id: Uuid,
    pub byte_size: i64,
    pub sha256: String,
    pub transaction_count: i32,
    /// Transactions already received before (same payer and trace number), not applied again.
    pub duplicate_count: i32,
    /// Claim payments applied (those of duplicate transactions are not stored).
    pub claim_count: i32,
    /// Of those, the ones matched to a claim.
    pub matched_count: i32,
    /// Σ BPR02 of the transactions applied.
    pub payment_total_cents: i64,
    /// `[{segment_index, segment_id, message}]`.
    pub warnings: Json,
    /// When the workers finished classifying its denials.
    pub classified_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
