use sea_orm::entity::prelude::*;

/// A line control number (REF*6R) of a claim payment no claim matched yet.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "unmatched_line_refs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub control_number: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub claim_payment_id: Uuid,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
