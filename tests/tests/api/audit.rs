//! The PHI access log: every read or change of patient data leaves an event naming who,
//! what and whose; events are chained by hash, listed for admins, verified by
//! `overturn audit verify`, and purged only after their retention, anchor kept.

use reqwest::Method;
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, assert_problem, claim_body, spawn_app};

fn claim_for(number: &str, member: &str) -> Value {
    let mut body = claim_body(number);
    body["patient"]["member_id"] = json!(member);
    body
}

async fn status_and_json(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// The log as admins page it, once `count` events are sealed.
async fn sealed_events(app: &TestApp, query: &str, count: usize) -> Vec<Value> {
    app.eventually("the audit events sealed", || async {
        let body = app.get_json(&format!("/v1/audit-events?limit=500&{query}")).await;
        let items = body["items"].as_array()?.clone();
        (items.len() >= count && items.iter().all(|e| e["hash"].is_string())).then_some(items)
    })
    .await
}

async fn events_table(db: &overturn_service::db::Db) -> Vec<overturn_entity::audit_event::Model> {
    overturn_entity::audit_event::Entity::find()
        .order_by_asc(overturn_entity::audit_event::Column::Seq)
        .all(&db.write)
        .await
        .unwrap()
}

async fn every_access_to_patient_data_is_logged_and_chained(backend: Backend) {
    let app = spawn_app(backend).await;
    let db = app.database().await;
    let billing = app.create_key("billing").await;
    let portal = app.create_key("portal").await;

    // A write: its event is in the database when the 201 arrives (same transaction).
    let (status, a1) = status_and_json(
        app.request(Method::POST, "/v1/claims", Some(&billing), Some(&claim_for("AU-1", "AUD1"))).await,
    )
    .await;
    assert_eq!(status, 201, "{a1}");
    // Committed with the claim: chained already (SQLite) or waiting for the chainer (PostgreSQL).
    // Waiting first: one the chainer moves in between is then in the chain.
    let waiting = overturn_entity::audit_pending::Entity::find().all(&db.write).await.unwrap();
    let mut written: Vec<overturn_domain::audit::AuditEvent> =
        waiting.iter().map(|p| serde_json::from_str(&p.event).unwrap()).collect();
    written.extend(events_table(&db).await.iter().filter_map(overturn_service::audit::event_of));
    // Moved in between, it was read twice: once waiting, once chained.
    written.dedup_by_key(|e| e.id);
    assert_eq!(written.len(), 1, "the create's event committed with the claim: {written:?}");
    assert_eq!(written[0].action, overturn_domain::audit::AuditAction::Create);
    assert_eq!(written[0].resource_ids, [a1["id"].as_str().unwrap()]);
    let (status, b1) = status_and_json(
        app.request(Method::POST, "/v1/claims", Some(&billing), Some(&claim_for("AU-2", "AUD2"))).await,
    )
    .await;
    assert_eq!(status, 201);
    // A refused write changes nothing but is kept as an attempt, with its status.
    let dup = app.request(Method::POST, "/v1/claims", Some(&billing), Some(&claim_for("AU-1", "AUD1"))).await;
    assert_problem(dup, 409).await;
    // A list naming both patients counts for each.
    assert_eq!(app.request(Method::GET, "/v1/claims", Some(&billing), None).await.status(), 200);

    // Reads, by the portal and by a patient session; a miss on another patient's claim too.
    let res = app.request(Method::GET, "/v1/patients/AUD1/claims", Some(&portal), None).await;
    assert_eq!(res.status(), 200);
    let other = format!("/v1/patients/AUD1/claims/{}", b1["id"].as_str().unwrap());
    assert_problem(app.request(Method::GET, &other, Some(&portal), None).await, 404).await;
    let (_, session) = status_and_json(
        app.request(Method::POST, "/v1/patient-sessions", Some(&portal), Some(&json!({ "member_id": "AUD1" }))).await,
    )
    .await;
    let token = session["token"].as_str().unwrap();
    assert_eq!(app.request(Method::GET, "/v1/patients/AUD1/balance", Some(token), None).await.status(), 200);
    // Refused before anything was read: no event.
    assert_problem(app.request(Method::GET, "/v1/claims", Some(&portal), None).await, 403).await;

    let logged = sealed_events(&app, "member_id=AUD1", 7).await;
    // Reading the log for a patient is itself an access to their data, and is logged.
    let (reads_of_log, mut events): (Vec<Value>, Vec<Value>) =
        logged.into_iter().partition(|e| e["route"] == "/v1/audit-events");
    // Chained in the order written (a read's event up to 100 ms after the read); `at` is when
    // each request was answered.
    let at = |e: &Value| e["at"].as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    events.sort_by_key(|e| std::cmp::Reverse(at(e)));
    assert!(
        reads_of_log.iter().all(|e| e["role"] == "admin" && e["member_ids"] == json!(["AUD1"])),
        "{reads_of_log:?}"
    );
    let summary: Vec<(String, String, String, i64)> = events
        .iter()
        .map(|e| {
            (
                e["route"].as_str().unwrap().to_owned(),
                e["action"].as_str().unwrap().to_owned(),
                e["role"].as_str().unwrap().to_owned(),
                e["status"].as_i64().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("/v1/patients/{member_id}/balance", "read", "session", 200),
        ("/v1/patient-sessions", "create", "portal", 201),
        ("/v1/patients/{member_id}/claims/{id}", "read", "portal", 404),
        ("/v1/patients/{member_id}/claims", "read", "portal", 200),
        ("/v1/claims", "read", "billing", 200),
        ("/v1/claims", "create", "billing", 409),
        ("/v1/claims", "create", "billing", 201),
    ];
    let expected: Vec<(String, String, String, i64)> =
        expected.iter().map(|(r, a, role, s)| (r.to_string(), a.to_string(), role.to_string(), *s)).collect();
    assert_eq!(summary, expected, "{events:#?}");
    let by_session = &events[0];
    assert_eq!(by_session["session_id"], session["id"]);
    assert_eq!(by_session["member_ids"], json!(["AUD1"]));
    assert_eq!(by_session["member_count"], 1);
    assert!(by_session["request_id"].as_str().is_some_and(|r| !r.is_empty()));
    assert_eq!(by_session["remote_addr"], "127.0.0.1");
    // The other patient's log holds only their own claim's events.
    let theirs = sealed_events(&app, "member_id=AUD2", 2).await;
    assert!(
        theirs.iter().any(|e| e["route"] == "/v1/claims" && e["action"] == "read" && e["member_count"] == 2),
        "{theirs:?}"
    );
    assert!(theirs.iter().all(|e| e["member_ids"].as_array().unwrap().contains(&json!("AUD2"))), "{theirs:?}");

    // Every event chained: seq has no gaps, each prev_hash is the hash before it.
    let all = sealed_events(&app, "", 9).await;
    let mut chain: Vec<&Value> = all.iter().filter(|e| e["seq"].is_i64()).collect();
    chain.sort_by_key(|e| e["seq"].as_i64());
    assert_eq!(chain[0]["prev_hash"], overturn_domain::audit::GENESIS);
    for pair in chain.windows(2) {
        assert_eq!(pair[1]["seq"].as_i64(), pair[0]["seq"].as_i64().map(|s| s + 1));
        assert_eq!(pair[1]["prev_hash"], pair[0]["hash"]);
    }
    let checked = overturn_service::audit::verify_chain(&db.read).await.unwrap();
    assert_eq!(checked.broken, None);
    assert!(checked.checked >= 8, "{checked:?}");

    // Filters: by key, by time; only admins read the log.
    let billing_events = app.get_json("/v1/audit-events?limit=500").await["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["role"] == "billing")
        .count();
    let key_id = events.last().unwrap()["key_id"].as_str().unwrap().to_owned();
    let by_key = app.get_json(&format!("/v1/audit-events?key_id={key_id}&limit=500")).await;
    assert_eq!(by_key["items"].as_array().unwrap().len(), billing_events);
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).date_naive();
    let later = app.get_json(&format!("/v1/audit-events?from={tomorrow}")).await;
    assert_eq!(later["items"], json!([]));
    let paged = app.get_json("/v1/audit-events?member_id=AUD1&limit=2").await;
    assert_eq!(paged["items"].as_array().unwrap().len(), 2);
    let cursor = paged["next_cursor"].as_str().unwrap();
    let next = app.get_json(&format!("/v1/audit-events?member_id=AUD1&limit=2&cursor={cursor}")).await;
    let first_page: Vec<&Value> = paged["items"].as_array().unwrap().iter().collect();
    assert!(next["items"].as_array().unwrap().iter().all(|e| !first_page.contains(&e)), "pages do not overlap");
    for bad in ["key_id=nope", "from=yesterday", "member_id=%00", "from=2026-12-02&to=2026-12-01"] {
        assert_problem(app.get(&format!("/v1/audit-events?{bad}")).await, 400).await;
    }
    assert_problem(app.request(Method::GET, "/v1/audit-events", Some(&billing), None).await, 403).await;
    assert_problem(app.request(Method::GET, "/v1/audit-events", Some(&portal), None).await, 403).await;
}

async fn the_chain_names_tampering_and_survives_retention(backend: Backend) {
    let app = spawn_app(backend).await;
    for n in 0..5 {
        let res = app.post_claim(&claim_for(&format!("AT-{n}"), "AUD3")).await;
        assert_eq!(res.status(), 201);
    }
    let events = sealed_events(&app, "member_id=AUD3", 5).await;
    assert_eq!(events.iter().filter(|e| e["route"] == "/v1/claims").count(), 5, "{events:?}");
    let db = app.database().await;
    let kind = db.write.get_database_backend();

    // The command verifies, and names the event whose member was changed.
    let verify = || crate::binary::command(app.test_database(), &["audit", "verify"]).output().unwrap();
    let out = verify();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("audit chain intact"));
    let rows = events_table(&db).await;
    let sealed = rows.clone();
    let third = &sealed[2];
    let sql = |set: &str| {
        let placeholder = if kind == sea_orm::DbBackend::Postgres { "$1" } else { "?" };
        format!("UPDATE audit_events SET {set} WHERE id = {placeholder}")
    };
    let run = |statement: String, id: uuid::Uuid| {
        let db = &db;
        async move {
            db.write.execute_raw(sea_orm::Statement::from_sql_and_values(kind, statement, [id.into()])).await.unwrap();
        }
    };
    // One patient's event stores the id once, in its indexed column.
    assert_eq!((third.member_id.as_deref(), third.member_ids.as_deref()), (Some("AUD3"), None));
    run(sql("member_id = 'SOMEONE-ELSE'"), third.id).await;
    let out = verify();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("seq {}", third.seq)) && stderr.contains("changed"), "{stderr}");
    run(sql("member_id = 'AUD3'"), third.id).await;
    assert!(verify().status.success(), "restored");

    // Removing an event is a gap.
    let placeholder = if kind == sea_orm::DbBackend::Postgres { "$1" } else { "?" };
    let delete = format!("DELETE FROM audit_events WHERE id = {placeholder}");
    let found = overturn_service::audit::verify_chain(&db.read).await.unwrap();
    assert_eq!(found.broken, None);
    db.write
        .execute_raw(sea_orm::Statement::from_sql_and_values(kind, delete.clone(), [third.id.into()]))
        .await
        .unwrap();
    let found = overturn_service::audit::verify_chain(&db.read).await.unwrap();
    assert_eq!(
        found.broken,
        Some(overturn_domain::audit::BrokenLink::Gap { after: third.seq - 1, next: third.seq + 1 })
    );
    // Put back as it was (the test goes on with an intact chain).
    overturn_entity::audit_event::Entity::insert(overturn_entity::audit_event::ActiveModel::from(third.clone()))
        .exec_without_returning(&db.write)
        .await
        .unwrap();
    assert_eq!(overturn_service::audit::verify_chain(&db.read).await.unwrap().broken, None);

    // Retention: events older than it go from the start of the chain, which still verifies from
    // the last purged event's hash; newer ones stay.
    use overturn_entity::audit_event::{Column, Entity};
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, QueryFilter};
    let old = chrono::Utc::now() - chrono::Duration::days(2_200);
    Entity::update_many()
        .col_expr(Column::At, Expr::value(old.timestamp_micros()))
        .filter(Column::Id.is_in(sealed[..2].iter().map(|r| r.id)))
        .exec(&db.write)
        .await
        .unwrap();
    // Moving `at` changed those events, so the chain is rebuilt from genesis as if they had
    // been written then: what is tested next is the purge alone.
    let chain = events_table(&db).await;
    let mut prev = overturn_domain::audit::GENESIS.to_owned();
    for row in &chain {
        let hash = overturn_service::audit::event_of(row).unwrap().chain_hash(&prev);
        Entity::update_many()
            .col_expr(Column::Hash, Expr::value(overturn_domain::hex::decode(&hash).unwrap()))
            .filter(Column::Id.eq(row.id))
            .exec(&db.write)
            .await
            .unwrap();
        prev = hash;
    }
    assert_eq!(overturn_service::audit::verify_chain(&db.read).await.unwrap().broken, None);
    let purged =
        overturn_service::audit::purge(&db.write, chrono::Duration::days(2_190), chrono::Utc::now()).await.unwrap();
    assert_eq!(purged, 2);
    let left = overturn_service::audit::verify_chain(&db.read).await.unwrap();
    assert_eq!(left.broken, None, "{left:?}");
    assert_eq!(left.first, Some(3));
    let out = verify();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Nothing younger than the retention goes.
    let again =
        overturn_service::audit::purge(&db.write, chrono::Duration::days(2_190), chrono::Utc::now()).await.unwrap();
    assert_eq!(again, 0);
    // The member index went with the events.
    let members = overturn_entity::audit_event_member::Entity::find().all(&db.write).await.unwrap();
    let seqs: std::collections::HashSet<_> = events_table(&db).await.iter().map(|r| r.seq).collect();
    assert!(members.iter().all(|m| seqs.contains(&m.seq)));
}

crate::on_both_backends!(
    every_access_to_patient_data_is_logged_and_chained,
    the_chain_names_tampering_and_survives_retention
);
