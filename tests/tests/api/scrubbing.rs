//! Scrubbing before submission: `POST /v1/claims/scrub` answers the edits a claim would get,
//! each naming its code, severity, field, message and source, and stores nothing.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, assert_problem, claim_body, spawn_app};

async fn scrub(app: &TestApp, body: &Value) -> Vec<Value> {
    let res = app.post("/v1/claims/scrub", body).await;
    let status = res.status();
    let answer: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{answer}");
    answer["edits"].as_array().unwrap().clone()
}

fn summary(edits: &[Value]) -> Vec<(String, String, String)> {
    edits
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap().to_owned();
            (s("code"), s("severity"), s("field"))
        })
        .collect()
}

async fn a_claim_is_scrubbed_without_being_stored(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(scrub(&app, &claim_body("SCRUB-1")).await, Vec::<Value>::new(), "the sample claim is clean");

    // A header, a code that is no code, and FY2026's new genetic code a day too early.
    let mut body = claim_body("SCRUB-2");
    body["service_date"] = json!("2025-09-30");
    body["diagnosis_codes"] = json!(["E11", "E11.99", "QA0.0101"]);
    for line in body["lines"].as_array_mut().unwrap() {
        line["service_date"] = json!("2025-09-30");
    }
    let edits = scrub(&app, &body).await;
    let expected = [
        ("ICD10_NOT_BILLABLE", "error", "diagnosis_codes[0]"),
        ("ICD10_UNKNOWN", "error", "diagnosis_codes[1]"),
        ("ICD10_NOT_YET_VALID", "error", "diagnosis_codes[2]"),
    ]
    .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()));
    assert_eq!(summary(&edits), expected, "{edits:?}");
    assert_eq!(edits[0]["source"]["set"], "icd10cm");
    assert_eq!(edits[0]["source"]["version"], "FY2025 (April 2025 release, shipped)");
    assert!(edits[0]["message"].as_str().unwrap().contains("such as E11.00"), "{edits:?}");

    // A date of service in a fiscal year not loaded: checked against the nearest, and said so.
    let mut body = claim_body("SCRUB-3");
    body["service_date"] = json!("2026-11-02");
    for line in body["lines"].as_array_mut().unwrap() {
        line["service_date"] = json!("2026-11-02");
    }
    let edits = scrub(&app, &body).await;
    assert_eq!(
        summary(&edits),
        [("ICD10_YEAR_NOT_LOADED".to_owned(), "warning".to_owned(), "diagnosis_codes".to_owned())]
    );
    assert!(edits[0]["message"].as_str().unwrap().contains("FY2027"), "{edits:?}");

    // The claim's own consistency: a repeated modifier, a place of service never assigned.
    let mut body = claim_body("SCRUB-4");
    body["lines"][0]["modifiers"] = json!(["25", "25"]);
    body["place_of_service"] = json!("35");
    let found = summary(&scrub(&app, &body).await);
    for expected in [("MODIFIER_REPEATED", "lines[0].modifiers[1]"), ("POS_INVALID", "place_of_service")] {
        assert!(found.iter().any(|f| (f.0.as_str(), f.2.as_str()) == expected), "{expected:?} in {found:?}");
    }

    // A malformed claim is the usual 400; a portal key may not scrub; nothing was stored.
    let mut bad = claim_body("SCRUB-5");
    bad["diagnosis_codes"] = json!(["not a code"]);
    assert_problem(app.post("/v1/claims/scrub", &bad).await, 400).await;
    let portal = app.create_key("portal").await;
    let res = app.request(Method::POST, "/v1/claims/scrub", Some(&portal), Some(&claim_body("SCRUB-6"))).await;
    assert_problem(res, 403).await;
    assert_eq!(app.get_json("/v1/claims").await["items"], json!([]));
}

crate::on_both_backends!(a_claim_is_scrubbed_without_being_stored);
