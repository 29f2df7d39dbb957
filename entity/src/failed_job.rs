use sea_orm::entity::prelude::*;

/// A job that failed on every attempt (the dead-job list); a retry puts it back in the outbox.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "failed_jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub topic: String,
    /// What the job was about (the remittance of a classification), for lookups.
    pub subject_id: Option<Uuid>,
    pub payload: Json,
    /// The last attempt's error.
    pub error: String,
    pub attempts: i32,
    pub failed_at: DateTimeUtc,
    pub retried_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
