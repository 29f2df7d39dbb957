use sea_orm::entity::prelude::*;

/// A write's PHI access event, committed with the write, waiting to be chained (PostgreSQL).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_pending")]
pub struct Model {
    /// The event's id (UUIDv7: the chainer takes them in this order).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The event, as `overturn_domain::audit::AuditEvent` serializes it.
    pub event: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
