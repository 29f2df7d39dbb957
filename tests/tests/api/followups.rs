//! Follow-ups: claims and denials chased on the dates payer rules give, fired to the right
//! contact through real local receivers, worked through the API, and cancelled by payments.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use overturn::startup::ServeRole;
use overturn_entity::follow_up;
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, assert_problem, claim_body, error_fields, spawn_app_with};
use crate::receiver::{Receiver, verified_independently};
use crate::remittances::edi;

async fn delivering_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, ServeRole::All, &[("OVERTURN_WEBHOOK_ALLOW_PRIVATE", "true")]).await
}

/// A payer contact for payer 60054 taking its default events (follow-ups among them).
async fn payer_contact(app: &TestApp, receiver: &Receiver) -> Value {
    let res = app
        .request(
            Method::POST,
            "/v1/contacts",
            Some(&app.admin_key),
            Some(&json!({ "kind": "payer", "reference": "60054", "name": "Acme calls", "webhook_url": receiver.url })),
        )
        .await;
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

async fn create_claim(app: &TestApp, body: &Value) -> Value {
    let res = app.post_claim(body).await;
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body
}

fn ago(days: i64) -> String {
    (Utc::now() - chrono::Duration::days(days)).to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A claim submitted `days` ago for a service that day.
fn claim_submitted(number: &str, days: i64) -> Value {
    let mut body = claim_body(number);
    body["submitted_at"] = json!(ago(days));
    body["service_date"] = json!((Utc::now() - chrono::Duration::days(days)).date_naive().to_string());
    body["lines"] = json!([{"procedure_code": "99213", "charge": "100.00"}]);
    body
}

fn follow_up_of<'a>(claim: &'a Value, kind: &str) -> &'a Value {
    claim["follow_ups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {claim}"))
}

async fn post_action(app: &TestApp, id: &str, action: &str, body: Option<&Value>) -> reqwest::Response {
    app.request(Method::POST, &format!("/v1/follow-ups/{id}/{action}"), Some(&app.admin_key), body).await
}

async fn an_unanswered_claim_is_chased_at_the_payer(backend: Backend) {
    let app = delivering_app(backend).await;
    let receiver = Receiver::start().await;
    let contact = payer_contact(&app, &receiver).await;
    let body = claim_submitted("FU-1", 40);
    let claim = create_claim(&app, &body).await;
    let submitted: chrono::DateTime<Utc> = serde_json::from_value(claim["submitted_at"].clone()).unwrap();
    let check = follow_up_of(&claim, "status_check");
    assert_eq!(check["target"], "payer");
    let due: chrono::DateTime<Utc> = serde_json::from_value(check["due_at"].clone()).unwrap();
    assert_eq!(due, submitted + chrono::Duration::days(30), "30 calendar days by default");
    // Timely filing: 365 days from the date of service, chased 30 days before.
    let filing = follow_up_of(&claim, "timely_filing");
    let service = chrono::NaiveDate::parse_from_str(body["service_date"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    assert_eq!(filing["due_at"], format!("{}T00:00:00Z", service + chrono::Days::new(335)));
    assert!(claim["status"] == "submitted");
    assert_eq!(filing["status"], "scheduled");

    // Ten days overdue: it fires at once, signed, to the payer's contact.
    let request = receiver.wait_for(1).await.remove(0);
    assert!(verified_independently(contact["signing_secret"].as_str().unwrap(), &request));
    let event = request.json();
    assert_eq!(event["type"], "followup.due");
    assert_eq!(event["data"]["kind"], "status_check");
    assert_eq!(event["data"]["claim_number"], "FU-1");
    assert_eq!(event["data"]["claim_id"], claim["id"]);
    assert_eq!(event["data"]["payer_id"], "60054");
    assert_eq!(event["data"]["member_id"], Value::Null);
    assert_eq!(event["data"]["follow_up_id"], check["id"]);
    assert_eq!(event["data"]["inquiry_url"], format!("/v1/follow-ups/{}/276", check["id"].as_str().unwrap()));
    assert!(!request.body.contains("Doe") && !request.body.contains("MEM1001"), "no PHI: {}", request.body);

    // It waits in the worklist, and shows on the claim.
    let fired = app.get_json("/v1/follow-ups?status=fired&claim_number=FU-1").await;
    assert_eq!(fired["items"].as_array().unwrap().len(), 1, "{fired}");
    assert_eq!(fired["items"][0]["fire_count"], 1);
    let shown = app.get_json(&format!("/v1/claims/{}", claim["id"].as_str().unwrap())).await;
    assert_eq!(follow_up_of(&shown, "status_check")["status"], "fired");

    // Completed with a note; a second completion is a conflict.
    let id = check["id"].as_str().unwrap();
    let res = post_action(&app, id, "complete", Some(&json!({"note": "Payer says: in process"}))).await;
    assert_eq!(res.status(), 200);
    let done: Value = res.json().await.unwrap();
    assert_eq!((done["status"].as_str(), done["note"].as_str()), (Some("completed"), Some("Payer says: in process")));
    assert!(done["closed_at"].is_string());
    assert_problem(post_action(&app, id, "complete", None).await, 409).await;
    // JSON `null`, which the document allows for the optional body, is no body: the same 409.
    assert_problem(post_action(&app, id, "complete", Some(&Value::Null)).await, 409).await;
    assert_problem(post_action(&app, id, "snooze", Some(&json!({"until": "2030-01-01"}))).await, 409).await;
    // Nothing fired twice.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 1);
}

async fn a_payment_cancels_the_status_check(backend: Backend) {
    let app = delivering_app(backend).await;
    let mut body = claim_body("FU-2");
    body["lines"] = json!([{"procedure_code": "99213", "charge": "100.00"}]);
    let claim = create_claim(&app, &body).await;
    assert_eq!(follow_up_of(&claim, "status_check")["status"], "scheduled");
    let res = app
        .post_edi(&edi(
            "FU-PAY-1",
            "80",
            "C",
            &["CLP*FU-2*1*100*80*20*12*ICN-FU2", "NM1*QC*1*DOE*JANE****MI*MEM1001", "CAS*PR*2*20"],
            9101,
        ))
        .await;
    assert_eq!(res.status(), 202);
    let path = format!("/v1/claims/{}", claim["id"].as_str().unwrap());
    assert_eq!(app.get_json(&path).await["status"], "paid");
    // The remittance's follow-up job cancels what the answer ends.
    let shown = app
        .eventually("the status check cancelled", || async {
            let shown = app.get_json(&path).await;
            (follow_up_of(&shown, "status_check")["status"] != "scheduled").then_some(shown)
        })
        .await;
    for kind in ["status_check", "timely_filing"] {
        let f = follow_up_of(&shown, kind);
        assert_eq!((f["status"].as_str(), f["close_reason"].as_str()), (Some("cancelled"), Some("the payer answered")));
    }
    // The patient's share gets its reminder a statement cycle later.
    let outreach = app
        .eventually("the balance reminder", || async {
            let list = app.get_json("/v1/follow-ups?claim_number=FU-2&kind=patient_outreach").await;
            list["items"].as_array().unwrap().first().cloned()
        })
        .await;
    assert_eq!((outreach["target"].as_str(), outreach["member_id"].as_str()), (Some("patient"), Some("MEM1001")));
    let due: chrono::DateTime<Utc> = serde_json::from_value(outreach["due_at"].clone()).unwrap();
    assert!((due - Utc::now() - chrono::Duration::days(30)).num_minutes().abs() < 5, "{due}");

    // A payment arriving before its claim: the claim is created answered.
    let res = app.post_edi(&edi("FU-PAY-2", "100", "C", &["CLP*FU-3*1*100*100*0*12*ICN-FU3"], 9102)).await;
    assert_eq!(res.status(), 202);
    let mut body = claim_body("FU-3");
    body["lines"] = json!([{"procedure_code": "99213", "charge": "100.00"}]);
    let created = create_claim(&app, &body).await;
    assert_eq!(created["status"], "paid");
    assert_eq!(follow_up_of(&created, "status_check")["status"], "cancelled");
}

/// A status check already due whose claim the payer has answered, fired before the
/// remittance's follow-up job got to cancel it: the firing cancels it instead, and no
/// `followup.due` goes out.
async fn an_answered_claim_is_not_chased(backend: Backend) {
    // No worker: nothing fires or cancels until the test says so.
    let app = spawn_app_with(backend, ServeRole::Api, &[("OVERTURN_WEBHOOK_ALLOW_PRIVATE", "true")]).await;
    let receiver = Receiver::start().await;
    payer_contact(&app, &receiver).await;
    // Due in ten days when the claim is created (one due already would fire with it)...
    let claim = create_claim(&app, &claim_submitted("FU-9", 20)).await;
    let check = follow_up_of(&claim, "status_check");
    assert_eq!(check["status"], "scheduled");
    let db = app.database().await;
    let id: uuid::Uuid = check["id"].as_str().unwrap().parse().unwrap();
    // ...and ten days have passed.
    follow_up::Entity::update_many()
        .col_expr(follow_up::Column::DueAt, sea_orm::sea_query::Expr::value(Utc::now() - chrono::Duration::days(10)))
        .filter(follow_up::Column::Id.eq(id))
        .exec(&db.write)
        .await
        .unwrap();
    let res =
        app.post_edi(&edi("FU-PAY-9", "80", "C", &["CLP*FU-9*1*100*80*20*12*ICN-FU9", "CAS*PR*2*20"], 9109)).await;
    assert_eq!(res.status(), 202);
    let shown = app.get_json(&format!("/v1/claims/{}", claim["id"].as_str().unwrap())).await;
    assert_eq!(shown["status"], "paid");
    assert_eq!(follow_up_of(&shown, "status_check")["status"], "scheduled", "the follow-up job has not run");

    let fired = overturn_service::followups::fire(&db.write, &[id]).await.unwrap();
    assert_eq!(fired, overturn_service::followups::Fired { fired: 0, deliveries: 0 });
    let row = follow_up::Entity::find_by_id(id).one(&db.read).await.unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.close_reason.as_deref()), ("cancelled", Some("the payer answered")));
    assert_eq!(row.fire_count, 0);
    // A worker started now finds nothing left to send.
    let _worker = app.replica(ServeRole::Worker, &[]).await;
    app.eventually("the remittance classified", || async {
        let list = app.get_json("/v1/remittances").await;
        list["items"][0]["classified_at"].is_string().then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(receiver.received().is_empty(), "nothing chased: {:?}", receiver.received().len());
}

/// An 835 produced today, so its denials' deadlines lie ahead.
fn fresh_edi(trace: &str, claims: &[&str], control: u32) -> String {
    let today = Utc::now().date_naive().format("%Y%m%d").to_string();
    edi(trace, "0", "C", claims, control).replace("20250301", &today)
}

async fn a_denial_gets_its_reminders_and_a_rule_change_moves_them(backend: Backend) {
    let app = delivering_app(backend).await;
    let receiver = Receiver::start().await;
    payer_contact(&app, &receiver).await;
    let res = app.post_edi(&fresh_edi("FU-DEN-1", &["CLP*FU-4*4*300*0*0*12*ICN-FU4", "CAS*CO*50*300"], 9103)).await;
    assert_eq!(res.status(), 202);
    let reminders = app
        .eventually("the appeal reminders", || async {
            let list = app.get_json("/v1/follow-ups?claim_number=FU-4&kind=appeal_deadline").await;
            let items = list["items"].as_array().unwrap().clone();
            (items.len() == 4).then_some(items)
        })
        .await;
    let today = Utc::now().date_naive();
    let deadline = today + chrono::Days::new(180);
    let days: Vec<Value> = reminders.iter().map(|r| r["days_before_deadline"].clone()).collect();
    assert_eq!(days, [json!(30), json!(14), json!(3), Value::Null]);
    let due: Vec<&str> = reminders.iter().map(|r| r["due_at"].as_str().unwrap()).collect();
    let on = |d: chrono::NaiveDate| format!("{d}T00:00:00Z");
    assert_eq!(
        due,
        [
            on(deadline - chrono::Days::new(30)),
            on(deadline - chrono::Days::new(14)),
            on(deadline - chrono::Days::new(3)),
            on(deadline + chrono::Days::new(1)),
        ]
    );
    assert_eq!(reminders[3]["escalation"], true);
    assert!(reminders.iter().all(|r| r["status"] == "scheduled" && r["denial_id"].is_string()));
    let denial_id = reminders[0]["denial_id"].as_str().unwrap().to_owned();
    assert!(receiver.received().is_empty(), "nothing is due yet");

    // A 14-day window: the 14-day reminder falls due today and fires; the 30-day one's day
    // is over and it is cancelled; the rest move.
    let res = app
        .request(Method::PUT, "/v1/payers/60054/rules", Some(&app.admin_key), Some(&json!({"appeal_window_days": 14})))
        .await;
    let rules: Value = res.json().await.unwrap();
    assert_eq!(rules["updated_follow_ups"], 4, "{rules}");
    let event = receiver.wait_for(1).await.remove(0).json();
    assert_eq!(event["data"]["kind"], "appeal_deadline");
    assert_eq!(event["data"]["inquiry_url"], Value::Null, "only a status check asks the payer");
    assert_eq!(event["data"]["denial_id"], denial_id);
    assert_eq!(event["data"]["days_left"], 14);
    assert_eq!(event["data"]["appeal_deadline"], (today + chrono::Days::new(14)).to_string());
    assert_eq!(event["data"]["escalation"], false);
    let denial = app.get_json(&format!("/v1/denials/{denial_id}")).await;
    assert_eq!(event["data"]["priority"], denial["priority"]);
    let list = app.get_json(&format!("/v1/follow-ups?denial_id={denial_id}&kind=appeal_deadline")).await;
    let statuses: Vec<(Value, &str)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["days_before_deadline"].clone(), r["status"].as_str().unwrap()))
        .collect();
    // Soonest due first; the cancelled reminder keeps the date it had.
    assert_eq!(
        statuses,
        [(json!(14), "fired"), (json!(3), "scheduled"), (Value::Null, "scheduled"), (json!(30), "cancelled")]
    );

    // Appealing ends the reminders; nothing more is sent.
    let res = app
        .request(
            Method::POST,
            &format!("/v1/denials/{denial_id}/actions"),
            Some(&app.admin_key),
            Some(&json!({"action": "appeal"})),
        )
        .await;
    assert_eq!(res.status(), 200);
    let list = app.get_json(&format!("/v1/follow-ups?denial_id={denial_id}&status=scheduled,fired")).await;
    assert_eq!(list["items"], json!([]), "{list}");
    assert_eq!(receiver.received().len(), 1);
}

async fn a_snoozed_follow_up_fires_again_at_its_new_time(backend: Backend) {
    let app = delivering_app(backend).await;
    let receiver = Receiver::start().await;
    payer_contact(&app, &receiver).await;
    let body = claim_submitted("FU-5", 31);
    let claim = create_claim(&app, &body).await;
    let id = follow_up_of(&claim, "status_check")["id"].as_str().unwrap().to_owned();
    let first = receiver.wait_for(1).await.remove(0);

    // Bad snoozes name the field and change nothing.
    for until in ["yesterday", "2020-01-01", "2999-01-01"] {
        let bad = assert_problem(post_action(&app, &id, "snooze", Some(&json!({ "until": until }))).await, 400).await;
        assert_eq!(error_fields(&bad), ["until"], "{until}");
    }
    let bad = assert_problem(post_action(&app, &id, "snooze", Some(&json!({ "when": "2030-01-01" }))).await, 400).await;
    assert!(!error_fields(&bad).is_empty());

    let until = (Utc::now() + chrono::Duration::seconds(3)).to_rfc3339_opts(SecondsFormat::Millis, true);
    let res = post_action(&app, &id, "snooze", Some(&json!({ "until": until, "note": "call back" }))).await;
    let snoozed: Value = res.json().await.unwrap();
    assert_eq!(
        (snoozed["status"].as_str(), snoozed["snoozed"].as_bool()),
        (Some("scheduled"), Some(true)),
        "{snoozed}"
    );
    let due: chrono::DateTime<Utc> = serde_json::from_value(snoozed["due_at"].clone()).unwrap();
    assert_eq!(due, chrono::DateTime::parse_from_rfc3339(&until).unwrap());
    assert_eq!(receiver.received().len(), 1, "not before its new time");

    let second = receiver.wait_for(2).await.remove(1);
    let arrived = Utc::now();
    assert!(arrived >= due, "fired at {arrived}, due {due}");
    assert_ne!(second.header("webhook-id"), first.header("webhook-id"), "a new firing is a new event");
    assert_eq!(second.json()["data"]["due_at"], snoozed["due_at"]);
    let shown = app.get_json(&format!("/v1/follow-ups/{id}")).await;
    assert_eq!((shown["status"].as_str(), shown["fire_count"].as_i64()), (Some("fired"), Some(2)));

    // A snoozed follow-up keeps its date when the payer's rules change.
    let res = app
        .request(
            Method::PUT,
            "/v1/payers/60054/rules",
            Some(&app.admin_key),
            Some(&json!({"status_check_after_days": 60})),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.get_json(&format!("/v1/follow-ups/{id}")).await["due_at"], snoozed["due_at"]);

    // Reassigned; the list filters on it; the portal sees none of it.
    let res = post_action(&app, &id, "reassign", Some(&json!({"assignee": "kim.lee"}))).await;
    assert_eq!(res.status(), 200);
    let mine = app.get_json("/v1/follow-ups?assignee=kim.lee").await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine["items"][0]["id"], id.as_str());
    let bad = assert_problem(post_action(&app, &id, "reassign", Some(&json!({"assignee": ""}))).await, 400).await;
    assert_eq!(error_fields(&bad), ["assignee"]);
    let portal = app.create_key("portal").await;
    assert_problem(app.request(Method::GET, "/v1/follow-ups", Some(&portal), None).await, 403).await;
    assert_problem(app.request(Method::POST, &format!("/v1/follow-ups/{id}/complete"), Some(&portal), None).await, 403)
        .await;
    assert_problem(
        app.request(Method::GET, &format!("/v1/follow-ups/{}", uuid::Uuid::now_v7()), None, None).await,
        401,
    )
    .await;
    assert_problem(
        app.request(Method::GET, &format!("/v1/follow-ups/{}", uuid::Uuid::now_v7()), Some(&app.admin_key), None).await,
        404,
    )
    .await;
}

async fn the_list_filters_and_pages_by_due_date(backend: Backend) {
    let app = spawn_app_with(backend, ServeRole::Api, &[]).await;
    for (n, days) in [(1, 5), (2, 3), (3, 4)] {
        create_claim(&app, &claim_submitted(&format!("FL-{n}"), days)).await;
    }
    // Status checks fall due 25, 27 and 26 days from now: soonest first, two per page.
    let page = app.get_json("/v1/follow-ups?kind=status_check&limit=2").await;
    let numbers: Vec<&str> =
        page["items"].as_array().unwrap().iter().map(|f| f["claim_number"].as_str().unwrap()).collect();
    assert_eq!(numbers, ["FL-1", "FL-3"]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let next = app.get_json(&format!("/v1/follow-ups?kind=status_check&limit=2&cursor={cursor}")).await;
    assert_eq!(next["items"][0]["claim_number"], "FL-2");
    assert_eq!(next["next_cursor"], Value::Null);

    let before = (Utc::now() + chrono::Duration::days(26) + chrono::Duration::hours(1))
        .to_rfc3339_opts(SecondsFormat::Secs, true);
    let soon = app.get_json(&format!("/v1/follow-ups?kind=status_check&due_before={before}")).await;
    assert_eq!(soon["items"].as_array().unwrap().len(), 2, "{soon}");
    let after = (Utc::now() + chrono::Duration::days(40)).date_naive().to_string();
    let later = app.get_json(&format!("/v1/follow-ups?due_after={after}")).await;
    let kinds: Vec<&str> = later["items"].as_array().unwrap().iter().map(|f| f["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["timely_filing"; 3], "{later}");
    let payer_only = app.get_json("/v1/follow-ups?target=patient").await;
    assert_eq!(payer_only["items"], json!([]));

    for query in ["kind=nope", "status=open", "target=doctor", "due_before=soon", "claim_id=x", "limit=0", "cursor=zz"]
    {
        let res = app.request(Method::GET, &format!("/v1/follow-ups?{query}"), Some(&app.admin_key), None).await;
        let problem = assert_problem(res, 400).await;
        let field = query.split('=').next().unwrap();
        assert_eq!(error_fields(&problem), [field], "{query}");
    }
}

/// Many follow-ups due in the same moment, two workers firing them: each fires once.
/// A claim that arrives with follow-ups already due (a date of service long past) fires them
/// in its own transaction: the 201 shows them fired and their events are stored with the
/// claim, with no worker running. A worker then sends each once. A claim a waiting payment
/// answers as it is created fires nothing.
async fn a_claim_arriving_overdue_fires_with_its_commit(backend: Backend) {
    let app = spawn_app_with(backend, ServeRole::Api, &[("OVERTURN_WEBHOOK_ALLOW_PRIVATE", "true")]).await;
    let receiver = Receiver::start().await;
    let contact = payer_contact(&app, &receiver).await;
    // Submitted and served 400 days ago: the status check (30 days) and the timely-filing
    // watch (335 days) are both past.
    let claim = create_claim(&app, &claim_submitted("FU-20", 400)).await;
    let shown = app.get_json(&format!("/v1/claims/{}", claim["id"].as_str().unwrap())).await;
    for kind in ["status_check", "timely_filing"] {
        let answered = follow_up_of(&claim, kind);
        assert_eq!(
            (answered["status"].as_str(), answered["fire_count"].as_i64()),
            (Some("fired"), Some(1)),
            "{answered}"
        );
        assert!(answered["fired_at"].is_string(), "{answered}");
        assert_eq!(answered, follow_up_of(&shown, kind), "the 201 shows what was stored");
    }
    let deliveries = app.get_json(&format!("/v1/contacts/{}/deliveries", contact["id"].as_str().unwrap())).await;
    assert_eq!(deliveries["items"].as_array().unwrap().len(), 2, "stored with the claim: {deliveries}");

    let _worker = app.replica(ServeRole::Worker, &[("OVERTURN_WEBHOOK_ALLOW_PRIVATE", "true")]).await;
    let mut kinds: Vec<String> =
        receiver.wait_for(2).await.iter().map(|r| r.json()["data"]["kind"].as_str().unwrap().to_owned()).collect();
    kinds.sort();
    assert_eq!(kinds, ["status_check", "timely_filing"]);

    // Paid before it was created: answered on arrival, so nothing of it is chased.
    let res = app.post_edi(&edi("FU-PAY-21", "100", "C", &["CLP*FU-21*1*100*100*0*12*ICN-FU21"], 9121)).await;
    assert_eq!(res.status(), 202);
    let answered = create_claim(&app, &claim_submitted("FU-21", 400)).await;
    assert_eq!(answered["status"], "paid");
    for kind in ["status_check", "timely_filing"] {
        let f = follow_up_of(&answered, kind);
        assert_eq!((f["status"].as_str(), f["fire_count"].as_i64()), (Some("cancelled"), Some(0)), "{f}");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 2, "each sent once, and nothing for the answered claim");
}

async fn a_crowd_due_at_once_fires_each_once(backend: Backend) {
    const COUNT: usize = 20_000;
    let app = spawn_app_with(backend, ServeRole::Api, &[]).await;
    let db = app.database().await;
    let due = overturn_service::sql::now() + chrono::Duration::seconds(2);
    let rows = overturn_tests::crowd_of_follow_ups(COUNT, "60054", due);
    assert_eq!(rows.len(), COUNT);
    assert!(rows.iter().all(|r| r.due_at == due));
    overturn_service::followups::schedule(&db.write, &rows).await.unwrap();
    // Two worker processes' worth of schedulers and consumers on the one database and queue.
    let _one = app.replica(ServeRole::Worker, &[]).await;
    let _two = app.replica(ServeRole::Worker, &[]).await;
    app.eventually("every follow-up fired", || async {
        let left =
            follow_up::Entity::find().filter(follow_up::Column::Status.eq("scheduled")).count(&db.read).await.unwrap();
        (left == 0).then_some(())
    })
    .await;
    let fired_once =
        follow_up::Entity::find().filter(follow_up::Column::FireCount.eq(1)).count(&db.read).await.unwrap();
    assert_eq!(fired_once, COUNT as u64, "each fired exactly once");
    let early = follow_up::Entity::find().filter(follow_up::Column::FiredAt.lt(due)).count(&db.read).await.unwrap();
    assert_eq!(early, 0, "none before its time");
}

crate::on_both_backends!(
    an_unanswered_claim_is_chased_at_the_payer,
    a_payment_cancels_the_status_check,
    an_answered_claim_is_not_chased,
    a_claim_arriving_overdue_fires_with_its_commit,
    a_denial_gets_its_reminders_and_a_rule_change_moves_them,
    a_snoozed_follow_up_fires_again_at_its_new_time,
    the_list_filters_and_pages_by_due_date,
    a_crowd_due_at_once_fires_each_once,
);
