use sea_orm::entity::prelude::*;

/// One request's access to patient data (see `overturn_domain::audit`). `seq`, `prev_hash`
/// and `hash` are null until the sealer chains it, moments after it is written.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub seq: Option<i64>,
    pub at: DateTimeUtc,
    pub key_id: Option<Uuid>,
    pub role: String,
    pub session_id: Option<Uuid>,
    pub action: String,
    pub route: String,
    pub status: i32,
    pub resource_type: String,
    /// JSON array of strings (at most 100).
    pub resource_ids: String,
    pub resource_count: i64,
    /// JSON array of strings (at most 100).
    pub member_ids: String,
    pub member_count: i64,
    pub request_id: String,
    pub remote_addr: Option<String>,
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
