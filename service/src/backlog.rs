//! What waits in the database for the workers: the readiness probe and the metrics show it,
//! since a queue can be shallow while thousands of rows wait their turn.

use overturn_domain::followups::FollowUpStatus;
use overturn_domain::webhooks::DeliveryStatus;
use overturn_entity::{follow_up, outbox, webhook_delivery};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter};

use crate::sql::now;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredBacklog {
    /// Jobs committed and not yet handed to the queue.
    pub outbox_pending: u64,
    /// Webhook deliveries still pending (due, or waiting for a retry).
    pub webhooks_pending: u64,
    /// Follow-ups past their due time and not fired yet.
    pub followups_overdue: u64,
}

pub async fn stored_backlog(db: &impl ConnectionTrait) -> Result<StoredBacklog, DbErr> {
    let outbox_pending = outbox::Entity::find().filter(outbox::Column::DispatchedAt.is_null()).count(db).await?;
    let webhooks_pending = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending.as_str()))
        .count(db)
        .await?;
    let followups_overdue = follow_up::Entity::find()
        .filter(follow_up::Column::Status.eq(FollowUpStatus::Scheduled.as_str()))
        .filter(follow_up::Column::DueAt.lte(now()))
        .count(db)
        .await?;
    Ok(StoredBacklog { outbox_pending, webhooks_pending, followups_overdue })
}
