//! The job queue: apalis on Redis (`REDIS_URL`, production) or on an embedded SQLite file in
//! the data folder (the default), behind one small trait so relays and job code do not care.
//!
//! The queue is a bounded transport, not the record: what must happen is in the database
//! (the outbox, remittances not yet classified), and the relay hands it over in chunks while
//! the queue is shallow. That keeps apalis-redis under the ~8,000 due jobs that break its
//! fetch script (`../shared/notes/stack.md`).
//!
//! Retries are ours, not apalis's (apalis-redis ignores `max_attempts` and `Retry-After`):
//! a failed attempt pushes the next one as a new delayed job, and the last one lands in the
//! `failed_jobs` table. apalis only re-delivers jobs whose worker died (heartbeats).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::*;
use apalis_core::backend::Vacuum;
use apalis_redis::{ConnectionManager, RedisStorage};
use apalis_sqlite::{SqlitePool, SqliteStorage};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use uuid::Uuid;

use crate::jobs::JobContext;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One unit of work. `id` stays the same across attempts (it is the outbox row's id), so a
/// handler can recognise a job it has seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: Uuid,
    pub topic: String,
    pub payload: serde_json::Value,
    /// 0 for the first attempt.
    #[serde(default)]
    pub attempt: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("sqlite queue: {0}")]
    Sqlite(#[from] apalis_sqlite::SqlxError),
    #[error("queue: {0}")]
    Other(String),
}

/// What relays and handlers need from a queue.
pub trait JobQueue: Send + Sync + 'static {
    /// Pushes jobs, each to run after its delay (one-second resolution).
    fn push(&self, jobs: Vec<(Job, Duration)>) -> BoxFuture<'_, Result<(), QueueError>>;
    /// Jobs waiting, due or delayed, not yet taken by a worker.
    fn depth(&self) -> BoxFuture<'_, Result<u64, QueueError>>;
    /// Deletes what the queue keeps of finished jobs (the database holds their outcome);
    /// returns how many. Without it apalis keeps every job ever run, and on SQLite each
    /// acknowledgement scans the worker's finished jobs, so draining slows as they pile up.
    fn prune(&self) -> BoxFuture<'_, Result<u64, QueueError>>;
    /// How often `prune` is worth running.
    fn prune_every(&self) -> Duration;
    /// `redis` or `sqlite`.
    fn backend(&self) -> &'static str;
}

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
    /// so this over the interval bounds a worker's rate (64 per 50 ms held webhook
    /// delivery to 1,280 attempts/s).
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
                    .into_connection_info()?
                    .set_tcp_settings(redis::io::tcp::TcpSettings::default().set_nodelay(true));
                let client = redis::Client::open(info)?;
                let conn = ConnectionManager::new(client).await?;
                Ok(Self::Redis(RedisQueue { conn, queue: queue.clone() }))
            }
            QueueSettings::Sqlite { path, queue } => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| QueueError::Other(format!("cannot create {}: {e}", dir.display())))?;
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
                        .map_err(|e| QueueError::Other(format!("sqlite queue: {e}")))?;
                    let result = SqliteStorage::setup(&setup_pool).await;
                    setup_pool.close().await;
                    match result {
                        Ok(()) => break,
                        Err(_) if attempt < 10 => {
                            attempt += 1;
                            tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
                        }
                        Err(e) => return Err(QueueError::Other(format!("sqlite queue setup: {e}"))),
                    }
                }
                let pool = apalis_sqlite::SqlitePoolOptions::new().max_connections(4).connect(&url).await?;
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
                    .map_err(|e| QueueError::Other(format!("sqlite queue: {e}")))?;
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
        result.map_err(|e| QueueError::Other(format!("worker stopped: {e}")))
    }
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
        .map_err(|e| QueueError::Other(format!("{} push: {e}", std::any::type_name::<S>())))
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
                .await?;
            Ok(scheduled + active)
        })
    }

    fn prune(&self) -> BoxFuture<'_, Result<u64, QueueError>> {
        Box::pin(async move {
            let config = apalis_redis::Config::default().queue(&self.queue);
            let mut storage = RedisStorage::<Job>::new(self.conn.clone()).with_config(config.clone());
            let pruned = storage.vacuum().await.map_err(|e| QueueError::Other(format!("redis vacuum: {e}")))?;
            // The set of finished ids only feeds apalis's statistics, which nothing here reads.
            let mut conn = self.conn.clone();
            let _: () = redis::cmd("DEL").arg(config.done_jobs_set()).query_async(&mut conn).await?;
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
                    .await?;
            Ok(count.max(0) as u64)
        })
    }

    fn prune(&self) -> BoxFuture<'_, Result<u64, QueueError>> {
        Box::pin(async move {
            let done = sqlx::query("DELETE FROM Jobs WHERE job_type = ?1 AND status IN ('Done', 'Killed')")
                .bind(&self.queue)
                .execute(&self.pool)
                .await?;
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
