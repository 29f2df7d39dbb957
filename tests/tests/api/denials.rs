//! Denials: a remittance classified by the workers into the worklist, and the worklist worked.

use chrono::NaiveDate;
use overturn::startup::ServeRole;
use reqwest::Method;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, assert_problem, claim_body, error_fields, spawn_app_with, spawn_app_without_workers,
};
use crate::remittances::edi;

/// Five claims, one denial each, of every shape the rules distinguish.
const CLAIMS: [&str; 5] = [
    // Denied for medical necessity, but MA130: no appeal rights, correct and resubmit.
    "CLP*D-1*4*500*0*0*12*ICN1~CAS*CO*50*500~MOA***MA130",
    // Denied with only a contractual adjustment: one denial of category other.
    "CLP*D-2*4*300*0*0*12*ICN2~CAS*CO*45*300",
    // Paid, with one line denied for timely filing.
    "CLP*D-3*1*200*120*0*12*ICN3~SVC*HC:99213*150*120**1~CAS*CO*45*30~SVC*HC:97110*50*0**1~CAS*CO*29*50",
    // Non-covered in group PR (bill the patient); OA-23 only records the other payer's share.
    "CLP*D-4*2*100*0*60*12*ICN4~CAS*PR*96*60~CAS*OA*23*40",
    // Missing information, explained by M51.
    "CLP*D-5*1*400*0*0*12*ICN5~CAS*CO*16*400~MOA***M51",
];

pub fn remittance(trace: &str) -> String {
    let segments: Vec<&str> = CLAIMS.iter().flat_map(|c| c.split('~')).collect();
    edi(trace, "120", "C", &segments, 7001)
}

async fn post_remittance(app: &TestApp, trace: &str) -> String {
    let res = app.post_edi(&remittance(trace)).await;
    let body: Value = res.json().await.unwrap();
    body["id"].as_str().unwrap_or_else(|| panic!("accepted: {body}")).to_owned()
}

/// The remittance's denials once the workers have classified it.
async fn denials_of(app: &TestApp, remittance_id: &str, expected: usize) -> Vec<Value> {
    app.eventually("the remittance's denials", || async {
        let body = app.get_json(&format!("/v1/denials?remittance_id={remittance_id}&limit=500")).await;
        let items = body["items"].as_array().cloned().unwrap_or_default();
        (items.len() >= expected).then_some(items)
    })
    .await
}

/// The remittance's denials after running the due jobs (the app has no workers of its own).
async fn classified(app: &TestApp, remittance_id: &str, expected: usize) -> Vec<Value> {
    assert!(app.run_due_jobs().await > 0, "the remittance's classification ran");
    let body = app.get_json(&format!("/v1/denials?remittance_id={remittance_id}&limit=500")).await;
    let items = body["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), expected, "{body}");
    items
}

/// Every denial row in the database, whatever the API shows.
async fn stored_denials(db: &overturn_service::db::Db) -> u64 {
    use sea_orm::{EntityTrait, PaginatorTrait};
    overturn_entity::denial::Entity::find().count(&db.write).await.unwrap()
}

/// Asks the workers to classify a remittance again, as the outbox row of its arrival did.
pub(crate) async fn queue_classification(db: &overturn_service::db::Db, remittance_id: &str) {
    use sea_orm::EntityTrait;
    overturn_entity::outbox::Entity::insert(overturn_entity::outbox::ActiveModel::from(
        overturn_entity::outbox::Model {
            id: uuid::Uuid::now_v7(),
            topic: "classify_remittance".into(),
            payload: json!({ "remittance_id": remittance_id }),
            created_at: chrono::Utc::now(),
            dispatched_at: None,
        },
    ))
    .exec_without_returning(&db.write)
    .await
    .unwrap();
}

fn by_claim<'a>(denials: &'a [Value], claim_number: &str) -> &'a Value {
    denials.iter().find(|d| d["claim_number"] == claim_number).unwrap_or_else(|| panic!("no denial of {claim_number}"))
}

async fn created_claim(app: &TestApp, number: &str) -> Value {
    let res = app.post_claim(&claim_body(number)).await;
    let body: Value = res.json().await.unwrap();
    assert!(body["id"].is_string(), "{body}");
    body
}

async fn a_remittance_is_classified_into_the_worklist(backend: Backend) {
    let app = spawn_app_without_workers(backend).await;
    let rules = app
        .request(
            Method::PUT,
            "/v1/payers/60054/rules",
            Some(&app.admin_key),
            Some(&json!({"appeal_window_days": 3650})),
        )
        .await;
    assert_eq!(rules.status(), 200);
    let d1 = created_claim(&app, "D-1").await;
    let d3 = created_claim(&app, "D-3").await;
    let id = post_remittance(&app, "DEN-1").await;
    let denials = classified(&app, &id, 5).await;
    assert_eq!(denials.len(), 5, "one denial per claim, none for CO-45 / OA-23");

    let deadline = NaiveDate::from_ymd_opt(2025, 3, 1).unwrap() + chrono::Days::new(3650);
    let expect = [
        ("D-1", "medical_necessity", "correct_and_resubmit", "clinical", "500.00", Some("50")),
        ("D-2", "other", "review", "billing", "300.00", None),
        ("D-3", "timely_filing", "appeal", "billing", "50.00", Some("29")),
        ("D-4", "non_covered", "bill_patient", "billing", "60.00", Some("96")),
        ("D-5", "missing_information", "correct_and_resubmit", "billing", "400.00", Some("16")),
    ];
    for (claim, category, action, queue, amount, reason) in expect {
        let d = by_claim(&denials, claim);
        assert_eq!(d["category"], category, "{claim}: {d}");
        assert_eq!(d["recommended_action"], action, "{claim}");
        assert_eq!(d["work_queue"], queue, "{claim}");
        assert_eq!(d["amount"], amount, "{claim}");
        assert_eq!(d["reason_code"].as_str(), reason, "{claim}");
        assert_eq!(d["status"], "open");
        assert_eq!(d["payer_id"], "60054");
        assert_eq!(d["appeal_deadline"], deadline.to_string(), "{claim}");
        assert!(d["priority"].as_i64().unwrap() > 0, "{claim}");
    }
    // Listed denials carry their history and notes, as the contract's denial does.
    assert!(denials.iter().all(|d| d["history"][0]["action"] == "classified" && d["notes"] == json!([])));
    let d3_denial = by_claim(&denials, "D-3");
    assert_eq!(d3_denial["line_number"], 2);
    assert_eq!(d3_denial["procedure_code"], "97110");
    assert_eq!(d3_denial["group_code"], "CO");
    assert!(d3_denial["reason_description"].as_str().unwrap().contains("time limit"));
    assert_eq!(by_claim(&denials, "D-2")["group_code"], Value::Null);
    assert_eq!(by_claim(&denials, "D-1")["remark_codes"], json!(["MA130"]));
    assert!(by_claim(&denials, "D-5")["remark_descriptions"]["M51"].as_str().unwrap().contains("procedure code"));
    let explained = by_claim(&denials, "D-5")["explanation"].as_str().unwrap();
    assert!(
        explained.starts_with("The claim or service lacks information") && explained.contains(". M51: "),
        "{explained}"
    );
    assert!(by_claim(&denials, "D-2")["explanation"].as_str().unwrap().contains("without a denial reason"));
    assert_eq!(by_claim(&denials, "D-1")["claim_id"], d1["id"]);
    assert_eq!(by_claim(&denials, "D-5")["claim_id"], Value::Null, "no claim D-5 yet");

    // The worklist is sorted by priority; a bigger amount of the same kind ranks higher.
    let priorities: Vec<i64> = denials.iter().map(|d| d["priority"].as_i64().unwrap()).collect();
    assert!(priorities.windows(2).all(|w| w[0] >= w[1]), "{priorities:?}");
    assert!(by_claim(&denials, "D-5")["priority"].as_i64() > by_claim(&denials, "D-3")["priority"].as_i64());

    // The claim carries its denials, and a claim created later picks up the ones waiting.
    let claim = app.get_json(&format!("/v1/claims/{}", d3["id"].as_str().unwrap())).await;
    assert_eq!(claim["denials"].as_array().unwrap().len(), 1);
    assert_eq!(claim["denials"][0]["line_number"], 2);
    let d5 = created_claim(&app, "D-5").await;
    assert_eq!(d5["denials"].as_array().unwrap().len(), 1, "{d5}");
    let d5_denial = app.get_json("/v1/denials?claim_number=D-5").await;
    assert_eq!(d5_denial["items"][0]["claim_id"], d5["id"]);
}

async fn the_worklist_filters_sorts_and_pages(backend: Backend) {
    let app = spawn_app_without_workers(backend).await;
    let id = post_remittance(&app, "DEN-2").await;
    classified(&app, &id, 5).await;
    let count = |body: &Value| body["items"].as_array().unwrap().len();
    assert_eq!(count(&app.get_json("/v1/denials?work_queue=clinical").await), 1);
    assert_eq!(count(&app.get_json("/v1/denials?category=coding").await), 0);
    assert_eq!(count(&app.get_json("/v1/denials?category=other,timely_filing").await), 2);
    assert_eq!(count(&app.get_json("/v1/denials?status=open&payer_id=60054").await), 5);
    assert_eq!(count(&app.get_json("/v1/denials?payer_id=OTHER").await), 0);
    assert_eq!(count(&app.get_json("/v1/denials?assignee=none").await), 5);
    let by_amount = app.get_json("/v1/denials?sort=-amount").await;
    let amounts: Vec<&str> =
        by_amount["items"].as_array().unwrap().iter().map(|d| d["amount"].as_str().unwrap()).collect();
    assert_eq!(amounts, ["500.00", "400.00", "300.00", "60.00", "50.00"]);

    // Pages of two walk every denial once, in every order.
    for sort in ["priority", "-amount", "appeal_deadline"] {
        let (mut seen, mut cursor) = (Vec::new(), None::<String>);
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/denials?sort={sort}&limit=2&cursor={c}"),
                None => format!("/v1/denials?sort={sort}&limit=2"),
            };
            let page = app.get_json(&path).await;
            seen.extend(page["items"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_owned()));
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!((seen.len(), unique.len()), (5, 5), "{sort}");
    }

    let bad = assert_problem(app.get("/v1/denials?sort=oldest&status=lost&work_queue=x&limit=0").await, 400).await;
    let mut fields = error_fields(&bad);
    fields.sort();
    assert_eq!(fields, ["limit", "sort", "status", "work_queue"]);
    let page = app.get_json("/v1/denials?limit=1").await;
    let cursor = page["next_cursor"].as_str().unwrap();
    let wrong = assert_problem(app.get(&format!("/v1/denials?sort=-amount&cursor={cursor}")).await, 400).await;
    assert_eq!(error_fields(&wrong), ["cursor"]);

    // The worklist spans patients: not for the portal role.
    let portal = app.create_key("portal").await;
    assert_problem(app.request(Method::GET, "/v1/denials", Some(&portal), None).await, 403).await;
}

async fn act(app: &TestApp, key: &str, id: &str, body: Value) -> reqwest::Response {
    app.request(Method::POST, &format!("/v1/denials/{id}/actions"), Some(key), Some(&body)).await
}

async fn denials_are_worked_through_their_states_with_an_audit_trail(backend: Backend) {
    let app = spawn_app_without_workers(backend).await;
    let id = post_remittance(&app, "DEN-3").await;
    let denials = classified(&app, &id, 5).await;
    let denial = by_claim(&denials, "D-3")["id"].as_str().unwrap().to_owned();
    let billing = app.create_key("billing").await;
    let admin = app.admin_key.clone();

    let assigned =
        act(&app, &billing, &denial, json!({"action": "assign", "assignee": "kim.lee", "note": "coder on it"})).await;
    assert_eq!(assigned.status(), 200);
    let assigned: Value = assigned.json().await.unwrap();
    assert_eq!((assigned["status"].as_str(), assigned["assignee"].as_str()), (Some("open"), Some("kim.lee")));
    assert_eq!(act(&app, &billing, &denial, json!({"action": "start"})).await.status(), 200);
    assert_eq!(act(&app, &billing, &denial, json!({"action": "appeal", "note": "letter sent"})).await.status(), 200);
    // Starting again, or resubmitting an appealed denial, is not a transition.
    assert_problem(act(&app, &billing, &denial, json!({"action": "start"})).await, 409).await;
    assert_problem(act(&app, &billing, &denial, json!({"action": "resubmit"})).await, 409).await;
    let resolved =
        act(&app, &admin, &denial, json!({"action": "resolve", "outcome": "overturned", "recovered_amount": "50.00"}))
            .await;
    assert_eq!(resolved.status(), 200);
    let resolved: Value = resolved.json().await.unwrap();
    assert_eq!(resolved["status"], "overturned");
    assert_eq!(resolved["recovered_amount"], "50.00");
    // Closed: notes only.
    assert_problem(act(&app, &billing, &denial, json!({"action": "write_off"})).await, 409).await;
    assert_problem(act(&app, &billing, &denial, json!({"action": "assign", "assignee": "x"})).await, 409).await;
    assert_eq!(act(&app, &billing, &denial, json!({"action": "note", "note": "payment posted"})).await.status(), 200);

    let detail = app.get_json(&format!("/v1/denials/{denial}")).await;
    let history: Vec<(&str, &str)> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["to_status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        history,
        [
            ("classified", "open"),
            ("assign", "open"),
            ("start", "in_progress"),
            ("appeal", "appealed"),
            ("resolve", "overturned"),
            ("note", "overturned"),
        ]
    );
    assert_eq!(detail["history"][1]["actor"], "billing key");
    assert_eq!(detail["history"][4]["recovered_amount"], "50.00");
    let notes: Vec<&str> = detail["notes"].as_array().unwrap().iter().map(|n| n["note"].as_str().unwrap()).collect();
    assert_eq!(notes, ["coder on it", "letter sent", "payment posted"]);

    // Bad bodies name the field; nothing is recorded.
    let other = by_claim(&denials, "D-1")["id"].as_str().unwrap().to_owned();
    let bad =
        assert_problem(act(&app, &billing, &other, json!({"action": "resolve", "outcome": "won"})).await, 400).await;
    assert_eq!(error_fields(&bad), ["outcome"]);
    let bad = assert_problem(
        act(&app, &billing, &other, json!({"action": "resolve", "outcome": "upheld", "recovered_amount": "5.00"}))
            .await,
        400,
    )
    .await;
    assert_eq!(error_fields(&bad), ["recovered_amount"]);
    let bad = assert_problem(act(&app, &billing, &other, json!({"action": "start", "assignee": "x"})).await, 400).await;
    assert_eq!(error_fields(&bad), ["assignee"]);
    assert_eq!(
        error_fields(&assert_problem(act(&app, &billing, &other, json!({"action": "fly"})).await, 400).await),
        ["action"]
    );
    assert_eq!(
        error_fields(&assert_problem(act(&app, &billing, &other, json!({"action": "note"})).await, 400).await),
        ["note"]
    );
    let nul = act(&app, &billing, &other, json!({"action": "note", "note": "a\u{0}b"})).await;
    assert_eq!(error_fields(&assert_problem(nul, 400).await), ["note"]);
    assert_eq!(app.get_json(&format!("/v1/denials/{other}")).await["history"].as_array().unwrap().len(), 1);
    let lines = act(&app, &billing, &other, json!({"action": "note", "note": "line one\nline two\t."})).await;
    assert_eq!(lines.status(), 200);
    assert_problem(act(&app, &billing, &uuid::Uuid::now_v7().to_string(), json!({"action": "start"})).await, 404).await;

    // An Idempotency-Key replay answers the first response instead of a 409.
    let post = |key: &'static str| {
        app.client
            .post(app.url(&format!("/v1/denials/{other}/actions")))
            .bearer_auth(&billing)
            .header("Idempotency-Key", key)
            .json(&json!({"action": "start"}))
            .send()
    };
    let first: Value = post("start-once").await.unwrap().json().await.unwrap();
    let again = post("start-once").await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap(), first);

    // The portal neither reads the billing team's form of a denial nor works one.
    let portal = app.create_key("portal").await;
    assert_problem(app.request(Method::GET, &format!("/v1/denials/{other}"), Some(&portal), None).await, 403).await;
    assert_problem(act(&app, &portal, &other, json!({"action": "write_off"})).await, 403).await;
}

async fn payer_rules_default_and_changing_them_moves_open_deadlines(backend: Backend) {
    let app = spawn_app_without_workers(backend).await;
    let defaults = app.get_json("/v1/payers/60054/rules").await;
    assert_eq!(defaults["appeal_window_days"], 180);
    assert_eq!(defaults["timely_filing_days"], 365);
    assert_eq!(defaults["status_check_after_days"], 30);
    assert_eq!(defaults["default"], true);

    let id = post_remittance(&app, "DEN-4").await;
    let denials = classified(&app, &id, 5).await;
    let produced = NaiveDate::from_ymd_opt(2025, 3, 1).unwrap();
    assert_eq!(by_claim(&denials, "D-2")["appeal_deadline"], (produced + chrono::Days::new(180)).to_string());
    let closed = by_claim(&denials, "D-2")["id"].as_str().unwrap().to_owned();
    assert_eq!(act(&app, &app.admin_key, &closed, json!({"action": "write_off"})).await.status(), 200);

    let app = &app;
    let put = |body: Value| async move {
        app.request(Method::PUT, "/v1/payers/60054/rules", Some(&app.admin_key), Some(&body)).await
    };
    let res = put(json!({"appeal_window_days": 60, "status_check_after_days": 45})).await;
    assert_eq!(res.status(), 200);
    let rules: Value = res.json().await.unwrap();
    assert_eq!((rules["appeal_window_days"].as_i64(), rules["timely_filing_days"].as_i64()), (Some(60), Some(365)));
    assert_eq!(rules["default"], false);
    assert_eq!(rules["updated_denials"], 4, "the written-off denial keeps its history");
    assert_eq!(app.get_json("/v1/payers/60054/rules").await["status_check_after_days"], 45);
    let moved = app.get_json("/v1/denials?claim_number=D-3").await;
    assert_eq!(moved["items"][0]["appeal_deadline"], (produced + chrono::Days::new(60)).to_string());
    let kept = app.get_json(&format!("/v1/denials/{closed}")).await;
    assert_eq!(kept["appeal_deadline"], (produced + chrono::Days::new(180)).to_string());

    let bad = assert_problem(put(json!({"appeal_window_days": 0, "timely_filing_days": 99999})).await, 400).await;
    let mut fields = error_fields(&bad);
    fields.sort();
    assert_eq!(fields, ["appeal_window_days", "timely_filing_days"]);
    assert_eq!(error_fields(&assert_problem(put(json!({"appeal_days": 5})).await, 400).await), ["appeal_days"]);
    // JSON has one number type: 400.0 days is 400 days, 30.5 is no whole number of days.
    assert_eq!(put(json!({"timely_filing_days": 400.0})).await.status(), 200);
    assert_eq!(app.get_json("/v1/payers/60054/rules").await["timely_filing_days"], 400);
    assert_eq!(
        error_fields(&assert_problem(put(json!({"timely_filing_days": 30.5})).await, 400).await),
        ["timely_filing_days"]
    );
    // A struct's fields in an array are not an object.
    let detail = assert_problem(put(json!([60, 365, 30])).await, 400).await;
    assert!(detail["detail"].as_str().unwrap().contains("JSON object"), "{detail}");
    let portal = app.create_key("portal").await;
    assert_problem(app.request(Method::PUT, "/v1/payers/60054/rules", Some(&portal), Some(&json!({}))).await, 403)
        .await;
}

async fn analytics_count_denials_by_category_payer_and_reason(backend: Backend) {
    let app = spawn_app_without_workers(backend).await;
    let id = post_remittance(&app, "DEN-5").await;
    let denials = classified(&app, &id, 5).await;
    let d5 = by_claim(&denials, "D-5")["id"].as_str().unwrap().to_owned();
    let d1 = by_claim(&denials, "D-1")["id"].as_str().unwrap().to_owned();
    let key = app.admin_key.clone();
    act(&app, &key, &d5, json!({"action": "resolve", "outcome": "overturned", "recovered_amount": "400.00"})).await;
    act(&app, &key, &d1, json!({"action": "resolve", "outcome": "upheld"})).await;

    let by_category = app.get_json("/v1/analytics/denials").await;
    assert_eq!(by_category["group_by"], "category");
    let totals = &by_category["totals"];
    assert_eq!(totals["denial_count"], 5);
    assert_eq!(totals["denied_amount"], "1310.00");
    assert_eq!(totals["recovered_amount"], "400.00");
    assert_eq!((totals["overturned_count"].as_i64(), totals["upheld_count"].as_i64()), (Some(1), Some(1)));
    assert_eq!(totals["overturn_rate"], 0.5);
    assert_eq!((totals["claim_payments"].as_i64(), totals["denial_rate"].as_f64()), (Some(5), Some(1.0)));
    let groups = by_category["groups"].as_array().unwrap();
    assert_eq!(groups[0]["key"], "medical_necessity", "largest amount first");
    assert_eq!(groups[0]["upheld_count"], 1);
    let missing = groups.iter().find(|g| g["key"] == "missing_information").unwrap();
    assert_eq!((missing["overturn_rate"].as_f64(), missing["denial_rate"].as_f64()), (Some(1.0), Some(0.2)));

    let by_payer = app.get_json("/v1/analytics/denials?group_by=payer").await;
    assert_eq!(by_payer["groups"][0]["key"], "60054");
    assert_eq!(by_payer["groups"][0]["claim_payments"], 5);
    let by_reason = app.get_json("/v1/analytics/denials?group_by=reason_code").await;
    let keys: Vec<&str> = by_reason["groups"].as_array().unwrap().iter().map(|g| g["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["50", "16", "none", "96", "29"]);

    // The last day there is bounds nothing out.
    let to_the_end = app.get_json("/v1/analytics/denials?to=9999-12-31").await;
    assert_eq!(to_the_end["totals"], by_category["totals"]);

    // A period without denials, and bad parameters.
    let empty = app.get_json("/v1/analytics/denials?from=2001-01-01&to=2001-12-31").await;
    assert_eq!((empty["totals"]["denial_count"].as_i64(), empty["groups"].as_array().unwrap().len()), (Some(0), 0));
    assert_eq!(empty["totals"]["denial_rate"], Value::Null);
    let bad = assert_problem(app.get("/v1/analytics/denials?group_by=color&from=2026-13-01").await, 400).await;
    let mut fields = error_fields(&bad);
    fields.sort();
    assert_eq!(fields, ["from", "group_by"]);
    assert_eq!(
        error_fields(&assert_problem(app.get("/v1/analytics/denials?from=2026-02-01&to=2026-01-01").await, 400).await),
        ["to"]
    );
}

/// A job run twice writes each denial once; a job that fails for good is listed and can be
/// retried once its cause is fixed.
async fn jobs_are_idempotent_and_dead_ones_can_be_retried(backend: Backend) {
    // The API alone: the remittance waits in the outbox while the test breaks it.
    let api = spawn_app_with(backend, ServeRole::Api, &[]).await;
    let id = post_remittance(&api, "DEN-6").await;
    let db = api.database().await;
    let backend_kind = db.write.get_database_backend();
    let payment = |sql: &str| sea_orm::Statement::from_string(backend_kind, sql.to_owned());
    let original: String = db
        .write
        .query_one_raw(payment("SELECT detail FROM claim_payments WHERE claim_number = 'D-5'"))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index(0)
        .unwrap();
    db.write
        .execute_raw(payment("UPDATE claim_payments SET detail = '{not json' WHERE claim_number = 'D-5'"))
        .await
        .unwrap();

    let worker = api.replica(ServeRole::Worker, &[]).await;
    let dead = api
        .eventually("the dead job", || async {
            let body = api.get_json("/v1/jobs?state=failed").await;
            body["items"].as_array().and_then(|a| a.first().cloned())
        })
        .await;
    assert_eq!(dead["topic"], "classify_remittance");
    assert_eq!(dead["subject_id"], id.as_str());
    assert_eq!(dead["state"], "failed");
    assert!(dead["error"].as_str().unwrap().contains("detail"), "{dead}");
    let billing = api.create_key("billing").await;
    let refused = assert_problem(api.request(Method::GET, "/v1/jobs", Some(&billing), None).await, 403).await;
    assert_eq!(refused["detail"], "the billing role cannot see or retry failed jobs");
    assert_eq!(error_fields(&assert_problem(api.get("/v1/jobs?state=odd").await, 400).await), ["state"]);

    // Fixed, retried: classified in full. A second retry of the same dead job is a 409.
    let fix = sea_orm::Statement::from_sql_and_values(
        backend_kind,
        if backend_kind == sea_orm::DbBackend::Postgres {
            "UPDATE claim_payments SET detail = $1 WHERE claim_number = 'D-5'"
        } else {
            "UPDATE claim_payments SET detail = ? WHERE claim_number = 'D-5'"
        },
        [original.into()],
    );
    db.write.execute_raw(fix).await.unwrap();
    let job = dead["id"].as_str().unwrap();
    let retried = api.request(Method::POST, &format!("/v1/jobs/{job}/retry"), Some(&api.admin_key), None).await;
    assert_eq!(retried.status(), 202);
    assert_problem(api.request(Method::POST, &format!("/v1/jobs/{job}/retry"), Some(&api.admin_key), None).await, 409)
        .await;
    assert_eq!(denials_of(&api, &id, 5).await.len(), 5);
    assert_eq!(api.get_json("/v1/jobs?state=failed").await["items"].as_array().unwrap().len(), 0);
    assert_eq!(api.get_json("/v1/jobs?state=retried").await["items"][0]["id"], job);

    // Run again from scratch: nothing is written twice.
    use overturn_entity::{outbox, remittance};
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
    let remittance_id = uuid::Uuid::parse_str(&id).unwrap();
    let classified = || async {
        remittance::Entity::find_by_id(remittance_id).one(&db.write).await.unwrap().and_then(|r| r.classified_at)
    };
    api.eventually("classified", classified).await;
    let mut row: remittance::ActiveModel =
        remittance::Entity::find_by_id(remittance_id).one(&db.write).await.unwrap().unwrap().into();
    row.classified_at = Set(None);
    row.update(&db.write).await.unwrap();
    queue_classification(&db, &id).await;
    api.eventually("classified again", classified).await;
    assert_eq!(stored_denials(&db).await, 5);

    // Handed-over outbox rows are purged after a day, not before.
    let purge = || overturn_service::maintenance::purge_dispatched_outbox(&db.write);
    assert_eq!(purge().await.unwrap(), 0);
    let two_days_ago = chrono::Utc::now() - chrono::Duration::days(2);
    let handed = outbox::Entity::update_many()
        .col_expr(outbox::Column::DispatchedAt, sea_orm::sea_query::Expr::value(two_days_ago))
        .filter(outbox::Column::DispatchedAt.is_not_null())
        .exec(&db.write)
        .await
        .unwrap()
        .rows_affected;
    assert!(handed >= 3, "the original, the retry and the re-run");
    assert_eq!(purge().await.unwrap(), handed);

    // Readiness and metrics show the queue.
    // (A classification queues the planning of its follow-ups: the relay hands it over within
    // a poll.)
    let ready = api
        .eventually("the outbox handed over", || async {
            let ready = api.get_json("/ready").await;
            (ready["outbox_pending"] == 0).then_some(ready)
        })
        .await;
    assert_eq!(ready["checks"]["queue"], if backend == Backend::Postgres { "redis" } else { "sqlite" });
    let metrics = worker.client.get(worker.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("overturn_queue_depth"), "{metrics}");
    assert!(metrics.contains("overturn_jobs_total{outcome=\"failed\"} 1"), "{metrics}");
}

/// Urgency grows as a deadline nears: the upkeep pass recomputes the priority of open denials
/// and leaves closed ones alone; a second pass the same day changes nothing.
async fn upkeep_raises_priorities_as_deadlines_near(backend: Backend) {
    let app = spawn_app_without_workers(backend).await;
    let id = post_remittance(&app, "DEN-7").await;
    let denials = classified(&app, &id, 5).await;
    let closed = by_claim(&denials, "D-4")["id"].as_str().unwrap().to_owned();
    assert_eq!(act(&app, &app.admin_key, &closed, json!({"action": "write_off"})).await.status(), 200);
    let db = app.database().await;
    let deadline: NaiveDate = by_claim(&denials, "D-5")["appeal_deadline"].as_str().unwrap().parse().unwrap();
    let refresh = |today| overturn_service::maintenance::refresh_priorities(&db.write, today);
    // Today, nothing is stale.
    assert_eq!(refresh(chrono::Utc::now().date_naive()).await.unwrap(), 0);
    // The day before the deadline (180 days after production): every open denial is more urgent.
    let eve = deadline - chrono::Days::new(1);
    assert_eq!(refresh(eve).await.unwrap(), 4);
    assert_eq!(refresh(eve).await.unwrap(), 0);
    let before = by_claim(&denials, "D-5")["priority"].as_i64().unwrap();
    let after = app.get_json("/v1/denials?claim_number=D-5").await["items"][0]["priority"].as_i64().unwrap();
    assert!(after > 2 * before, "{before} → {after}");
    let untouched = app.get_json(&format!("/v1/denials/{closed}")).await;
    assert_eq!(untouched["priority"], by_claim(&denials, "D-4")["priority"]);
}

/// A queue that lost its jobs (Redis flushed, say) loses no work: the sweep queues remittances
/// left unclassified again, except those whose job is in the dead-job list.
async fn the_sweep_requeues_work_the_queue_lost(backend: Backend) {
    use overturn_entity::{failed_job, outbox, remittance};
    use sea_orm::EntityTrait;
    let api = spawn_app_with(backend, ServeRole::Api, &[]).await;
    let lost = post_remittance(&api, "DEN-10").await;
    let dead = post_remittance(&api, "DEN-11").await;
    let db = api.database().await;
    // Handed to a queue that then lost them.
    outbox::Entity::update_many()
        .col_expr(outbox::Column::DispatchedAt, sea_orm::sea_query::Expr::value(chrono::Utc::now()))
        .exec(&db.write)
        .await
        .unwrap();
    failed_job::Entity::insert(failed_job::ActiveModel::from(failed_job::Model {
        id: uuid::Uuid::now_v7(),
        topic: "classify_remittance".into(),
        subject_id: Some(uuid::Uuid::parse_str(&dead).unwrap()),
        payload: json!({ "remittance_id": dead }),
        error: "unreadable detail".into(),
        attempts: 6,
        failed_at: chrono::Utc::now(),
        retried_at: None,
    }))
    .exec_without_returning(&db.write)
    .await
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;

    let _worker = api.replica(ServeRole::Worker, &[("OVERTURN_JOB_STALE_AFTER_SECS", "1")]).await;
    assert_eq!(denials_of(&api, &lost, 5).await.len(), 5);
    // Two more sweeps, and the dead one is still left to a person.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let dead_id = uuid::Uuid::parse_str(&dead).unwrap();
    let row = remittance::Entity::find_by_id(dead_id).one(&db.write).await.unwrap().unwrap();
    assert_eq!(row.classified_at, None);
    let rows = outbox::Entity::find().all(&db.write).await.unwrap();
    let requeued = rows.iter().filter(|r| r.payload["remittance_id"] == dead.as_str()).count();
    assert_eq!(requeued, 1, "only its original row");
}

/// The same remittance's job four times over, taken by two workers at once: each denial once.
async fn workers_racing_on_one_remittance_write_each_denial_once(backend: Backend) {
    let api = spawn_app_with(backend, ServeRole::Api, &[]).await;
    let id = post_remittance(&api, "DEN-8").await;
    let db = api.database().await;
    for _ in 0..3 {
        queue_classification(&db, &id).await;
    }
    let small_rounds = [("OVERTURN_CLASSIFY_BATCH", "1")];
    let (_a, _b) =
        tokio::join!(api.replica(ServeRole::Worker, &small_rounds), api.replica(ServeRole::Worker, &small_rounds));
    api.eventually("every job run", || async {
        let pending: i64 = db
            .write
            .query_one_raw(sea_orm::Statement::from_string(
                db.write.get_database_backend(),
                "SELECT COUNT(*) FROM outbox WHERE dispatched_at IS NULL",
            ))
            .await
            .unwrap()?
            .try_get_by_index(0)
            .ok()?;
        let ready = api.get_json("/ready").await;
        (pending == 0 && ready["queue_depth"] == 0).then_some(())
    })
    .await;
    let denials = denials_of(&api, &id, 5).await;
    assert_eq!(denials.len(), 5);
    assert_eq!(stored_denials(&db).await, 5);
}

/// A failure that passes (the table briefly unavailable, as during a migration or failover) is
/// retried with backoff and succeeds, without a dead job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transient_failure_is_retried_until_it_passes() {
    let api = spawn_app_with(Backend::Postgres, ServeRole::Api, &[]).await;
    let id = post_remittance(&api, "DEN-9").await;
    let db = api.database().await;
    db.write.execute_unprepared("ALTER TABLE denials RENAME TO denials_away").await.unwrap();
    let worker = api.replica(ServeRole::Worker, &[]).await;
    let retried = |text: &str| text.contains("overturn_jobs_total{outcome=\"retried\"} 1");
    api.eventually("a retry", || async {
        let metrics = worker.client.get(worker.url("/metrics")).send().await.ok()?.text().await.ok()?;
        retried(&metrics).then_some(())
    })
    .await;
    db.write.execute_unprepared("ALTER TABLE denials_away RENAME TO denials").await.unwrap();
    assert_eq!(denials_of(&api, &id, 5).await.len(), 5);
    assert_eq!(api.get_json("/v1/jobs").await["items"].as_array().unwrap().len(), 0);
    let metrics = worker.client.get(worker.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("overturn_jobs_total{outcome=\"failed\"} 0"), "{metrics}");
}

/// An outbox row naming work this version does not run (written by a newer version, or by
/// hand) goes to the dead-job list as it was stored, and the work behind it still runs; it
/// cannot be retried here.
async fn unknown_work_in_the_outbox_is_set_aside_not_run(backend: Backend) {
    use overturn_entity::outbox;
    use sea_orm::EntityTrait;
    let api = spawn_app_with(backend, ServeRole::Api, &[]).await;
    let db = api.database().await;
    let unknown = uuid::Uuid::now_v7();
    outbox::Entity::insert(outbox::ActiveModel::from(outbox::Model {
        id: unknown,
        topic: "reticulate_splines".into(),
        payload: json!({ "splines": 3 }),
        created_at: chrono::Utc::now(),
        dispatched_at: None,
    }))
    .exec_without_returning(&db.write)
    .await
    .unwrap();
    let id = post_remittance(&api, "DEN-12").await;

    let _worker = api.replica(ServeRole::Worker, &[]).await;
    assert_eq!(denials_of(&api, &id, 5).await.len(), 5, "the remittance behind it is classified");
    let dead = api
        .eventually("the unknown work set aside", || async {
            let body = api.get_json("/v1/jobs?state=failed").await;
            body["items"].as_array().and_then(|a| a.first().cloned())
        })
        .await;
    assert_eq!(dead["id"], unknown.to_string());
    assert_eq!(dead["topic"], "reticulate_splines");
    assert_eq!(dead["payload"], json!({ "splines": 3 }));
    assert!(dead["error"].as_str().unwrap().contains("reticulate_splines"), "{dead}");
    let row = outbox::Entity::find_by_id(unknown).one(&db.write).await.unwrap().unwrap();
    assert!(row.dispatched_at.is_some(), "not read again on every pass");
    let retried = api.post(&format!("/v1/jobs/{unknown}/retry"), &json!({})).await;
    let problem = assert_problem(retried, 422).await;
    assert!(problem["detail"].as_str().unwrap().contains("cannot run again"), "{problem}");
    assert_eq!(api.get_json("/v1/jobs?state=failed").await["items"].as_array().unwrap().len(), 1, "still there");
}

crate::on_both_backends!(
    unknown_work_in_the_outbox_is_set_aside_not_run,
    the_sweep_requeues_work_the_queue_lost,
    workers_racing_on_one_remittance_write_each_denial_once,
    upkeep_raises_priorities_as_deadlines_near,
    a_remittance_is_classified_into_the_worklist,
    the_worklist_filters_sorts_and_pages,
    denials_are_worked_through_their_states_with_an_audit_trail,
    payer_rules_default_and_changing_them_moves_open_deadlines,
    analytics_count_denials_by_category_payer_and_reason,
    jobs_are_idempotent_and_dead_ones_can_be_retried,
    a_claim_embeds_a_bounded_number_of_denials,
);

/// A claim with more denials than a claim view embeds shows the first hundred and how many
/// there are; the worklist pages all of them. A remark repeated by the payer is listed once,
/// and a claim beyond the 835 guide's limits is refused whole.
async fn a_claim_embeds_a_bounded_number_of_denials(backend: Backend) {
    let app = spawn_app_with(backend, ServeRole::All, &[]).await;
    created_claim(&app, "BIG-1").await;
    let line = "SVC*HC:99213*10*0**1~CAS*CO*16*10~LQ*HE*N54~LQ*HE*N54~LQ*HE*M51";
    let mut segments = vec!["CLP*BIG-1*4*1500*0*0*12*ICNBIG"];
    for _ in 0..150 {
        segments.extend(line.split('~'));
    }
    let res = app.post_edi(&crate::remittances::edi("BIG-TRACE", "0", "C", &segments, 7301)).await;
    assert_eq!(res.status(), 202, "{}", res.text().await.unwrap());
    let claim = app
        .eventually("the claim's denials", || async {
            let list = app.get_json("/v1/claims?claim_number=BIG-1").await;
            let claim = list["items"][0].clone();
            (claim["denial_count"] == 150).then_some(claim)
        })
        .await;
    assert_eq!(claim["denials"].as_array().unwrap().len(), 100);
    assert_eq!(claim["denials"][0]["remark_codes"], json!(["N54", "M51"]));
    let id = claim["id"].as_str().unwrap();
    let one = app.get_json(&format!("/v1/claims/{id}")).await;
    assert_eq!((one["denials"].as_array().unwrap().len(), one["denial_count"].as_i64()), (100, Some(150)));
    assert!(one["follow_up_count"].as_i64().unwrap() >= one["follow_ups"].as_array().unwrap().len() as i64);
    let mut seen = 0;
    let mut cursor = String::new();
    loop {
        let page = app.get_json(&format!("/v1/denials?claim_id={id}&limit=100&cursor={cursor}")).await;
        seen += page["items"].as_array().unwrap().len();
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, 150);

    // A thousand service lines on one claim: refused, nothing stored.
    let mut absurd = vec!["CLP*BIG-2*4*10000*0*0*12*ICNBIG2"];
    for _ in 0..1000 {
        absurd.extend("SVC*HC:99213*10*0**1~CAS*CO*16*10".split('~'));
    }
    let problem =
        assert_problem(app.post_edi(&crate::remittances::edi("BIG-TRACE-2", "0", "C", &absurd, 7302)).await, 400).await;
    assert_eq!(problem["segment_id"], "SVC", "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("999 service lines"), "{problem}");
}
