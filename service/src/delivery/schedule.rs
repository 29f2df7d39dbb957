//! The scheduler's side: handing webhook attempts that fall due to the queue.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use overturn_domain::webhooks::DeliveryStatus;
use overturn_entity::webhook_delivery;
use sea_orm::sea_query::{Expr, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use uuid::Uuid;

use crate::delivery::LOOKAHEAD;
use crate::queue::{Job, JobQueue, QueueError, Task};
use crate::sql::now;

/// What one scheduler pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enqueued {
    /// Attempts handed to the queue.
    pub handed: usize,
    /// Due rows read; `limit` of them means more may be waiting.
    pub scanned: usize,
}

/// Hands up to `limit` attempts due within `LOOKAHEAD` to the queue.
/// An attempt handed over longer than `stale_after` ago and still not made is handed over
/// again (its job was lost); the attempt-number check keeps a duplicate from sending twice.
pub async fn enqueue_due(
    db: &DatabaseConnection,
    queue: &dyn JobQueue,
    limit: u64,
    per_contact: usize,
    stale_after: Duration,
) -> Result<Enqueued, EnqueueError> {
    let now = now();
    let horizon = now + chrono::Duration::from_std(LOOKAHEAD).unwrap_or_default();
    let stale = now - chrono::Duration::from_std(LOOKAHEAD + stale_after).unwrap_or_default();
    let txn = db.begin().await?;
    let mut select = webhook_delivery::Entity::find()
        .select_only()
        .columns([
            webhook_delivery::Column::Id,
            webhook_delivery::Column::ContactId,
            webhook_delivery::Column::Attempts,
            webhook_delivery::Column::NextAttemptAt,
        ])
        .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending.as_str()))
        .filter(webhook_delivery::Column::NextAttemptAt.lte(horizon))
        .filter(
            sea_orm::Condition::any()
                .add(webhook_delivery::Column::EnqueuedAt.is_null())
                .add(webhook_delivery::Column::EnqueuedAt.lt(stale)),
        )
        .order_by_asc(webhook_delivery::Column::NextAttemptAt)
        .limit(limit);
    if db.get_database_backend() == DbBackend::Postgres {
        select = select.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let rows: Vec<(Uuid, Uuid, i32, Option<DateTime<Utc>>)> = select.into_tuple().all(&txn).await?;
    let scanned = rows.len();
    if rows.is_empty() {
        return Ok(Enqueued { handed: 0, scanned });
    }
    // A contact with thousands due takes a fair share of this batch, not all of it; the
    // rest stay rows for the next pass.
    let cap = per_contact.max(1) * 4;
    let mut taken: HashMap<Uuid, usize> = HashMap::new();
    let mut ids = Vec::new();
    let mut jobs = Vec::new();
    for (id, contact, attempts, due) in rows {
        let count = taken.entry(contact).or_default();
        if *count >= cap {
            continue;
        }
        *count += 1;
        let delay = due.map(|d| (d - now).to_std().unwrap_or_default()).unwrap_or_default();
        ids.push(id);
        jobs.push((Job::new(Task::DeliverWebhook { delivery_id: id, attempt: attempts as u32 + 1 }), delay));
    }
    queue.push(jobs).await?;
    webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::EnqueuedAt, Expr::value(now))
        .filter(webhook_delivery::Column::Id.is_in(ids.clone()))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(Enqueued { handed: ids.len(), scanned })
}

#[derive(Debug, thiserror::Error)]
pub enum EnqueueError {
    #[error("database: {0}")]
    Db(#[from] DbErr),
    #[error(transparent)]
    Queue(#[from] QueueError),
}
