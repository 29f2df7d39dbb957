use sea_orm::entity::prelude::*;

/// An 837 claim file as received: what became of each claim, and the 999 answered for it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "claim_files")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The 999's control number (ISA13, GS06), unique.
    pub number: i64,
    /// `received`.
    pub kind: String,
    /// `837P` or `837I`.
    pub format: String,
    pub received_at: DateTimeUtc,
    pub api_key_id: Uuid,
    pub byte_size: i64,
    pub sha256: String,
    pub claim_count: i32,
    pub created_count: i32,
    pub rejected_count: i32,
    pub duplicate_count: i32,
    /// `[{interchange_control_number, group_control_number, transaction_control_number,
    /// acknowledgment, claim_count}]`.
    pub transaction_sets: Json,
    /// JSON text: `[{claim_number, status, claim_id, errors, member_id}]` in file order
    /// (`member_id` kept for the access log, not shown).
    pub outcomes: String,
    /// The 999, as served.
    pub acknowledgment: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
