use sea_orm::entity::prelude::*;

/// The bytes of an acknowledgment exactly as received.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "acknowledgment_bodies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub acknowledgment_id: Uuid,
    pub content_type: String,
    pub body: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
