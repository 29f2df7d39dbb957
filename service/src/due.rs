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

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, EntityTrait,
    IdenStatic, QueryFilter, QueryOrder, QuerySelect, Statement, TryGetableMany, Value,
};
use uuid::Uuid;

use crate::queue::{Job, JobQueue, QueueError};
use crate::sql::{MAX_PARAMS, now, placeholder};

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
    /// Rows of one group (a contact) get a bounded share of the queue, so a group with
    /// thousands due waits behind its own rows, not in front of everyone else's.
    pub share: Option<Share<C>>,
}

/// A per-group bound on rows handed over and not yet acted on.
pub struct Share<C> {
    pub group: C,
    /// Rows of a group in the queue and due at most, counting those handed over earlier.
    pub per_group: usize,
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
    let txn = crate::db::begin_write(db).await?;
    let (rows, scanned): (Vec<R>, usize) = match &schedule.share {
        Some(share) => {
            // The oldest waiting rows as (id, group), a page of at least a few shares: shared
            // out per group at once, unless one group crowds a full page (a backlog, whose
            // attempts already queued count too), when others may wait behind it.
            let page_size = limit.max(1).max(share.per_group as u64 * 4);
            let page: Vec<(Uuid, Uuid)> = waiting::<E>(&schedule, horizon, stale)
                .column(schedule.id)
                .column(share.group)
                .limit(page_size)
                .into_tuple()
                .all(&txn)
                .await?;
            let mut taken: HashMap<Uuid, usize> = HashMap::new();
            let mut chosen = Vec::with_capacity(page.len());
            let mut held = 0;
            for (id, group) in &page {
                let count = taken.entry(*group).or_default();
                *count += 1;
                if *count <= share.per_group {
                    chosen.push(*id);
                } else {
                    held += 1;
                }
            }
            // Crowded: most of the page is over some group's share. A few rows over (groups
            // interleaved unevenly) just wait for the next pass.
            let crowded = held * 2 >= page.len();
            let full = page.len() as u64 == page_size;
            let limit_rows = limit.max(1) as usize;
            if crowded && full {
                // Each group's share first, over every due row (so the rows behind a backlog
                // are seen); the room left goes to the oldest rows, the backlog's own: nobody
                // waits behind it for more than the queue's depth, and it is not slowed when
                // it is alone.
                let statement =
                    fair_pick::<E>(db.get_database_backend(), &schedule, share, Window { now, horizon, stale, limit });
                let fair: Vec<Uuid> = txn
                    .query_all_raw(statement)
                    .await?
                    .iter()
                    .map(|row| row.try_get_by_index::<Uuid>(0))
                    .collect::<Result<_, _>>()?;
                let first: HashSet<Uuid> = fair.iter().copied().collect();
                chosen = fair;
                for (id, _) in &page {
                    if chosen.len() >= limit_rows {
                        break;
                    }
                    if !first.contains(id) {
                        chosen.push(*id);
                    }
                }
            }
            chosen.truncate(limit_rows);
            // The page was read unlocked: the chosen rows are taken locked and still waiting,
            // so another worker's relay that handed some over meanwhile is not repeated.
            let mut select = waiting::<E>(&schedule, horizon, stale).columns(columns).filter(schedule.id.is_in(chosen));
            if txn.get_database_backend() == DbBackend::Postgres {
                select = select.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
            }
            // A full page means more may wait: the caller's cue to come back at once.
            let scanned = if full { limit_rows } else { page.len().min(limit_rows) };
            (select.into_tuple().all(&txn).await?, scanned)
        }
        None => {
            let rows = oldest_first::<E, R>(&txn, &schedule, columns, horizon, stale, limit).await?;
            let scanned = rows.len();
            (rows, scanned)
        }
    };
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

/// The moments and the size of one pass.
struct Window {
    now: DateTime<Utc>,
    horizon: DateTime<Utc>,
    /// Rows handed over before this are taken to have lost their job.
    stale: DateTime<Utc>,
    limit: u64,
}

/// Rows waiting and due by `horizon` (never handed over, or handed over before `stale`), in
/// due order; the caller selects the columns.
fn waiting<E: EntityTrait>(
    schedule: &Schedule<E::Column>,
    horizon: DateTime<Utc>,
    stale: DateTime<Utc>,
) -> sea_orm::Select<E> {
    E::find()
        .select_only()
        .filter(schedule.status.eq(schedule.waiting.clone()))
        .filter(schedule.due_at.lte(horizon))
        .filter(Condition::any().add(schedule.enqueued_at.is_null()).add(schedule.enqueued_at.lt(stale)))
        .order_by_asc(schedule.due_at)
        .order_by_asc(schedule.id)
}

/// Waiting rows in due order, locked on PostgreSQL.
async fn oldest_first<E, R>(
    txn: &DatabaseTransaction,
    schedule: &Schedule<E::Column>,
    columns: impl IntoIterator<Item = E::Column>,
    horizon: DateTime<Utc>,
    stale: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<R>, DbErr>
where
    E: EntityTrait,
    R: TryGetableMany,
{
    let mut select = waiting::<E>(schedule, horizon, stale).columns(columns).limit(limit.max(1));
    if txn.get_database_backend() == DbBackend::Postgres {
        select = select.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    select.into_tuple().all(txn).await
}

/// Waiting rows in due order, each group's first `per_group` less those of its rows already
/// handed over and due: one scan of the due rows, whose number a pass does not bound (a
/// backlog of one group is read whole to find the others behind it). Locked on PostgreSQL.
fn fair_pick<E: EntityTrait>(
    backend: DbBackend,
    schedule: &Schedule<E::Column>,
    share: &Share<E::Column>,
    window: Window,
) -> Statement {
    let table = E::default().table_name().to_owned();
    let (id, group) = (schedule.id.as_str(), share.group.as_str());
    let (status, due, handed) = (schedule.status.as_str(), schedule.due_at.as_str(), schedule.enqueued_at.as_str());
    // Bare `?` on SQLite bind in text order, so values are pushed as their marks are written.
    let mut values: Vec<Value> = Vec::new();
    let mut mark = |value: Value| {
        values.push(value);
        placeholder(backend, values.len())
    };
    let waiting_then = format!("({handed} IS NULL OR {handed} < {})", mark(window.stale.into()));
    let busy_since = mark(window.stale.into());
    let busy_due = mark(window.now.into());
    let waiting = mark(schedule.waiting.clone());
    let horizon = mark(window.horizon.into());
    let waiting_now = format!("({handed} IS NULL OR {handed} < {})", mark(window.stale.into()));
    let per_group = mark((share.per_group as i64).into());
    let limit = mark((window.limit.max(1) as i64).into());
    let sql = format!(
        "SELECT {id} FROM (\
           SELECT {id}, {due}, {handed}, \
             ROW_NUMBER() OVER (PARTITION BY {group}, {waiting_then} ORDER BY {due}, {id}) AS share_nth, \
             SUM(CASE WHEN {handed} >= {busy_since} AND {due} <= {busy_due} THEN 1 ELSE 0 END) \
               OVER (PARTITION BY {group}) AS share_busy \
           FROM {table} WHERE {status} = {waiting} AND {due} <= {horizon}\
         ) pick WHERE {waiting_now} AND share_nth + share_busy <= {per_group} \
         ORDER BY {due}, {id} LIMIT {limit}"
    );
    Statement::from_sql_and_values(backend, sql, values)
}
