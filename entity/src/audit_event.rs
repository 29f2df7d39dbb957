use sea_orm::entity::prelude::*;

/// One request's access to patient data (see `overturn_domain::audit`), sealed into the chain
/// as it was appended. Stored narrow, since every claim written writes one: the time as
/// microseconds, the hash as its 32 bytes, the previous hash not at all (it is the hash of
/// the row before, or the purge checkpoint's).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    /// Position in the chain, from 1.
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    pub id: Uuid,
    /// Microseconds since the Unix epoch, UTC.
    pub at: i64,
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
    /// The patient, when the event names exactly one (indexed); else null.
    pub member_id: Option<String>,
    /// JSON array of strings (at most 100); null when the event names just `member_id`.
    pub member_ids: Option<String>,
    pub member_count: i64,
    pub request_id: String,
    pub remote_addr: Option<String>,
    /// SHA-256, 32 bytes.
    pub hash: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
