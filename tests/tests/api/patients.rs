//! Patients and portals: a portal key reaches one patient at a time through the patient
//! routes and sees the patient-facing form; it changes only the contacts it made; patient
//! sessions read one patient and nothing else; patient events go to the claim's patient.

use overturn::startup::ServeRole;
use reqwest::Method;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, assert_problem, claim_body, spawn_app, spawn_app_with};
use crate::receiver::Receiver;
use crate::remittances::edi;

/// Claims submitted for BRM2008 (two) and OTHER9 (one); the payer's 835 prints another id
/// (SCM2008) for the first, as payers do when their records differ.
const PAYMENTS: [&str; 4] = [
    // Paid with a coinsurance share of 30.00 left to the patient.
    "CLP*P-A1*2*100*60*30*12*ICNA1~NM1*QC*1*DOE*JANE****MI*SCM2008~CAS*PR*2*30~CAS*CO*45*10",
    // Denied: eligibility (CO-27).
    "CLP*P-A2*4*200*0*0*12*ICNA2~NM1*QC*1*DOE*JANE****MI*BRM2008~CAS*CO*27*200",
    // Another patient's denial.
    "CLP*P-B1*4*100*0*0*12*ICNB1~NM1*QC*1*ROE*RICK****MI*OTHER9~CAS*CO*16*100",
    // No claim matches it yet: its patient is the one the 835 names, SCM2009, deductible 20.00.
    "CLP*P-U1*2*50*30*20*12*ICNU1~NM1*QC*1*ROE*ANN****MI*SCM2009~CAS*PR*1*20",
];

fn claim_for(number: &str, member: &str) -> Value {
    let mut body = claim_body(number);
    body["patient"]["member_id"] = json!(member);
    body
}

async fn json_of(res: reqwest::Response, status: u16) -> Value {
    let got = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert_eq!(got, status, "{body}");
    body
}

/// Two patients' claims, the 835 answering them, and its classification finished.
async fn patients_with_answers(app: &TestApp) -> (Value, Value, Value) {
    let a1 = json_of(app.post_claim(&claim_for("P-A1", "BRM2008")).await, 201).await;
    let a2 = json_of(app.post_claim(&claim_for("P-A2", "BRM2008")).await, 201).await;
    let b1 = json_of(app.post_claim(&claim_for("P-B1", "OTHER9")).await, 201).await;
    let segments: Vec<&str> = PAYMENTS.iter().flat_map(|c| c.split('~')).collect();
    let accepted = json_of(app.post_edi(&edi("PAT-1", "90", "C", &segments, 9101)).await, 202).await;
    let remittance = accepted["id"].as_str().unwrap().to_owned();
    app.eventually("the remittance classified", || async {
        let body = app.get_json(&format!("/v1/denials?remittance_id={remittance}")).await;
        (body["items"].as_array().map_or(0, Vec::len) == 2).then_some(())
    })
    .await;
    (a1, a2, b1)
}

async fn a_portal_key_reads_one_patient_in_the_patient_facing_form(backend: Backend) {
    let app = spawn_app(backend).await;
    let (a1, a2, b1) = patients_with_answers(&app).await;
    let portal = app.create_key("portal").await;
    let get = |path: String| {
        let (app, portal) = (&app, &portal);
        async move { app.request(Method::GET, &path, Some(portal), None).await }
    };
    let a2_denial = app.get_json(&format!("/v1/claims/{}", a2["id"].as_str().unwrap())).await["denials"][0].clone();
    let b1_denial = app.get_json(&format!("/v1/claims/{}", b1["id"].as_str().unwrap())).await["denials"][0].clone();
    let (a2_denial_id, b1_denial_id) = (a2_denial["id"].as_str().unwrap(), b1_denial["id"].as_str().unwrap());
    // Billing staff work the denial: a note with a phone number and an authorization number.
    let res = app
        .post(
            &format!("/v1/denials/{a2_denial_id}/actions"),
            &json!({ "action": "assign", "assignee": "kim.lee", "note": "Called 555-0100, auth AUTH-77" }),
        )
        .await;
    assert_eq!(res.status(), 200);

    // Everything spanning patients, or in the billing team's form, is 403 to a portal key.
    let contact = json_of(
        app.post(
            "/v1/contacts",
            &json!({ "kind": "patient", "reference": "BRM2008", "name": "Desk", "webhook_url": "https://desk.example.com/h" }),
        )
        .await,
        201,
    )
    .await;
    let contact_id = contact["id"].as_str().unwrap();
    for path in [
        "/v1/claims".to_owned(),
        format!("/v1/claims/{}", a1["id"].as_str().unwrap()),
        format!("/v1/denials/{a2_denial_id}"),
        "/v1/denials".to_owned(),
        "/v1/contacts".to_owned(),
        format!("/v1/contacts/{contact_id}"),
        format!("/v1/contacts/{contact_id}/deliveries"),
        format!("/v1/deliveries/{}", uuid::Uuid::now_v7()),
        "/v1/remittances".to_owned(),
        "/v1/follow-ups".to_owned(),
        "/v1/analytics/denials?group_by=category".to_owned(),
    ] {
        assert_problem(get(path.clone()).await, 403).await;
    }

    // The patient's own claims, newest first, without the billing team's working data.
    let listed = json_of(get("/v1/patients/BRM2008/claims".into()).await, 200).await;
    let numbers: Vec<&str> =
        listed["items"].as_array().unwrap().iter().map(|c| c["claim_number"].as_str().unwrap()).collect();
    assert_eq!(numbers, ["P-A2", "P-A1"]);
    let text = listed.to_string();
    for hidden in [
        "555-0100",
        "AUTH-77",
        "kim.lee",
        "assignee",
        "priority",
        "actor",
        "work_queue",
        "follow_ups",
        "notes",
        "history",
    ] {
        assert!(!text.contains(hidden), "{hidden} shown to the patient: {listed}");
    }
    let denied = &listed["items"][0];
    assert_eq!(denied["status"], "denied");
    assert_eq!(denied["denials"][0]["id"], a2_denial_id);
    assert_eq!(denied["denials"][0]["category"], "eligibility");
    assert_eq!(denied["denials"][0]["amount"], "200.00");
    let filtered = json_of(get("/v1/patients/BRM2008/claims?status=paid".into()).await, 200).await;
    assert_eq!(filtered["items"].as_array().unwrap().len(), 1);
    assert_eq!(filtered["items"][0]["claim_number"], "P-A1");
    let filtered = json_of(get("/v1/patients/BRM2008/claims?claim_number=P-B1".into()).await, 200).await;
    assert_eq!(filtered["items"].as_array().unwrap().len(), 0, "another patient's claim by number");
    let paged = json_of(get("/v1/patients/BRM2008/claims?limit=1".into()).await, 200).await;
    let cursor = paged["next_cursor"].as_str().unwrap();
    let rest = json_of(get(format!("/v1/patients/BRM2008/claims?limit=1&cursor={cursor}")).await, 200).await;
    assert_eq!(rest["items"][0]["claim_number"], "P-A1");

    // One claim and one denial of the patient; another patient's are 404.
    let a1_id = a1["id"].as_str().unwrap();
    let one = json_of(get(format!("/v1/patients/BRM2008/claims/{a1_id}")).await, 200).await;
    assert_eq!(one["patient_responsibility"], "30.00");
    assert_eq!(one["patient"]["member_id"], "BRM2008");
    assert_problem(get(format!("/v1/patients/OTHER9/claims/{a1_id}")).await, 404).await;
    assert_problem(get(format!("/v1/patients/BRM2008/claims/{}", b1["id"].as_str().unwrap())).await, 404).await;
    let denial = json_of(get(format!("/v1/patients/BRM2008/denials/{a2_denial_id}")).await, 200).await;
    assert_eq!(denial["reason_code"], "27");
    assert_eq!(denial["status"], "open");
    for hidden in ["notes", "history", "assignee", "priority", "work_queue", "recommended_action"] {
        assert!(denial.get(hidden).is_none(), "{hidden} in {denial}");
    }
    assert!(!denial.to_string().contains("555-0100"), "{denial}");
    assert_problem(get(format!("/v1/patients/BRM2008/denials/{b1_denial_id}")).await, 404).await;
    assert_problem(get(format!("/v1/patients/OTHER9/denials/{a2_denial_id}")).await, 404).await;
    assert_problem(get("/v1/patients/BRM2008/denials/not-a-uuid".into()).await, 404).await;

    // What the patient owes, by reason; the unmatched payment's patient owes its deductible.
    let balance = json_of(get("/v1/patients/BRM2008/balance".into()).await, 200).await;
    assert_eq!(balance["member_id"], "BRM2008");
    assert_eq!(balance["total_due"], "30.00");
    assert_eq!(balance["claim_count"], 1);
    assert_eq!(balance["claims"][0]["claim_number"], "P-A1");
    assert_eq!(
        balance["claims"][0]["breakdown"],
        json!([{ "group_code": "PR", "reason_code": "2", "reason_description": balance["claims"][0]["breakdown"][0]["reason_description"], "amount": "30.00" }])
    );
    assert!(balance["claims"][0]["breakdown"][0]["reason_description"].as_str().unwrap().contains("Coinsurance"));
    let nothing = json_of(get("/v1/patients/OTHER9/balance".into()).await, 200).await;
    assert_eq!(nothing["total_due"], "0.00");
    assert_eq!(nothing["claims"], json!([]));

    // Billing and admin keys reach the patient routes too.
    let billing = app.create_key("billing").await;
    let res = app.request(Method::GET, "/v1/patients/BRM2008/balance", Some(&billing), None).await;
    assert_eq!(json_of(res, 200).await["total_due"], "30.00");
}

async fn a_portal_key_changes_only_the_contacts_it_made(backend: Backend) {
    let app = spawn_app(backend).await;
    let portal = app.create_key("portal").await;
    let other_portal = app.create_key("portal").await;
    let call = |method: Method, path: String, key: &str, body: Option<Value>| {
        let (app, key) = (&app, key.to_owned());
        async move { app.request(method, &path, Some(&key), body.as_ref()).await }
    };
    // Made by the billing team for the patient: the portal sees it but cannot change it.
    let staff = json_of(
        app.post(
            "/v1/contacts",
            &json!({ "kind": "patient", "reference": "BRM2008", "name": "Front desk", "webhook_url": "https://desk.example.com/h" }),
        )
        .await,
        201,
    )
    .await;
    let payer = json_of(
        app.post(
            "/v1/contacts",
            &json!({ "kind": "payer", "reference": "60054", "name": "Acme", "webhook_url": "https://acme.example.com/h" }),
        )
        .await,
        201,
    )
    .await;
    let staff_path = format!("/v1/patients/BRM2008/contacts/{}", staff["id"].as_str().unwrap());
    let seen = json_of(call(Method::GET, staff_path.clone(), &portal, None).await, 200).await;
    assert_eq!(seen["name"], "Front desk");
    assert!(seen.get("signing_secret").is_none());
    let takeover = json!({ "webhook_url": "https://attacker.example.com/h" });
    let problem =
        assert_problem(call(Method::PATCH, staff_path.clone(), &portal, Some(takeover.clone())).await, 403).await;
    assert!(problem["detail"].as_str().unwrap().contains("another key"), "{problem}");
    assert_problem(call(Method::PATCH, staff_path.clone(), &portal, Some(json!({ "enabled": false }))).await, 403)
        .await;
    assert_problem(call(Method::POST, format!("{staff_path}/rotate-secret"), &portal, None).await, 403).await;
    assert_problem(call(Method::POST, format!("{staff_path}/test"), &portal, None).await, 403).await;
    assert_problem(call(Method::DELETE, staff_path.clone(), &portal, None).await, 403).await;
    let unchanged = app.get_json(&format!("/v1/contacts/{}", staff["id"].as_str().unwrap())).await;
    assert_eq!(unchanged["webhook_url"], "https://desk.example.com/h");
    assert_eq!(unchanged["enabled"], true);
    // Another patient's path, or a payer contact, is as if it did not exist.
    let staff_id = staff["id"].as_str().unwrap();
    assert_problem(call(Method::GET, format!("/v1/patients/OTHER9/contacts/{staff_id}"), &portal, None).await, 404)
        .await;
    let payer_id = payer["id"].as_str().unwrap();
    assert_problem(call(Method::GET, format!("/v1/patients/60054/contacts/{payer_id}"), &portal, None).await, 404)
        .await;

    // Its own contact: created under the patient's path, changed, rotated, deleted.
    let body = json!({ "name": "Patient app", "webhook_url": "https://portal.example.com/h" });
    let mine =
        json_of(call(Method::POST, "/v1/patients/BRM2008/contacts".into(), &portal, Some(body)).await, 201).await;
    assert_eq!(mine["kind"], "patient");
    assert_eq!(mine["reference"], "BRM2008");
    assert!(mine["signing_secret"].as_str().unwrap().starts_with("whsec_"));
    let bad = json!({ "name": "x", "webhook_url": "https://p.example.com/h", "reference": "OTHER9" });
    assert_problem(call(Method::POST, "/v1/patients/BRM2008/contacts".into(), &portal, Some(bad)).await, 400).await;
    let mine_path = format!("/v1/patients/BRM2008/contacts/{}", mine["id"].as_str().unwrap());
    let patched =
        json_of(call(Method::PATCH, mine_path.clone(), &portal, Some(json!({ "name": "Renamed" }))).await, 200).await;
    assert_eq!(patched["name"], "Renamed");
    let rotated = json_of(call(Method::POST, format!("{mine_path}/rotate-secret"), &portal, None).await, 200).await;
    assert!(rotated["signing_secret"].as_str().unwrap().starts_with("whsec_"));
    // A second portal sees it, and may not change it either.
    assert_eq!(call(Method::GET, mine_path.clone(), &other_portal, None).await.status(), 200);
    assert_problem(call(Method::PATCH, mine_path.clone(), &other_portal, Some(takeover)).await, 403).await;
    let listed = json_of(call(Method::GET, "/v1/patients/BRM2008/contacts".into(), &portal, None).await, 200).await;
    let mut names: Vec<&str> =
        listed["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["Front desk", "Renamed"]);
    let deliveries = json_of(call(Method::GET, format!("{mine_path}/deliveries"), &portal, None).await, 200).await;
    assert_eq!(deliveries["items"], json!([]));
    assert_eq!(call(Method::DELETE, mine_path.clone(), &portal, None).await.status(), 204);
    assert_problem(call(Method::GET, mine_path, &portal, None).await, 404).await;
    // Billing changes any patient contact through either route.
    let billing = app.create_key("billing").await;
    let res = call(Method::PATCH, staff_path, &billing, Some(json!({ "name": "Desk 2" }))).await;
    assert_eq!(json_of(res, 200).await["name"], "Desk 2");
}

async fn patient_sessions_read_one_patient_and_then_end(backend: Backend) {
    let app = spawn_app(backend).await;
    let portal = app.create_key("portal").await;
    json_of(app.post_claim(&claim_for("S-1", "BRM2008")).await, 201).await;
    json_of(app.post_claim(&claim_for("S-2", "OTHER9")).await, 201).await;
    let start = |body: Value, key: String| {
        let app = &app;
        async move { app.request(Method::POST, "/v1/patient-sessions", Some(&key), Some(&body)).await }
    };
    for bad in [
        json!({ "member_id": "BRM2008", "ttl_seconds": 30 }),
        json!({ "member_id": "BRM2008", "ttl_seconds": 7200 }),
        json!({ "member_id": "" }),
    ] {
        assert_problem(start(bad, portal.clone()).await, 400).await;
    }
    let before = chrono::Utc::now();
    let session = json_of(start(json!({ "member_id": "BRM2008" }), portal.clone()).await, 201).await;
    let token = session["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("ops_") && token.len() > 40, "{token}");
    assert_eq!(session["member_id"], "BRM2008");
    let expires: chrono::DateTime<chrono::Utc> = session["expires_at"].as_str().unwrap().parse().unwrap();
    let ttl = expires - before;
    assert!(
        ttl > chrono::Duration::minutes(14) && ttl <= chrono::Duration::minutes(15) + chrono::Duration::seconds(5),
        "{ttl}"
    );

    // It reads its own patient's routes, and nothing else.
    let as_session = |method: Method, path: &str, body: Option<Value>| {
        let (app, token, path) = (&app, token.clone(), path.to_owned());
        async move { app.request(method, &path, Some(&token), body.as_ref()).await }
    };
    let mine = json_of(as_session(Method::GET, "/v1/patients/BRM2008/claims", None).await, 200).await;
    assert_eq!(mine["items"][0]["claim_number"], "S-1");
    assert_eq!(as_session(Method::GET, "/v1/patients/BRM2008/balance", None).await.status(), 200);
    assert_eq!(as_session(Method::GET, "/v1/patients/BRM2008/contacts", None).await.status(), 200);
    assert_problem(as_session(Method::GET, "/v1/patients/OTHER9/claims", None).await, 404).await;
    assert_problem(as_session(Method::GET, "/v1/patients/OTHER9/balance", None).await, 404).await;
    let contact = json!({ "name": "x", "webhook_url": "https://p.example.com/h" });
    assert_problem(as_session(Method::POST, "/v1/patients/BRM2008/contacts", Some(contact)).await, 403).await;
    assert_problem(as_session(Method::GET, "/v1/claims", None).await, 403).await;
    assert_problem(as_session(Method::GET, "/v1/api-keys", None).await, 403).await;
    assert_problem(as_session(Method::POST, "/v1/claims", Some(claim_for("S-3", "BRM2008"))).await, 403).await;
    let again = json!({ "member_id": "OTHER9" });
    assert_problem(as_session(Method::POST, "/v1/patient-sessions", Some(again)).await, 403).await;

    // Only its hash is stored.
    let db = app.database().await;
    let kind = db.write.get_database_backend();
    let row = db
        .write
        .query_one_raw(sea_orm::Statement::from_string(kind, "SELECT token_hash FROM patient_sessions"))
        .await
        .unwrap()
        .unwrap();
    let stored: String = row.try_get_by_index(0).unwrap();
    assert_eq!(stored, overturn_domain::api_key::hash_presented_key(&token));

    // Another portal cannot end it; its own portal can, and the token stops at once.
    let other_portal = app.create_key("portal").await;
    let path = format!("/v1/patient-sessions/{}", session["id"].as_str().unwrap());
    assert_problem(app.request(Method::DELETE, &path, Some(&other_portal), None).await, 404).await;
    assert_eq!(app.request(Method::DELETE, &path, Some(&portal), None).await.status(), 204);
    assert_problem(as_session(Method::GET, "/v1/patients/BRM2008/claims", None).await, 401).await;

    // A session past its expiry, or one whose key was revoked, is refused.
    let expiring =
        json_of(start(json!({ "member_id": "BRM2008", "ttl_seconds": 60 }), portal.clone()).await, 201).await;
    let expiring_token = expiring["token"].as_str().unwrap();
    let read = |token: &str| {
        let (app, token) = (&app, token.to_owned());
        async move { app.request(Method::GET, "/v1/patients/BRM2008/claims", Some(&token), None).await }
    };
    assert_eq!(read(expiring_token).await.status(), 200);
    let past = chrono::Utc::now() - chrono::Duration::seconds(1);
    let expiring_id: uuid::Uuid = expiring["id"].as_str().unwrap().parse().unwrap();
    let sql = if kind == sea_orm::DbBackend::Postgres {
        "UPDATE patient_sessions SET expires_at = $1 WHERE id = $2"
    } else {
        "UPDATE patient_sessions SET expires_at = ? WHERE id = ?"
    };
    db.write
        .execute_raw(sea_orm::Statement::from_sql_and_values(kind, sql, [past.into(), expiring_id.into()]))
        .await
        .unwrap();
    assert_problem(read(expiring_token).await, 401).await;
    let billing = app.create_key("billing").await;
    let by_billing = json_of(start(json!({ "member_id": "BRM2008" }), billing.clone()).await, 201).await;
    let billing_token = by_billing["token"].as_str().unwrap();
    assert_eq!(read(billing_token).await.status(), 200);
    let keys = app.get_json("/v1/api-keys?limit=500").await;
    let billing_key_id = keys["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| billing.starts_with(k["display_prefix"].as_str().unwrap()))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app.request(Method::DELETE, &format!("/v1/api-keys/{billing_key_id}"), Some(&app.admin_key), None).await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_problem(read(billing_token).await, 401).await;
}

async fn patient_events_go_to_the_patient_of_the_matched_claim(backend: Backend) {
    let app = spawn_app_with(backend, ServeRole::All, &[("OVERTURN_WEBHOOK_ALLOW_PRIVATE", "true")]).await;
    let submitted_for = Receiver::start().await;
    let printed_on_835 = Receiver::start().await;
    let unmatched = Receiver::start().await;
    for (member, receiver) in [("BRM2008", &submitted_for), ("SCM2008", &printed_on_835), ("SCM2009", &unmatched)] {
        let body = json!({ "kind": "patient", "reference": member, "name": member, "webhook_url": receiver.url });
        json_of(app.post("/v1/contacts", &body).await, 201).await;
    }
    patients_with_answers(&app).await;
    let got = submitted_for.wait_for(2).await;
    let mut events: Vec<(String, String)> = got
        .iter()
        .map(|r| {
            let body = r.json();
            (body["type"].as_str().unwrap().to_owned(), body["data"]["claim_number"].as_str().unwrap().to_owned())
        })
        .collect();
    events.sort();
    assert_eq!(
        events,
        [
            ("patient.action_required".to_owned(), "P-A2".to_owned()),
            ("patient.balance_due".to_owned(), "P-A1".to_owned())
        ]
    );
    let other = unmatched.wait_for(1).await.remove(0).json();
    assert_eq!(other["type"], "patient.balance_due");
    assert_eq!(other["data"]["claim_number"], "P-U1");
    // Follow-ups fire too; give the relay time to send anything misrouted before checking.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(printed_on_835.received().is_empty(), "{:?}", printed_on_835.received());
    let outreach = app
        .eventually("the balance outreach planned", || async {
            let body = app.get_json("/v1/follow-ups?claim_number=P-A1").await;
            let found: Vec<Value> =
                body["items"].as_array()?.iter().filter(|f| f["target"] == "patient").cloned().collect();
            (!found.is_empty()).then_some(found)
        })
        .await;
    assert!(outreach.iter().all(|f| f["member_id"] == "BRM2008"), "{outreach:?}");
}

async fn portal_origins_named_in_the_settings_may_call_from_a_browser() {
    let app =
        spawn_app_with(Backend::Sqlite, ServeRole::All, &[("OVERTURN_CORS_ORIGINS", "https://portal.example.com")])
            .await;
    let preflight = |origin: &str| {
        let (app, origin) = (&app, origin.to_owned());
        async move {
            app.client
                .request(Method::OPTIONS, app.url("/v1/patients/BRM2008/claims"))
                .header("origin", origin)
                .header("access-control-request-method", "GET")
                .header("access-control-request-headers", "authorization")
                .send()
                .await
                .unwrap()
        }
    };
    let allowed = preflight("https://portal.example.com").await;
    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(allowed.headers()["access-control-allow-origin"], "https://portal.example.com");
    let refused = preflight("https://evil.example.com").await;
    assert!(refused.headers().get("access-control-allow-origin").is_none(), "{:?}", refused.headers());
    // A simple request from the allowed origin carries the header; from another it does not.
    let portal = app.create_key("portal").await;
    let session = json_of(
        app.request(Method::POST, "/v1/patient-sessions", Some(&portal), Some(&json!({ "member_id": "BRM2008" })))
            .await,
        201,
    )
    .await;
    let token = session["token"].as_str().unwrap();
    let from = |origin: &str| {
        let (app, origin, token) = (&app, origin.to_owned(), token.to_owned());
        async move {
            app.client
                .get(app.url("/v1/patients/BRM2008/claims"))
                .header("origin", origin)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        from("https://portal.example.com").await.headers()["access-control-allow-origin"],
        "https://portal.example.com"
    );
    assert!(from("https://evil.example.com").await.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_origins() {
    portal_origins_named_in_the_settings_may_call_from_a_browser().await
}

crate::on_both_backends!(
    a_portal_key_reads_one_patient_in_the_patient_facing_form,
    a_portal_key_changes_only_the_contacts_it_made,
    patient_sessions_read_one_patient_and_then_end,
    patient_events_go_to_the_patient_of_the_matched_claim,
);
