//! Database connections for both backends.

use std::str::FromStr;
use std::time::Duration;

use sea_orm::sqlx::ConnectOptions as _;
use sea_orm::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode, SqlxPostgresConnector,
    SqlxSqliteConnector, TransactionOptions, TransactionTrait,
};
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

/// The SQLite database holds patient data and the files as received: only its owner may read
/// it (0600; SQLite gives its `-wal` and `-shm` files the same permissions), in a folder only
/// its owner may enter when Overturn creates it (`create_private_dir`). A database left
/// readable by others by an earlier version is tightened.
fn private_database_file(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::configuration::create_private_dir(dir)?;
    }
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(_) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    for suffix in ["", "-wal", "-shm"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        let Ok(meta) = std::fs::metadata(&file) else { continue };
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode & 0o700))?;
        }
    }
    Ok(())
}

/// An exclusive lock on a file beside the SQLite database, held while one process opens or
/// migrates it; released when dropped.
async fn startup_lock(database: &std::path::Path) -> Result<std::fs::File, DbSetupError> {
    let lock_path = database.with_extension("migrate.lock");
    let io_error = |source| DbSetupError::DataDir { path: lock_path.display().to_string(), source };
    let lock_file =
        std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).map_err(io_error)?;
    tokio::task::spawn_blocking(move || lock_file.lock().map(|()| lock_file))
        .await
        .map_err(|e| DbSetupError::Migrate(DbErr::Custom(e.to_string())))?
        .map_err(io_error)
}

/// Begins a write transaction: on SQLite `BEGIN IMMEDIATE`, which takes the write lock at once
/// (waiting up to the busy timeout for another process's writer). A deferred transaction that
/// reads first and writes later fails outright, without waiting, when another process (an API
/// and a worker replica on one file) committed in between: SQLite's `SQLITE_BUSY_SNAPSHOT`
/// (517), a 500 for a claim posted while the worker classified a remittance. PostgreSQL ignores
/// the mode.
pub async fn begin_write<C: TransactionTrait<Transaction = DatabaseTransaction>>(
    db: &C,
) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

impl Db {
    pub async fn connect(settings: &Settings) -> Result<Self, DbSetupError> {
        match &settings.database {
            DatabaseSettings::Sqlite { path } => {
                private_database_file(path)
                    .map_err(|source| DbSetupError::DataDir { path: path.display().to_string(), source })?;
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
                // Turning a fresh file into WAL mode takes a lock that other processes opening
                // it at that moment get as an immediate "database is locked", busy timeout or
                // not: replicas starting together open it one at a time.
                let startup = startup_lock(path).await?;
                let write = SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .after_connect(|conn, _| Box::pin(stable_plans(conn)))
                    .connect_with(options.clone())
                    .await?;
                let read = SqlitePoolOptions::new()
                    .max_connections(settings.db_max_connections.max(2))
                    .acquire_timeout(settings.db_acquire_timeout)
                    .after_connect(|conn, _| Box::pin(stable_plans(conn)))
                    .connect_with(options.read_only(true))
                    .await?;
                drop(startup);
                Ok(Self {
                    write: SqlxSqliteConnector::from_sqlx_sqlite_pool(write),
                    read: SqlxSqliteConnector::from_sqlx_sqlite_pool(read),
                    concurrent_writes: 1,
                    sqlite_path: Some(path.clone()),
                })
            }
            DatabaseSettings::Postgres { url } => {
                let options = PgConnectOptions::from_str(url).map_err(DbSetupError::Url)?.disable_statement_logging();
                let tcp_port = options.get_socket().is_none().then(|| options.get_port());
                let pool = PgPoolOptions::new()
                    .max_connections(settings.db_max_connections)
                    .acquire_timeout(settings.db_acquire_timeout)
                    .after_connect(move |_, _| {
                        if let Some(port) = tcp_port {
                            disable_nagle(port);
                        }
                        Box::pin(async { Ok(()) })
                    })
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

    /// Drops the SQLite writer's prepared statements, in the background. A file's writes are
    /// statements of shapes that do not come back (each batch's claims and lines vary), a
    /// megabyte or two each for a claim file's, and sqlx keeps a hundred: they held 47 MB of
    /// SQLite's memory after one 10,000-claim file and 70 MB after two. Called after such a
    /// transaction (a claim file, a remittance); the writes that follow prepare the few
    /// statements they reuse again.
    pub fn forget_statements(&self) {
        if self.sqlite_path.is_none() {
            return;
        }
        let pool = self.write.get_sqlite_connection_pool().clone();
        tokio::spawn(async move {
            use sea_orm::sqlx::Connection;
            let cleared = match pool.acquire().await {
                Ok(mut conn) => conn.clear_cached_statements().await,
                Err(e) => Err(e),
            };
            if let Err(e) = cleared {
                tracing::warn!(error = %e, "could not drop the writer's prepared statements");
            }
            // SQLite allocates with the C library's malloc, which keeps what it frees in its
            // arenas: hand the freed statements (and the file's pages) back to the system.
            #[cfg(all(target_os = "linux", target_env = "gnu"))]
            // SAFETY: malloc_trim takes a plain integer and only returns free memory.
            unsafe {
                libc::malloc_trim(0);
            }
        });
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
                let locked = startup_lock(path).await?;
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

/// Keeps one query plan per prepared statement on a SQLite connection.
///
/// SQLite (3.51 here) lets the values bound to some parameters shape the plan: a `LIMIT ?`,
/// which every `find().one()` and every paged query binds, among them. Such a statement is
/// marked stale each time the parameter is bound again, and `sqlite3_step` parses and plans it
/// anew on every execution, so sqlx's statement cache saves nothing for it. The API key
/// lookup of each request was one (about 8% of the CPU of `POST /v1/claims`, see
/// docs/benchmarks.md). The query planner stability guarantee (QPSG) turns that off: plans
/// come from the statement's text and the schema only. Overturn's plans do not depend on
/// bound values (no `ANALYZE` on SQLite, no `LIKE` on a bound pattern), so nothing is lost.
pub async fn stable_plans(conn: &mut sea_orm::sqlx::SqliteConnection) -> Result<(), sea_orm::sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    // SAFETY: `db` is this connection's open handle, locked away from sqlx's worker thread for
    // the duration of the call; the call sets one flag of the connection and keeps no pointer.
    let rc = unsafe {
        libsqlite3_sys::sqlite3_db_config(
            db,
            libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as std::ffi::c_int,
            std::ptr::null_mut::<std::ffi::c_int>(),
        )
    };
    if rc != libsqlite3_sys::SQLITE_OK {
        return Err(sea_orm::sqlx::Error::Configuration(
            format!("SQLite refused the query planner stability setting (code {rc})").into(),
        ));
    }
    Ok(())
}

/// Whether `stable_plans` is on for this connection.
#[cfg(test)]
async fn has_stable_plans(conn: &mut sea_orm::sqlx::SqliteConnection) -> Result<bool, sea_orm::sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    let mut on: std::ffi::c_int = -1;
    // SAFETY: as in `stable_plans`; a negative value asks for the setting without changing it,
    // and SQLite writes it to `on`, which outlives the call.
    let rc = unsafe {
        libsqlite3_sys::sqlite3_db_config(
            db,
            libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG,
            -1 as std::ffi::c_int,
            &mut on as *mut std::ffi::c_int,
        )
    };
    Ok(rc == libsqlite3_sys::SQLITE_OK && on == 1)
}

/// Turns Nagle's algorithm off on this process's TCP connections to `port`.
///
/// sqlx 0.9.0 no longer sets `TCP_NODELAY` (transact-rs/sqlx#4335, fixed upstream after the
/// release) and gives no way to reach its socket. With Nagle on, the tail of a statement
/// spanning several TCP segments waits for the server's delayed acknowledgement each time.
/// So the pool calls this after opening each connection, and it finds the sockets by their
/// peer's port. Setting the option on a socket that has it already changes nothing.
#[cfg(target_os = "linux")]
fn disable_nagle(port: u16) {
    use std::os::fd::{BorrowedFd, RawFd};
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else { return };
    for entry in entries.flatten() {
        let Some(fd) = entry.file_name().to_str().and_then(|name| name.parse::<RawFd>().ok()) else { continue };
        let is_socket = std::fs::read_link(entry.path())
            .is_ok_and(|target| target.as_os_str().as_encoded_bytes().starts_with(b"socket:"));
        if !is_socket {
            continue;
        }
        // SAFETY: borrowed only for the calls below. A descriptor another thread closes
        // meanwhile makes them fail with EBADF or ENOTSOCK; nothing is read or freed.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        let socket = socket2::SockRef::from(&fd);
        let to_database = socket.peer_addr().ok().and_then(|a| a.as_socket()).is_some_and(|a| a.port() == port);
        if to_database
            && socket.r#type().is_ok_and(|t| t == socket2::Type::STREAM)
            && let Err(e) = socket.set_tcp_nodelay(true)
        {
            tracing::warn!(error = %e, "cannot turn Nagle's algorithm off on a database connection");
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn disable_nagle(_port: u16) {}

/// The database cannot be reached (no connection, or it was lost mid-statement): the client
/// should retry later (503), which differs from a statement that failed (500).
pub fn is_unavailable(err: &sea_orm::DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    use sea_orm::{DbErr, RuntimeErr};
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            matches!(e.as_ref(), Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::WorkerCrashed)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    /// The database file is its owner's only, in a folder of its owner's only; one an earlier
    /// version left readable is tightened.
    #[test]
    fn the_database_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let root = std::env::temp_dir().join(format!("overturn-perms-{}", uuid::Uuid::new_v4().simple()));
        let path = root.join("data").join("overturn.db");
        super::private_database_file(&path).unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        let wal = root.join("data").join("overturn.db-wal");
        for file in [&path, &wal] {
            std::fs::write(file, b"").unwrap();
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        super::private_database_file(&path).unwrap();
        assert_eq!((mode(&path), mode(&wal)), (0o600, 0o600));
        std::fs::remove_dir_all(root).unwrap();
    }

    /// Two processes on one SQLite file (an API and a worker replica): a write transaction
    /// that read before another process committed still writes, rather than failing with
    /// SQLITE_BUSY_SNAPSHOT, because it took the write lock when it began.
    #[tokio::test]
    async fn a_write_transaction_is_not_overtaken_by_another_process() {
        use sea_orm::{ConnectionTrait, Statement};
        let dir = std::env::temp_dir().join(format!("overturn-immediate-{}", uuid::Uuid::new_v4().simple()));
        let vars = std::collections::HashMap::from([("OVERTURN_DATA_DIR".to_owned(), dir.display().to_string())]);
        let settings = crate::configuration::Settings::from_map(&vars).unwrap();
        let (api, worker) =
            (super::Db::connect(&settings).await.unwrap(), super::Db::connect(&settings).await.unwrap());
        api.write.execute_unprepared("CREATE TABLE scratch (n INTEGER)").await.unwrap();

        let txn = super::begin_write(&api.write).await.unwrap();
        let count = || Statement::from_string(sea_orm::DbBackend::Sqlite, "SELECT count(*) AS n FROM scratch");
        let before: i64 = txn.query_one_raw(count()).await.unwrap().unwrap().try_get("", "n").unwrap();
        // The other process writes meanwhile: it waits for this transaction, not the reverse.
        let other = worker.write.clone();
        let meanwhile = tokio::spawn(async move { other.execute_unprepared("INSERT INTO scratch VALUES (2)").await });
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(!meanwhile.is_finished(), "the other process must wait for the write lock");
        txn.execute_unprepared("INSERT INTO scratch VALUES (1)").await.expect("the write after the read");
        txn.commit().await.unwrap();
        meanwhile.await.unwrap().expect("the other process's write, once this one committed");
        let after: i64 = api.write.query_one_raw(count()).await.unwrap().unwrap().try_get("", "n").unwrap();
        assert_eq!((before, after), (0, 2));
        api.close().await;
        worker.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }

    /// After a file, the SQLite writer keeps none of the statements its batches prepared.
    #[tokio::test]
    async fn the_writer_forgets_its_statements() {
        use sea_orm::ConnectionTrait;
        use sea_orm::sqlx::Connection;
        let dir = std::env::temp_dir().join(format!("overturn-forget-{}", uuid::Uuid::new_v4().simple()));
        let vars = std::collections::HashMap::from([("OVERTURN_DATA_DIR".to_owned(), dir.display().to_string())]);
        let settings = crate::configuration::Settings::from_map(&vars).unwrap();
        let db = super::Db::connect(&settings).await.unwrap();
        let backend = sea_orm::DbBackend::Sqlite;
        for n in 1..=3 {
            let values = vec!["(?)"; n].join(", ");
            let sql = format!("SELECT count(*) FROM (VALUES {values})");
            db.write
                .query_one_raw(sea_orm::Statement::from_sql_and_values(backend, sql, vec![1.into(); n]))
                .await
                .unwrap();
        }
        let pool = db.write.get_sqlite_connection_pool();
        let cached = || async { pool.acquire().await.unwrap().cached_statements_size() };
        assert!(cached().await >= 3);
        db.forget_statements();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while cached().await > 0 {
            assert!(std::time::Instant::now() < deadline, "the statements were not dropped");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        db.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }

    /// Every connection of both SQLite pools plans once per statement (see `stable_plans`).
    #[tokio::test]
    async fn sqlite_connections_keep_their_plans() {
        let dir = std::env::temp_dir().join(format!("overturn-plans-{}", uuid::Uuid::new_v4().simple()));
        let vars = std::collections::HashMap::from([
            ("OVERTURN_DATA_DIR".to_owned(), dir.display().to_string()),
            ("OVERTURN_DB_MAX_CONNECTIONS".to_owned(), "3".to_owned()),
        ]);
        let settings = crate::configuration::Settings::from_map(&vars).unwrap();
        let db = super::Db::connect(&settings).await.unwrap();
        for pool in [db.write.get_sqlite_connection_pool(), db.read.get_sqlite_connection_pool()] {
            // Held at once, so each is a connection of its own.
            let mut held = Vec::new();
            for _ in 0..pool.options().get_max_connections() {
                let mut conn = pool.acquire().await.unwrap();
                assert!(super::has_stable_plans(&mut conn).await.unwrap());
                held.push(conn);
            }
        }
        db.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn nagle_is_turned_off_on_connections_to_the_port_only() {
        use std::net::{TcpListener, TcpStream};
        let database = TcpListener::bind("127.0.0.1:0").unwrap();
        let other = TcpListener::bind("127.0.0.1:0").unwrap();
        let to_database = TcpStream::connect(database.local_addr().unwrap()).unwrap();
        let to_other = TcpStream::connect(other.local_addr().unwrap()).unwrap();
        assert!(!to_database.nodelay().unwrap(), "a new socket starts with Nagle on");

        super::disable_nagle(database.local_addr().unwrap().port());

        assert!(to_database.nodelay().unwrap());
        assert!(!to_other.nodelay().unwrap());
    }
}
