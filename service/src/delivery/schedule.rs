//! The scheduler's side: handing webhook attempts that fall due to the queue.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use overturn_domain::webhooks::DeliveryStatus;
use overturn_entity::stored::Stored;
use overturn_entity::webhook_delivery::{self, Column};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::due::{self, EnqueueError, Enqueued, Handover, Schedule};
use crate::queue::{Job, JobQueue, Task};

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
    };
    let columns = [Column::Id, Column::ContactId, Column::Attempts, Column::NextAttemptAt];
    due::hand_over::<webhook_delivery::Entity, (Uuid, Uuid, i32, Option<DateTime<Utc>>)>(
        db,
        queue,
        schedule,
        columns,
        limit,
        stale_after,
        |rows, now| {
            // A contact with thousands due takes a fair share of this batch, not all of it;
            // the rest stay rows for the next pass.
            let cap = per_contact.max(1) * 4;
            let mut taken: HashMap<Uuid, usize> = HashMap::new();
            let mut handover = Handover { ids: Vec::new(), jobs: Vec::new() };
            for (id, contact, attempts, due) in rows {
                let count = taken.entry(contact).or_default();
                if *count >= cap {
                    continue;
                }
                *count += 1;
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
