//! Liveness, readiness and metrics: no key needed, so orchestrators and scrapers can call them.

use actix_web::{HttpResponse, get, web};
use overturn_service::backlog::{StoredBacklog, stored_backlog};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    #[schema(example = "ready")]
    pub status: &'static str,
    /// Each dependency and whether it answered.
    pub checks: Checks,
    /// Jobs in the queue not yet taken by a worker.
    pub queue_depth: u64,
    /// Jobs committed to the database and not yet handed to the queue.
    pub outbox_pending: u64,
    /// Webhook attempts in their queue not yet taken by a worker.
    pub webhook_queue_depth: u64,
    /// Webhook deliveries still pending (due, or waiting for a retry).
    pub webhooks_pending: u64,
    /// Follow-ups past their due time and not fired yet.
    pub followups_overdue: u64,
}

#[derive(Serialize, ToSchema)]
pub struct Checks {
    #[schema(example = "ok")]
    pub database: &'static str,
    /// `redis` or `sqlite`, once it answered.
    #[schema(example = "redis")]
    pub queue: &'static str,
}

struct Backlog {
    queue_depth: u64,
    outbox_pending: u64,
    webhook_queue_depth: u64,
    webhooks_pending: u64,
    followups_overdue: u64,
}

/// Reads the queues' depth and the backlogs waiting in the database into the gauges.
async fn backlog(state: &AppState) -> Result<Backlog, ApiError> {
    let unavailable = |e: overturn_service::queue::QueueError| ApiError::QueueUnavailable(e.to_string());
    let queue_depth = state.queue.depth().await.map_err(unavailable)?;
    let webhook_queue_depth = state.webhook_queue.depth().await.map_err(unavailable)?;
    let StoredBacklog { outbox_pending, webhooks_pending, followups_overdue } =
        stored_backlog(&state.db.read).await.map_err(ApiError::Unavailable)?;
    state.metrics.followups_overdue.set(followups_overdue as i64);
    state.metrics.queue_depth.set(queue_depth as i64);
    state.metrics.outbox_pending.set(outbox_pending as i64);
    state.metrics.webhook_queue_depth.set(webhook_queue_depth as i64);
    state.metrics.webhooks_pending.set(webhooks_pending as i64);
    Ok(Backlog { queue_depth, outbox_pending, webhook_queue_depth, webhooks_pending, followups_overdue })
}

/// Liveness: the process is up and serving HTTP.
#[utoipa::path(tag = "service", responses((status = 200, body = Health)))]
#[get("/health")]
pub async fn health() -> web::Json<Health> {
    web::Json(Health { status: "ok" })
}

/// Readiness: the database and the job queue answer. 503 while either does not.
#[utoipa::path(
    tag = "service",
    responses(
        (status = 200, body = Readiness),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/ready")]
pub async fn ready(state: web::Data<AppState>) -> Result<web::Json<Readiness>, ApiError> {
    state.db.ping().await.map_err(ApiError::Unavailable)?;
    let backlog = backlog(&state).await?;
    Ok(web::Json(Readiness {
        status: "ready",
        checks: Checks { database: "ok", queue: state.queue.backend() },
        queue_depth: backlog.queue_depth,
        outbox_pending: backlog.outbox_pending,
        webhook_queue_depth: backlog.webhook_queue_depth,
        webhooks_pending: backlog.webhooks_pending,
        followups_overdue: backlog.followups_overdue,
    }))
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(
    tag = "service",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain; version=0.0.4", body = String))
)]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    // A scrape must not fail because the queue is down: the gauges keep their last value.
    if let Err(err) = backlog(&state).await {
        tracing::warn!(error = %err, "metrics: backlog unavailable");
    }
    let mut text = state.metrics.render();
    text.push_str(&job_counters(&state.jobs));
    HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(text)
}

/// This process's job outcomes, in the exposition format.
fn job_counters(jobs: &overturn_service::jobs::JobMetrics) -> String {
    use std::sync::atomic::Ordering::Relaxed;
    let mut out = String::from(
        "# HELP overturn_jobs_total Jobs run by this process, by outcome\n# TYPE overturn_jobs_total counter\n",
    );
    for (outcome, counter) in [("succeeded", &jobs.succeeded), ("retried", &jobs.retried), ("failed", &jobs.failed)] {
        out.push_str(&format!("overturn_jobs_total{{outcome=\"{outcome}\"}} {}\n", counter.load(Relaxed)));
    }
    out.push_str("# HELP overturn_denials_classified_total Denials created by this process's classification jobs\n");
    out.push_str("# TYPE overturn_denials_classified_total counter\n");
    out.push_str(&format!("overturn_denials_classified_total {}\n", jobs.denials_created.load(Relaxed)));
    out.push_str("# HELP overturn_webhook_attempts_total Webhook attempts made by this process, by outcome (deferred: its contact was at its limit)\n");
    out.push_str("# TYPE overturn_webhook_attempts_total counter\n");
    for (outcome, counter) in [
        ("succeeded", &jobs.webhooks_succeeded),
        ("failed", &jobs.webhooks_failed),
        ("deferred", &jobs.webhooks_deferred),
    ] {
        out.push_str(&format!("overturn_webhook_attempts_total{{outcome=\"{outcome}\"}} {}\n", counter.load(Relaxed)));
    }
    out.push_str("# HELP overturn_followups_fired_total Follow-ups fired by this process's jobs\n");
    out.push_str("# TYPE overturn_followups_fired_total counter\n");
    out.push_str(&format!("overturn_followups_fired_total {}\n", jobs.followups_fired.load(Relaxed)));
    out
}
