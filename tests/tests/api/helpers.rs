//! Starts the real application on a random port, each test with its own fresh database.

use std::collections::HashMap;

use overturn::startup::{Application, ServeRole};
use overturn_service::configuration::Settings;
use reqwest::{Method, Response};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server the tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("OVERTURN_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The Redis server the PostgreSQL tests queue their jobs on.
pub fn redis_url() -> String {
    std::env::var("OVERTURN_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A database (and queue) of its own for one test, dropped when the test ends.
pub struct TestDatabase {
    pub vars: HashMap<String, String>,
    /// Holds the SQLite directory until the test ends.
    _dir: tempfile::TempDir,
    postgres_name: Option<String>,
    /// The test's own queue name: parallel tests on one Redis never take each other's jobs.
    pub queue_name: String,
}

impl TestDatabase {
    pub async fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut vars = HashMap::new();
        vars.insert("OVERTURN_DATA_DIR".to_owned(), dir.path().display().to_string());
        let mut postgres_name = None;
        let queue_name = format!("test-{}", uuid::Uuid::new_v4().simple());
        vars.insert("OVERTURN_QUEUE_NAME".to_owned(), queue_name.clone());
        if backend == Backend::Postgres {
            vars.insert("REDIS_URL".to_owned(), redis_url());
            vars.insert("OVERTURN_SECRETS_KEY".to_owned(), overturn_domain::secret_box::SecretKey::generate().encode());
            let name = format!("overturn_test_{}", uuid::Uuid::new_v4().simple());
            let admin = sea_orm::Database::connect(postgres_admin_url())
                .await
                .expect("PostgreSQL must be running for the tests (see .ci/run)");
            admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
            let _ = admin.close().await;
            let base = postgres_admin_url();
            let server = base.rsplit_once('/').map(|(s, _)| s).unwrap_or(&base);
            vars.insert("DATABASE_URL".to_owned(), format!("{server}/{name}"));
            postgres_name = Some(name);
        }
        Self { vars, _dir: dir, postgres_name, queue_name }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(name) = self.postgres_name.take() else { return };
        let queue = self.queue_name.clone();
        // Drop needs async work; run it on a runtime of its own so it works inside or
        // outside the test's runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                if let Ok(client) = redis::Client::open(redis_url())
                    && let Ok(mut conn) = client.get_multiplexed_async_connection().await
                {
                    let _: Result<(), _> = redis::cmd("EVAL")
                        .arg("for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end")
                        .arg(0)
                        .arg(format!("{queue}:*"))
                        .query_async(&mut conn)
                        .await;
                }
                let admin = sea_orm::Database::connect(postgres_admin_url()).await.ok()?;
                admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.ok()?;
                admin.close().await.ok()
            })
        })
        .join();
    }
}

pub struct TestApp {
    pub address: String,
    pub admin_key: String,
    pub client: reqwest::Client,
    /// Dropped with the last app on it: removes the test's database.
    _db: std::sync::Arc<TestDatabase>,
    /// The test's job runner, made on first use and kept: it holds the delayed jobs it has
    /// taken (a retry, an attempt seconds away) until a later `run_due_jobs` finds them due.
    due_now: std::sync::Arc<tokio::sync::OnceCell<overturn_worker::due_now::DueNow>>,
    /// The settings this app was started with, which the job runner takes too.
    vars: HashMap<String, String>,
}

pub fn random_key() -> String {
    format!("test-admin-{}", uuid::Uuid::new_v4().simple())
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, ServeRole::All, &[]).await
}

/// The app without background workers: the test runs the due jobs itself, when it chooses,
/// with `TestApp::run_due_jobs`.
pub async fn spawn_app_without_workers(backend: Backend) -> TestApp {
    spawn_app_with(backend, ServeRole::Api, &[]).await
}

pub async fn spawn_app_with(backend: Backend, role: ServeRole, extra: &[(&str, &str)]) -> TestApp {
    let db = std::sync::Arc::new(TestDatabase::new(backend).await);
    start_on(db, random_key(), role, extra).await
}

async fn start_on(
    db: std::sync::Arc<TestDatabase>,
    admin_key: String,
    role: ServeRole,
    extra: &[(&str, &str)],
) -> TestApp {
    let mut vars = db.vars.clone();
    vars.insert("OVERTURN_ADDR".into(), "127.0.0.1:0".into());
    vars.insert("OVERTURN_BOOTSTRAP_ADMIN_KEY".into(), admin_key.clone());
    vars.insert("OVERTURN_HTTP_WORKERS".into(), "2".into());
    vars.insert("OVERTURN_DB_MAX_CONNECTIONS".into(), "5".into());
    vars.insert("OVERTURN_SHUTDOWN_TIMEOUT_SECS".into(), "1".into());
    for (k, v) in extra {
        vars.insert((*k).into(), (*v).into());
    }
    let settings = Settings::from_map(&vars).expect("test settings are valid");
    let app = Application::build(settings, role).await.expect("application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    // A request that hangs fails its test instead of stalling the whole run.
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(60)).build().expect("client");
    TestApp { address, admin_key, client, _db: db, due_now: Default::default(), vars }
}

impl TestApp {
    /// Another process's worth of the app (`--role api|worker|all`) on the same database and
    /// queue, as replicas share them in production.
    pub async fn replica(&self, role: ServeRole, extra: &[(&str, &str)]) -> TestApp {
        start_on(self._db.clone(), self.admin_key.clone(), role, extra).await
    }

    /// Runs every job due now, in this task, until none is left; returns how many ran. For an
    /// app started without workers (`spawn_app_without_workers`): what a worker would do,
    /// finished when this returns, so the test asserts on it instead of polling for it.
    pub async fn run_due_jobs(&self) -> usize {
        let runner = self
            .due_now
            .get_or_init(|| async {
                let settings = Settings::from_map(&self.vars).expect("test settings are valid");
                let db = self.database().await;
                overturn_worker::due_now::DueNow::new(&settings, db.write.clone()).expect("the job runner starts")
            })
            .await;
        runner.run().await.expect("the due jobs run")
    }

    /// Polls `check` until it returns `Some`, for work the workers do in the background.
    pub async fn eventually<T, F, Fut>(&self, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if let Some(value) = check().await {
                return value;
            }
            assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// GETs `path` as the admin and returns the JSON body, asserting 200.
    pub async fn get_json(&self, path: &str) -> Value {
        let res = self.get(path).await;
        let status = res.status();
        let body: Value = res.json().await.expect("JSON body");
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// Connections to this app's own database, for tests that look under the API.
    pub async fn database(&self) -> overturn_service::db::Db {
        let settings = Settings::from_map(&self._db.vars).expect("test settings are valid");
        overturn_service::db::Db::connect(&settings).await.expect("test database reachable")
    }

    /// The database (and settings) this app runs on, for commands run beside it.
    pub fn test_database(&self) -> &TestDatabase {
        &self._db
    }

    /// The PostgreSQL database of this app, if it runs on one.
    pub fn database_name(&self) -> Option<&str> {
        self._db.postgres_name.as_deref()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn request(&self, method: Method, path: &str, key: Option<&str>, body: Option<&Value>) -> Response {
        let mut req = self.client.request(method, self.url(path));
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        req.send().await.expect("request sent")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path, Some(&self.admin_key), None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.request(Method::POST, path, Some(&self.admin_key), Some(body)).await
    }

    pub async fn post_claim(&self, body: &Value) -> Response {
        self.post("/v1/claims", body).await
    }

    /// Posts an X12 file to `/v1/remittances`.
    pub async fn post_edi(&self, body: &str) -> Response {
        self.client
            .post(self.url("/v1/remittances"))
            .bearer_auth(&self.admin_key)
            .header("content-type", "application/edi-x12")
            .body(body.to_owned())
            .send()
            .await
            .expect("request sent")
    }

    /// Creates a key with `role` and returns its secret.
    pub async fn create_key(&self, role: &str) -> String {
        let res = self.post("/v1/api-keys", &json!({"name": format!("{role} key"), "role": role})).await;
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.unwrap();
        body["key"].as_str().unwrap().to_owned()
    }
}

/// A valid claim body; tests change what they need.
pub fn claim_body(claim_number: &str) -> Value {
    json!({
        "claim_number": claim_number,
        "payer": {"id": "60054", "name": "ACME HEALTH PLAN"},
        "patient": {"member_id": "MEM1001", "first_name": "Jane", "last_name": "Doe", "date_of_birth": "1980-04-12"},
        "provider": {"npi": "1234567893", "name": "SMITH FAMILY CLINIC"},
        "service_date": "2024-12-02",
        "diagnosis_codes": ["E119", "I10"],
        "lines": [
            {"procedure_code": "99213", "modifiers": ["25"], "units": 1, "charge": "180.00"},
            {"procedure_code": "36415", "charge": "20.5", "service_date": "2024-12-03"}
        ]
    })
}

/// Asserts an RFC 9457 problem document with `status`, and returns it.
pub async fn assert_problem(res: Response, status: u16) -> Value {
    assert_eq!(res.status().as_u16(), status, "unexpected status");
    let content_type = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(content_type.as_deref(), Some("application/problem+json"));
    let body: Value = res.json().await.expect("problem body is JSON");
    assert_eq!(body["status"], status);
    assert!(body["title"].is_string() && body["detail"].is_string() && body["type"].is_string(), "{body}");
    body
}

/// The `field`s of a validation problem's `errors`.
pub fn error_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|a| a.iter().map(|e| e["field"].as_str().unwrap_or_default().to_owned()).collect())
        .unwrap_or_default()
}

/// Runs each named `async fn(Backend)` test against SQLite and against PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            )*
        }
    };
}
