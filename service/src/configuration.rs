//! Typed settings, read from the environment once at start and checked there, so that a
//! mistyped variable stops the process with its name instead of surfacing at 3 a.m.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use overturn_domain::ApiKeySecret;
use overturn_domain::identifiers::check_x12_text;
use overturn_domain::secret_box::SecretKey;
use overturn_domain::x12::claim837::{PARTY_ID_MAX, PARTY_NAME_MAX, Party, Submitter, check_email, check_phone};

#[derive(Debug, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

impl ConfigError {
    pub fn new(variable: &'static str, message: impl Into<String>) -> Self {
        Self { variable, message: message.into() }
    }
}

/// Where claims and jobs are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseSettings {
    /// The embedded default: one SQLite file in the data directory.
    Sqlite { path: PathBuf },
    /// Production: a PostgreSQL server shared by every replica.
    Postgres { url: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub database: DatabaseSettings,
    /// Connections to PostgreSQL (SQLite uses one writer and this many readers).
    pub db_max_connections: u32,
    pub redis_url: Option<String>,
    pub bootstrap_admin_key: Option<ApiKeySecret>,
    pub webhook_allow_private: bool,
    /// The forward proxy webhooks go out through (`OVERTURN_WEBHOOK_PROXY`); none by default,
    /// whatever `HTTP_PROXY` and `HTTPS_PROXY` say.
    pub webhook_proxy: Option<reqwest::Url>,
    /// Browser origins allowed to call the API (`OVERTURN_CORS_ORIGINS`, comma-separated,
    /// each `scheme://host[:port]`): the patient portals whose pages use patient sessions.
    /// None by default: no cross-origin call is allowed.
    pub cors_origins: Vec<String>,
    pub max_body_bytes: usize,
    /// How long a request's body may take to arrive (`OVERTURN_BODY_TIMEOUT_SECS`): a client
    /// sending a byte a second would otherwise hold a connection and a worker forever.
    pub body_timeout: Duration,
    /// The limit for `POST /v1/remittances`, whose 835 files run to tens of megabytes.
    pub max_remittance_bytes: usize,
    pub shutdown_timeout: Duration,
    /// How long a request waits for a database connection before it is answered 503.
    pub db_acquire_timeout: Duration,
    /// HTTP worker threads; 0 means one per core.
    pub http_workers: usize,
    pub log_format: LogFormat,
    /// How long a stored `Idempotency-Key` response is replayed before it is purged.
    pub idempotency_retention: Duration,
    /// How long PHI access events are kept (`OVERTURN_AUDIT_RETENTION_DAYS`, six years by
    /// default, as HIPAA asks of such records); never purged sooner.
    pub audit_retention: chrono::Duration,
    /// Names this deployment's queue (Redis keys, SQLite job type): replicas sharing one
    /// Redis must agree on it; separate deployments (or tests) on one Redis must not.
    pub queue_name: String,
    /// Jobs one worker process runs at once.
    pub worker_concurrency: usize,
    /// Worker heartbeat; a job held by a worker silent for two of these is delivered again.
    pub worker_heartbeat: Duration,
    /// Jobs queued at most; the outbox keeps the rest until there is room.
    pub queue_high_water: u64,
    /// A remittance unclassified this long, with nothing waiting, is queued again.
    pub job_stale_after: Duration,
    /// Claim payments a classification job handles per database round.
    pub classify_batch: u64,
    /// Webhook attempts one worker process makes at once.
    pub webhook_concurrency: usize,
    /// Webhook requests one contact may have in flight per worker process.
    pub webhook_per_contact: usize,
    /// The key sealing signing secrets at rest; see `Settings::secrets_key`.
    pub secrets_key: Option<SecretKey>,
    /// Who sends the 837s of JSON claims that name no submitter (loop 1000A), and to whom
    /// (1000B): the practice's own, set once (`OVERTURN_SUBMITTER_*`, `OVERTURN_RECEIVER_*`).
    pub submitter: Option<Submitter>,
    pub receiver: Option<Party>,
}

/// Every variable `Settings` reads; the README's configuration table documents each one.
pub const VARIABLES: &[&str] = &[
    "OVERTURN_ADDR",
    "OVERTURN_DATA_DIR",
    "DATABASE_URL",
    "REDIS_URL",
    "OVERTURN_BOOTSTRAP_ADMIN_KEY",
    "OVERTURN_WEBHOOK_ALLOW_PRIVATE",
    "OVERTURN_WEBHOOK_PROXY",
    "OVERTURN_CORS_ORIGINS",
    "OVERTURN_MAX_BODY_BYTES",
    "OVERTURN_BODY_TIMEOUT_SECS",
    "OVERTURN_MAX_REMITTANCE_BYTES",
    "OVERTURN_DB_MAX_CONNECTIONS",
    "OVERTURN_DB_ACQUIRE_TIMEOUT_SECS",
    "OVERTURN_HTTP_WORKERS",
    "OVERTURN_SHUTDOWN_TIMEOUT_SECS",
    "OVERTURN_IDEMPOTENCY_RETENTION_HOURS",
    "OVERTURN_AUDIT_RETENTION_DAYS",
    "OVERTURN_LOG_FORMAT",
    "OVERTURN_QUEUE_NAME",
    "OVERTURN_WORKER_CONCURRENCY",
    "OVERTURN_WORKER_HEARTBEAT_SECS",
    "OVERTURN_QUEUE_HIGH_WATER",
    "OVERTURN_JOB_STALE_AFTER_SECS",
    "OVERTURN_CLASSIFY_BATCH",
    "OVERTURN_WEBHOOK_CONCURRENCY",
    "OVERTURN_WEBHOOK_PER_CONTACT",
    "OVERTURN_SECRETS_KEY",
    "OVERTURN_SUBMITTER_NAME",
    "OVERTURN_SUBMITTER_ID",
    "OVERTURN_SUBMITTER_CONTACT",
    "OVERTURN_SUBMITTER_PHONE",
    "OVERTURN_SUBMITTER_EMAIL",
    "OVERTURN_RECEIVER_NAME",
    "OVERTURN_RECEIVER_ID",
];

impl Settings {
    /// The webhook deliveries' queue, beside the jobs queue.
    pub fn webhook_queue_name(&self) -> String {
        format!("{}:webhooks", self.queue_name)
    }

    /// The key that seals contacts' signing secrets: `OVERTURN_SECRETS_KEY`, else on the
    /// embedded default a key generated once into `<data dir>/secrets.key` (mode 0600).
    /// PostgreSQL deployments must set it: every replica needs the same key, and a key
    /// file on one host would strand the secrets when that host goes.
    pub fn secrets_key(&self) -> Result<SecretKey, ConfigError> {
        const VAR: &str = "OVERTURN_SECRETS_KEY";
        if let Some(key) = &self.secrets_key {
            return Ok(key.clone());
        }
        if let DatabaseSettings::Postgres { .. } = self.database {
            return Err(ConfigError::new(
                VAR,
                "is required with a PostgreSQL DATABASE_URL (32 random bytes in base64, the same on every replica; `openssl rand -base64 32`)",
            ));
        }
        let path = self.data_dir.join("secrets.key");
        let fail = |what: &str, e: std::io::Error| {
            ConfigError::new(VAR, format!("not set, and {what} {}: {e}", path.display()))
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => SecretKey::parse(&text)
                .map_err(|e| ConfigError::new(VAR, format!("not set, and {} is not a key: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                use std::io::Write;
                use std::os::unix::fs::OpenOptionsExt;
                create_private_dir(&self.data_dir).map_err(|e| fail("cannot create the folder of", e))?;
                let key = SecretKey::generate();
                // `create_new`: of two processes starting together, one writes the key and
                // the other reads it.
                match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path) {
                    Ok(mut file) => {
                        file.write_all(key.encode().as_bytes())
                            .and_then(|()| file.sync_all())
                            .map_err(|e| fail("cannot write", e))?;
                        tracing::info!(path = %path.display(), "generated the secrets key; back it up with the database");
                        Ok(key)
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        // The other process may still be writing it.
                        for _ in 0..50 {
                            if let Ok(key) = std::fs::read_to_string(&path)
                                .map_err(|_| ())
                                .and_then(|t| SecretKey::parse(&t).map_err(|_| ()))
                            {
                                return Ok(key);
                            }
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        Err(ConfigError::new(VAR, format!("not set, and {} is not a key", path.display())))
                    }
                    Err(e) => Err(fail("cannot create", e)),
                }
            }
            Err(e) => Err(fail("cannot read", e)),
        }
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_map(&std::env::vars().collect())
    }

    /// Reads settings from a map of variables (the environment, or a test's own map).
    pub fn from_map(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        // An empty variable is treated as unset: `FOO= overturn serve` is a common way to clear one.
        let get = |name: &str| vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());

        let addr = match get("OVERTURN_ADDR") {
            Some(v) => v.parse().map_err(|_| {
                ConfigError::new("OVERTURN_ADDR", format!("{v:?} is not an address like 127.0.0.1:8080"))
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let data_dir = PathBuf::from(get("OVERTURN_DATA_DIR").unwrap_or("./data"));
        let database = match get("DATABASE_URL") {
            None => DatabaseSettings::Sqlite { path: data_dir.join("overturn.db") },
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                DatabaseSettings::Postgres { url: url.to_owned() }
            }
            Some(url) if url.starts_with("sqlite:") => {
                let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
                let path = path.split('?').next().unwrap_or_default();
                if path.is_empty() || path == ":memory:" {
                    return Err(ConfigError::new(
                        "DATABASE_URL",
                        "a SQLite URL must name a file (an in-memory database would lose every claim on restart)",
                    ));
                }
                DatabaseSettings::Sqlite { path: PathBuf::from(path) }
            }
            Some(_) => {
                return Err(ConfigError::new(
                    "DATABASE_URL",
                    "must start with postgres:// or postgresql:// (or sqlite:// for a file); unset it for the embedded SQLite default",
                ));
            }
        };
        let redis_url = match get("REDIS_URL") {
            Some(url) if url.starts_with("redis://") || url.starts_with("rediss://") => Some(url.to_owned()),
            Some(_) => return Err(ConfigError::new("REDIS_URL", "must start with redis:// or rediss://")),
            None => None,
        };
        let bootstrap_admin_key = get("OVERTURN_BOOTSTRAP_ADMIN_KEY")
            .map(|v| ApiKeySecret::from_configured(v).map_err(|m| ConfigError::new("OVERTURN_BOOTSTRAP_ADMIN_KEY", m)))
            .transpose()?;

        Ok(Self {
            addr,
            data_dir,
            database,
            db_max_connections: number(get, "OVERTURN_DB_MAX_CONNECTIONS", default_connections(), 1, 1000)?,
            db_acquire_timeout: Duration::from_secs(number(get, "OVERTURN_DB_ACQUIRE_TIMEOUT_SECS", 10, 1, 600)?),
            redis_url,
            bootstrap_admin_key,
            webhook_allow_private: boolean(get, "OVERTURN_WEBHOOK_ALLOW_PRIVATE")?,
            webhook_proxy: get("OVERTURN_WEBHOOK_PROXY")
                .filter(|v| !v.is_empty())
                .map(|v| {
                    reqwest::Url::parse(v)
                        .ok()
                        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                        .ok_or_else(|| {
                            ConfigError::new("OVERTURN_WEBHOOK_PROXY", "is not an http:// or https:// proxy URL")
                        })
                })
                .transpose()?,
            cors_origins: cors_origins(get("OVERTURN_CORS_ORIGINS").unwrap_or_default())?,
            max_body_bytes: number(get, "OVERTURN_MAX_BODY_BYTES", 1_048_576, 1024, 1 << 30)?,
            body_timeout: Duration::from_secs(number(get, "OVERTURN_BODY_TIMEOUT_SECS", 120, 1, 3600)?),
            max_remittance_bytes: number(get, "OVERTURN_MAX_REMITTANCE_BYTES", 128 << 20, 1024, 1 << 31)?,
            shutdown_timeout: Duration::from_secs(number(get, "OVERTURN_SHUTDOWN_TIMEOUT_SECS", 30, 0, 3600)?),
            http_workers: number(get, "OVERTURN_HTTP_WORKERS", 0, 0, 256)?,
            log_format: match get("OVERTURN_LOG_FORMAT") {
                None | Some("text") => LogFormat::Text,
                Some("json") => LogFormat::Json,
                Some(_) => return Err(ConfigError::new("OVERTURN_LOG_FORMAT", "must be `text` or `json`")),
            },
            idempotency_retention: Duration::from_secs(
                3600 * number(get, "OVERTURN_IDEMPOTENCY_RETENTION_HOURS", 24, 1, 24 * 90)?,
            ),
            audit_retention: chrono::Duration::days(number(get, "OVERTURN_AUDIT_RETENTION_DAYS", 2_190, 1, 36_500)?),
            queue_name: match get("OVERTURN_QUEUE_NAME") {
                None => "overturn".to_owned(),
                Some(name)
                    if name.len() <= 64
                        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) =>
                {
                    name.to_owned()
                }
                Some(_) => {
                    return Err(ConfigError::new(
                        "OVERTURN_QUEUE_NAME",
                        "must be 1 to 64 letters, digits, '-', '_' or '.'",
                    ));
                }
            },
            worker_concurrency: number(get, "OVERTURN_WORKER_CONCURRENCY", 4, 1, 256)?,
            // 2 s rather than apalis's 30: apalis-sqlite 1.0 sometimes leaves a worker idle with
            // jobs waiting until its next heartbeat (seen: stalls as long as the heartbeat under
            // a burst of pushes), and a killed worker's jobs return after two missed heartbeats.
            worker_heartbeat: Duration::from_secs(number(get, "OVERTURN_WORKER_HEARTBEAT_SECS", 2, 1, 3600)?),
            queue_high_water: number(get, "OVERTURN_QUEUE_HIGH_WATER", 2_000, 1, 5_000)?,
            job_stale_after: Duration::from_secs(number(get, "OVERTURN_JOB_STALE_AFTER_SECS", 600, 1, 86_400)?),
            classify_batch: number(get, "OVERTURN_CLASSIFY_BATCH", 5_000, 1, 50_000)?,
            webhook_concurrency: number(get, "OVERTURN_WEBHOOK_CONCURRENCY", 64, 1, 1024)?,
            webhook_per_contact: number(get, "OVERTURN_WEBHOOK_PER_CONTACT", 8, 1, 256)?,
            secrets_key: get("OVERTURN_SECRETS_KEY")
                .map(|v| SecretKey::parse(v).map_err(|e| ConfigError::new("OVERTURN_SECRETS_KEY", e.to_string())))
                .transpose()?,
            submitter: submitter(get)?,
            receiver: receiver(get)?,
        })
    }
}

/// Creates a folder (and its missing parents) that only its owner may enter, for the
/// database and the secrets key. A folder that exists is left as its owner set it.
pub(crate) fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// The PostgreSQL wiki's rule of thumb, cores × 2 plus one, rounded up to an even number so
/// the pool splits evenly between writers and readers: more connections than the cores can
/// serve only queue inside the server (measured in docs/benchmarks.md).
fn default_connections() -> u32 {
    let cores = std::thread::available_parallelism().map(|n| n.get() as u32).unwrap_or(2);
    (cores * 2 + 2).clamp(4, 32)
}

fn number<'a, T>(
    get: impl Fn(&str) -> Option<&'a str>,
    name: &'static str,
    default: T,
    min: T,
    max: T,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let Some(text) = get(name) else { return Ok(default) };
    match text.parse::<T>() {
        Ok(v) if v >= min && v <= max => Ok(v),
        _ => Err(ConfigError::new(name, format!("{text:?} is not a whole number from {min} to {max}"))),
    }
}

fn boolean<'a>(get: impl Fn(&str) -> Option<&'a str>, name: &'static str) -> Result<bool, ConfigError> {
    match get(name).map(str::to_ascii_lowercase).as_deref() {
        None | Some("false" | "0" | "no" | "off") => Ok(false),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some(other) => Err(ConfigError::new(name, format!("{other:?} is not true or false"))),
    }
}

/// One value of the submitter or receiver as the 837 carries it (no X12 delimiters, bounded).
fn party_text(variable: &'static str, value: &str, max: usize) -> Result<String, ConfigError> {
    check_x12_text(value, max).map(|()| value.to_owned()).map_err(|e| ConfigError::new(variable, e.to_string()))
}

/// `OVERTURN_SUBMITTER_*`: none, or a name, an id, and a phone number or email (the 1000A
/// loop's PER needs one).
fn submitter<'v>(get: impl Fn(&str) -> Option<&'v str>) -> Result<Option<Submitter>, ConfigError> {
    let [name, id, contact, phone, email] =
        ["NAME", "ID", "CONTACT", "PHONE", "EMAIL"].map(|part| get(&format!("OVERTURN_SUBMITTER_{part}")));
    if [name, id, contact, phone, email].iter().all(Option::is_none) {
        return Ok(None);
    }
    let required = |variable: &'static str, value: Option<&str>, max| match value {
        Some(v) => party_text(variable, v, max),
        None => Err(ConfigError::new(variable, "is needed with the other OVERTURN_SUBMITTER_ variables")),
    };
    let name = required("OVERTURN_SUBMITTER_NAME", name, PARTY_NAME_MAX)?;
    let id = required("OVERTURN_SUBMITTER_ID", id, PARTY_ID_MAX)?;
    let contact_name = contact.map(|v| party_text("OVERTURN_SUBMITTER_CONTACT", v, PARTY_NAME_MAX)).transpose()?;
    let checked = |variable: &'static str, value: &str, check: fn(&str) -> Result<(), String>| {
        check(value).map(|()| value.to_owned()).map_err(|e| ConfigError::new(variable, e))
    };
    let phone = phone.map(|v| checked("OVERTURN_SUBMITTER_PHONE", v, check_phone)).transpose()?;
    let email = email.map(|v| checked("OVERTURN_SUBMITTER_EMAIL", v, check_email)).transpose()?;
    if phone.is_none() && email.is_none() {
        return Err(ConfigError::new(
            "OVERTURN_SUBMITTER_PHONE",
            "or OVERTURN_SUBMITTER_EMAIL is needed: the 837 names how to reach the submitter",
        ));
    }
    Ok(Some(Submitter { name, id, contact_name, phone, email }))
}

/// `OVERTURN_RECEIVER_*`: none, or a name and an id.
fn receiver<'v>(get: impl Fn(&str) -> Option<&'v str>) -> Result<Option<Party>, ConfigError> {
    match (get("OVERTURN_RECEIVER_NAME"), get("OVERTURN_RECEIVER_ID")) {
        (None, None) => Ok(None),
        (Some(name), Some(id)) => Ok(Some(Party {
            name: party_text("OVERTURN_RECEIVER_NAME", name, PARTY_NAME_MAX)?,
            id: party_text("OVERTURN_RECEIVER_ID", id, PARTY_ID_MAX)?,
        })),
        (None, Some(_)) => Err(ConfigError::new("OVERTURN_RECEIVER_NAME", "is needed with OVERTURN_RECEIVER_ID")),
        (Some(_), None) => Err(ConfigError::new("OVERTURN_RECEIVER_ID", "is needed with OVERTURN_RECEIVER_NAME")),
    }
}

/// The origins of `OVERTURN_CORS_ORIGINS`, each exactly as a browser sends it in `Origin`.
/// A wildcard is refused: sessions carry PHI, so every origin is named.
fn cors_origins(value: &str) -> Result<Vec<String>, ConfigError> {
    let mut out = Vec::new();
    for item in value.split(',').map(str::trim).filter(|v| !v.is_empty()) {
        let refuse = |why: &str| ConfigError::new("OVERTURN_CORS_ORIGINS", format!("{item:?} {why}"));
        if item == "*" {
            return Err(refuse("is a wildcard; name each portal origin"));
        }
        let url = reqwest::Url::parse(item).map_err(|_| refuse("is not an origin like https://portal.example.com"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(refuse("is not an http:// or https:// origin"));
        }
        let origin = url.origin().ascii_serialization();
        if origin != item.trim_end_matches('/') {
            return Err(refuse("must be only scheme://host[:port], without a path, query or credentials"));
        }
        out.push(origin);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        Settings::from_map(&pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn defaults_are_the_embedded_setup() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(s.database, DatabaseSettings::Sqlite { path: PathBuf::from("./data/overturn.db") });
        assert!(s.redis_url.is_none() && s.bootstrap_admin_key.is_none() && !s.webhook_allow_private);
    }

    #[test]
    fn every_bad_variable_is_named() {
        let cases = [
            ("OVERTURN_ADDR", "localhost"),
            ("DATABASE_URL", "mysql://x"),
            ("DATABASE_URL", "sqlite::memory:"),
            ("REDIS_URL", "http://x"),
            ("OVERTURN_BOOTSTRAP_ADMIN_KEY", "short"),
            ("OVERTURN_WEBHOOK_ALLOW_PRIVATE", "maybe"),
            ("OVERTURN_MAX_BODY_BYTES", "-1"),
            ("OVERTURN_MAX_REMITTANCE_BYTES", "10"),
            ("OVERTURN_DB_MAX_CONNECTIONS", "0"),
            ("OVERTURN_LOG_FORMAT", "xml"),
            ("OVERTURN_QUEUE_NAME", "a b"),
            ("OVERTURN_WORKER_CONCURRENCY", "0"),
            ("OVERTURN_QUEUE_HIGH_WATER", "9000"),
            ("OVERTURN_SECRETS_KEY", "c2hvcnQ="),
            ("OVERTURN_CORS_ORIGINS", "*"),
            ("OVERTURN_AUDIT_RETENTION_DAYS", "0"),
            ("OVERTURN_BODY_TIMEOUT_SECS", "0"),
            ("OVERTURN_CORS_ORIGINS", "https://portal.example.com/app"),
            ("OVERTURN_CORS_ORIGINS", "portal.example.com"),
            ("OVERTURN_CORS_ORIGINS", "https://a.example.com,ftp://b.example.com"),
        ];
        for (name, value) in cases {
            let err = settings(&[(name, value)]).unwrap_err();
            assert_eq!(err.variable, name, "{name}={value}");
        }
    }

    #[test]
    fn cors_origins_are_named_origins() {
        assert!(settings(&[]).unwrap().cors_origins.is_empty());
        let s =
            settings(&[("OVERTURN_CORS_ORIGINS", " https://portal.example.com, http://localhost:3000/ ,")]).unwrap();
        assert_eq!(s.cors_origins, ["https://portal.example.com", "http://localhost:3000"]);
    }

    #[test]
    fn the_secrets_key_is_required_with_postgres_and_generated_once_on_sqlite() {
        use std::os::unix::fs::PermissionsExt;
        let pg = settings(&[("DATABASE_URL", "postgres://u@h/db")]).unwrap();
        assert_eq!(pg.secrets_key().unwrap_err().variable, "OVERTURN_SECRETS_KEY");
        let key = SecretKey::generate();
        let given =
            settings(&[("DATABASE_URL", "postgres://u@h/db"), ("OVERTURN_SECRETS_KEY", &key.encode())]).unwrap();
        assert_eq!(given.secrets_key().unwrap().open(&key.seal(b"x")).unwrap(), b"x");

        let dir = std::env::temp_dir().join(format!("overturn-key-{}", uuid::Uuid::new_v4().simple()));
        let embedded = settings(&[("OVERTURN_DATA_DIR", dir.to_str().unwrap())]).unwrap();
        let first = embedded.secrets_key().unwrap();
        let mode = std::fs::metadata(dir.join("secrets.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "readable by its owner only");
        let again = embedded.secrets_key().unwrap();
        assert_eq!(again.open(&first.seal(b"kept")).unwrap(), b"kept", "the same key after a restart");
        std::fs::write(dir.join("secrets.key"), "not a key").unwrap();
        assert_eq!(embedded.secrets_key().unwrap_err().variable, "OVERTURN_SECRETS_KEY");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn the_default_submitter_and_receiver_are_whole_or_named() {
        let none = settings(&[]).unwrap();
        assert!(none.submitter.is_none() && none.receiver.is_none());
        let whole = settings(&[
            ("OVERTURN_SUBMITTER_NAME", "SMITH FAMILY CLINIC"),
            ("OVERTURN_SUBMITTER_ID", "ETIN123"),
            ("OVERTURN_SUBMITTER_EMAIL", "billing@example.com"),
            ("OVERTURN_RECEIVER_NAME", "CLEARINGHOUSE"),
            ("OVERTURN_RECEIVER_ID", "CLEAR1"),
        ])
        .unwrap();
        let submitter = whole.submitter.unwrap();
        assert_eq!((submitter.name.as_str(), submitter.id.as_str()), ("SMITH FAMILY CLINIC", "ETIN123"));
        assert_eq!(submitter.email.as_deref(), Some("billing@example.com"));
        assert_eq!(whole.receiver.unwrap().id, "CLEAR1");
        for (pairs, named) in [
            (
                &[("OVERTURN_SUBMITTER_NAME", "A CLINIC"), ("OVERTURN_SUBMITTER_PHONE", "8605551212")][..],
                "OVERTURN_SUBMITTER_ID",
            ),
            (
                &[("OVERTURN_SUBMITTER_NAME", "A CLINIC"), ("OVERTURN_SUBMITTER_ID", "E1")][..],
                "OVERTURN_SUBMITTER_PHONE",
            ),
            (
                &[
                    ("OVERTURN_SUBMITTER_NAME", "A*CLINIC"),
                    ("OVERTURN_SUBMITTER_ID", "E1"),
                    ("OVERTURN_SUBMITTER_PHONE", "8605551212"),
                ][..],
                "OVERTURN_SUBMITTER_NAME",
            ),
            (
                &[
                    ("OVERTURN_SUBMITTER_NAME", "A"),
                    ("OVERTURN_SUBMITTER_ID", "E1"),
                    ("OVERTURN_SUBMITTER_PHONE", "555"),
                ][..],
                "OVERTURN_SUBMITTER_PHONE",
            ),
            (&[("OVERTURN_RECEIVER_ID", "CLEAR1")][..], "OVERTURN_RECEIVER_NAME"),
        ] {
            let err = settings(pairs).unwrap_err();
            assert_eq!(err.variable, named, "{pairs:?}: {err}");
        }
    }

    #[test]
    fn postgres_and_sqlite_urls_are_recognised() {
        let pg = settings(&[("DATABASE_URL", "postgres://u@h/db")]).unwrap();
        assert_eq!(pg.database, DatabaseSettings::Postgres { url: "postgres://u@h/db".into() });
        let file = settings(&[("DATABASE_URL", "sqlite:///tmp/x.db?mode=rwc")]).unwrap();
        assert_eq!(file.database, DatabaseSettings::Sqlite { path: PathBuf::from("/tmp/x.db") });
        let blank = settings(&[("DATABASE_URL", "  ")]).unwrap();
        assert!(matches!(blank.database, DatabaseSettings::Sqlite { .. }));
    }
}

#[cfg(test)]
mod documentation {
    #[test]
    fn every_variable_is_in_the_readme() {
        let readme = include_str!("../../README.md");
        for name in super::VARIABLES {
            assert!(readme.contains(&format!("| `{name}` |")), "{name} is missing from README.md's table");
        }
    }
}
