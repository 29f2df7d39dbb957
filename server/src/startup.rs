//! The composition root: builds a process from settings. The database and the queue are
//! opened here once and handed to the edges the role asks for: the HTTP server (`api`), the
//! background work (`worker`), or both (the embedded default).

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use overturn_api::metrics::Metrics;
use overturn_api::state::AppState;
use overturn_service::claim_writer::ClaimWriter;
use overturn_service::configuration::{DatabaseSettings, Settings};
use overturn_service::db::Db;
use overturn_service::jobs::JobMetrics;
use overturn_service::keys::ensure_bootstrap_key;
use overturn_worker::queue::{Queue, QueueSettings};
use tokio::sync::{Notify, watch};

/// What a process runs: the API, the workers, or both (the embedded default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ServeRole {
    Api,
    Worker,
    All,
}

impl ServeRole {
    fn serves_api(self) -> bool {
        matches!(self, Self::Api | Self::All)
    }

    fn runs_workers(self) -> bool {
        matches!(self, Self::Worker | Self::All)
    }
}

pub struct Application {
    port: u16,
    server: Server,
    db: Db,
    stop_background: watch::Sender<bool>,
    background: Vec<tokio::task::JoinHandle<()>>,
}

impl Application {
    pub async fn build(settings: Settings, role: ServeRole) -> anyhow::Result<Self> {
        let db = Db::connect(&settings).await?;
        db.migrate().await?;
        if let Some(key) = &settings.bootstrap_admin_key {
            ensure_bootstrap_key(&db.write, key).await?;
        }
        let listener = TcpListener::bind(settings.addr)
            .map_err(|e| anyhow::anyhow!("OVERTURN_ADDR: cannot listen on {}: {e}", settings.addr))?;
        let port = listener.local_addr()?.port();
        let settings = Arc::new(settings);
        let queue_settings = QueueSettings::for_settings(&settings)?;
        let secrets_key = settings.secrets_key()?;
        let queue = Queue::connect(&queue_settings).await.map_err(|e| anyhow::anyhow!("job queue: {e}"))?;
        let webhook_queue = queue.sibling(&settings.webhook_queue_name());
        let relay_wake = Arc::new(Notify::new());
        let jobs = Arc::new(JobMetrics::default());
        let (stop_background, stop) = watch::channel(false);
        let (audit, audit_task) = overturn_service::audit::Recorder::start(db.write.clone(), stop.clone());
        let code_sets = Arc::new(overturn_service::scrubbing::CodeSetCache::load(&db.read).await?);
        tokio::spawn(overturn_service::scrubbing::keep_fresh(code_sets.clone(), db.read.clone(), stop.clone()));
        let state = AppState {
            db: db.clone(),
            settings: settings.clone(),
            metrics: Metrics::new(),
            claims: ClaimWriter::start(
                db.write.clone(),
                db.writers(),
                Arc::new(overturn_api::routes::claims::ClaimJson),
                relay_wake.clone(),
            ),
            queue: queue.as_job_queue(),
            webhook_queue: webhook_queue.as_job_queue(),
            secrets_key: secrets_key.clone(),
            relay_wake: relay_wake.clone(),
            jobs: jobs.clone(),
            audit,
            code_sets,
        };
        let server = overturn_api::startup::http_server(state, listener, role.serves_api())?;

        let mut background = if role.runs_workers() {
            let shared = overturn_worker::startup::Shared {
                db: db.write.clone(),
                queue,
                webhook_queue,
                secrets_key,
                relay_wake,
                metrics: jobs,
            };
            overturn_worker::startup::spawn(&settings, shared, stop)?
        } else {
            Vec::new()
        };
        background.push(audit_task);
        tracing::info!(addr = %settings.addr, port, ?role, backend = backend_name(&settings), "overturn started");
        Ok(Self { port, server, db, stop_background, background })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGTERM or Ctrl-C (actix drains in-flight requests for the shutdown
    /// timeout), then stops background tasks and closes the database.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let served = self.server.await;
        let _ = self.stop_background.send(true);
        for task in self.background {
            let _ = task.await;
        }
        self.db.close().await;
        tracing::info!("overturn stopped");
        served.map_err(Into::into)
    }
}

fn backend_name(settings: &Settings) -> &'static str {
    match settings.database {
        DatabaseSettings::Sqlite { .. } => "sqlite",
        DatabaseSettings::Postgres { .. } => "postgres",
    }
}
