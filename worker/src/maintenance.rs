//! Periodic upkeep: the service's upkeep passes, run on a timer in every worker replica.

use std::time::Duration;

use overturn_service::maintenance::{purge_dispatched_outbox, purge_idempotency_keys, refresh_priorities};
use sea_orm::DatabaseConnection;
use tokio::sync::watch;

/// How long what upkeep purges is kept.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub idempotency: Duration,
    pub audit: chrono::Duration,
}

/// Runs upkeep every `every` until `shutdown` turns true. Failures are logged and retried
/// on the next pass: upkeep must never take the process down.
pub async fn run(db: DatabaseConnection, retention: Retention, every: Duration, mut shutdown: watch::Receiver<bool>) {
    loop {
        match purge_idempotency_keys(&db, retention.idempotency).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "purged expired idempotency records"),
            Err(err) => tracing::warn!(error = %err, "idempotency purge failed; retrying next pass"),
        }
        match purge_dispatched_outbox(&db).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "purged dispatched outbox rows"),
            Err(err) => tracing::warn!(error = %err, "outbox purge failed; retrying next pass"),
        }
        match overturn_service::patient_sessions::purge(&db, chrono::Utc::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "purged long-expired patient sessions"),
            Err(err) => tracing::warn!(error = %err, "patient session purge failed; retrying next pass"),
        }
        match overturn_service::audit::purge(&db, retention.audit, chrono::Utc::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "purged PHI access events past their retention"),
            Err(err) => tracing::warn!(error = %err, "audit purge failed; retrying next pass"),
        }
        match refresh_priorities(&db, chrono::Utc::now().date_naive()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(changed = n, "refreshed denial priorities"),
            Err(err) => tracing::warn!(error = %err, "priority refresh failed; retrying next pass"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
    }
}
