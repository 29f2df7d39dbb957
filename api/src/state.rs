//! What every handler can reach.

use std::sync::Arc;

use crate::claim_writer::ClaimWriter;
use crate::configuration::Settings;
use crate::db::Db;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub metrics: Metrics,
    pub claims: ClaimWriter,
}
