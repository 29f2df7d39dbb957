//! The outbox: work committed with the rows that call for it, handed to the queue by the
//! relay in chunks. Several relays (one per worker process) may run at once: on PostgreSQL
//! each claims its chunk with `FOR UPDATE SKIP LOCKED`; on SQLite there is one process. A
//! relay that dies between the push and the commit pushes that chunk again later; jobs are
//! idempotent.

use std::time::Duration;

use overturn_entity::{failed_job, outbox, remittance};
use sea_orm::sea_query::{Expr, LockBehavior, LockType};
use sea_orm::{ColumnTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::queue::{Job, JobQueue, Task};
use crate::sql::now;

/// Handing outbox rows to the queue fails as handing due rows does.
pub use crate::due::EnqueueError as RelayError;

/// An outbox row for work to hand to the queue, written in the caller's transaction.
pub fn pending_job(task: &Task, now: chrono::DateTime<chrono::Utc>) -> outbox::ActiveModel {
    outbox::ActiveModel::from(outbox::Model {
        id: Uuid::now_v7(),
        topic: task.topic().to_owned(),
        payload: task.payload(),
        created_at: now,
        dispatched_at: None,
    })
}

/// Moves up to `limit` pending outbox rows to the queue; returns how many.
pub async fn relay_once(db: &DatabaseConnection, queue: &dyn JobQueue, limit: u64) -> Result<usize, RelayError> {
    let txn = crate::db::begin_write(db).await?;
    let mut select = outbox::Entity::find()
        .filter(outbox::Column::DispatchedAt.is_null())
        .order_by_asc(outbox::Column::Id)
        .limit(limit);
    if db.get_database_backend() == DbBackend::Postgres {
        select = select.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let rows = select.all(&txn).await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut jobs = Vec::with_capacity(rows.len());
    for row in rows {
        match Task::from_parts(&row.topic, row.payload.clone()) {
            Ok(task) => jobs.push((Job { id: row.id, task, attempt: 0 }, Duration::ZERO)),
            // Written by a newer version, or by hand: no worker here could run it, so it goes
            // to the dead-job list as it stands instead of blocking the rows behind it.
            Err(err) => {
                tracing::error!(outbox = %row.id, topic = %row.topic, "outbox row names no job this version runs");
                crate::jobs::record_unreadable(&txn, row.id, &row.topic, row.payload, &err.to_string()).await?;
            }
        }
    }
    queue.push(jobs).await?;
    outbox::Entity::update_many()
        .col_expr(outbox::Column::DispatchedAt, Expr::value(now()))
        .filter(outbox::Column::Id.is_in(ids.clone()))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(ids.len())
}

/// Re-queues classification of remittances left unclassified (see `stale_after`); returns
/// how many. Only when nothing is waiting anywhere, so a long backlog is never doubled.
pub async fn requeue_stale(
    db: &DatabaseConnection,
    queue: &dyn JobQueue,
    stale_after: Duration,
) -> Result<usize, RelayError> {
    if queue.depth().await? > 0 {
        return Ok(0);
    }
    let pending = outbox::Entity::find().filter(outbox::Column::DispatchedAt.is_null()).limit(1).all(db).await?;
    if !pending.is_empty() {
        return Ok(0);
    }
    let cutoff = chrono::Utc::now() - chrono::Duration::from_std(stale_after).unwrap_or(chrono::Duration::MAX);
    // Remittances whose job is in the dead-job list wait for a person, not for the sweep; left
    // out in the query, so they cannot fill the page and hide live ones.
    let dead = sea_orm::sea_query::Query::select()
        .column(failed_job::Column::SubjectId)
        .from(failed_job::Entity)
        .and_where(failed_job::Column::RetriedAt.is_null())
        .and_where(failed_job::Column::SubjectId.is_not_null())
        .to_owned();
    let stale: Vec<Uuid> = remittance::Entity::find()
        .select_only()
        .column(remittance::Column::Id)
        .filter(remittance::Column::ClassifiedAt.is_null())
        .filter(remittance::Column::ReceivedAt.lt(cutoff))
        .filter(remittance::Column::Id.not_in_subquery(dead))
        .limit(500)
        .into_tuple()
        .all(db)
        .await?;
    if stale.is_empty() {
        return Ok(0);
    }
    let stamp = now();
    let rows: Vec<outbox::ActiveModel> =
        stale.iter().map(|&remittance_id| pending_job(&Task::ClassifyRemittance { remittance_id }, stamp)).collect();
    outbox::Entity::insert_many(rows).exec_without_returning(db).await?;
    tracing::warn!(count = stale.len(), "re-queued remittances whose classification never finished");
    Ok(stale.len())
}
