use sea_orm::entity::prelude::*;

/// An acknowledgment file as received (999, 277CA or 277) and what came of it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "acknowledgments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `999`, `277CA` or `277`.
    pub kind: String,
    pub received_at: DateTimeUtc,
    pub api_key_id: Uuid,
    pub byte_size: i64,
    pub sha256: String,
    /// The first receipt of the same bytes, when this is a repeat.
    pub repeat_of: Option<Uuid>,
    pub transaction_count: i32,
    pub claim_count: i32,
    pub matched_count: i32,
    pub rejected_count: i32,
    /// JSON text: a 999's verdict on each transaction set (`[]` for a 277).
    pub sets: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
