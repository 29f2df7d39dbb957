//! Periodic upkeep: purging idempotency records past their retention.
//!
//! Safe to run in every worker replica at once: each pass is a single idempotent DELETE.

use std::time::Duration;

use overturn_entity::idempotency_key;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};
use tokio::sync::watch;

/// Deletes idempotency records created before `now - retention`; returns how many.
pub async fn purge_idempotency_keys(db: &DatabaseConnection, retention: Duration) -> Result<u64, DbErr> {
    let retention = chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
    let cutoff = chrono::Utc::now() - retention;
    let result =
        idempotency_key::Entity::delete_many().filter(idempotency_key::Column::CreatedAt.lt(cutoff)).exec(db).await?;
    Ok(result.rows_affected)
}

/// Runs upkeep every `every` until `shutdown` turns true. Failures are logged and retried
/// on the next pass: upkeep must never take the process down.
pub async fn run(db: DatabaseConnection, retention: Duration, every: Duration, mut shutdown: watch::Receiver<bool>) {
    loop {
        match purge_idempotency_keys(&db, retention).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "purged expired idempotency records"),
            Err(err) => tracing::warn!(error = %err, "idempotency purge failed; retrying next pass"),
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
