use sea_orm::entity::prelude::*;

/// A webhook receiver standing for a patient (reference = member id) or a payer (reference =
/// payer id). Deleted contacts keep their row (`deleted_at`) so their delivery log stays.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contacts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: String,
    pub reference: String,
    pub name: String,
    pub webhook_url: String,
    /// JSON array of event names; `None` for the kind's defaults.
    pub events: Option<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<DateTimeUtc>,
    /// The signing secret, sealed.
    pub secret: String,
    /// The secret before the last rotation, sealed; it signs too until it expires.
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<DateTimeUtc>,
    /// Start of the current run of failed attempts with no success since.
    pub failing_since: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
    /// The API key that made it; a portal key changes only the contacts it made. Null for
    /// contacts made before this was recorded.
    pub created_by_key_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
