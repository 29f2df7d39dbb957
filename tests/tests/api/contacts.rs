//! Contacts and webhooks: contacts managed through the API, events signed and delivered to
//! real local receivers, verified with an independent Standard Webhooks implementation,
//! retried with the same id, logged attempt by attempt, and guarded against SSRF.

use std::time::Duration;

use overturn::startup::ServeRole;
use reqwest::Method;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, assert_problem, error_fields, spawn_app_with};
use crate::receiver::{Receiver, Reply, verified_independently};
use crate::remittances::edi;

const ALLOW_PRIVATE: (&str, &str) = ("OVERTURN_WEBHOOK_ALLOW_PRIVATE", "true");

async fn delivering_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, ServeRole::All, &[ALLOW_PRIVATE]).await
}

fn patient(url: &str, member: &str) -> Value {
    json!({ "kind": "patient", "reference": member, "name": "Patient portal", "webhook_url": url })
}

/// Creates a contact as `key` and returns the answer (with its secret), asserting 201.
async fn create_contact(app: &TestApp, key: &str, body: &Value) -> Value {
    let res = app.request(Method::POST, "/v1/contacts", Some(key), Some(body)).await;
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body
}

async fn send_test(app: &TestApp, contact_id: &str) -> Value {
    let res = app.request(Method::POST, &format!("/v1/contacts/{contact_id}/test"), Some(&app.admin_key), None).await;
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 202, "{body}");
    body
}

/// The delivery `id` once `done` says it has reached the state a test waits for.
async fn delivery_when(app: &TestApp, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    app.eventually("the delivery's state", || async {
        let body = app.get_json(&format!("/v1/deliveries/{id}")).await;
        done(&body).then_some(body)
    })
    .await
}

async fn contacts_are_managed_with_their_secret_shown_once(backend: Backend) {
    let app = spawn_app_with(backend, ServeRole::Api, &[]).await;
    let admin = app.admin_key.clone();
    let created = create_contact(
        &app,
        &admin,
        &json!({ "kind": "payer", "reference": "60054", "name": "Acme call centre", "webhook_url": "https://hooks.example.com/acme", "events": ["denial.created", "followup.due", "denial.created"] }),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    let secret = created["signing_secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_") && secret.len() > 40, "{secret}");
    assert_eq!(created["events"], json!(["followup.due", "denial.created"]), "known order, no repeats");
    assert_eq!(created["enabled"], true);

    let fetched = app.get_json(&format!("/v1/contacts/{id}")).await;
    assert!(fetched.get("signing_secret").is_none(), "{fetched}");
    assert_eq!(fetched["webhook_url"], "https://hooks.example.com/acme");
    // Sealed at rest: the database never holds the secret in the clear.
    let db = app.database().await;
    let stored = db
        .write
        .query_one_raw(sea_orm::Statement::from_string(db.write.get_database_backend(), "SELECT secret FROM contacts"))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<String>(0)
        .unwrap();
    assert!(stored.starts_with("v1.") && !stored.contains(&secret[6..]), "{stored}");

    // A replay of the creation answers the same contact without its secret.
    let body = patient("https://portal.example.com/hooks", "MBR-1");
    let post_once = || async {
        let res = app
            .client
            .post(app.url("/v1/contacts"))
            .bearer_auth(&admin)
            .header("Idempotency-Key", "contact-1")
            .json(&body)
            .send()
            .await
            .unwrap();
        res.json::<Value>().await.unwrap()
    };
    let first = post_once().await;
    let replay = post_once().await;
    assert!(first["signing_secret"].is_string());
    assert_eq!(replay["id"], first["id"]);
    assert_eq!(replay["signing_secret"], Value::Null);

    // Bad input names its fields; internal addresses are a 422 of their own.
    let bad = app
        .request(
            Method::POST,
            "/v1/contacts",
            Some(&admin),
            Some(&json!({ "kind": "patient", "reference": "", "name": " ", "webhook_url": "ftp://x", "events": ["denial.created", "nope"] })),
        )
        .await;
    let problem = assert_problem(bad, 400).await;
    let fields = error_fields(&problem);
    for field in ["reference", "name", "webhook_url", "events[0]", "events[1]"] {
        assert!(fields.contains(&field.to_owned()), "{field} in {problem}");
    }
    for internal in ["http://127.0.0.1:9000/x", "http://169.254.169.254/latest", "http://[::1]/", "http://10.1.2.3/"] {
        let res = app.request(Method::POST, "/v1/contacts", Some(&admin), Some(&patient(internal, "MBR-2"))).await;
        let problem = assert_problem(res, 422).await;
        assert!(problem["detail"].as_str().unwrap().contains("internal address"), "{problem}");
    }

    // A portal key reaches contacts only through the patient routes (tests in patients.rs).
    let portal = app.create_key("portal").await;
    let res = app
        .request(
            Method::POST,
            "/v1/contacts",
            Some(&portal),
            Some(
                &json!({ "kind": "patient", "reference": "MBR-3", "name": "x", "webhook_url": "https://x.example.com/" }),
            ),
        )
        .await;
    assert_problem(res, 403).await;
    assert_problem(app.request(Method::GET, "/v1/contacts", Some(&portal), None).await, 403).await;
    assert_problem(app.request(Method::GET, &format!("/v1/contacts/{id}"), Some(&portal), None).await, 403).await;
    let mine = create_contact(&app, &admin, &patient("https://portal.example.com/p", "MBR-3")).await;
    let all = app.get_json("/v1/contacts?kind=payer").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 1);
    let by_reference = app.get_json("/v1/contacts?reference=MBR-3").await;
    assert_eq!(by_reference["items"][0]["id"], mine["id"]);

    // PATCH changes what it names; null events restore the defaults; disable and enable.
    let mine_id = mine["id"].as_str().unwrap();
    let patched: Value = app
        .request(
            Method::PATCH,
            &format!("/v1/contacts/{mine_id}"),
            Some(&admin),
            Some(&json!({ "name": "Renamed", "events": ["patient.balance_due"], "enabled": false })),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(patched["name"], "Renamed");
    assert_eq!(patched["events"], json!(["patient.balance_due"]));
    assert_eq!(patched["enabled"], false);
    assert!(patched["disabled_reason"].as_str().unwrap().contains("disabled by"), "{patched}");
    let patched: Value = app
        .request(
            Method::PATCH,
            &format!("/v1/contacts/{mine_id}"),
            Some(&admin),
            Some(&json!({ "events": null, "enabled": true })),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(patched["events"], Value::Null);
    assert_eq!(patched["enabled"], true);
    assert_eq!(patched["disabled_reason"], Value::Null);
    let res = app
        .request(
            Method::PATCH,
            &format!("/v1/contacts/{mine_id}"),
            Some(&admin),
            Some(&json!({ "webhook_url": "http://192.168.1.1/" })),
        )
        .await;
    assert_problem(res, 422).await;
    let res = app
        .request(Method::PATCH, &format!("/v1/contacts/{mine_id}"), Some(&admin), Some(&json!({ "colour": "red" })))
        .await;
    assert_problem(res, 400).await;

    // Delete: gone from reads, and deleting again is a 404.
    let res = app.request(Method::DELETE, &format!("/v1/contacts/{mine_id}"), Some(&admin), None).await;
    assert_eq!(res.status(), 204);
    assert_problem(app.request(Method::GET, &format!("/v1/contacts/{mine_id}"), Some(&admin), None).await, 404).await;
    assert_problem(app.request(Method::DELETE, &format!("/v1/contacts/{mine_id}"), Some(&admin), None).await, 404)
        .await;
    assert_problem(app.request(Method::GET, "/v1/contacts/not-a-uuid", Some(&admin), None).await, 404).await;
}

async fn a_test_event_is_signed_and_verified_independently(backend: Backend) {
    let app = delivering_app(backend).await;
    let receiver = Receiver::start().await;
    let created = create_contact(&app, &app.admin_key, &patient(&receiver.url, "MBR-10")).await;
    let (id, secret) = (created["id"].as_str().unwrap(), created["signing_secret"].as_str().unwrap());
    let delivery = send_test(&app, id).await;
    assert_eq!(delivery["event_type"], "ping");

    let request = receiver.wait_for(1).await.remove(0);
    assert_eq!(request.header("content-type"), "application/json");
    assert_eq!(request.header("webhook-id"), delivery["webhook_id"].as_str().unwrap());
    let timestamp: i64 = request.header("webhook-timestamp").parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - timestamp).abs() < 60);
    assert!(request.header("webhook-signature").starts_with("v1,"));
    assert!(verified_independently(secret, &request), "the reference library accepts the signature");
    let mut tampered = request.clone();
    tampered.body = tampered.body.replace("test event", "test evenT");
    assert!(!verified_independently(secret, &tampered), "and refuses an altered body");
    let body = request.json();
    assert_eq!(body["type"], "ping");
    assert_eq!(body["data"]["contact_id"], id);
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));

    let done = delivery_when(&app, delivery["id"].as_str().unwrap(), |d| d["status"] == "succeeded").await;
    assert_eq!(done["attempt_count"], 1);
    assert_eq!(done["attempts"][0]["status_code"], 200);
    assert_eq!(done["attempts"][0]["response_excerpt"], "ok");
    let log = app.get_json(&format!("/v1/contacts/{id}/deliveries")).await;
    assert_eq!(log["items"][0]["id"], delivery["id"]);
    assert_eq!(app.get_json(&format!("/v1/contacts/{id}/deliveries?status=failed")).await["items"], json!([]));
}

async fn a_rotated_secret_signs_beside_the_old_one(backend: Backend) {
    let app = delivering_app(backend).await;
    let receiver = Receiver::start().await;
    let created = create_contact(&app, &app.admin_key, &patient(&receiver.url, "MBR-11")).await;
    let id = created["id"].as_str().unwrap();
    let old = created["signing_secret"].as_str().unwrap();
    let res = app.request(Method::POST, &format!("/v1/contacts/{id}/rotate-secret"), Some(&app.admin_key), None).await;
    assert_eq!(res.status(), 200);
    let rotated: Value = res.json().await.unwrap();
    let new = rotated["signing_secret"].as_str().unwrap();
    assert_ne!(new, old);
    let until = chrono::DateTime::parse_from_rfc3339(rotated["previous_secret_expires_at"].as_str().unwrap()).unwrap();
    let hours = (until.to_utc() - chrono::Utc::now()).num_minutes() as f64 / 60.0;
    assert!((23.9..=24.0).contains(&hours), "{hours}");

    send_test(&app, id).await;
    let request = receiver.wait_for(1).await.remove(0);
    assert_eq!(request.header("webhook-signature").split(' ').count(), 2, "{}", request.header("webhook-signature"));
    assert!(verified_independently(new, &request));
    assert!(verified_independently(old, &request), "the old secret still verifies during the overlap");
    assert!(!verified_independently("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &request));
}

async fn a_failed_attempt_is_retried_with_the_same_id(backend: Backend) {
    let app = delivering_app(backend).await;
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(500).body("database on fire")]);
    let created = create_contact(&app, &app.admin_key, &patient(&receiver.url, "MBR-12")).await;
    let delivery = send_test(&app, created["id"].as_str().unwrap()).await;
    let failed_once = delivery_when(&app, delivery["id"].as_str().unwrap(), |d| d["attempt_count"] == 1).await;
    assert_eq!(failed_once["status"], "pending");
    assert_eq!(failed_once["last_status_code"], 500);
    assert_eq!(failed_once["attempts"][0]["response_excerpt"], "database on fire");
    let ready = app.get_json("/ready").await;
    assert_eq!(ready["webhooks_pending"], 1, "{ready}");
    let next = chrono::DateTime::parse_from_rfc3339(failed_once["next_attempt_at"].as_str().unwrap()).unwrap();
    let first =
        chrono::DateTime::parse_from_rfc3339(failed_once["attempts"][0]["started_at"].as_str().unwrap()).unwrap();
    let wait = (next - first).num_milliseconds();
    assert!((3_900..=6_100).contains(&wait), "the first retry comes about 5 s later: {wait} ms");

    let requests = receiver.wait_for(2).await;
    assert_eq!(requests[0].header("webhook-id"), requests[1].header("webhook-id"));
    assert_eq!(requests[0].body, requests[1].body, "the same bytes each time");
    let gap = requests[1].at - requests[0].at;
    assert!(gap >= Duration::from_secs(3), "{gap:?}");
    let done = delivery_when(&app, delivery["id"].as_str().unwrap(), |d| d["status"] == "succeeded").await;
    let codes: Vec<i64> =
        done["attempts"].as_array().unwrap().iter().map(|a| a["status_code"].as_i64().unwrap()).collect();
    assert_eq!(codes, [500, 200]);
    assert_eq!(receiver.received().len(), 2, "nothing more after the success");
    assert_eq!(app.get_json("/ready").await["webhooks_pending"], 0);
    let metrics = app.get("/metrics").await.text().await.unwrap();
    for line in [
        "overturn_webhook_attempts_total{outcome=\"succeeded\"} 1",
        "overturn_webhook_attempts_total{outcome=\"failed\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
}

async fn retry_after_slows_the_schedule(backend: Backend) {
    let app = delivering_app(backend).await;
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(503).header("retry-after", "120")]);
    let created = create_contact(&app, &app.admin_key, &patient(&receiver.url, "MBR-13")).await;
    let delivery = send_test(&app, created["id"].as_str().unwrap()).await;
    let failed = delivery_when(&app, delivery["id"].as_str().unwrap(), |d| d["attempt_count"] == 1).await;
    let next = chrono::DateTime::parse_from_rfc3339(failed["next_attempt_at"].as_str().unwrap()).unwrap();
    let wait = (next.to_utc() - chrono::Utc::now()).num_seconds();
    assert!((100..=121).contains(&wait), "waits as asked, not 5 s: {wait}");
}

async fn gone_disables_the_contact_and_a_manual_retry_resends(backend: Backend) {
    let app = delivering_app(backend).await;
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(410)]);
    let created = create_contact(&app, &app.admin_key, &patient(&receiver.url, "MBR-14")).await;
    let id = created["id"].as_str().unwrap();
    let delivery = send_test(&app, id).await;
    let delivery_id = delivery["id"].as_str().unwrap();
    let failed = delivery_when(&app, delivery_id, |d| d["status"] == "failed").await;
    assert_eq!(failed["attempt_count"], 1, "no retries after 410");
    let contact = app.get_json(&format!("/v1/contacts/{id}")).await;
    assert_eq!(contact["enabled"], false);
    assert!(contact["disabled_reason"].as_str().unwrap().contains("410"), "{contact}");
    assert_problem(
        app.request(Method::POST, &format!("/v1/contacts/{id}/test"), Some(&app.admin_key), None).await,
        409,
    )
    .await;
    let retry = format!("/v1/deliveries/{delivery_id}/retry");
    assert_problem(app.request(Method::POST, &retry, Some(&app.admin_key), None).await, 409).await;

    // Enabled again, the delivery is sent again with its id.
    let res = app
        .request(Method::PATCH, &format!("/v1/contacts/{id}"), Some(&app.admin_key), Some(&json!({ "enabled": true })))
        .await;
    assert_eq!(res.status(), 200);
    let res = app.request(Method::POST, &retry, Some(&app.admin_key), None).await;
    assert_eq!(res.status(), 202);
    let again = receiver.wait_for(2).await;
    assert_eq!(again[0].header("webhook-id"), again[1].header("webhook-id"));
    let done = delivery_when(&app, delivery_id, |d| d["status"] == "succeeded").await;
    assert_eq!(done["attempts"].as_array().unwrap().len(), 2);
    assert_problem(
        app.request(
            Method::POST,
            "/v1/deliveries/00000000-0000-0000-0000-000000000000/retry",
            Some(&app.admin_key),
            None,
        )
        .await,
        404,
    )
    .await;
}

async fn five_days_of_failures_disable_a_contact(backend: Backend) {
    let app = delivering_app(backend).await;
    let receiver = Receiver::start().await;
    receiver.answer_by_default(Reply::status(500));
    let created = create_contact(&app, &app.admin_key, &patient(&receiver.url, "MBR-15")).await;
    let id = created["id"].as_str().unwrap();
    let db = app.database().await;
    let backend_kind = db.write.get_database_backend();
    let since = (chrono::Utc::now() - chrono::Duration::days(6)).to_rfc3339();
    db.write
        .execute_raw(sea_orm::Statement::from_sql_and_values(
            backend_kind,
            if backend_kind == sea_orm::DbBackend::Postgres {
                "UPDATE contacts SET failing_since = $1::timestamptz"
            } else {
                "UPDATE contacts SET failing_since = ?"
            },
            [since.into()],
        ))
        .await
        .unwrap();
    let delivery = send_test(&app, id).await;
    delivery_when(&app, delivery["id"].as_str().unwrap(), |d| d["status"] == "cancelled").await;
    let contact = app.get_json(&format!("/v1/contacts/{id}")).await;
    assert_eq!(contact["enabled"], false);
    assert!(contact["disabled_reason"].as_str().unwrap().contains("5 days"), "{contact}");

    // A contact that only started failing now is not disabled.
    let other = create_contact(&app, &app.admin_key, &patient(&receiver.url, "MBR-16")).await;
    let other_id = other["id"].as_str().unwrap();
    let delivery = send_test(&app, other_id).await;
    delivery_when(&app, delivery["id"].as_str().unwrap(), |d| d["attempt_count"] == 1).await;
    let contact = app.get_json(&format!("/v1/contacts/{other_id}")).await;
    assert_eq!(contact["enabled"], true);
    assert!(contact["failing_since"].is_string());
}

async fn the_ssrf_guard_refuses_internal_addresses_at_delivery(backend: Backend) {
    // The guard on: a literal internal address is refused at creation (422, tested above);
    // a name resolving to one passes creation and is refused when connecting.
    let app = spawn_app_with(backend, ServeRole::All, &[]).await;
    let receiver = Receiver::start().await;
    let url = format!("http://localhost:{}/hooks", receiver.port);
    let created = create_contact(&app, &app.admin_key, &patient(&url, "MBR-17")).await;
    let delivery = send_test(&app, created["id"].as_str().unwrap()).await;
    let failed = delivery_when(&app, delivery["id"].as_str().unwrap(), |d| d["attempt_count"] == 1).await;
    let error = failed["attempts"][0]["error"].as_str().unwrap();
    assert!(error.contains("internal address"), "{error}");
    // What the name resolves to is not told: the error is shown to the contact's manager.
    assert!(!error.contains("127.0.0.1") && !error.contains("::1"), "{error}");
    let last = failed["last_error"].as_str().unwrap();
    assert!(last.contains("internal address") && !last.contains("127.0.0.1") && !last.contains("::1"), "{failed}");
    assert_eq!(failed["attempts"][0]["status_code"], Value::Null);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(receiver.received().is_empty(), "nothing reached the internal address");
}

async fn a_configured_proxy_carries_deliveries_and_targets_are_still_checked(backend: Backend) {
    // The receiver stands in for the forward proxy: it answers what reaches it.
    let proxy = Receiver::start().await;
    let target = Receiver::start().await;
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port);

    // Guard on: a name resolving to an internal address is refused before the proxy hears of it.
    let app = spawn_app_with(backend, ServeRole::All, &[("OVERTURN_WEBHOOK_PROXY", proxy_url.as_str())]).await;
    let url = format!("http://localhost:{}/hooks", target.port);
    let created = create_contact(&app, &app.admin_key, &patient(&url, "MBR-20")).await;
    let delivery = send_test(&app, created["id"].as_str().unwrap()).await;
    let failed = delivery_when(&app, delivery["id"].as_str().unwrap(), |d| d["attempt_count"] == 1).await;
    let error = failed["attempts"][0]["error"].as_str().unwrap();
    assert!(error.contains("localhost resolves to an internal address"), "{error}");

    // Guard off (development): the delivery goes through the proxy, addressed to the target.
    let open = spawn_app_with(backend, ServeRole::All, &[ALLOW_PRIVATE, ("OVERTURN_WEBHOOK_PROXY", &proxy_url)]).await;
    let created = create_contact(&open, &open.admin_key, &patient(&target.url, "MBR-21")).await;
    let delivery = send_test(&open, created["id"].as_str().unwrap()).await;
    delivery_when(&open, delivery["id"].as_str().unwrap(), |d| d["status"] == "succeeded").await;
    let through = proxy.received();
    assert_eq!(through.len(), 1, "only the second delivery reached the proxy");
    assert_eq!(through[0].target, format!("{}", target.url), "absolute-form: the proxy is told the target");
    assert!(target.received().is_empty(), "nothing went around the proxy");
}

/// A contact with a backlog deeper than the webhook queue (two attempts at once, so the queue
/// holds eight) must not hold up another contact: the other's ping is handed over beside the
/// backlog, not behind all of it: it waits only for the busy contact's attempts already queued
/// (eight), taken by the worker (eight more) or in flight (two). Measured by order, not time:
/// the busy receiver answers each request after 150 ms, and fewer than 30 of its 60 may arrive
/// between the ping's request and its arrival (without the share, all of them did).
async fn one_busy_receiver_does_not_hold_up_the_others(backend: Backend) {
    let app = spawn_app_with(
        backend,
        ServeRole::All,
        &[ALLOW_PRIVATE, ("OVERTURN_WEBHOOK_PER_CONTACT", "2"), ("OVERTURN_WEBHOOK_CONCURRENCY", "2")],
    )
    .await;
    let busy = Receiver::start().await;
    busy.answer_by_default(Reply::status(200).after(Duration::from_millis(150)));
    let other = Receiver::start().await;
    let busy_contact = create_contact(&app, &app.admin_key, &patient(&busy.url, "MBR-18")).await;
    let other_contact = create_contact(&app, &app.admin_key, &patient(&other.url, "MBR-19")).await;
    const BACKLOG: usize = 60;
    let mut backlog = Vec::new();
    for _ in 0..BACKLOG {
        backlog.push(send_test(&app, busy_contact["id"].as_str().unwrap()).await);
    }
    busy.wait_for(1).await;
    let before = busy.received().len();
    send_test(&app, other_contact["id"].as_str().unwrap()).await;
    other.wait_for(1).await;
    let ahead = busy.received().len() - before;
    assert!(ahead < 30, "the other contact's ping waited for {ahead} of the busy contact's {} left", BACKLOG - before);
    // The backlog is still delivered whole, two at a time.
    for d in &backlog {
        delivery_when(&app, d["id"].as_str().unwrap(), |d| d["status"] == "succeeded").await;
    }
    assert_eq!(busy.received().len(), BACKLOG);
    assert!(busy.most_in_flight() <= 2, "at most 2 at once to one contact: {}", busy.most_in_flight());
}

/// Claims for one patient (member MBR-7): a balance left to the patient, an eligibility
/// denial, and a paid claim with nothing to say.
const PATIENT_CLAIMS: [&str; 3] = [
    "CLP*E-1*2*100*0*60*12*ICN1~NM1*QC*1*DOE*JANE****MI*MBR-7~CAS*PR*1*50*1*2*10~CAS*CO*45*40",
    "CLP*E-2*4*200*0*0*12*ICN2~NM1*QC*1*DOE*JANE****MI*MBR-7~CAS*CO*27*200",
    "CLP*E-3*1*100*100*0*12*ICN3~NM1*QC*1*DOE*JANE****MI*MBR-7",
];

async fn a_remittance_tells_the_patient_and_the_payer(backend: Backend) {
    let app = delivering_app(backend).await;
    let patient_receiver = Receiver::start().await;
    let payer_receiver = Receiver::start().await;
    let quiet_receiver = Receiver::start().await;
    let patient_contact = create_contact(&app, &app.admin_key, &patient(&patient_receiver.url, "MBR-7")).await;
    create_contact(
        &app,
        &app.admin_key,
        &json!({ "kind": "payer", "reference": "60054", "name": "Acme", "webhook_url": payer_receiver.url, "events": ["denial.created"] }),
    )
    .await;
    // A payer contact without a filter gets follow-ups, not denials; another patient nothing.
    create_contact(
        &app,
        &app.admin_key,
        &json!({ "kind": "payer", "reference": "60054", "name": "Acme calls", "webhook_url": quiet_receiver.url }),
    )
    .await;
    create_contact(&app, &app.admin_key, &patient(&quiet_receiver.url, "MBR-8")).await;

    let segments: Vec<&str> = PATIENT_CLAIMS.iter().flat_map(|c| c.split('~')).collect();
    let res = app.post_edi(&edi("EVT-1", "100", "C", &segments, 8001)).await;
    let accepted: Value = res.json().await.unwrap();
    let remittance_id = accepted["id"].as_str().unwrap_or_else(|| panic!("{accepted}")).to_owned();

    let to_patient = patient_receiver.wait_for(2).await;
    let mut types: Vec<String> = to_patient.iter().map(|r| r.json()["type"].as_str().unwrap().to_owned()).collect();
    types.sort();
    assert_eq!(types, ["patient.action_required", "patient.balance_due"]);
    let balance = to_patient.iter().map(|r| r.json()).find(|b| b["type"] == "patient.balance_due").unwrap();
    assert_eq!(
        balance["data"],
        json!({
            "claim_number": "E-1",
            "amount": "60.00",
            "breakdown": [
                { "group_code": "PR", "reason_code": "1", "amount": "50.00" },
                { "group_code": "PR", "reason_code": "2", "amount": "10.00" },
            ],
            "payer_id": "60054",
            "remittance_id": remittance_id,
        })
    );
    let action = to_patient.iter().map(|r| r.json()).find(|b| b["type"] == "patient.action_required").unwrap();
    assert_eq!(action["data"]["claim_number"], "E-2");
    assert_eq!(action["data"]["category"], "eligibility");
    for request in &to_patient {
        assert!(
            !request.body.contains("DOE") && !request.body.contains("JANE") && !request.body.contains("MBR-7"),
            "no PHI: {}",
            request.body
        );
        assert!(verified_independently(patient_contact["signing_secret"].as_str().unwrap(), request));
    }
    let denial = payer_receiver.wait_for(1).await.remove(0).json();
    assert_eq!(denial["type"], "denial.created");
    assert_eq!(denial["data"]["claim_number"], "E-2");
    assert_eq!(denial["data"]["reason_code"], "27");
    assert_eq!(denial["data"]["amount"], "200.00");
    let listed = app.get_json(&format!("/v1/denials?remittance_id={remittance_id}")).await;
    assert_eq!(denial["data"]["denial_id"], listed["items"][0]["id"]);
    // The eligibility denial's appeal deadline (2025-03-01 + 180 days) is long past: its
    // escalation fires at once, to the payer contact that takes follow-ups.
    let escalation = quiet_receiver.wait_for(1).await.remove(0).json();
    assert_eq!(escalation["type"], "followup.due");
    assert_eq!(escalation["data"]["kind"], "appeal_deadline");
    assert_eq!(escalation["data"]["escalation"], true);
    assert_eq!(escalation["data"]["appeal_deadline"], "2025-08-28");
    assert_eq!(escalation["data"]["denial_id"], denial["data"]["denial_id"]);
    assert_eq!(escalation["data"]["payer_id"], "60054");

    // Classifying the remittance again sends nothing twice.
    let db = app.database().await;
    let kind = db.write.get_database_backend();
    db.write
        .execute_raw(sea_orm::Statement::from_string(kind, "UPDATE remittances SET classified_at = NULL"))
        .await
        .unwrap();
    crate::denials::queue_classification(&db, &remittance_id).await;
    app.eventually("classified again", || async {
        let row = db
            .write
            .query_one_raw(sea_orm::Statement::from_string(
                kind,
                "SELECT count(*) FROM remittances WHERE classified_at IS NOT NULL",
            ))
            .await
            .unwrap()
            .unwrap();
        (row.try_get_by_index::<i64>(0).unwrap() == 1).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(patient_receiver.received().len(), 2);
    assert_eq!(payer_receiver.received().len(), 1);
    assert_eq!(quiet_receiver.received().len(), 1, "{:?}", quiet_receiver.received());
}

crate::on_both_backends!(
    contacts_are_managed_with_their_secret_shown_once,
    a_test_event_is_signed_and_verified_independently,
    a_rotated_secret_signs_beside_the_old_one,
    a_failed_attempt_is_retried_with_the_same_id,
    retry_after_slows_the_schedule,
    gone_disables_the_contact_and_a_manual_retry_resends,
    five_days_of_failures_disable_a_contact,
    the_ssrf_guard_refuses_internal_addresses_at_delivery,
    a_configured_proxy_carries_deliveries_and_targets_are_still_checked,
    one_busy_receiver_does_not_hold_up_the_others,
    a_remittance_tells_the_patient_and_the_payer,
);
