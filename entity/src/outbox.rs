use sea_orm::entity::prelude::*;

/// Work for the job queue, committed with the change that causes it; the relay hands it to
/// the queue and sets `dispatched_at`, so a queue that is down delays work but loses none.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// What to do, e.g. `classify_remittance`.
    pub topic: String,
    pub payload: Json,
    pub created_at: DateTimeUtc,
    pub dispatched_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
