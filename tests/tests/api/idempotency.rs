use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, assert_problem, claim_body, spawn_app};

async fn post_with_key(app: &TestApp, api_key: &str, idem: &str, body: &Value) -> reqwest::Response {
    post_to(app, "/v1/claims", api_key, idem, body).await
}

async fn post_to(app: &TestApp, path: &str, api_key: &str, idem: &str, body: &Value) -> reqwest::Response {
    app.client.post(app.url(path)).bearer_auth(api_key).header("Idempotency-Key", idem).json(body).send().await.unwrap()
}

async fn claim_count(app: &TestApp) -> usize {
    let list: Value = app.get("/v1/claims?limit=500").await.json().await.unwrap();
    list["items"].as_array().unwrap().len()
}

async fn a_retry_replays_the_first_response(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = claim_body("CLM-IDEM");
    let first = post_with_key(&app, &app.admin_key, "retry-1", &body).await;
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();

    // The same JSON with keys in another order is the same request.
    let reordered: Value = serde_json::from_str(&{
        let mut fields: Vec<(String, Value)> = body.as_object().unwrap().clone().into_iter().collect();
        fields.reverse();
        let map: serde_json::Map<String, Value> = fields.into_iter().collect();
        serde_json::to_string(&map).unwrap()
    })
    .unwrap();
    let second = post_with_key(&app, &app.admin_key, "retry-1", &reordered).await;
    assert_eq!(second.status(), 201);
    assert_eq!(second.headers().get("idempotent-replayed").unwrap(), "true");
    let second: Value = second.json().await.unwrap();
    assert_eq!(first, second);
    assert_eq!(claim_count(&app).await, 1);
}

async fn the_same_key_with_another_body_is_422(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(post_with_key(&app, &app.admin_key, "k-1", &claim_body("CLM-A")).await.status(), 201);
    let problem = assert_problem(post_with_key(&app, &app.admin_key, "k-1", &claim_body("CLM-B")).await, 422).await;
    assert!(problem["detail"].as_str().unwrap().contains("Idempotency-Key"));
    assert_eq!(claim_count(&app).await, 1);
}

async fn a_reused_key_with_an_invalid_body_is_still_422(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(post_with_key(&app, &app.admin_key, "k-2", &claim_body("CLM-A")).await.status(), 201);
    let mut invalid = claim_body("CLM-A");
    invalid["lines"] = json!([]);
    assert_problem(post_with_key(&app, &app.admin_key, "k-2", &invalid).await, 422).await;
    // A new key with the same invalid body is a plain validation error.
    assert_problem(post_with_key(&app, &app.admin_key, "k-3", &invalid).await, 400).await;
}

async fn concurrent_mixed_keys_each_get_their_own_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    // Three keys, each sent four times at once, next to unkeyed claims.
    let mut requests = Vec::new();
    for round in 0..4 {
        for k in 0..3 {
            requests.push((Some(format!("mixed-{k}")), claim_body(&format!("CLM-MIX-{k}"))));
        }
        requests.push((None, claim_body(&format!("CLM-PLAIN-{round}"))));
    }
    let app = &app;
    let sends = requests.iter().map(|(key, body)| async move {
        let res = match key {
            Some(key) => post_with_key(app, &app.admin_key, key, body).await,
            None => app.post_claim(body).await,
        };
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap();
        (status, body)
    });
    let answers = futures::future::join_all(sends).await;
    for k in 0..3 {
        let ids: Vec<&Value> = answers
            .iter()
            .zip(&requests)
            .filter(|(_, (key, _))| key.as_deref() == Some(&format!("mixed-{k}")))
            .map(|((status, body), _)| {
                assert_eq!(*status, 201);
                &body["id"]
            })
            .collect();
        assert_eq!(ids.len(), 4);
        assert!(ids.iter().all(|id| *id == ids[0]), "key mixed-{k} answered with one claim");
    }
    assert_eq!(claim_count(app).await, 7);
    let res = post_with_key(app, &app.admin_key, "mixed-dup", &claim_body("CLM-MIX-0")).await;
    assert_eq!(res.status(), 409, "a new key cannot take a claim number already used");
    // The failed request's key is free again.
    let res = post_with_key(app, &app.admin_key, "mixed-dup", &claim_body("CLM-MIX-NEW")).await;
    assert_eq!(res.status(), 201);
}

async fn concurrent_duplicates_create_one_claim(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = claim_body("CLM-RACE");
    let attempts = (0..12).map(|_| post_with_key(&app, &app.admin_key, "race", &body));
    let responses = futures::future::join_all(attempts).await;
    let mut ids = Vec::new();
    for res in responses {
        assert_eq!(res.status(), 201);
        let claim: Value = res.json().await.unwrap();
        ids.push(claim["id"].as_str().unwrap().to_owned());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every duplicate got the first response");
    assert_eq!(claim_count(&app).await, 1);
}

async fn failures_are_not_remembered(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut bad = claim_body("CLM-FIX");
    bad["provider"]["npi"] = json!("1234567890");
    assert_problem(post_with_key(&app, &app.admin_key, "fix-me", &bad).await, 400).await;
    // After a failure the key is free: the corrected request goes through.
    let res = post_with_key(&app, &app.admin_key, "fix-me", &claim_body("CLM-FIX")).await;
    assert_eq!(res.status(), 201);
    assert!(res.headers().get("idempotent-replayed").is_none());
}

async fn keys_are_scoped_to_the_api_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let billing = app.create_key("billing").await;
    assert_eq!(post_with_key(&app, &app.admin_key, "shared", &claim_body("CLM-S1")).await.status(), 201);
    let res = post_with_key(&app, &billing, "shared", &claim_body("CLM-S2")).await;
    assert_eq!(res.status(), 201);
    assert!(res.headers().get("idempotent-replayed").is_none());
    assert_eq!(claim_count(&app).await, 2);
}

async fn bad_idempotency_keys_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let long = "k".repeat(256);
    for bad in ["has space", long.as_str()] {
        let problem = assert_problem(post_with_key(&app, &app.admin_key, bad, &claim_body("CLM-K")).await, 400).await;
        assert!(problem["detail"].as_str().unwrap().contains("Idempotency-Key"));
    }
    assert_eq!(claim_count(&app).await, 0);
    // Idempotency applies to every POST, key creation included.
    let key_body = json!({"name": "ci", "role": "billing"});
    let first: Value = post_to(&app, "/v1/api-keys", &app.admin_key, "mk", &key_body).await.json().await.unwrap();
    let again = app.request(Method::POST, "/v1/api-keys", Some(&app.admin_key), None).await;
    assert_problem(again, 415).await;
    let second: Value = post_to(&app, "/v1/api-keys", &app.admin_key, "mk", &key_body).await.json().await.unwrap();
    assert_eq!(first["id"], second["id"]);
    assert!(first["key"].as_str().unwrap().starts_with("ovt_"));
    assert_eq!(second["key"], Value::Null, "a replay never repeats the secret: it is stored nowhere");
    let keys: Value = app.get("/v1/api-keys").await.json().await.unwrap();
    assert_eq!(keys["items"].as_array().unwrap().len(), 2, "bootstrap key and one new key");
}

async fn expired_records_are_purged_and_the_key_is_free(backend: Backend) {
    use sea_orm::ConnectionTrait;
    let app = spawn_app(backend).await;
    assert_eq!(post_with_key(&app, &app.admin_key, "old", &claim_body("CLM-OLD")).await.status(), 201);
    assert_eq!(post_with_key(&app, &app.admin_key, "new", &claim_body("CLM-NEW")).await.status(), 201);

    let db = app.database().await;
    let two_days_ago = chrono::Utc::now() - chrono::Duration::days(2);
    let stmt = sea_orm::Statement::from_sql_and_values(
        db.write.get_database_backend(),
        match db.write.get_database_backend() {
            sea_orm::DbBackend::Postgres => "UPDATE idempotency_keys SET created_at = $1 WHERE key = 'old'",
            _ => "UPDATE idempotency_keys SET created_at = ? WHERE key = 'old'",
        },
        [two_days_ago.into()],
    );
    assert_eq!(db.write.execute_raw(stmt).await.unwrap().rows_affected(), 1);

    let retention = std::time::Duration::from_secs(24 * 3600);
    assert_eq!(overturn_service::maintenance::purge_idempotency_keys(&db.write, retention).await.unwrap(), 1);
    assert_eq!(overturn_service::maintenance::purge_idempotency_keys(&db.write, retention).await.unwrap(), 0);

    // The purged key is free for a new request; the fresh one still guards its request.
    let res = post_with_key(&app, &app.admin_key, "old", &claim_body("CLM-OLD-2")).await;
    assert_eq!(res.status(), 201);
    assert!(res.headers().get("idempotent-replayed").is_none());
    assert_problem(post_with_key(&app, &app.admin_key, "new", &claim_body("CLM-OTHER")).await, 422).await;
    db.close().await;
}

crate::on_both_backends!(
    expired_records_are_purged_and_the_key_is_free,
    a_reused_key_with_an_invalid_body_is_still_422,
    concurrent_mixed_keys_each_get_their_own_answer,
    a_retry_replays_the_first_response,
    the_same_key_with_another_body_is_422,
    concurrent_duplicates_create_one_claim,
    failures_are_not_remembered,
    keys_are_scoped_to_the_api_key,
    bad_idempotency_keys_are_refused,
);
