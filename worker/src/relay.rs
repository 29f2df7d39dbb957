//! The outbox relay: hands committed work to the queue in chunks, and holds back while the
//! queue is deep, so a backlog of any size waits in the database rather than in Redis.
//!
//! Several relays (one per worker process) may run at once: on PostgreSQL each claims its
//! chunk with `FOR UPDATE SKIP LOCKED`; on SQLite there is one process. A relay that dies
//! between the push and the commit pushes that chunk again later; jobs are idempotent.

use std::sync::Arc;
use std::time::Duration;

use overturn_entity::{failed_job, outbox, remittance};
use sea_orm::sea_query::{Expr, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use tokio::sync::{Notify, watch};
use uuid::Uuid;

use crate::queue::{Job, JobQueue, QueueError};
use crate::sql::now;

#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// Outbox rows handed over per transaction.
    pub chunk: u64,
    /// The queue depth above which the relay waits.
    pub high_water: u64,
    /// The same for the webhook queue, kept to a few fetches' worth: apalis-redis takes each
    /// fetched job's lease with an `LREM` over the whole list of waiting jobs, so every
    /// fetch costs in proportion to the depth. At 2,000 waiting, that held one worker to
    /// about 500 deliveries/s, with Redis blocked up to 70 ms a fetch.
    pub webhook_high_water: u64,
    /// How often an idle relay looks at the outbox (a local `wake` is immediate).
    pub poll: Duration,
    /// A remittance still unclassified this long after it arrived, with nothing queued or
    /// waiting, is handed to the queue again (its job was lost with a queue that lost data).
    pub stale_after: Duration,
    /// Webhook requests one contact may have in flight per process (see `delivery`).
    pub per_contact: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("database: {0}")]
    Db(#[from] DbErr),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// Follow-ups one scheduler pass reads at most (one transaction).
const FOLLOWUPS_PER_PASS: u64 = 10_000;

/// An outbox row for work to hand to the queue, written in the caller's transaction.
pub fn pending_job(topic: &str, payload: serde_json::Value, now: chrono::DateTime<chrono::Utc>) -> outbox::ActiveModel {
    outbox::ActiveModel::from(outbox::Model {
        id: Uuid::now_v7(),
        topic: topic.to_owned(),
        payload,
        created_at: now,
        dispatched_at: None,
    })
}

/// Moves up to `limit` pending outbox rows to the queue; returns how many.
pub async fn relay_once(db: &DatabaseConnection, queue: &dyn JobQueue, limit: u64) -> Result<usize, RelayError> {
    let txn = db.begin().await?;
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
    let jobs = rows
        .into_iter()
        .map(|r| (Job { id: r.id, topic: r.topic, payload: r.payload, attempt: 0 }, Duration::ZERO))
        .collect();
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
    let rows: Vec<outbox::ActiveModel> = stale
        .iter()
        .map(|id| pending_job(crate::classify::TOPIC, serde_json::json!({ "remittance_id": id }), stamp))
        .collect();
    outbox::Entity::insert_many(rows).exec_without_returning(db).await?;
    tracing::warn!(count = stale.len(), "re-queued remittances whose classification never finished");
    Ok(stale.len())
}

/// Runs until `stop`: relays while there is work and room, sleeps otherwise.
pub async fn run(
    db: DatabaseConnection,
    queue: Arc<dyn JobQueue>,
    webhook_queue: Arc<dyn JobQueue>,
    settings: RelaySettings,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let mut last_sweep = std::time::Instant::now();
    let mut last_prune = std::time::Instant::now();
    loop {
        if *stop.borrow() {
            return;
        }
        let mut busy = false;
        // One depth read serves the outbox and the follow-up scheduler: what the outbox just
        // pushed is added to it, so together they still stop at the high-water mark.
        match queue.depth().await {
            Ok(mut depth) => {
                if depth < settings.high_water {
                    let room = (settings.high_water - depth).min(settings.chunk);
                    match relay_once(&db, queue.as_ref(), room).await {
                        Ok(n) => {
                            busy = n as u64 == room;
                            depth += n as u64;
                        }
                        Err(err) => tracing::warn!(error = %err, "outbox relay failed; retrying"),
                    }
                }
                // Follow-ups falling due within the minute, in jobs of up to `JOB_BATCH`; the
                // rest of the schedule waits as rows.
                if depth < settings.high_water {
                    let jobs = (settings.high_water - depth).min(settings.chunk).max(1);
                    let rows = (jobs * crate::followups::JOB_BATCH as u64).min(FOLLOWUPS_PER_PASS);
                    match crate::followups::enqueue_due(&db, queue.as_ref(), rows, settings.stale_after).await {
                        Ok(pass) => busy |= pass.scanned as u64 == rows,
                        Err(err) => tracing::warn!(error = %err, "follow-up scheduler failed; retrying"),
                    }
                }
            }
            Err(err) => tracing::warn!(error = %err, "queue unreachable; the outbox and follow-ups keep the work"),
        }
        // Webhook deliveries are their own outbox, on their own queue: a flood of them never
        // delays classification, nor the other way round.
        match webhook_queue.depth().await {
            Ok(depth) if depth < settings.webhook_high_water => {
                let room = (settings.webhook_high_water - depth).min(settings.chunk);
                match crate::delivery::enqueue_due(
                    &db,
                    webhook_queue.as_ref(),
                    room,
                    settings.per_contact,
                    settings.stale_after,
                )
                .await
                {
                    // A full page read means more may be due, even when fairness held some back.
                    Ok(pass) => busy |= pass.scanned as u64 == room,
                    Err(err) => tracing::warn!(error = %err, "webhook scheduler failed; retrying"),
                }
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "webhook queue unreachable; deliveries wait as rows"),
        }
        if last_sweep.elapsed() >= settings.stale_after.min(Duration::from_secs(60)) {
            last_sweep = std::time::Instant::now();
            if let Err(err) = requeue_stale(&db, queue.as_ref(), settings.stale_after).await {
                tracing::warn!(error = %err, "stale classification sweep failed");
            }
        }
        if last_prune.elapsed() >= queue.prune_every() {
            last_prune = std::time::Instant::now();
            for q in [&queue, &webhook_queue] {
                match q.prune().await {
                    Ok(n) => tracing::debug!(pruned = n, "pruned finished jobs from the queue"),
                    Err(err) => tracing::warn!(error = %err, "queue prune failed"),
                }
            }
        }
        if busy {
            tokio::task::yield_now().await;
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(settings.poll) => {}
            _ = wake.notified() => {}
            _ = stop.changed() => {}
        }
    }
}
