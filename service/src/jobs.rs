//! Jobs as the application keeps them: counters a process exposes, and the dead-job list
//! (`failed_jobs`) that a person reads and retries.

use overturn_entity::failed_job;
use sea_orm::{ConnectionTrait, EntityTrait};
use uuid::Uuid;

use crate::queue::Job;
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
