//! Starts a process's background work: the relay, one consumer per queue (jobs, webhook
//! attempts), and periodic upkeep, all stopping when `stop` turns true.

use std::sync::Arc;
use std::time::Duration;

use overturn_domain::secret_box::SecretKey;
use overturn_service::configuration::Settings;
use overturn_service::delivery::Webhooks;
use overturn_service::jobs::JobMetrics;
use sea_orm::DatabaseConnection;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::jobs::JobContext;
use crate::queue::{ConsumerSettings, Queue};
use crate::relay::{self, RelaySettings};

/// What the background work shares with the HTTP edge of the same process.
pub struct Shared {
    pub db: DatabaseConnection,
    pub queue: Queue,
    pub webhook_queue: Queue,
    pub secrets_key: SecretKey,
    /// Wakes the relay after a commit that wrote outbox rows or deliveries.
    pub relay_wake: Arc<Notify>,
    pub metrics: Arc<JobMetrics>,
}

/// Spawns the relay, the consumers and upkeep on the current runtime.
pub fn spawn(settings: &Settings, shared: Shared, stop: watch::Receiver<bool>) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let Shared { db, queue, webhook_queue, secrets_key, relay_wake, metrics } = shared;
    let job_queue = queue.as_job_queue();
    // Webhook attempts a worker may hold at once, queued or in its hands: four fetches'
    // worth keeps the consumer busy between relay passes, and keeps the queue short
    // (apalis-redis's fetch costs in proportion to what waits; see `RelaySettings`).
    let webhook_backlog = settings.webhook_concurrency * 4;
    let relay_settings = RelaySettings {
        chunk: 500,
        high_water: settings.queue_high_water,
        webhook_high_water: (webhook_backlog as u64).min(settings.queue_high_water),
        // Also the longest an API replica's event waits before a worker's relay sees it.
        poll: Duration::from_millis(50),
        stale_after: settings.job_stale_after,
        per_contact: settings.webhook_per_contact,
    };
    let mut background = Vec::new();
    background.push(tokio::spawn(relay::run(
        db.clone(),
        job_queue.clone(),
        webhook_queue.as_job_queue(),
        relay_settings,
        relay_wake.clone(),
        stop.clone(),
    )));
    let webhooks = Webhooks::new(
        db.clone(),
        secrets_key,
        settings.webhook_allow_private,
        settings.webhook_proxy.as_ref(),
        settings.webhook_per_contact,
    )
    .map_err(|e| anyhow::anyhow!("webhook client: {e}"))?;
    let context = Arc::new(JobContext {
        db: db.clone(),
        queue: job_queue,
        metrics,
        classify_page: settings.classify_batch,
        webhooks: Arc::new(webhooks),
        wake: relay_wake,
    });
    let consumer = ConsumerSettings {
        concurrency: settings.worker_concurrency,
        heartbeat: settings.worker_heartbeat,
        poll_interval: Duration::from_millis(500),
        fetch: settings.worker_concurrency,
    };
    // Webhook attempts are short and someone is waiting for them: look for due ones
    // often (a cheap indexed query), so an event reaches its receiver within tens of
    // milliseconds rather than half a second.
    let webhook_consumer = ConsumerSettings {
        concurrency: settings.webhook_concurrency,
        poll_interval: Duration::from_millis(50),
        // The whole webhook queue at a look if need be; attempts waiting in this
        // worker for a free slot keep their lease by its heartbeat.
        fetch: webhook_backlog,
        ..consumer.clone()
    };
    background.push(tokio::spawn(supervise(queue, consumer, context.clone(), stop.clone())));
    background.push(tokio::spawn(supervise(webhook_queue, webhook_consumer, context, stop.clone())));
    background.push(tokio::spawn(crate::maintenance::run(
        db,
        crate::maintenance::Retention { idempotency: settings.idempotency_retention, audit: settings.audit_retention },
        Duration::from_secs(3600),
        stop,
    )));
    Ok(background)
}

/// Runs the queue consumer and starts a new one (under a new name) if it ever stops before
/// shutdown: a dead worker beside a live HTTP server would otherwise be silent.
async fn supervise(queue: Queue, settings: ConsumerSettings, context: Arc<JobContext>, stop: watch::Receiver<bool>) {
    loop {
        let result = queue.consume(settings.clone(), context.clone(), stop.clone()).await;
        if *stop.borrow() {
            tracing::info!("job worker stopped");
            return;
        }
        match result {
            Ok(()) => tracing::error!("job worker ended on its own; starting another"),
            Err(err) => tracing::error!(error = %err, "job worker failed; starting another"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
