//! The tests' job runner (`overturn_worker::due_now`, `TestApp::run_due_jobs`): it runs what is
//! due to the end, and keeps what is not due yet for a later call.

use std::time::Duration;

use overturn::startup::ServeRole;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, spawn_app_with};
use crate::receiver::{Receiver, Reply};
use crate::remittances::edi;

async fn due_jobs_run_to_the_end_and_a_retry_waits_for_its_time(backend: Backend) {
    let app = spawn_app_with(backend, ServeRole::Api, &[("OVERTURN_WEBHOOK_ALLOW_PRIVATE", "true")]).await;
    let receiver = Receiver::start().await;
    // The first attempt fails; the retry (5 s later by the schedule) succeeds.
    receiver.script([Reply::status(500)]);
    let contact = app
        .request(
            Method::POST,
            "/v1/contacts",
            Some(&app.admin_key),
            Some(&json!({ "kind": "payer", "reference": "60054", "name": "Acme", "webhook_url": receiver.url, "events": ["denial.created"] })),
        )
        .await;
    assert_eq!(contact.status(), 201);
    let contact: Value = contact.json().await.unwrap();
    let res = app.post_edi(&edi("DN-1", "0", "C", &["CLP*DN-1*4*500*0*0*12*ICN-DN1", "CAS*CO*50*500"], 8801)).await;
    assert_eq!(res.status(), 202);

    // Classification, the planning of follow-ups and the first attempt, all before it returns.
    assert!(app.run_due_jobs().await >= 3);
    assert_eq!(app.get_json("/v1/denials?claim_number=DN-1").await["items"].as_array().unwrap().len(), 1);
    assert_eq!(receiver.received().len(), 1, "the first attempt was made");
    // Nothing is due again until the retry's time: a second call makes no attempt.
    app.run_due_jobs().await;
    assert_eq!(receiver.received().len(), 1, "the retry waits for its time");

    tokio::time::sleep(Duration::from_secs(7)).await;
    app.run_due_jobs().await;
    assert_eq!(receiver.received().len(), 2, "the retry ran once it was due");
    let deliveries = app.get_json(&format!("/v1/contacts/{}/deliveries", contact["id"].as_str().unwrap())).await;
    let delivery = &deliveries["items"][0];
    assert_eq!(
        (delivery["status"].as_str(), delivery["attempt_count"].as_i64()),
        (Some("succeeded"), Some(2)),
        "{delivery}"
    );
}

crate::on_both_backends!(due_jobs_run_to_the_end_and_a_retry_waits_for_its_time);
