//! The job queue's adapters: apalis on Redis (`REDIS_URL`, production) or on an embedded
//! SQLite file in the data folder (the default), behind the service crate's `JobQueue`, so
//! relays and job code do not care which.
//!
//! The relay keeps the queue shallow, which keeps apalis-redis under the ~8,000 due jobs that
//! break its fetch script.
//!
//! Retries are ours, not apalis's (apalis-redis ignores `max_attempts` and `Retry-After`):
//! a failed attempt pushes the next one as a new delayed job, and the last one lands in the
//! `failed_jobs` table. apalis only re-delivers jobs whose worker died (heartbeats).

use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::*;
use apalis_core::backend::Vacuum;
use apalis_redis::{ConnectionManager, RedisStorage};
use apalis_sqlite::{SqlitePool, SqliteStorage};
use futures::StreamExt;
use tokio::sync::watch;
use uuid::Uuid;

use overturn_service::configuration::{ConfigError, DatabaseSettings, Settings};
use overturn_service::queue::{BoxFuture, Job, JobQueue, QueueError};

use crate::jobs::JobContext;

/// How the queue is reached.
#[derive(Debug, Clone)]
pub enum QueueSettings {
    Redis {
        url: String,
        queue: String,
    },
    /// A SQLite file of its own, so queue writes never wait on the main database's writer.
    Sqlite {
        path: std::path::PathBuf,
        queue: String,
    },
}

impl QueueSettings {
    /// The queue this deployment uses: Redis when `REDIS_URL` is set, else a SQLite file
    /// beside the database. PostgreSQL deployments need Redis: their API and worker
    /// replicas run on several hosts, which a local file cannot serve.
    pub fn for_settings(settings: &Settings) -> Result<Self, ConfigError> {
        let queue = format!("{}:jobs", settings.queue_name);
        match (&settings.redis_url, &settings.database) {
            (Some(url), _) => Ok(Self::Redis { url: url.clone(), queue }),
            (None, DatabaseSettings::Sqlite { .. }) => {
                Ok(Self::Sqlite { path: settings.data_dir.join("queue.db"), queue })
            }
            (None, DatabaseSettings::Postgres { .. }) => Err(ConfigError::new(
                "REDIS_URL",
                "is required with a PostgreSQL DATABASE_URL: the job queue of a PostgreSQL deployment is Redis",
            )),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ConsumerSettings {
    /// Jobs one worker process runs at once.
    pub concurrency: usize,
    /// How often a worker proves it is alive; a job held by a worker silent for two
    /// intervals goes back to the queue.
    pub heartbeat: Duration,
    /// How often an idle worker looks for due jobs.
    pub poll_interval: Duration,
    /// Jobs taken per look. apalis looks once per `poll_interval` however many jobs wait,
    /// so this over the interval bounds a worker's rate.
    pub fetch: usize,
}

/// A connected queue of either kind.
#[derive(Clone)]
pub enum Queue {
    Redis(RedisQueue),
    Sqlite(SqliteQueue),
}

#[derive(Clone)]
pub struct RedisQueue {
    conn: ConnectionManager,
    queue: String,
}

#[derive(Clone)]
pub struct SqliteQueue {
    pool: SqlitePool,
    url: String,
    queue: String,
}

impl Queue {
    pub async fn connect(settings: &QueueSettings) -> Result<Self, QueueError> {
        match settings {
            QueueSettings::Redis { url, queue } => {
                // redis-rs leaves Nagle's algorithm on by default: a command written while an
                // earlier one is unacknowledged would wait for the server's delayed ACK.
                use redis::IntoConnectionInfo;
                let info = url
                    .as_str()
                    .into_connection_info()
                    .map_err(redis_error)?
                    .set_tcp_settings(redis::io::tcp::TcpSettings::default().set_nodelay(true));
                let client = redis::Client::open(info).map_err(redis_error)?;
                let conn = ConnectionManager::new(client).await.map_err(redis_error)?;
                Ok(Self::Redis(RedisQueue { conn, queue: queue.clone() }))
            }
            QueueSettings::Sqlite { path, queue } => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| QueueError(format!("cannot create {}: {e}", dir.display())))?;
                }
                let url = format!("sqlite://{}?mode=rwc", path.display());
                // `setup` turns `synchronous` off on the connection it uses; that connection
                // goes with this first pool, and the queue's own pool keeps SQLite's durable
                // default (FULL), so an accepted job survives a crash.
                // Processes starting together on one data folder race to create the tables;
                // the loser finds them made on its next try.
                let mut attempt = 0;
                loop {
                    let (setup_pool, _) = SqliteStorage::connect_with_callback(&url)
                        .map_err(|e| QueueError(format!("sqlite queue: {e}")))?;
                    let result = SqliteStorage::setup(&setup_pool).await;
                    setup_pool.close().await;
                    match result {
                        Ok(()) => break,
                        Err(_) if attempt < 10 => {
                            attempt += 1;
                            tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
                        }
                        Err(e) => return Err(QueueError(format!("sqlite queue setup: {e}"))),
                    }
                }
                let pool = apalis_sqlite::SqlitePoolOptions::new()
                    .max_connections(4)
                    // apalis fetches with `LIMIT ?`: planned once, not at every poll.
                    .after_connect(|conn, _| Box::pin(overturn_service::db::stable_plans(conn)))
                    .connect(&url)
                    .await
                    .map_err(sqlite_error)?;
                Ok(Self::Sqlite(SqliteQueue { pool, url, queue: queue.clone() }))
            }
        }
    }

    /// The same connection, for another queue (webhook deliveries run on their own, so a
    /// flood of them never waits behind classification or the other way round).
    pub fn sibling(&self, queue: &str) -> Self {
        match self {
            Self::Redis(q) => Self::Redis(RedisQueue { conn: q.conn.clone(), queue: queue.to_owned() }),
            Self::Sqlite(q) => {
                Self::Sqlite(SqliteQueue { pool: q.pool.clone(), url: q.url.clone(), queue: queue.to_owned() })
            }
        }
    }

    pub fn as_job_queue(&self) -> Arc<dyn JobQueue> {
        match self {
            Self::Redis(q) => Arc::new(q.clone()),
            Self::Sqlite(q) => Arc::new(q.clone()),
        }
    }

    /// Runs one worker on this queue until `stop` turns true, then lets in-flight jobs
    /// finish (apalis's graceful stop). The worker name is unique per process start, so a
    /// restart never collides with its own heartbeat.
    pub async fn consume(
        &self,
        settings: ConsumerSettings,
        context: Arc<JobContext>,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), QueueError> {
        let name = format!("overturn-{}-{}", std::process::id(), Uuid::new_v4().simple());
        let signal = async move {
            while !*stop.borrow() {
                if stop.changed().await.is_err() {
                    break;
                }
            }
            Ok::<(), std::io::Error>(())
        };
        let result = match self {
            Self::Redis(q) => {
                let config = apalis_redis::Config::default()
                    .queue(&q.queue)
                    .heartbeat_interval(settings.heartbeat)
                    .missed_heartbeats(2)
                    .batch_size(settings.fetch.max(1));
                let backend = RedisStorage::<Job>::new(q.conn.clone())
                    .with_config(config)
                    .poll_with_interval(settings.poll_interval);
                WorkerBuilder::new(name)
                    .backend(backend)
                    .concurrency(settings.concurrency.max(1))
                    .data(context.clone())
                    .build(run_job)
                    .run_until(signal)
                    .await
            }
            Self::Sqlite(q) => {
                let (pool, listener) = SqliteStorage::connect_with_callback(&q.url)
                    .map_err(|e| QueueError(format!("sqlite queue: {e}")))?;
                let config = apalis_sqlite::Config::default()
                    .queue(&q.queue)
                    .heartbeat_interval(settings.heartbeat)
                    .missed_heartbeats(2)
                    .batch_size(settings.fetch.max(1));
                // The update hook wakes the worker as soon as a job is written; the interval
                // catches delayed jobs falling due.
                let strategy = Strategy::new()
                    .stream(listener.ready_chunks(settings.concurrency.max(1)))
                    .interval(settings.poll_interval);
                let backend = SqliteStorage::<Job>::new(&pool).with_config(config).poll_with_strategy(strategy);
                WorkerBuilder::new(name)
                    .backend(backend)
                    .concurrency(settings.concurrency.max(1))
                    .data(context.clone())
                    .build(run_job)
                    .run_until(signal)
                    .await
            }
        };
        result.map_err(|e| QueueError(format!("worker stopped: {e}")))
    }
}

fn redis_error(e: redis::RedisError) -> QueueError {
    QueueError::new("redis", e)
}

fn sqlite_error(e: apalis_sqlite::SqlxError) -> QueueError {
    QueueError::new("sqlite queue", e)
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct JobFailed(pub String);

/// The apalis service: every job goes to `jobs::handle`. An `Err` leaves the job to apalis
/// to deliver again.
async fn run_job(job: Job, context: Data<Arc<JobContext>>) -> Result<(), JobFailed> {
    crate::jobs::handle(Arc::clone(&context), job).await
}

/// Pushes jobs, each after its delay, through either backend's sink.
async fn push_delayed<S>(mut storage: S, jobs: Vec<(Job, Duration)>) -> Result<(), QueueError>
where
    S: TaskSink<Job, apalis_core::backend::finalize::Durable>,
    S::Error: std::fmt::Display,
{
    let tasks = jobs.into_iter().map(|(job, delay)| TaskBuilder::new(job).run_after(delay).build());
    storage
        .push_all(&mut futures::stream::iter(tasks))
        .await
        .map_err(|e| QueueError(format!("{} push: {e}", std::any::type_name::<S>())))
}

impl JobQueue for RedisQueue {
    fn push(&self, jobs: Vec<(Job, Duration)>) -> BoxFuture<'_, Result<(), QueueError>> {
        Box::pin(async move {
            let storage = RedisStorage::<Job>::new(self.conn.clone())
                .with_config(apalis_redis::Config::default().queue(&self.queue));
            push_delayed(storage, jobs).await
        })
    }

    fn depth(&self) -> BoxFuture<'_, Result<u64, QueueError>> {
        Box::pin(async move {
            let config = apalis_redis::Config::default().queue(&self.queue);
            let mut conn = self.conn.clone();
            let (scheduled, active): (u64, u64) = redis::pipe()
                .cmd("ZCARD")
                .arg(config.scheduled_jobs_set())
                .cmd("LLEN")
                .arg(config.active_jobs_list())
                .query_async(&mut conn)
                .await
                .map_err(redis_error)?;
            Ok(scheduled + active)
        })
    }

    fn prune(&self) -> BoxFuture<'_, Result<u64, QueueError>> {
        Box::pin(async move {
            let config = apalis_redis::Config::default().queue(&self.queue);
            let mut storage = RedisStorage::<Job>::new(self.conn.clone()).with_config(config.clone());
            let pruned = storage.vacuum().await.map_err(|e| QueueError(format!("redis vacuum: {e}")))?;
            // The set of finished ids only feeds apalis's statistics, which nothing here reads.
            let mut conn = self.conn.clone();
            let _: () =
                redis::cmd("DEL").arg(config.done_jobs_set()).query_async(&mut conn).await.map_err(redis_error)?;
            Ok(pruned as u64)
        })
    }

    /// Finished jobs only hold memory here.
    fn prune_every(&self) -> Duration {
        Duration::from_secs(60)
    }

    fn backend(&self) -> &'static str {
        "redis"
    }
}

impl JobQueue for SqliteQueue {
    fn push(&self, jobs: Vec<(Job, Duration)>) -> BoxFuture<'_, Result<(), QueueError>> {
        Box::pin(async move {
            let storage =
                SqliteStorage::<Job>::new(&self.pool).with_config(apalis_sqlite::Config::default().queue(&self.queue));
            push_delayed(storage, jobs).await
        })
    }

    fn depth(&self) -> BoxFuture<'_, Result<u64, QueueError>> {
        Box::pin(async move {
            let (count,): (i64,) =
                sqlx::query_as("SELECT count(*) FROM Jobs WHERE job_type = ?1 AND status = 'Pending'")
                    .bind(&self.queue)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(sqlite_error)?;
            Ok(count.max(0) as u64)
        })
    }

    fn prune(&self) -> BoxFuture<'_, Result<u64, QueueError>> {
        Box::pin(async move {
            let done = sqlx::query("DELETE FROM Jobs WHERE job_type = ?1 AND status IN ('Done', 'Killed')")
                .bind(&self.queue)
                .execute(&self.pool)
                .await
                .map_err(sqlite_error)?;
            Ok(done.rows_affected())
        })
    }

    /// Finished jobs slow every acknowledgement here: prune often.
    fn prune_every(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }
}
