use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, assert_problem, error_fields, spawn_app};

async fn an_issued_key_works_until_revoked(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = app.post("/v1/api-keys", &json!({"name": "clearinghouse sync", "role": "billing"})).await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    let key = created["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("ovt_"));
    assert_eq!(created["role"], "billing");
    assert_eq!(created["display_prefix"], key[..12]);
    assert!(created["created_by"].is_string());

    let res = app.request(Method::GET, "/v1/claims", Some(&key), None).await;
    assert_eq!(res.status(), 200);

    // The listing never shows a secret or its hash.
    let list = app.get("/v1/api-keys").await.text().await.unwrap();
    assert!(!list.contains(&key));
    assert!(!list.contains("hash"));
    let list: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 2, "bootstrap key and the new one");
    assert_eq!(list["items"][0]["id"], created["id"], "newest first");

    let id = created["id"].as_str().unwrap();
    let res = app.request(Method::DELETE, &format!("/v1/api-keys/{id}"), Some(&app.admin_key), None).await;
    assert_eq!(res.status(), 204);
    let res = app.request(Method::GET, "/v1/claims", Some(&key), None).await;
    assert_problem(res, 401).await;
    // Revoking again is fine; the key stays listed with its revocation time.
    let res = app.request(Method::DELETE, &format!("/v1/api-keys/{id}"), Some(&app.admin_key), None).await;
    assert_eq!(res.status(), 204);
    let list: Value = app.get("/v1/api-keys").await.json().await.unwrap();
    assert!(list["items"][0]["revoked_at"].is_string());
    assert!(list["items"][1]["revoked_at"].is_null());

    let unknown = uuid::Uuid::now_v7();
    let res = app.request(Method::DELETE, &format!("/v1/api-keys/{unknown}"), Some(&app.admin_key), None).await;
    assert_problem(res, 404).await;
}

async fn only_admins_manage_keys(backend: Backend) {
    let app = spawn_app(backend).await;
    let billing = app.create_key("billing").await;
    let portal = app.create_key("portal").await;
    for key in [&billing, &portal] {
        let res =
            app.request(Method::POST, "/v1/api-keys", Some(key), Some(&json!({"name": "x", "role": "admin"}))).await;
        assert_problem(res, 403).await;
        assert_problem(app.request(Method::GET, "/v1/api-keys", Some(key), None).await, 403).await;
        let res = app.request(Method::DELETE, &format!("/v1/api-keys/{}", uuid::Uuid::now_v7()), Some(key), None).await;
        assert_problem(res, 403).await;
    }
    assert_problem(app.request(Method::GET, "/v1/api-keys", None, None).await, 401).await;
}

async fn key_requests_are_validated(backend: Backend) {
    let app = spawn_app(backend).await;
    let problem = assert_problem(app.post("/v1/api-keys", &json!({"name": " ", "role": "owner"})).await, 400).await;
    assert_eq!(error_fields(&problem), ["name", "role"]);
    let problem = assert_problem(app.post("/v1/api-keys", &json!({"name": "x"})).await, 400).await;
    assert_eq!(error_fields(&problem), ["role"]);
    let problem =
        assert_problem(app.post("/v1/api-keys", &json!({"name": "a\u{0}b", "role": "billing"})).await, 400).await;
    assert_eq!(error_fields(&problem), ["name"]);
}

async fn a_revoked_admin_key_locks_itself_out(backend: Backend) {
    let app = spawn_app(backend).await;
    let list: Value = app.get("/v1/api-keys").await.json().await.unwrap();
    let own_id = list["items"][0]["id"].as_str().unwrap().to_owned();
    let res = app.request(Method::DELETE, &format!("/v1/api-keys/{own_id}"), Some(&app.admin_key), None).await;
    assert_eq!(res.status(), 204);
    assert_problem(app.get("/v1/api-keys").await, 401).await;
}

crate::on_both_backends!(
    an_issued_key_works_until_revoked,
    only_admins_manage_keys,
    key_requests_are_validated,
    a_revoked_admin_key_locks_itself_out,
);
