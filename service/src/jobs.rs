//! Jobs as the application keeps them: counters a process exposes, and the dead-job list
//! (`failed_jobs`) that a person reads and retries.

use overturn_entity::{failed_job, outbox};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::outbox::pending_job;
use crate::queue::{Job, Task};
use crate::sql::now;

/// Counters a process exposes in `/metrics`.
#[derive(Default)]
pub struct JobMetrics {
    pub succeeded: std::sync::atomic::AtomicU64,
    pub retried: std::sync::atomic::AtomicU64,
    pub failed: std::sync::atomic::AtomicU64,
    pub denials_created: std::sync::atomic::AtomicU64,
    /// Webhook attempts by outcome.
    pub webhooks_succeeded: std::sync::atomic::AtomicU64,
    pub webhooks_failed: std::sync::atomic::AtomicU64,
    pub webhooks_deferred: std::sync::atomic::AtomicU64,
    pub followups_fired: std::sync::atomic::AtomicU64,
}

/// Puts a job that failed for good on the dead-job list.
pub async fn record_failure(db: &impl ConnectionTrait, job: &Job, error: &str) -> Result<(), sea_orm::DbErr> {
    let row = dead(job.task.topic(), job.task.subject_id(), job.task.payload(), error, job.attempt as i32 + 1);
    failed_job::Entity::insert(row).exec_without_returning(db).await?;
    Ok(())
}

/// Puts work that no job of this version can run (an outbox row of an unknown topic, say) on
/// the dead-job list as it was stored, under the id it had.
pub async fn record_unreadable(
    db: &impl ConnectionTrait,
    id: Uuid,
    topic: &str,
    payload: serde_json::Value,
    error: &str,
) -> Result<(), sea_orm::DbErr> {
    let mut row = dead(topic, None, payload, error, 0);
    row.id = sea_orm::ActiveValue::Set(id);
    failed_job::Entity::insert(row)
        .on_conflict(sea_orm::sea_query::OnConflict::column(failed_job::Column::Id).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    Ok(())
}

fn dead(
    topic: &str,
    subject_id: Option<Uuid>,
    payload: serde_json::Value,
    error: &str,
    attempts: i32,
) -> failed_job::ActiveModel {
    failed_job::ActiveModel::from(failed_job::Model {
        id: Uuid::now_v7(),
        topic: topic.chars().take(64).collect(),
        subject_id,
        payload,
        error: error.chars().take(2000).collect(),
        attempts,
        failed_at: now(),
        retried_at: None,
    })
}

/// Which part of the dead-job list to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadJobState {
    /// Not yet put back to work.
    Failed,
    Retried,
}

/// Dead jobs in `state`, newest first, after the cursor `before` (exclusive), at most `limit`.
pub async fn list_dead(
    db: &impl ConnectionTrait,
    state: DeadJobState,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<failed_job::Model>, DbErr> {
    let mut select = failed_job::Entity::find();
    select = match state {
        DeadJobState::Failed => select.filter(failed_job::Column::RetriedAt.is_null()),
        DeadJobState::Retried => select.filter(failed_job::Column::RetriedAt.is_not_null()),
    };
    if let Some(before) = before {
        select = select.filter(failed_job::Column::Id.lt(before));
    }
    select.order_by_desc(failed_job::Column::Id).limit(limit).all(db).await
}

#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    #[error("no failed job {0}")]
    NotFound(Uuid),
    #[error("failed job {0} was already retried")]
    AlreadyRetried(Uuid),
    #[error("failed job {id} cannot run again: {reason}")]
    Unrunnable { id: Uuid, reason: String },
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Puts a dead job back to work, in the caller's transaction: marks it retried and writes
/// its task to the outbox, to run afresh with a new series of attempts. A job retried
/// before, or one whose stored task this version cannot run, is refused and nothing changes.
pub async fn retry(txn: &impl ConnectionTrait, id: Uuid) -> Result<failed_job::Model, RetryError> {
    let now = now();
    let claimed = failed_job::Entity::update_many()
        .col_expr(failed_job::Column::RetriedAt, Expr::value(now))
        .filter(failed_job::Column::Id.eq(id))
        .filter(failed_job::Column::RetriedAt.is_null())
        .exec(txn)
        .await?;
    let row = failed_job::Entity::find_by_id(id).one(txn).await?.ok_or(RetryError::NotFound(id))?;
    if claimed.rows_affected != 1 {
        return Err(RetryError::AlreadyRetried(id));
    }
    let task = Task::from_parts(&row.topic, row.payload.clone())
        .map_err(|e| RetryError::Unrunnable { id, reason: e.to_string() })?;
    outbox::Entity::insert(pending_job(&task, now)).exec_without_returning(txn).await?;
    Ok(row)
}
