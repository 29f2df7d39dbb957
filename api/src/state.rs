//! What every handler can reach.

use std::sync::Arc;

use overturn_domain::secret_box::SecretKey;
use overturn_service::claim_writer::ClaimWriter;
use overturn_service::configuration::Settings;
use overturn_service::db::Db;
use overturn_service::jobs::JobMetrics;
use overturn_service::queue::JobQueue;
use tokio::sync::Notify;

use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub metrics: Metrics,
    pub claims: ClaimWriter,
    pub queue: Arc<dyn JobQueue>,
    /// Webhook deliveries' queue (for `/ready` and `/metrics`).
    pub webhook_queue: Arc<dyn JobQueue>,
    /// Seals contacts' signing secrets.
    pub secrets_key: SecretKey,
    /// Wakes this process's outbox relay after a commit that wrote outbox rows.
    pub relay_wake: Arc<Notify>,
    /// This process's job counters (zero on an API-only replica).
    pub jobs: Arc<JobMetrics>,
    /// Writes and seals this process's PHI access events.
    pub audit: overturn_service::audit::Recorder,
    /// The code sets claims are scrubbed against.
    pub code_sets: Arc<overturn_service::scrubbing::CodeSetCache>,
}
