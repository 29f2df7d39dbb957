use sea_orm::entity::prelude::*;

/// The audit trail of a denial: who did what, when, and the status it moved between.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "denial_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub denial_id: Uuid,
    /// `classified` or an action of `POST /v1/denials/{id}/actions`.
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub assignee: Option<String>,
    pub note: Option<String>,
    pub recovered_cents: Option<i64>,
    /// The API key that acted; null for the workers.
    pub actor_key_id: Option<Uuid>,
    pub actor_name: String,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
