//! Runs the work that is due, now, in the calling task, and returns when none is left: for
//! tests (and one-off tools) that must know the work is done rather than wait for it.
//!
//! The same steps as a worker, in the same order: the relay's hand-over of outbox rows, due
//! follow-ups and due webhook attempts (`overturn_service::outbox`, `followups`,
//! `delivery`), then `jobs::handle` for each job. Only the carrier differs: jobs wait in this
//! runner's memory instead of a queue, so that "done" is a fact, not a timeout. A delayed job
//! (a retry, an attempt seconds away) is kept for a later call once its delay has passed.
//! Do not run it beside live workers on the same database: both would take the same rows.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use overturn_service::configuration::Settings;
use overturn_service::delivery::Webhooks;
use overturn_service::jobs::JobMetrics;
use overturn_service::queue::{BoxFuture, Job, JobQueue, QueueError};
use overturn_service::{delivery, followups, outbox};
use sea_orm::DatabaseConnection;
use tokio::sync::Notify;

use crate::jobs::{self, JobContext};

/// Rows handed over per step, as the relay does.
const CHUNK: u64 = 500;

pub struct DueNow {
    context: Arc<JobContext>,
    held: Arc<Held>,
    stale_after: Duration,
    per_contact: usize,
}

impl DueNow {
    pub fn new(settings: &Settings, db: DatabaseConnection) -> anyhow::Result<Self> {
        let held = Arc::new(Held::default());
        let webhooks = Webhooks::new(
            db.clone(),
            settings.secrets_key()?,
            settings.webhook_allow_private,
            settings.webhook_proxy.as_ref(),
            settings.webhook_per_contact,
        )
        .map_err(|e| anyhow::anyhow!("webhook client: {e}"))?;
        let context = Arc::new(JobContext {
            db,
            queue: held.clone(),
            metrics: Arc::new(JobMetrics::default()),
            classify_page: settings.classify_batch,
            webhooks: Arc::new(webhooks),
            wake: Arc::new(Notify::new()),
        });
        Ok(Self { context, held, stale_after: settings.job_stale_after, per_contact: settings.webhook_per_contact })
    }

    /// Hands over and runs every due job, again and again, until a pass finds none; returns
    /// how many ran.
    pub async fn run(&self) -> anyhow::Result<usize> {
        let db = &self.context.db;
        let queue: &dyn JobQueue = self.held.as_ref();
        let mut ran = 0;
        loop {
            while outbox::relay_once(db, queue, CHUNK).await? > 0 {}
            while followups::enqueue_due(db, queue, CHUNK, self.stale_after).await?.handed > 0 {}
            while delivery::enqueue_due(db, queue, CHUNK, self.per_contact, self.stale_after).await?.handed > 0 {}
            let ready = self.held.take_ready();
            if ready.is_empty() {
                return Ok(ran);
            }
            for job in ready {
                jobs::handle(self.context.clone(), job).await.map_err(|e| anyhow::anyhow!(e.0))?;
                ran += 1;
            }
        }
    }
}

/// Jobs with the moment each may run.
#[derive(Default)]
struct Held(Mutex<Vec<(Job, Instant)>>);

impl Held {
    fn take_ready(&self) -> Vec<Job> {
        let now = Instant::now();
        let mut held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let (ready, later): (Vec<_>, Vec<_>) = held.drain(..).partition(|(_, at)| *at <= now);
        *held = later;
        ready.into_iter().map(|(job, _)| job).collect()
    }
}

impl JobQueue for Held {
    fn push(&self, jobs: Vec<(Job, Duration)>) -> BoxFuture<'_, Result<(), QueueError>> {
        let now = Instant::now();
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(jobs.into_iter().map(|(job, delay)| (job, now + delay)));
        Box::pin(async { Ok(()) })
    }

    fn depth(&self) -> BoxFuture<'_, Result<u64, QueueError>> {
        let depth = self.0.lock().unwrap_or_else(|e| e.into_inner()).len() as u64;
        Box::pin(async move { Ok(depth) })
    }

    fn prune(&self) -> BoxFuture<'_, Result<u64, QueueError>> {
        Box::pin(async { Ok(0) })
    }

    fn prune_every(&self) -> Duration {
        Duration::from_secs(3600)
    }

    fn backend(&self) -> &'static str {
        "memory"
    }
}
