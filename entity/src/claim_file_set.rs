use sea_orm::entity::prelude::*;

/// One transaction set of a claim file, by the control numbers a 999 answers with.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "claim_file_sets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub claim_file_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    pub interchange_control_number: String,
    /// GS06.
    pub group_control_number: String,
    /// ST02.
    pub transaction_control_number: String,
    /// Its first claim's index in the file's outcomes, and how many it holds.
    pub first_claim: i32,
    pub claim_count: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
