//! The scheduler step follow-ups and webhook deliveries share: rows that fall due within
//! `LOOKAHEAD` become delayed jobs.
//!
//! The rows are the schedule and the queue carries only the next minute of it. One pass reads
//! the waiting rows due by the horizon that were never handed over, or were handed over longer
//! than the stale delay ago (their job was lost), turns them into jobs, pushes the jobs and
//! marks the rows handed over, in one transaction. On PostgreSQL the rows are locked with
//! `SKIP LOCKED`, so the relays of several workers share the work instead of repeating it;
//! a job pushed twice anyway (a commit lost after the push) is harmless, since every job
//! acts only on rows still waiting for it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait, TryGetableMany, Value,
};
use uuid::Uuid;

use crate::queue::{Job, JobQueue, QueueError};
use crate::sql::{MAX_PARAMS, now};

/// How far ahead rows are handed to the queue: what falls due within it goes as delayed
/// jobs; what falls due later waits as rows.
pub const LOOKAHEAD: Duration = Duration::from_secs(60);

/// Where a table keeps its schedule.
pub struct Schedule<C> {
    pub id: C,
    pub status: C,
    /// The status of rows waiting to be acted on.
    pub waiting: Value,
    pub due_at: C,
    /// When the row was handed to the queue; null while it waits in the table.
    pub enqueued_at: C,
}

/// The jobs made of a pass's rows, and the rows they cover (a row may be left for the
/// next pass).
pub struct Handover {
    pub ids: Vec<Uuid>,
    pub jobs: Vec<(Job, Duration)>,
}

/// What one scheduler pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enqueued {
    /// Rows handed to the queue.
    pub handed: usize,
    /// Due rows read; `limit` of them means more may be waiting.
    pub scanned: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum EnqueueError {
    #[error("database: {0}")]
    Db(#[from] DbErr),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// Reads up to `limit` due rows of `E` (the `columns` given, in due order, into `R`), makes
/// them jobs with `to_jobs(rows, now)`, pushes them and marks the rows handed over.
pub async fn hand_over<E, R>(
    db: &DatabaseConnection,
    queue: &dyn JobQueue,
    schedule: Schedule<E::Column>,
    columns: impl IntoIterator<Item = E::Column>,
    limit: u64,
    stale_after: Duration,
    to_jobs: impl FnOnce(Vec<R>, DateTime<Utc>) -> Handover,
) -> Result<Enqueued, EnqueueError>
where
    E: EntityTrait,
    R: TryGetableMany,
{
    let now = now();
    let horizon = now + chrono::Duration::from_std(LOOKAHEAD).unwrap_or_default();
    let stale = now - chrono::Duration::from_std(LOOKAHEAD + stale_after).unwrap_or_default();
    let txn = db.begin().await?;
    let mut select = E::find()
        .select_only()
        .columns(columns)
        .filter(schedule.status.eq(schedule.waiting))
        .filter(schedule.due_at.lte(horizon))
        .filter(Condition::any().add(schedule.enqueued_at.is_null()).add(schedule.enqueued_at.lt(stale)))
        .order_by_asc(schedule.due_at)
        .limit(limit.max(1));
    if db.get_database_backend() == DbBackend::Postgres {
        select = select.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let rows: Vec<R> = select.into_tuple().all(&txn).await?;
    let scanned = rows.len();
    if rows.is_empty() {
        return Ok(Enqueued { handed: 0, scanned });
    }
    let Handover { ids, jobs } = to_jobs(rows, now);
    queue.push(jobs).await?;
    for chunk in ids.chunks(MAX_PARAMS) {
        E::update_many()
            .col_expr(schedule.enqueued_at, Expr::value(now))
            .filter(schedule.id.is_in(chunk.iter().copied()))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(Enqueued { handed: ids.len(), scanned })
}
