use overturn_domain::webhooks::DeliveryStatus;
use sea_orm::entity::prelude::*;

use crate::stored::Stored;

/// One event on its way to one contact: `pending` until an attempt succeeds (`succeeded`),
/// the schedule runs out (`failed`), or the contact goes away (`cancelled`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub event_id: Uuid,
    pub contact_id: Uuid,
    pub event_type: String,
    pub status: Stored<DeliveryStatus>,
    /// Attempts made so far.
    pub attempts: i32,
    pub next_attempt_at: Option<DateTimeUtc>,
    /// When the next attempt was handed to the queue; `None` while it waits in the table.
    pub enqueued_at: Option<DateTimeUtc>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
