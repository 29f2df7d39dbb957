//! Database connections for both backends.

use std::str::FromStr;
use std::time::Duration;

use sea_orm::sqlx::ConnectOptions as _;
use sea_orm::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, SqlxPostgresConnector, SqlxSqliteConnector};
use sea_orm_migration::MigratorTrait;

use crate::configuration::{DatabaseSettings, Settings};

/// The connections a process uses: `write` for anything that changes rows, `read` for the rest.
///
/// On PostgreSQL both are the same pool. SQLite allows one writer at a time, and writers that
/// collide back off in sleeps of several milliseconds; funnelling writes through a single
/// connection turns that contention into an orderly async queue, while reads run in parallel
/// on their own connections (WAL lets readers proceed during a write).
#[derive(Clone, Debug)]
pub struct Db {
    pub write: DatabaseConnection,
    pub read: DatabaseConnection,
    /// How many write transactions can usefully run at once.
    concurrent_writes: usize,
    /// The database file, on SQLite.
    sqlite_path: Option<std::path::PathBuf>,
}

/// Key of the PostgreSQL advisory lock held while migrating ("OVRTURN1" in ASCII).
const MIGRATION_LOCK: i64 = 0x4f56_5254_5552_4e31;

#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error("cannot open the database: {0}")]
    Connect(#[from] sea_orm::sqlx::Error),
    #[error("DATABASE_URL is not a valid PostgreSQL URL: {0}")]
    Url(sea_orm::sqlx::Error),
    #[error("migrations failed: {0}")]
    Migrate(DbErr),
}

impl Db {
    pub async fn connect(settings: &Settings) -> Result<Self, DbSetupError> {
        match &settings.database {
            DatabaseSettings::Sqlite { path } => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .map_err(|source| DbSetupError::DataDir { path: dir.display().to_string(), source })?;
                }
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // NORMAL in WAL mode survives a process crash; only a power loss can lose
                    // the last commits, which an embedded single-node setup accepts.
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10))
                    // Statements carry patient data in their bound values: never log them.
                    .disable_statement_logging();
                let write = SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options.clone())
                    .await?;
                let read = SqlitePoolOptions::new()
                    .max_connections(settings.db_max_connections.max(2))
                    .acquire_timeout(settings.db_acquire_timeout)
                    .connect_with(options.read_only(true))
                    .await?;
                Ok(Self {
                    write: SqlxSqliteConnector::from_sqlx_sqlite_pool(write),
                    read: SqlxSqliteConnector::from_sqlx_sqlite_pool(read),
                    concurrent_writes: 1,
                    sqlite_path: Some(path.clone()),
                })
            }
            DatabaseSettings::Postgres { url } => {
                let options = PgConnectOptions::from_str(url).map_err(DbSetupError::Url)?.disable_statement_logging();
                let pool = PgPoolOptions::new()
                    .max_connections(settings.db_max_connections)
                    .acquire_timeout(settings.db_acquire_timeout)
                    .connect_with(options)
                    .await?;
                let conn = SqlxPostgresConnector::from_sqlx_postgres_pool(pool);
                // Two writers: one fills its batch while the other waits on its commit. More
                // writers split the same load into smaller batches and more commits, which
                // measured slower (docs/benchmarks.md); the rest of the pool serves reads.
                let concurrent_writes = (settings.db_max_connections as usize / 2).clamp(1, 2);
                Ok(Self { write: conn.clone(), read: conn, concurrent_writes, sqlite_path: None })
            }
        }
    }

    /// Writer tasks worth running for batched writes: one on SQLite (a single writer), two
    /// on PostgreSQL.
    pub fn writers(&self) -> usize {
        self.concurrent_writes
    }

    /// Applies pending migrations. Replicas starting together would race to create the same
    /// tables, so each first takes a lock that only one holder gets at a time: an advisory
    /// lock for the migrating transaction on PostgreSQL (DDL is transactional there, so the
    /// next holder sees the finished schema), a lock file beside the database on SQLite.
    pub async fn migrate(&self) -> Result<(), DbSetupError> {
        use sea_orm::TransactionTrait;
        match &self.sqlite_path {
            Some(path) => {
                let lock_path = path.with_extension("migrate.lock");
                let lock_file =
                    std::fs::OpenOptions::new()
                        .create(true)
                        .truncate(false)
                        .write(true)
                        .open(&lock_path)
                        .map_err(|source| DbSetupError::DataDir { path: lock_path.display().to_string(), source })?;
                let locked = tokio::task::spawn_blocking(move || lock_file.lock().map(|()| lock_file))
                    .await
                    .map_err(|e| DbSetupError::Migrate(DbErr::Custom(e.to_string())))?
                    .map_err(|source| DbSetupError::DataDir { path: lock_path.display().to_string(), source })?;
                let result = overturn_migration::Migrator::up(&self.write, None).await;
                drop(locked);
                result.map_err(DbSetupError::Migrate)
            }
            None => {
                let txn = self.write.begin().await.map_err(DbSetupError::Migrate)?;
                txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
                    .await
                    .map_err(DbSetupError::Migrate)?;
                overturn_migration::Migrator::up(&txn, None).await.map_err(DbSetupError::Migrate)?;
                txn.commit().await.map_err(DbSetupError::Migrate)
            }
        }
    }

    /// A round trip to the database, for `/ready`.
    pub async fn ping(&self) -> Result<(), DbErr> {
        self.read.execute_unprepared("SELECT 1").await.map(|_| ())
    }

    pub async fn close(self) {
        let _ = self.write.close().await;
        let _ = self.read.close().await;
    }
}

/// The current UTC time at the precision both backends store (PostgreSQL keeps
/// microseconds), so a value returned at creation equals the one read back later.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}

/// Bound parameters per statement, under SQLite's 32,766 and PostgreSQL's 65,535.
pub const MAX_PARAMS: usize = 30_000;

/// Rows of entity `E` that fit in one statement's bound parameters.
pub fn rows_per_statement<E: sea_orm::EntityTrait>() -> usize {
    use sea_orm::Iterable;
    (MAX_PARAMS / E::Column::iter().count()).max(1)
}

/// A column `insert_rows` writes: its name, PostgreSQL type and whether it takes NULL.
pub struct Column {
    pub name: &'static str,
    pub pg_type: &'static str,
    pub nullable: bool,
}

impl Column {
    pub const fn new(name: &'static str, pg_type: &'static str) -> Self {
        Self { name, pg_type, nullable: false }
    }

    pub const fn nullable(name: &'static str, pg_type: &'static str) -> Self {
        Self { name, pg_type, nullable: true }
    }
}

/// Inserts many rows, built here rather than by the query builder, whose per-value
/// bookkeeping costs more than the database does for the twenty thousand rows of a large
/// remittance. `values` holds the rows one after the other, in `columns` order.
///
/// SQLite gets multi-row `VALUES` with bare `?` (sqlx resolves numbered placeholders by
/// name, a scan per parameter: quadratic in a big statement). PostgreSQL gets one text
/// array per column and `UNNEST`: a handful of parameters instead of tens of thousands,
/// which it would otherwise parse and plan one by one. Arrays cannot carry NULL through
/// sqlx, so an empty string stands for NULL in nullable columns.
pub async fn insert_rows<C: sea_orm::ConnectionTrait>(
    db: &C,
    table: &str,
    columns: &[Column],
    values: Vec<sea_orm::Value>,
) -> Result<(), sea_orm::DbErr> {
    use sea_orm::{DbBackend, Statement};
    let width = columns.len();
    if width == 0 || values.is_empty() {
        return Ok(());
    }
    debug_assert_eq!(values.len() % width, 0, "whole rows only");
    let backend = db.get_database_backend();
    let names = columns.iter().map(|c| format!("\"{}\"", c.name)).collect::<Vec<_>>().join(", ");
    if backend == DbBackend::Postgres {
        let arrays = columns
            .iter()
            .enumerate()
            .map(|(i, c)| format!("${}::{}[]", i + 1, if c.nullable { "text" } else { c.pg_type }))
            .collect::<Vec<_>>()
            .join(", ");
        let aliases = (1..=width).map(|i| format!("c{i}")).collect::<Vec<_>>().join(", ");
        let casts = columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let n = i + 1;
                if c.nullable { format!("NULLIF(u.c{n}, '')::{}", c.pg_type) } else { format!("u.c{n}") }
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("INSERT INTO \"{table}\" ({names}) SELECT {casts} FROM UNNEST({arrays}) AS u({aliases})");
        let rows_per_statement = 10_000;
        let mut values = values.into_iter().peekable();
        while values.peek().is_some() {
            let mut by_column: Vec<Vec<sea_orm::Value>> = (0..width).map(|_| Vec::new()).collect();
            for (i, value) in values.by_ref().take(rows_per_statement * width).enumerate() {
                let column = &columns[i % width];
                // Non-null columns travel as typed arrays; nullable ones as text.
                if !column.nullable {
                    if !value.is_some() {
                        return Err(sea_orm::DbErr::Custom(format!("{table}.{} cannot be NULL", column.name)));
                    }
                    by_column[i % width].push(value);
                    continue;
                }
                let text = match value_text(value) {
                    Ok(Some(text)) => text,
                    Ok(None) if column.nullable => String::new(),
                    Ok(None) => {
                        return Err(sea_orm::DbErr::Custom(format!("{table}.{} cannot be NULL", column.name)));
                    }
                    Err(kind) => {
                        return Err(sea_orm::DbErr::Custom(format!(
                            "{table}.{}: cannot bulk-insert {kind}",
                            column.name
                        )));
                    }
                };
                by_column[i % width].push(sea_orm::Value::String(Some(text)));
            }
            let mut params = Vec::with_capacity(width);
            for (column, values) in columns.iter().zip(by_column) {
                let kind = if column.nullable {
                    sea_orm::sea_query::ArrayType::String
                } else {
                    array_type(column.pg_type).ok_or_else(|| {
                        sea_orm::DbErr::Custom(format!("{table}.{}: no array type for {}", column.name, column.pg_type))
                    })?
                };
                params.push(sea_orm::Value::Array(kind, Some(Box::new(values))));
            }
            db.execute_raw(Statement::from_sql_and_values(backend, sql.clone(), params)).await?;
        }
        return Ok(());
    }
    let head = format!("INSERT INTO \"{table}\" ({names}) VALUES ");
    let row = format!("({})", vec!["?"; width].join(", "));
    let rows_per_statement = (MAX_PARAMS / width).max(1);
    let mut values = values.into_iter().peekable();
    while values.peek().is_some() {
        let chunk: Vec<sea_orm::Value> = values.by_ref().take(rows_per_statement * width).collect();
        let rows = chunk.len() / width;
        let mut sql = String::with_capacity(head.len() + rows * (row.len() + 2));
        sql.push_str(&head);
        for i in 0..rows {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&row);
        }
        db.execute_raw(Statement::from_sql_and_values(backend, sql, chunk)).await?;
    }
    Ok(())
}

fn array_type(pg_type: &str) -> Option<sea_orm::sea_query::ArrayType> {
    use sea_orm::sea_query::ArrayType;
    Some(match pg_type {
        "uuid" => ArrayType::Uuid,
        "int4" => ArrayType::Int,
        "int8" => ArrayType::BigInt,
        "text" => ArrayType::String,
        "date" => ArrayType::ChronoDate,
        "timestamptz" => ArrayType::ChronoDateTimeUtc,
        _ => return None,
    })
}

/// PostgreSQL's text form of a value `insert_rows` binds; `None` for NULL.
fn value_text(value: sea_orm::Value) -> Result<Option<String>, String> {
    use sea_orm::Value;
    Ok(match value {
        Value::String(s) => s,
        Value::Uuid(u) => u.map(|u| u.to_string()),
        Value::Int(n) => n.map(|n| n.to_string()),
        Value::BigInt(n) => n.map(|n| n.to_string()),
        Value::SmallInt(n) => n.map(|n| n.to_string()),
        Value::Bool(b) => b.map(|b| b.to_string()),
        Value::ChronoDate(d) => d.map(|d| d.format("%Y-%m-%d").to_string()),
        Value::ChronoDateTimeUtc(t) => t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        other => return Err(format!("{other:?}")),
    })
}
