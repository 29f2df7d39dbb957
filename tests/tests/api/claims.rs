use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, assert_problem, claim_body, error_fields, spawn_app};

async fn create_then_get_returns_the_parsed_claim(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = app.post_claim(&claim_body("CLM-1001")).await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();

    assert_eq!(created["claim_number"], "CLM-1001");
    assert_eq!(created["status"], "submitted");
    assert_eq!(created["total_charge"], "200.50");
    assert_eq!(created["paid_amount"], "0.00");
    assert_eq!(created["patient_responsibility"], "0.00");
    assert_eq!(created["diagnosis_codes"], json!(["E11.9", "I10"]));
    assert_eq!(created["frequency_code"], "1");
    assert_eq!(created["lines"][0]["line_number"], 1);
    assert_eq!(created["lines"][0]["charge"], "180.00");
    assert_eq!(created["lines"][0]["modifiers"], json!(["25"]));
    assert_eq!(created["lines"][1]["units"], "1");
    assert_eq!(created["lines"][1]["charge"], "20.50");
    // A line without its own date takes the claim's; one with a date keeps it.
    assert_eq!(created["lines"][0]["service_date"], "2024-12-02");
    assert_eq!(created["lines"][1]["service_date"], "2024-12-03");
    assert_eq!(created["patient"]["date_of_birth"], "1980-04-12");

    let id = created["id"].as_str().unwrap();
    let mut fetched: Value = app.get(&format!("/v1/claims/{id}")).await.json().await.unwrap();
    // The same follow-ups; their status may have moved since (the timely-filing watch of a
    // 2024 service date is due, and fires at once).
    let ids = |v: &Value| -> Vec<String> {
        v["follow_ups"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(ids(&fetched), ids(&created));
    let kinds: Vec<&str> =
        created["follow_ups"].as_array().unwrap().iter().map(|f| f["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["timely_filing", "status_check"], "soonest due first");
    let mut created = created;
    created["follow_ups"] = Value::Null;
    fetched["follow_ups"] = Value::Null;
    assert_eq!(fetched, created);
}

async fn exact_money_survives_the_round_trip(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut body = claim_body("CLM-MONEY");
    // 0.1 + 0.2 is the classic float trap.
    body["lines"] = json!([
        {"procedure_code": "99213", "charge": "0.10"},
        {"procedure_code": "99214", "charge": "0.2"},
        {"procedure_code": "J1885", "charge": "12345678.90", "units": "1.5"}
    ]);
    let created: Value = app.post_claim(&body).await.json().await.unwrap();
    assert_eq!(created["total_charge"], "12345679.20");
    assert_eq!(created["lines"][2]["units"], "1.5");
}

async fn duplicate_claim_number_is_409_and_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(app.post_claim(&claim_body("CLM-DUP")).await.status(), 201);
    let mut again = claim_body("CLM-DUP");
    again["payer"]["id"] = json!("OTHER");
    let problem = assert_problem(app.post_claim(&again).await, 409).await;
    assert!(problem["detail"].as_str().unwrap().contains("CLM-DUP"));
    let list: Value = app.get("/v1/claims?claim_number=CLM-DUP").await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["payer"]["id"], "60054");
}

async fn every_invalid_field_is_named_and_nothing_is_stored(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut body = claim_body("CLM*BAD");
    body["provider"]["npi"] = json!("1234567890");
    body["diagnosis_codes"] = json!(["E11.9", "11.9"]);
    body["service_date"] = json!("2024-13-02");
    body["patient"]["date_of_birth"] = json!("2999-01-01");
    body["frequency_code"] = json!("5");
    body["lines"][0]["procedure_code"] = json!("9921");
    body["lines"][0]["modifiers"] = json!(["255"]);
    body["lines"][1]["charge"] = json!("20.505");
    body["lines"][1]["units"] = json!(0);
    let problem = assert_problem(app.post_claim(&body).await, 400).await;
    let mut fields = error_fields(&problem);
    fields.sort();
    assert_eq!(
        fields,
        [
            "claim_number",
            "diagnosis_codes[1]",
            "frequency_code",
            "lines[0].modifiers[0]",
            "lines[0].procedure_code",
            "lines[1].charge",
            "lines[1].units",
            "patient.date_of_birth",
            "provider.npi",
            "service_date",
        ]
    );
    let npi_message = problem["errors"].as_array().unwrap().iter().find(|e| e["field"] == "provider.npi").unwrap();
    assert!(npi_message["message"].as_str().unwrap().contains("check digit"));
    let list: Value = app.get("/v1/claims").await.json().await.unwrap();
    assert_eq!(list["items"], json!([]));
}

async fn cross_field_rules_are_checked(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut body = claim_body("CLM-X");
    body["frequency_code"] = json!("7");
    body["service_date"] = json!("1970-01-01");
    let problem = assert_problem(app.post_claim(&body).await, 400).await;
    let fields = error_fields(&problem);
    assert!(fields.contains(&"service_date".to_owned()), "{fields:?}");
    assert!(fields.contains(&"payer_claim_control_number".to_owned()), "{fields:?}");

    let mut replacement = claim_body("CLM-X");
    replacement["frequency_code"] = json!("7");
    replacement["payer_claim_control_number"] = json!("PCN-77");
    let res = app.post_claim(&replacement).await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["payer_claim_control_number"], "PCN-77");
}

async fn structural_errors_name_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut missing = claim_body("CLM-M");
    missing["patient"].as_object_mut().unwrap().remove("member_id");
    let problem = assert_problem(app.post_claim(&missing).await, 400).await;
    assert_eq!(error_fields(&problem), ["patient.member_id"]);

    let mut unknown = claim_body("CLM-U");
    unknown["lines"][0]["chrage"] = json!("1.00");
    let problem = assert_problem(app.post_claim(&unknown).await, 400).await;
    assert_eq!(error_fields(&problem), ["lines[0].chrage"]);

    let mut float_money = claim_body("CLM-F");
    float_money["lines"][0]["charge"] = json!(180.0);
    let problem = assert_problem(app.post_claim(&float_money).await, 400).await;
    assert_eq!(error_fields(&problem), ["lines[0].charge"]);

    let mut empty_lines = claim_body("CLM-E");
    empty_lines["lines"] = json!([]);
    empty_lines["diagnosis_codes"] = json!([]);
    let problem = assert_problem(app.post_claim(&empty_lines).await, 400).await;
    assert_eq!(error_fields(&problem), ["diagnosis_codes", "lines"]);
}

async fn malformed_requests_get_problem_documents(backend: Backend) {
    let app = spawn_app(backend).await;
    let send = |body: &'static str, content_type: &'static str| {
        app.client
            .post(app.url("/v1/claims"))
            .bearer_auth(&app.admin_key)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    assert_problem(send("{\"claim_number\": ", "application/json").await.unwrap(), 400).await;
    assert_problem(send("[1, 2]", "application/json").await.unwrap(), 400).await;
    assert_problem(send("", "application/json").await.unwrap(), 400).await;
    assert_problem(send("{} trailing", "application/json").await.unwrap(), 400).await;
    assert_problem(send("claim_number=1", "application/x-www-form-urlencoded").await.unwrap(), 415).await;

    let huge = "x".repeat(2 * 1024 * 1024);
    let res = app
        .client
        .post(app.url("/v1/claims"))
        .bearer_auth(&app.admin_key)
        .header("content-type", "application/json")
        .body(format!("{{\"claim_number\": \"{huge}\"}}"))
        .send()
        .await
        .unwrap();
    assert_problem(res, 413).await;

    assert_problem(app.get("/v1/claims/not-a-uuid").await, 404).await;
    assert_problem(app.get(&format!("/v1/claims/{}", uuid::Uuid::now_v7())).await, 404).await;
    assert_problem(app.get("/v1/nothing-here").await, 404).await;
}

async fn list_filters_and_pages_without_gaps(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut created = Vec::new();
    for i in 0..7 {
        let mut body = claim_body(&format!("CLM-P{i}"));
        if i % 2 == 0 {
            body["payer"]["id"] = json!("NS100");
            body["patient"]["member_id"] = json!("NSM-EVEN");
        }
        let claim: Value = app.post_claim(&body).await.json().await.unwrap();
        created.push(claim["id"].as_str().unwrap().to_owned());
    }

    let mut seen = Vec::new();
    let mut path = "/v1/claims?limit=3".to_owned();
    let mut pages = 0;
    loop {
        let page: Value = app.get(&path).await.json().await.unwrap();
        pages += 1;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|c| c["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/claims?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let newest_first: Vec<String> = created.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first);

    let by_payer: Value = app.get("/v1/claims?payer_id=NS100").await.json().await.unwrap();
    assert_eq!(by_payer["items"].as_array().unwrap().len(), 4);
    let by_member: Value = app.get("/v1/claims?member_id=NSM-EVEN&payer_id=NS100&limit=2").await.json().await.unwrap();
    assert_eq!(by_member["items"].as_array().unwrap().len(), 2);
    assert!(by_member["next_cursor"].is_string());
    let by_status: Value = app.get("/v1/claims?status=submitted").await.json().await.unwrap();
    assert_eq!(by_status["items"].as_array().unwrap().len(), 7);
    let denied: Value = app.get("/v1/claims?status=denied").await.json().await.unwrap();
    assert_eq!(denied["items"], json!([]));
    let blank: Value = app.get("/v1/claims?claim_number=&payer_id=&status=").await.json().await.unwrap();
    assert_eq!(blank["items"].as_array().unwrap().len(), 7, "empty filters filter nothing");
    let one: Value = app.get("/v1/claims?claim_number=CLM-P3").await.json().await.unwrap();
    assert_eq!(one["items"][0]["id"], created[3].as_str());

    for bad in
        ["status=lost", "limit=0", "limit=501", "limit=ten", "cursor=garbage", "claim_number=a%00b", "member_id=%0A"]
    {
        let problem = assert_problem(app.get(&format!("/v1/claims?{bad}")).await, 400).await;
        let field = bad.split('=').next().unwrap();
        assert_eq!(error_fields(&problem), [field], "{bad}");
    }
}

async fn roles_are_enforced_on_claims(backend: Backend) {
    let app = spawn_app(backend).await;
    let portal = app.create_key("portal").await;
    let billing = app.create_key("billing").await;

    let body = claim_body("CLM-ROLE");
    let res = app.request(Method::POST, "/v1/claims", Some(&portal), Some(&body)).await;
    let problem = assert_problem(res, 403).await;
    assert!(problem["detail"].as_str().unwrap().contains("portal"));
    let res = app.request(Method::POST, "/v1/claims", Some(&billing), Some(&body)).await;
    assert_eq!(res.status(), 201);
    // A portal key reads claims one patient at a time, through /v1/patients (patients.rs).
    let problem = assert_problem(app.request(Method::GET, "/v1/claims", Some(&portal), None).await, 403).await;
    assert!(problem["detail"].as_str().unwrap().contains("/v1/patients/"), "{problem}");

    let res = app.request(Method::GET, "/v1/claims", None, None).await;
    assert_eq!(res.headers().get("www-authenticate").unwrap(), "Bearer");
    assert_problem(res, 401).await;
    let res = app.request(Method::GET, "/v1/claims", Some("ovt_not-a-real-key"), None).await;
    assert_problem(res, 401).await;
    let res = app
        .client
        .get(app.url("/v1/claims"))
        .header("authorization", format!("Basic {}", app.admin_key))
        .send()
        .await
        .unwrap();
    assert_problem(res, 401).await;
    // A compressed body is refused before it is read, let alone inflated, even unauthenticated.
    for key in [Some(app.admin_key.clone()), None] {
        let mut req = app
            .client
            .post(app.url("/v1/claims"))
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(vec![0x1f, 0x8b, 0x08, 0x00]);
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        let problem = assert_problem(req.send().await.unwrap(), 415).await;
        assert!(problem["detail"].as_str().unwrap().contains("Content-Encoding"), "{problem}");
    }
    // The scheme is case-insensitive, and more than one space may follow it.
    for scheme in ["BEARER ", "bearer  "] {
        let res = app
            .client
            .get(app.url("/v1/claims"))
            .header("authorization", format!("{scheme}{}", app.admin_key))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{scheme:?}");
    }
}

async fn a_burst_of_claims_keeps_each_outcome_apart(backend: Backend) {
    let app = spawn_app(backend).await;
    // Concurrent requests are stored in shared batches; each must still get its own answer.
    let mut bodies: Vec<Value> = (0..40).map(|i| claim_body(&format!("CLM-BURST-{i}"))).collect();
    for _ in 0..6 {
        bodies.push(claim_body("CLM-BURST-SAME"));
    }
    let mut invalid = claim_body("CLM-BURST-BAD");
    invalid["provider"]["npi"] = json!("1234567890");
    bodies.push(invalid);
    let responses = futures::future::join_all(bodies.iter().map(|b| app.post_claim(b))).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert!(statuses[..40].iter().all(|&s| s == 201), "{statuses:?}");
    let same: Vec<u16> = statuses[40..46].to_vec();
    assert_eq!(same.iter().filter(|&&s| s == 201).count(), 1, "one of the duplicates wins: {same:?}");
    assert_eq!(same.iter().filter(|&&s| s == 409).count(), 5, "{same:?}");
    assert_eq!(statuses[46], 400);

    let list: Value = app.get("/v1/claims?limit=500").await.json().await.unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 41);
    assert!(items.iter().all(|c| c["lines"].as_array().unwrap().len() == 2), "every stored claim has its lines");
}

crate::on_both_backends!(
    a_burst_of_claims_keeps_each_outcome_apart,
    create_then_get_returns_the_parsed_claim,
    exact_money_survives_the_round_trip,
    duplicate_claim_number_is_409_and_changes_nothing,
    every_invalid_field_is_named_and_nothing_is_stored,
    cross_field_rules_are_checked,
    structural_errors_name_the_field,
    malformed_requests_get_problem_documents,
    list_filters_and_pages_without_gaps,
    roles_are_enforced_on_claims,
);
