use overturn::startup::ServeRole;
use reqwest::Method;
use serde_json::Value;

use crate::helpers::{Backend, assert_problem, claim_body, spawn_app, spawn_app_with};

async fn health_ready_and_metrics_answer_without_a_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let health: Value = app.client.get(app.url("/health")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    let ready: Value = app.client.get(app.url("/ready")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["checks"]["database"], "ok");

    let mut body = claim_body("CLM-METRICS");
    body["patient"]["member_id"] = Value::from("PHI-MEMBER-777");
    body["patient"]["last_name"] = Value::from("Zyxwvutsrq");
    assert_eq!(app.post_claim(&body).await.status(), 201);
    let res = app.get("/v1/claims?member_id=PHI-MEMBER-777").await;
    assert_eq!(res.status(), 200);

    let res = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = res.text().await.unwrap();
    assert!(
        text.contains(r#"overturn_http_requests_total{method="POST",route="/v1/claims",status="201"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(
            r#"overturn_http_request_duration_seconds_count{method="GET",route="/v1/claims",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(!text.contains("PHI-MEMBER-777") && !text.contains("Zyxwvutsrq"), "no PHI in metrics");
}

async fn openapi_and_docs_are_served_from_the_binary(backend: Backend) {
    let app = spawn_app(backend).await;
    let served: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    let generated: Value = serde_json::from_str(&overturn_openapi::generate()).unwrap();
    assert_eq!(served, generated);
    assert_eq!(served["openapi"], "3.1.0");
    for path in ["/v1/claims", "/v1/claims/{id}", "/v1/api-keys", "/v1/api-keys/{id}", "/health", "/ready", "/metrics"]
    {
        assert!(served["paths"].get(path).is_some(), "{path} is documented");
    }

    let res = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("swagger-ui"));
    // The UI's assets come from the binary, not a CDN.
    let res = app.client.get(app.url("/docs/swagger-ui-bundle.js")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.bytes().await.unwrap().len() > 100_000);
    let redirect = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = redirect.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(res.headers()["location"], "/docs/");
}

async fn request_ids_are_echoed_or_made(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = app.client.get(app.url("/health")).header("x-request-id", "abc-123").send().await.unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123");
    let res = app.client.get(app.url("/health")).header("x-request-id", "bad id with spaces").send().await.unwrap();
    let made = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(made, "bad id with spaces");
    assert_eq!(made.len(), 36);
    let res = app.request(Method::GET, "/v1/claims", None, None).await;
    assert!(res.headers().get("x-request-id").is_some(), "errors carry the id too");
}

async fn worker_role_serves_probes_but_not_the_api(backend: Backend) {
    let app = spawn_app_with(backend, ServeRole::Worker, &[]).await;
    assert_eq!(app.client.get(app.url("/health")).send().await.unwrap().status(), 200);
    assert_eq!(app.client.get(app.url("/ready")).send().await.unwrap().status(), 200);
    assert_problem(app.get("/v1/claims").await, 404).await;
}

async fn unknown_methods_and_routes_are_problems(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = app.request(Method::PUT, "/health", None, None).await;
    assert_eq!(res.headers()["allow"], "GET");
    assert_problem(res, 405).await;
    let res = app.request(Method::DELETE, "/v1/claims", Some(&app.admin_key), None).await;
    assert_eq!(res.headers()["allow"], "GET, POST");
    assert_problem(res, 405).await;
    let res = app.request(Method::PATCH, &format!("/v1/claims/{}", uuid::Uuid::now_v7()), None, None).await;
    assert_eq!(res.headers()["allow"], "GET");
    assert_problem(res, 405).await;
    assert_problem(app.request(Method::GET, "/v1/claims/a/b", Some(&app.admin_key), None).await, 404).await;
    assert_problem(app.request(Method::GET, "/nowhere", None, None).await, 404).await;
}

async fn replicas_starting_together_on_one_fresh_database_all_come_up(backend: Backend) {
    use overturn::startup::Application;
    use overturn_service::configuration::Settings;
    let db = crate::helpers::TestDatabase::new(backend).await;
    // Four processes' worth of startups (API and worker roles) racing to migrate the same database.
    let starts = [ServeRole::Api, ServeRole::Worker, ServeRole::Api, ServeRole::All].map(|role| {
        let mut vars = db.vars.clone();
        vars.insert("OVERTURN_ADDR".into(), "127.0.0.1:0".into());
        vars.insert("OVERTURN_HTTP_WORKERS".into(), "1".into());
        vars.insert("OVERTURN_DB_MAX_CONNECTIONS".into(), "2".into());
        let settings = Settings::from_map(&vars).unwrap();
        async move { Application::build(settings, role).await }
    });
    let apps = futures::future::join_all(starts).await;
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build().unwrap();
    for app in apps {
        let app = app.expect("every replica starts");
        let url = format!("http://127.0.0.1:{}/ready", app.port());
        tokio::spawn(app.run_until_stopped());
        assert_eq!(client.get(url).send().await.unwrap().status(), 200);
    }
}

/// PostgreSQL going away is a 503 that clients can retry, never a 500, and the service
/// recovers by itself when it comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_503_and_recovers() {
    use sea_orm::ConnectionTrait;
    let app = spawn_app_with(Backend::Postgres, ServeRole::All, &[("OVERTURN_DB_ACQUIRE_TIMEOUT_SECS", "1")]).await;
    assert_eq!(app.post_claim(&claim_body("CLM-BEFORE")).await.status(), 201);
    let name = app.database_name().expect("a PostgreSQL test database");
    let admin = sea_orm::Database::connect(crate::helpers::postgres_admin_url()).await.unwrap();
    let set_allowed = |allowed: bool| format!("ALTER DATABASE {name} ALLOW_CONNECTIONS {allowed}");
    admin.execute_unprepared(&set_allowed(false)).await.unwrap();
    admin
        .execute_unprepared(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        ))
        .await
        .unwrap();

    let ready = app.client.get(app.url("/ready")).send().await.unwrap();
    assert_problem(ready, 503).await;
    assert_problem(app.post_claim(&claim_body("CLM-DURING")).await, 503).await;
    assert_problem(app.get("/v1/claims").await, 503).await;

    admin.execute_unprepared(&set_allowed(true)).await.unwrap();
    let ready = app.client.get(app.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(app.post_claim(&claim_body("CLM-AFTER")).await.status(), 201);
    let list: Value = app.get("/v1/claims").await.json().await.unwrap();
    let numbers: Vec<&str> =
        list["items"].as_array().unwrap().iter().map(|c| c["claim_number"].as_str().unwrap()).collect();
    assert_eq!(numbers, ["CLM-AFTER", "CLM-BEFORE"], "nothing of the failed request was stored");
    let _ = admin.close().await;
}

#[test]
fn committed_openapi_document_matches_the_code() {
    let committed = std::fs::read_to_string(overturn_openapi::committed_path()).unwrap_or_default();
    assert!(
        committed == overturn_openapi::generate(),
        "openapi/openapi.json is out of date: run `cargo run -p overturn-openapi` and commit it"
    );
}

crate::on_both_backends!(
    replicas_starting_together_on_one_fresh_database_all_come_up,
    health_ready_and_metrics_answer_without_a_key,
    openapi_and_docs_are_served_from_the_binary,
    request_ids_are_echoed_or_made,
    worker_role_serves_probes_but_not_the_api,
    unknown_methods_and_routes_are_problems,
);

/// A body sent a byte at a time is cut off at `OVERTURN_BODY_TIMEOUT_SECS` with a 408, instead
/// of holding the connection and a worker for as long as the client likes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_trickles_in_is_answered_408() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with(Backend::Sqlite, ServeRole::All, &[("OVERTURN_BODY_TIMEOUT_SECS", "1")]).await;
    let address = app.url("").trim_start_matches("http://").trim_end_matches('/').to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /v1/claims HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
        app.admin_key
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    let (mut reader, mut writer) = stream.into_split();
    let trickle = tokio::spawn(async move {
        for _ in 0..100 {
            if writer.write_all(b" ").await.is_err() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    });
    let mut answer = vec![0u8; 4096];
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), reader.read(&mut answer))
        .await
        .expect("answered before the client finished sending")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]).into_owned();
    trickle.abort();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json") && answer.contains("OVERTURN_BODY_TIMEOUT_SECS"), "{answer}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
    // A body sent at once is untouched by the deadline.
    assert_eq!(app.post_claim(&claim_body("TRICKLE-OK")).await.status(), 201);
}
