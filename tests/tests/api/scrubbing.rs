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
    // The route takes only POST (not a claim called "scrub").
    let res = app.get("/v1/claims/scrub").await;
    assert_eq!(res.headers().get("allow").and_then(|v| v.to_str().ok()), Some("POST"));
    assert_problem(res, 405).await;
}

/// `POST /v1/claims` scrubs: an error edit refuses the claim (422 with every edit, nothing
/// stored) unless `?scrub=warn`, which stores it with its edits; warnings alone never refuse
/// and are kept on the claim.
async fn a_claim_with_errors_is_refused_unless_the_caller_says_warn(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut body = claim_body("SCRUB-ERR");
    body["diagnosis_codes"] = json!(["E11", "I10"]);
    let res = app.post_claim(&body).await;
    let problem = assert_problem(res, 422).await;
    assert_eq!(problem["type"], "https://overturn.dev/problems/scrub-errors", "{problem}");
    assert_eq!(problem["edits"][0]["code"], "ICD10_NOT_BILLABLE", "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("E11 is a header"), "{problem}");
    assert_eq!(app.get_json("/v1/claims?claim_number=SCRUB-ERR").await["items"], json!([]), "nothing stored");

    // Let through on request: stored, and its edits with it.
    let res = app.request(Method::POST, "/v1/claims?scrub=warn", Some(&app.admin_key), Some(&body)).await;
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["edits"][0]["code"], "ICD10_NOT_BILLABLE", "{created}");
    assert_eq!(created["edits"][0]["severity"], "error", "{created}");
    let id = created["id"].as_str().unwrap();
    assert_eq!(app.get_json(&format!("/v1/claims/{id}")).await["edits"], created["edits"]);

    // Warnings alone: created, the warning kept; a clean claim has none.
    let mut later = claim_body("SCRUB-WARN");
    later["service_date"] = json!("2026-11-02");
    for line in later["lines"].as_array_mut().unwrap() {
        line["service_date"] = json!("2026-11-02");
    }
    let res = app.post_claim(&later).await;
    assert_eq!(res.status(), 201);
    let stored: Value = res.json().await.unwrap();
    assert_eq!(stored["edits"][0]["code"], "ICD10_YEAR_NOT_LOADED", "{stored}");
    let clean: Value = app.post_claim(&claim_body("SCRUB-CLEAN")).await.json().await.unwrap();
    assert_eq!(clean["edits"], json!([]), "{clean}");

    // A key used before for another request: the key's error, not the scrubber's.
    let send = |key: &'static str, body: Value| {
        let app = &app;
        async move {
            app.client
                .post(app.url("/v1/claims"))
                .bearer_auth(&app.admin_key)
                .header("Idempotency-Key", key)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(send("scrub-key-1", claim_body("SCRUB-KEY")).await.status(), 201);
    let problem = assert_problem(send("scrub-key-1", body.clone()).await, 422).await;
    assert_eq!(problem["type"], "https://overturn.dev/problems/idempotency-key-reused", "{problem}");

    // An unknown mode is named.
    let res =
        app.request(Method::POST, "/v1/claims?scrub=maybe", Some(&app.admin_key), Some(&claim_body("SCRUB-Q"))).await;
    let problem = assert_problem(res, 400).await;
    assert_eq!(problem["errors"][0]["field"], "scrub", "{problem}");
}

crate::on_both_backends!(
    a_claim_is_scrubbed_without_being_stored,
    a_claim_with_errors_is_refused_unless_the_caller_says_warn
);
