//! Builds the application from settings: database, migrations, HTTP server, background tasks.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::{ErrorHandlers, from_fn};
use actix_web::{App, HttpResponse, HttpServer, web};
use overturn_worker::delivery::Webhooks;
use overturn_worker::jobs::{JobContext, JobMetrics};
use overturn_worker::queue::{ConsumerSettings, Queue};
use overturn_worker::relay::{self, RelaySettings};
use tokio::sync::{Notify, watch};
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::ensure_bootstrap_key;
use crate::claim_writer::ClaimWriter;
use crate::configuration::Settings;
use crate::db::Db;
use crate::error::{ApiError, ensure_problem_json};
use crate::metrics::{Metrics, observe};
use crate::openapi::ApiDoc;
use crate::routes;
use crate::state::AppState;

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
        let queue_settings = settings.queue()?;
        let secrets_key = settings.secrets_key()?;
        let queue = Queue::connect(&queue_settings).await.map_err(|e| anyhow::anyhow!("job queue: {e}"))?;
        let job_queue = queue.as_job_queue();
        let webhook_queue = queue.sibling(&settings.webhook_queue_name());
        let relay_wake = Arc::new(Notify::new());
        let jobs = Arc::new(JobMetrics::default());
        let claims = ClaimWriter::start(db.write.clone(), db.writers());
        let state = AppState {
            db: db.clone(),
            settings: settings.clone(),
            metrics: Metrics::new(),
            claims,
            queue: job_queue.clone(),
            webhook_queue: webhook_queue.as_job_queue(),
            secrets_key: secrets_key.clone(),
            relay_wake: relay_wake.clone(),
            jobs: jobs.clone(),
        };
        let server = http_server(state, listener, role)?;

        let (stop_background, stop_rx) = watch::channel(false);
        let mut background = Vec::new();
        if role.runs_workers() {
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
            let relay_wake_worker = relay_wake.clone();
            background.push(tokio::spawn(relay::run(
                db.write.clone(),
                job_queue.clone(),
                webhook_queue.as_job_queue(),
                relay_settings,
                relay_wake,
                stop_rx.clone(),
            )));
            let context = Arc::new(JobContext {
                db: db.write.clone(),
                queue: job_queue.clone(),
                metrics: jobs,
                classify_page: settings.classify_batch,
                webhooks: Arc::new(
                    Webhooks::new(
                        db.write.clone(),
                        secrets_key,
                        settings.webhook_allow_private,
                        settings.webhook_per_contact,
                    )
                    .map_err(|e| anyhow::anyhow!("webhook client: {e}"))?,
                ),
                wake: relay_wake_worker,
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
            background.push(tokio::spawn(supervise_worker(queue, consumer, context.clone(), stop_rx.clone())));
            background.push(tokio::spawn(supervise_worker(webhook_queue, webhook_consumer, context, stop_rx.clone())));
            background.push(tokio::spawn(overturn_worker::maintenance::run(
                db.write.clone(),
                settings.idempotency_retention,
                Duration::from_secs(3600),
                stop_rx,
            )));
        }
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

/// Runs the queue consumer and starts a new one (under a new name) if it ever stops before
/// shutdown: a dead worker beside a live HTTP server would otherwise be silent.
async fn supervise_worker(
    queue: Queue,
    settings: ConsumerSettings,
    context: Arc<JobContext>,
    stop: watch::Receiver<bool>,
) {
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

fn backend_name(settings: &Settings) -> &'static str {
    match settings.database {
        crate::configuration::DatabaseSettings::Sqlite { .. } => "sqlite",
        crate::configuration::DatabaseSettings::Postgres { .. } => "postgres",
    }
}

fn http_server(state: AppState, listener: TcpListener, role: ServeRole) -> std::io::Result<Server> {
    let settings = state.settings.clone();
    let data = web::Data::new(state);
    let mut server = HttpServer::new(move || {
        let max_body = data.settings.max_body_bytes;
        let mut app = App::new()
            .into_utoipa_app()
            .openapi(ApiDoc::openapi())
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(max_body))
            .app_data(
                web::QueryConfig::default()
                    .error_handler(|err, _| ApiError::BadRequest(format!("invalid query string: {err}")).into()),
            )
            .app_data(
                web::PathConfig::default()
                    .error_handler(|err, _| ApiError::NotFound(format!("invalid path: {err}")).into()),
            )
            .configure(routes::service_routes);
        if role.serves_api() {
            app = app.configure(routes::api_routes);
        }
        let (app, doc) = app.split_for_parts();
        let known = web::Data::new(routes::KnownRoutes::from_document(&doc));
        let app = if role.serves_api() {
            app.service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", doc)).route(
                "/docs",
                web::get()
                    .to(|| async { HttpResponse::PermanentRedirect().insert_header(("Location", "/docs/")).finish() }),
            )
        } else {
            app
        };
        app.app_data(known)
            .default_service(web::to(routes::fallback))
            .wrap(ErrorHandlers::new().default_handler(ensure_problem_json))
            .wrap(from_fn(observe))
    })
    .listen(listener)?
    .shutdown_timeout(settings.shutdown_timeout.as_secs());
    if settings.http_workers > 0 {
        server = server.workers(settings.http_workers);
    }
    Ok(server.run())
}
