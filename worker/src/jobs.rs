//! Runs a job by its topic, with our own retry schedule: a transient failure pushes the next
//! attempt as a new delayed job; the last failure, or a permanent one, lands in the
//! `failed_jobs` table (the dead-job list the API shows and can retry).

use std::sync::Arc;
use std::time::Duration;

use overturn_entity::failed_job;
use rand::Rng;
use sea_orm::{DatabaseConnection, EntityTrait};
use uuid::Uuid;

use crate::classify::{self, ClassifyError, Outcome};
use crate::delivery::{self, Attempted};
use crate::followups;
use crate::queue::{Job, JobFailed, JobQueue};
use crate::sql::now;

/// Delays before attempts 2, 3, …: a database restart or failover is over within the first
/// few; after the last the job is dead and waits for a person.
pub const RETRY_DELAYS: [Duration; 5] = [
    Duration::from_secs(2),
    Duration::from_secs(10),
    Duration::from_secs(60),
    Duration::from_secs(300),
    Duration::from_secs(1800),
];

pub struct JobContext {
    pub db: DatabaseConnection,
    pub queue: Arc<dyn JobQueue>,
    pub metrics: Arc<JobMetrics>,
    /// Claim payments a classification job reads and writes at a time.
    pub classify_page: u64,
    pub webhooks: Arc<crate::delivery::Webhooks>,
    /// Wakes this process's relay, which also schedules webhook deliveries.
    pub wake: Arc<tokio::sync::Notify>,
}

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

enum Failure {
    Transient(String),
    Permanent(String),
}

/// The handler every worker runs. An `Err` is returned only when even recording the failure
/// failed (the database or queue is down): apalis then keeps the job for a later delivery.
pub async fn handle(ctx: Arc<JobContext>, job: Job) -> Result<(), JobFailed> {
    use std::sync::atomic::Ordering::Relaxed;
    let started = std::time::Instant::now();
    let result = run(&ctx, &job).await;
    match result {
        Ok(()) => {
            ctx.metrics.succeeded.fetch_add(1, Relaxed);
            tracing::debug!(job = %job.id, topic = %job.topic, attempt = job.attempt, ms = started.elapsed().as_millis() as u64, "job done");
            Ok(())
        }
        Err(Failure::Transient(error)) if (job.attempt as usize) < RETRY_DELAYS.len() => {
            let delay = jitter(RETRY_DELAYS[job.attempt as usize]);
            tracing::warn!(job = %job.id, topic = %job.topic, attempt = job.attempt, %error, retry_in_s = delay.as_secs(), "job failed; retrying");
            let next = Job { attempt: job.attempt + 1, ..job };
            ctx.queue
                .push(vec![(next, delay)])
                .await
                .map_err(|e| JobFailed(format!("cannot schedule the retry: {e}")))?;
            ctx.metrics.retried.fetch_add(1, Relaxed);
            Ok(())
        }
        Err(Failure::Transient(error) | Failure::Permanent(error)) => {
            tracing::error!(job = %job.id, topic = %job.topic, attempt = job.attempt, %error, "job failed for good");
            record_failure(&ctx.db, &job, &error)
                .await
                .map_err(|e| JobFailed(format!("cannot record the failure: {e}")))?;
            ctx.metrics.failed.fetch_add(1, Relaxed);
            Ok(())
        }
    }
}

async fn run(ctx: &JobContext, job: &Job) -> Result<(), Failure> {
    let started = std::time::Instant::now();
    match job.topic.as_str() {
        classify::TOPIC => {
            let id = subject_id(job).ok_or_else(|| Failure::Permanent("payload has no remittance_id".into()))?;
            match classify::classify_remittance(&ctx.db, id, ctx.classify_page).await {
                Ok(Outcome::Classified { payments, adjustments, denials, deliveries }) => {
                    ctx.metrics.denials_created.fetch_add(denials as u64, std::sync::atomic::Ordering::Relaxed);
                    if deliveries > 0 {
                        ctx.wake.notify_one();
                    }
                    let ms = started.elapsed().as_millis() as u64;
                    tracing::info!(remittance = %id, payments, adjustments, denials, deliveries, ms, "remittance classified");
                    Ok(())
                }
                Ok(Outcome::AlreadyClassified | Outcome::Missing) => Ok(()),
                Err(ClassifyError::Db(e)) => Err(Failure::Transient(e.to_string())),
                Err(ClassifyError::Corrupt(e)) => Err(Failure::Permanent(e)),
            }
        }
        delivery::TOPIC => {
            let (id, attempt) = delivery::parse_job(job)
                .ok_or_else(|| Failure::Permanent("payload has no delivery_id and attempt".into()))?;
            let outcome = delivery::attempt(&ctx.db, &ctx.webhooks, id, attempt)
                .await
                .map_err(|e| Failure::Transient(e.to_string()))?;
            let counter = match outcome {
                Attempted::Succeeded => &ctx.metrics.webhooks_succeeded,
                Attempted::Retrying | Attempted::Failed => &ctx.metrics.webhooks_failed,
                Attempted::Deferred => &ctx.metrics.webhooks_deferred,
                Attempted::Skipped => return Ok(()),
            };
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::debug!(delivery = %id, attempt, ?outcome, "webhook attempt");
            Ok(())
        }
        followups::PLAN_TOPIC => {
            let id = subject_id(job).ok_or_else(|| Failure::Permanent("payload has no remittance_id".into()))?;
            let planned = followups::plan_remittance(&ctx.db, id, ctx.classify_page)
                .await
                .map_err(|e| Failure::Transient(e.to_string()))?;
            let ms = started.elapsed().as_millis() as u64;
            tracing::info!(remittance = %id, planned, ms, "follow-ups planned");
            Ok(())
        }
        followups::TOPIC => {
            let ids =
                followups::parse_job(job).ok_or_else(|| Failure::Permanent("payload has no follow_up_ids".into()))?;
            let fired = followups::fire(&ctx.db, &ids).await.map_err(|e| Failure::Transient(e.to_string()))?;
            ctx.metrics.followups_fired.fetch_add(fired.fired as u64, std::sync::atomic::Ordering::Relaxed);
            if fired.deliveries > 0 {
                ctx.wake.notify_one();
            }
            tracing::debug!(batch = ids.len(), fired = fired.fired, deliveries = fired.deliveries, "follow-ups fired");
            Ok(())
        }
        other => Err(Failure::Permanent(format!("no handler for topic {other:?}"))),
    }
}

/// The record a job is about, from its payload.
pub fn subject_id(job: &Job) -> Option<Uuid> {
    job.payload.get("remittance_id").and_then(|v| v.as_str()).and_then(|s| Uuid::parse_str(s).ok())
}

/// ±20 %, so jobs that failed together do not all come back in the same second.
fn jitter(delay: Duration) -> Duration {
    let factor = rand::rng().random_range(0.8..1.2);
    delay.mul_f64(factor)
}

async fn record_failure(db: &DatabaseConnection, job: &Job, error: &str) -> Result<(), sea_orm::DbErr> {
    failed_job::Entity::insert(failed_job::ActiveModel::from(failed_job::Model {
        id: Uuid::now_v7(),
        topic: job.topic.chars().take(64).collect(),
        subject_id: subject_id(job),
        payload: job.payload.clone(),
        error: error.chars().take(2000).collect(),
        attempts: job.attempt as i32 + 1,
        failed_at: now(),
        retried_at: None,
    }))
    .exec_without_returning(db)
    .await?;
    Ok(())
}
