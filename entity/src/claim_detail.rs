use sea_orm::entity::prelude::*;

/// A claim's 837 loops as they came (`overturn_domain::x12::claim837::StoredClaim`), to
/// write it back out.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "claim_details")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub claim_id: Uuid,
    /// The claim file it came in.
    pub claim_file_id: Option<Uuid>,
    /// `837P` or `837I`.
    pub format: String,
    /// JSON text.
    pub detail: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
