use sea_orm::entity::prelude::*;

/// A payment applied once: (originator, trace number) → the transaction that applied it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "remittance_traces")]
pub struct Model {
    /// The trace's originator (`overturn_domain::x12::originator`), the transaction's
    /// `originator_id`: TRN03, else N1*PR's id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub payer_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub trace_number: String,
    pub transaction_id: Uuid,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
