use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "claim_lines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub claim_id: Uuid,
    /// 1-based, in the order the claim listed its lines (LX01 on the 837).
    #[sea_orm(primary_key, auto_increment = false)]
    pub line_number: i32,
    pub procedure_code: String,
    pub modifiers: Json,
    /// Canonical decimal text ("1", "1.5"): units are quantities, never summed as money.
    pub units: String,
    pub charge_cents: i64,
    pub service_date: Date,
    /// REF*6R the provider sent for the line; payers echo it on the 835.
    pub line_control_number: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::claim::Entity",
        from = "Column::ClaimId",
        to = "super::claim::Column::Id",
        on_delete = "Cascade"
    )]
    Claim,
}

impl Related<super::claim::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Claim.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
