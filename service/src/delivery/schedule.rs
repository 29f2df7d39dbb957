//! The scheduler's side: handing webhook attempts that fall due to the queue.

use std::time::Duration;

use chrono::{DateTime, Utc};
use overturn_domain::webhooks::DeliveryStatus;
use overturn_entity::stored::Stored;
use overturn_entity::webhook_delivery::{self, Column};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::due::{self, EnqueueError, Enqueued, Handover, Schedule, Share};
use crate::queue::{Job, JobQueue, Task};

/// A contact's attempts handed over and due, at most, as a multiple of its requests in flight:
/// enough that a fast receiver never waits for the scheduler's next pass.
const SHARE_OF_IN_FLIGHT: usize = 4;

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
    let schedule = Schedule {
        id: Column::Id,
        status: Column::Status,
        waiting: Stored(DeliveryStatus::Pending).into(),
        due_at: Column::NextAttemptAt,
        enqueued_at: Column::EnqueuedAt,
        // A contact's attempts in the queue stay a few times what it may have in flight: a
        // contact with thousands due then waits behind its own attempts, and everyone else's
        // are handed over beside them (issue #17, finding 12).
        share: Some(Share { group: Column::ContactId, per_group: per_contact.max(1) * SHARE_OF_IN_FLIGHT }),
    };
    let columns = [Column::Id, Column::Attempts, Column::NextAttemptAt];
    due::hand_over::<webhook_delivery::Entity, (Uuid, i32, Option<DateTime<Utc>>)>(
        db,
        queue,
        schedule,
        columns,
        limit,
        stale_after,
        |rows, now| {
            let mut handover = Handover { ids: Vec::new(), jobs: Vec::new() };
            for (id, attempts, due) in rows {
                let delay = due.map(|d| (d - now).to_std().unwrap_or_default()).unwrap_or_default();
                handover.ids.push(id);
                let task = Task::DeliverWebhook { delivery_id: id, attempt: attempts as u32 + 1 };
                handover.jobs.push((Job::new(task), delay));
            }
            handover
        },
    )
    .await
}
