use sea_orm::entity::prelude::*;

/// The bytes of a remittance exactly as received: the record of what the payer said.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "remittance_files")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub remittance_id: Uuid,
    pub content_type: String,
    pub body: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
