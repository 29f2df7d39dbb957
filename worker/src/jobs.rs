//! Runs a job by its kind, with our own retry schedule: a transient failure pushes the next
//! attempt as a new delayed job; the last failure, or a permanent one, lands in the
//! `failed_jobs` table (the dead-job list the API shows and can retry).

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use overturn_service::classify::{self, ClassifyError, Outcome};
use overturn_service::delivery::{self, Attempted};
use overturn_service::followups;
use overturn_service::jobs::{JobMetrics, record_failure};
use overturn_service::queue::{Job, JobQueue, Task};
use rand::Rng;
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::queue::JobFailed;

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
    pub webhooks: Arc<delivery::Webhooks>,
    /// Wakes this process's relay, which also schedules webhook deliveries.
    pub wake: Arc<tokio::sync::Notify>,
}

enum Failure {
    Transient(String),
    Permanent(String),
}

/// The handler every worker runs. An `Err` is returned only when even recording the failure
/// failed (the database or queue is down): apalis then keeps the job for a later delivery.
pub async fn handle(ctx: Arc<JobContext>, job: Job) -> Result<(), JobFailed> {
    let started = std::time::Instant::now();
    let result = run(&ctx, &job).await;
    match result {
        Ok(()) => {
            ctx.metrics.succeeded.fetch_add(1, Relaxed);
            tracing::debug!(job = %job.id, topic = job.task.topic(), attempt = job.attempt, ms = started.elapsed().as_millis() as u64, "job done");
            Ok(())
        }
        Err(Failure::Transient(error)) if (job.attempt as usize) < RETRY_DELAYS.len() => {
            let delay = jitter(RETRY_DELAYS[job.attempt as usize]);
            tracing::warn!(job = %job.id, topic = job.task.topic(), attempt = job.attempt, %error, retry_in_s = delay.as_secs(), "job failed; retrying");
            let next = Job { attempt: job.attempt + 1, ..job };
            ctx.queue
                .push(vec![(next, delay)])
                .await
                .map_err(|e| JobFailed(format!("cannot schedule the retry: {e}")))?;
            ctx.metrics.retried.fetch_add(1, Relaxed);
            Ok(())
        }
        Err(Failure::Transient(error) | Failure::Permanent(error)) => {
            tracing::error!(job = %job.id, topic = job.task.topic(), attempt = job.attempt, %error, "job failed for good");
            record_failure(&ctx.db, &job, &error)
                .await
                .map_err(|e| JobFailed(format!("cannot record the failure: {e}")))?;
            ctx.metrics.failed.fetch_add(1, Relaxed);
            Ok(())
        }
    }
}

async fn run(ctx: &JobContext, job: &Job) -> Result<(), Failure> {
    match &job.task {
        Task::ClassifyRemittance { remittance_id } => classify_remittance(ctx, *remittance_id).await,
        Task::PlanFollowUps { remittance_id } => plan_follow_ups(ctx, *remittance_id).await,
        Task::FireFollowUps { follow_up_ids } => fire_follow_ups(ctx, follow_up_ids).await,
        Task::DeliverWebhook { delivery_id, attempt } => deliver_webhook(ctx, *delivery_id, *attempt).await,
        Task::ApplyAcknowledgments {} => apply_acknowledgments(ctx).await,
    }
}

async fn apply_acknowledgments(ctx: &JobContext) -> Result<(), Failure> {
    let (applied, deliveries) =
        overturn_service::acknowledgments::apply_found(&ctx.db).await.map_err(|e| Failure::Transient(e.to_string()))?;
    if deliveries > 0 {
        ctx.wake.notify_one();
    }
    tracing::info!(applied, deliveries, "waiting acknowledgments applied");
    Ok(())
}

async fn classify_remittance(ctx: &JobContext, id: Uuid) -> Result<(), Failure> {
    let started = std::time::Instant::now();
    match classify::classify_remittance(&ctx.db, id, ctx.classify_page).await {
        Ok(Outcome::Classified { payments, adjustments, denials, deliveries }) => {
            ctx.metrics.denials_created.fetch_add(denials as u64, Relaxed);
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

async fn plan_follow_ups(ctx: &JobContext, id: Uuid) -> Result<(), Failure> {
    let started = std::time::Instant::now();
    let planned = followups::plan_remittance(&ctx.db, id, ctx.classify_page)
        .await
        .map_err(|e| Failure::Transient(e.to_string()))?;
    let ms = started.elapsed().as_millis() as u64;
    tracing::info!(remittance = %id, planned, ms, "follow-ups planned");
    Ok(())
}

async fn fire_follow_ups(ctx: &JobContext, ids: &[Uuid]) -> Result<(), Failure> {
    let fired = followups::fire(&ctx.db, ids).await.map_err(|e| Failure::Transient(e.to_string()))?;
    ctx.metrics.followups_fired.fetch_add(fired.fired as u64, Relaxed);
    if fired.deliveries > 0 {
        ctx.wake.notify_one();
    }
    tracing::debug!(batch = ids.len(), fired = fired.fired, deliveries = fired.deliveries, "follow-ups fired");
    Ok(())
}

async fn deliver_webhook(ctx: &JobContext, id: Uuid, attempt: u32) -> Result<(), Failure> {
    let outcome =
        delivery::attempt(&ctx.db, &ctx.webhooks, id, attempt).await.map_err(|e| Failure::Transient(e.to_string()))?;
    let counter = match outcome {
        Attempted::Succeeded => &ctx.metrics.webhooks_succeeded,
        Attempted::Retrying | Attempted::Failed => &ctx.metrics.webhooks_failed,
        Attempted::Deferred => &ctx.metrics.webhooks_deferred,
        Attempted::Skipped => return Ok(()),
    };
    counter.fetch_add(1, Relaxed);
    // The attempt left its contact's share of the queue: the relay may hand over the next.
    ctx.wake.notify_one();
    tracing::debug!(delivery = %id, attempt, ?outcome, "webhook attempt");
    Ok(())
}

/// ±20 %, so jobs that failed together do not all come back in the same second.
fn jitter(delay: Duration) -> Duration {
    let factor = rand::rng().random_range(0.8..1.2);
    delay.mul_f64(factor)
}
