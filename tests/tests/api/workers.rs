//! API and workers as separate processes sharing one database and queue, as in production:
//! a worker killed mid-job, and a backlog that built up while no worker ran.

use std::time::{Duration, Instant};

use overturn_domain::x12::generate::{GeneratorOptions, generate_835};
use overturn_entity::{claim_payment, denial, outbox, remittance};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::Value;

use crate::binary::{Server, command};
use crate::helpers::{Backend, TestDatabase, random_key};

async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn database(db: &TestDatabase) -> overturn_service::db::Db {
    let settings = overturn_service::configuration::Settings::from_map(&db.vars).unwrap();
    overturn_service::db::Db::connect(&settings).await.unwrap()
}

/// Posts a generated 835 of 4,000 claims to the API process.
async fn post_generated(client: &reqwest::Client, api: &Server, admin: &str, seed: u64) -> reqwest::Response {
    let (file, _) = generate_835(&GeneratorOptions { seed, claims: 4_000, ..GeneratorOptions::default() });
    client
        .post(api.url("/v1/remittances"))
        .bearer_auth(admin)
        .header("content-type", "application/edi-x12")
        .body(file)
        .send()
        .await
        .unwrap()
}

async fn a_worker_killed_mid_job_loses_and_duplicates_nothing(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let admin = random_key();
    let api = Server::start(command(&db, &["serve", "--role", "api"]).env("OVERTURN_BOOTSTRAP_ADMIN_KEY", &admin));
    let client = reqwest::Client::new();
    let res = post_generated(&client, &api, &admin, 44).await;
    assert_eq!(res.status(), 202);
    let id = uuid::Uuid::parse_str(res.json::<Value>().await.unwrap()["id"].as_str().unwrap()).unwrap();
    let conn = database(&db).await;

    // What classification must produce, from the stored payments.
    let payments =
        claim_payment::Entity::find().filter(claim_payment::Column::RemittanceId.eq(id)).all(&conn.read).await.unwrap();
    let expected: u64 = payments.iter().map(|p| overturn_service::classify::denials_of(p).unwrap().len() as u64).sum();
    assert!(expected > 500, "the generated file denies plenty ({expected})");

    // A worker that writes a few payments at a time, killed once some are written.
    let small_rounds = [("OVERTURN_CLASSIFY_BATCH", "50"), ("OVERTURN_WORKER_HEARTBEAT_SECS", "1")];
    let mut cmd = command(&db, &["serve", "--role", "worker"]);
    cmd.envs(small_rounds);
    let first = Server::start(&mut cmd);
    let count = || async {
        denial::Entity::find().filter(denial::Column::RemittanceId.eq(id)).count(&conn.read).await.unwrap()
    };
    let at_kill = wait_for("the first denials", Duration::from_secs(60), || async {
        let n = count().await;
        (n > 0).then_some(n)
    })
    .await;
    first.kill();
    assert!(at_kill < expected, "killed mid-job ({at_kill} of {expected} written)");

    // Another worker takes the orphaned job over once the first misses its heartbeats.
    let mut cmd = command(&db, &["serve", "--role", "worker"]);
    cmd.envs(small_rounds);
    let second = Server::start(&mut cmd);
    wait_for("the classification to finish", Duration::from_secs(90), || async {
        remittance::Entity::find_by_id(id).one(&conn.read).await.unwrap().and_then(|r| r.classified_at)
    })
    .await;
    assert_eq!(count().await, expected, "every denial once");
    let listed = client
        .get(api.url(&format!("/v1/denials?remittance_id={id}&limit=500")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len() as u64, expected.min(500));

    // With the API and the worker apart, a remittance's denials carry the right categories,
    // deadlines (payer rules set through the API process) and priorities.
    let put = client
        .put(api.url("/v1/payers/60054/rules"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"appeal_window_days": 3650}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let res = client
        .post(api.url("/v1/remittances"))
        .bearer_auth(&admin)
        .header("content-type", "application/edi-x12")
        .body(crate::denials::remittance("APART-1"))
        .send()
        .await
        .unwrap();
    let small = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let items = wait_for("the small remittance's denials", Duration::from_secs(30), || async {
        let body = client
            .get(api.url(&format!("/v1/denials?remittance_id={small}")))
            .bearer_auth(&admin)
            .send()
            .await
            .ok()?
            .json::<Value>()
            .await
            .ok()?;
        let items = body["items"].as_array()?.clone();
        (items.len() == 5).then_some(items)
    })
    .await;
    let deadline = (chrono::NaiveDate::from_ymd_opt(2025, 3, 1).unwrap() + chrono::Days::new(3650)).to_string();
    let today = chrono::Utc::now().date_naive();
    let window_left = (chrono::NaiveDate::from_ymd_opt(2035, 2, 27).unwrap() - today).num_days();
    let categories: Vec<(&str, &str)> =
        items.iter().map(|d| (d["claim_number"].as_str().unwrap(), d["category"].as_str().unwrap())).collect();
    // Highest priority first: $500 of medical necessity, $400 of missing information, $300
    // unexplained, $60 to bill the patient, $50 past timely filing.
    assert_eq!(
        categories,
        [
            ("D-5", "missing_information"),
            ("D-1", "medical_necessity"),
            ("D-2", "other"),
            ("D-4", "non_covered"),
            ("D-3", "timely_filing"),
        ]
    );
    for d in &items {
        assert_eq!(d["appeal_deadline"], deadline.as_str());
        let category = overturn_domain::classification::Category::parse(d["category"].as_str().unwrap()).unwrap();
        let action = overturn_domain::classification::Action::parse(d["recommended_action"].as_str().unwrap()).unwrap();
        let cents = overturn_domain::Money::parse(d["amount"].as_str().unwrap()).unwrap().cents();
        let expected = overturn_domain::classification::priority(cents, category, action, Some(window_left), 3650);
        assert_eq!(d["priority"].as_i64(), Some(i64::from(expected)), "{d}");
    }

    let (code, _) = second.terminate();
    assert_eq!(code, Some(0));
    api.terminate();
}

async fn a_backlog_of_20000_jobs_drains_when_a_worker_starts(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let conn = database(&db).await;
    // 20,000 jobs committed while no worker ran: far more than apalis-redis can take due at
    // once. Each names a remittance that no longer exists, which a job skips.
    conn.migrate().await.unwrap();
    let now = overturn_service::sql::now();
    let rows: Vec<outbox::ActiveModel> = (0..20_000)
        .map(|_| {
            outbox::ActiveModel::from(outbox::Model {
                id: uuid::Uuid::now_v7(),
                topic: "classify_remittance".into(),
                payload: serde_json::json!({ "remittance_id": uuid::Uuid::now_v7() }),
                created_at: now,
                dispatched_at: None,
            })
        })
        .collect();
    for chunk in rows.chunks(5_000) {
        outbox::Entity::insert_many(chunk.to_vec()).exec_without_returning(&conn.write).await.unwrap();
    }

    let worker = Server::start(command(&db, &["serve", "--role", "worker"]).env("OVERTURN_WORKER_CONCURRENCY", "16"));
    let client = reqwest::Client::new();
    let succeeded = |text: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix("overturn_jobs_total{outcome=\"succeeded\"} "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    };
    let mut deepest = 0;
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let ready: Value = client.get(worker.url("/ready")).send().await.unwrap().json().await.unwrap();
        deepest = deepest.max(ready["queue_depth"].as_u64().unwrap_or(0));
        let metrics = client.get(worker.url("/metrics")).send().await.unwrap().text().await.unwrap();
        if succeeded(&metrics) >= 20_000 {
            break;
        }
        assert!(Instant::now() < deadline, "the backlog did not drain: {} done", succeeded(&metrics));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(deepest <= 2_000, "the relay kept the queue under its high-water mark (saw {deepest})");
    let pending =
        outbox::Entity::find().filter(outbox::Column::DispatchedAt.is_null()).count(&conn.read).await.unwrap();
    assert_eq!(pending, 0);
    let metrics = client.get(worker.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert_eq!(succeeded(&metrics), 20_000, "each job once");
    let (code, _) = worker.terminate();
    assert_eq!(code, Some(0));
}

/// SIGTERM stops taking jobs but lets the running one finish before the process exits.
async fn sigterm_lets_the_running_job_finish(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let admin = random_key();
    let api = Server::start(command(&db, &["serve", "--role", "api"]).env("OVERTURN_BOOTSTRAP_ADMIN_KEY", &admin));
    let client = reqwest::Client::new();
    let res = post_generated(&client, &api, &admin, 45).await;
    let id = uuid::Uuid::parse_str(res.json::<Value>().await.unwrap()["id"].as_str().unwrap()).unwrap();
    let conn = database(&db).await;
    let mut cmd = command(&db, &["serve", "--role", "worker"]);
    cmd.env("OVERTURN_CLASSIFY_BATCH", "50");
    let worker = Server::start(&mut cmd);
    wait_for("the first denials", Duration::from_secs(60), || async {
        let n = denial::Entity::find().filter(denial::Column::RemittanceId.eq(id)).count(&conn.read).await.unwrap();
        (n > 0).then_some(())
    })
    .await;
    let classified = remittance::Entity::find_by_id(id).one(&conn.read).await.unwrap().unwrap().classified_at;
    assert!(classified.is_none(), "stopped mid-job");
    let (code, log) = worker.terminate();
    assert_eq!(code, Some(0), "{log:?}");
    let classified = remittance::Entity::find_by_id(id).one(&conn.read).await.unwrap().unwrap().classified_at;
    assert!(classified.is_some(), "the running job finished before the exit");
    api.terminate();
}

/// Webhook deliveries survive workers killed in the middle of a request and between two
/// attempts: every event arrives, with its one `webhook-id`, and the log holds each attempt
/// once.
async fn webhooks_survive_workers_killed_during_and_between_attempts(backend: Backend) {
    use crate::receiver::{Receiver, Reply};
    let db = TestDatabase::new(backend).await;
    let admin = random_key();
    let api = Server::start(
        command(&db, &["serve", "--role", "api"])
            .env("OVERTURN_BOOTSTRAP_ADMIN_KEY", &admin)
            .env("OVERTURN_WEBHOOK_ALLOW_PRIVATE", "true"),
    );
    let worker_env = [("OVERTURN_WEBHOOK_ALLOW_PRIVATE", "true"), ("OVERTURN_WORKER_HEARTBEAT_SECS", "1")];
    let worker = || Server::start(command(&db, &["serve", "--role", "worker"]).envs(worker_env));
    let client = reqwest::Client::new();
    let receiver = Receiver::start().await;
    let post = |path: String| client.post(api.url(&path)).bearer_auth(&admin).send();
    let created: Value = client
        .post(api.url("/v1/contacts"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({ "kind": "patient", "reference": "MBR-K", "name": "Portal", "webhook_url": receiver.url }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let contact = created["id"].as_str().unwrap().to_owned();
    let delivery_state = |id: String| {
        let client = client.clone();
        let url = api.url(&format!("/v1/deliveries/{id}"));
        let admin = admin.clone();
        async move { client.get(url).bearer_auth(admin).send().await.unwrap().json::<Value>().await.unwrap() }
    };

    // Killed while the receiver is still answering: the attempt is made again elsewhere.
    receiver.script([Reply::status(200).after(Duration::from_secs(3))]);
    let first = worker();
    let during: Value = post(format!("/v1/contacts/{contact}/test")).await.unwrap().json().await.unwrap();
    receiver.wait_for(1).await;
    first.kill();
    let second = worker();
    let during_id = during["id"].as_str().unwrap().to_owned();
    let done = wait_for("the interrupted delivery", Duration::from_secs(60), || async {
        let d = delivery_state(during_id.clone()).await;
        (d["status"] == "succeeded").then_some(d)
    })
    .await;
    assert_eq!(done["attempts"].as_array().unwrap().len(), 1, "{done}");
    // At least once: a worker whose heartbeat lagged under load can have its job run twice,
    // so the receiver may see an id more than once; the log records the attempt once.
    let got = receiver.received();
    let first_round = got.len();
    assert!(first_round >= 2, "sent again after the kill");
    assert!(got.iter().all(|r| r.header("webhook-id") == during["webhook_id"].as_str().unwrap()));

    // Killed after a failed attempt, before the retry falls due: the next worker retries.
    receiver.script([Reply::status(500)]);
    let between: Value = post(format!("/v1/contacts/{contact}/test")).await.unwrap().json().await.unwrap();
    let between_id = between["id"].as_str().unwrap().to_owned();
    wait_for("the failed first attempt", Duration::from_secs(30), || async {
        let d = delivery_state(between_id.clone()).await;
        (d["attempt_count"] == 1).then_some(())
    })
    .await;
    second.kill();
    let third = worker();
    let done = wait_for("the retried delivery", Duration::from_secs(60), || async {
        let d = delivery_state(between_id.clone()).await;
        (d["status"] == "succeeded").then_some(d)
    })
    .await;
    let codes: Vec<i64> =
        done["attempts"].as_array().unwrap().iter().map(|a| a["status_code"].as_i64().unwrap()).collect();
    assert_eq!(codes, [500, 200]);
    let got = receiver.received();
    assert!(got.len() >= first_round + 2, "the failed attempt and its retry");
    assert!(got[first_round..].iter().all(|r| r.header("webhook-id") == between["webhook_id"].as_str().unwrap()));
    third.kill();
    api.kill();
}

/// A worker killed after it queued a follow-up and before it fell due: nothing fires while
/// no worker runs, and the next worker to start fires it, once.
async fn a_follow_up_due_while_no_worker_runs_fires_at_the_next_start(backend: Backend) {
    use overturn_entity::follow_up;

    use crate::receiver::Receiver;
    let db = TestDatabase::new(backend).await;
    let admin = random_key();
    let api = Server::start(
        command(&db, &["serve", "--role", "api"])
            .env("OVERTURN_BOOTSTRAP_ADMIN_KEY", &admin)
            .env("OVERTURN_WEBHOOK_ALLOW_PRIVATE", "true"),
    );
    let worker =
        || Server::start(command(&db, &["serve", "--role", "worker"]).env("OVERTURN_WEBHOOK_ALLOW_PRIVATE", "true"));
    let client = reqwest::Client::new();
    let receiver = Receiver::start().await;
    let res = client
        .post(api.url("/v1/contacts"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({ "kind": "payer", "reference": "60054", "name": "Acme calls", "webhook_url": receiver.url }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let first = worker();
    // Submitted 30 days ago less 6 seconds: its status check falls due in 6 seconds.
    let now = chrono::Utc::now();
    let mut claim = crate::helpers::claim_body("KILL-FU-1");
    claim["submitted_at"] =
        serde_json::json!((now - chrono::Duration::days(30) + chrono::Duration::seconds(6)).to_rfc3339());
    claim["service_date"] = serde_json::json!(now.date_naive().to_string());
    claim["lines"] = serde_json::json!([{"procedure_code": "99213", "charge": "100.00"}]);
    let res = client.post(api.url("/v1/claims")).bearer_auth(&admin).json(&claim).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let conn = database(&db).await;
    let check = || async {
        follow_up::Entity::find()
            .filter(follow_up::Column::ClaimNumber.eq("KILL-FU-1"))
            .filter(follow_up::Column::Kind.eq("status_check"))
            .one(&conn.read)
            .await
            .unwrap()
            .unwrap()
    };
    let queued = wait_for("the follow-up handed to the queue", Duration::from_secs(30), || async {
        let row = check().await;
        row.enqueued_at.is_some().then_some(row)
    })
    .await;
    assert!(queued.due_at > chrono::Utc::now(), "queued ahead of its time");
    first.kill();
    let wait = (queued.due_at - chrono::Utc::now()).to_std().unwrap_or_default() + Duration::from_secs(2);
    tokio::time::sleep(wait).await;
    let row = check().await;
    assert_eq!(row.status.as_str(), "scheduled", "nothing fires while no worker runs");
    assert!(receiver.received().is_empty());

    let second = worker();
    let request = receiver.wait_for(1).await.remove(0);
    assert_eq!(request.json()["data"]["follow_up_id"], queued.id.to_string());
    let fired = wait_for("the follow-up fired", Duration::from_secs(30), || async {
        let row = check().await;
        (row.status.as_str() == "fired").then_some(row)
    })
    .await;
    assert_eq!(fired.fire_count, 1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = receiver.received();
    // At least once: every request carries the one event's id.
    assert!(got.iter().all(|r| r.header("webhook-id") == request.header("webhook-id")), "{got:?}");
    second.kill();
    api.kill();
}

crate::on_both_backends!(
    a_follow_up_due_while_no_worker_runs_fires_at_the_next_start,
    webhooks_survive_workers_killed_during_and_between_attempts,
    sigterm_lets_the_running_job_finish,
    a_worker_killed_mid_job_loses_and_duplicates_nothing,
    a_backlog_of_20000_jobs_drains_when_a_worker_starts,
);

/// A file whose classification writes thousands of deliveries refreshes PostgreSQL's
/// statistics of the delivery table at once, rather than when autovacuum gets to it: with the
/// old counts the scheduler read and sorted every pending delivery on each pass.
async fn many_deliveries_refresh_the_planners_statistics(backend: Backend) {
    use crate::receiver::Receiver;
    use overturn_entity::webhook_delivery;
    use sea_orm::ConnectionTrait;
    let db = TestDatabase::new(backend).await;
    let admin = random_key();
    let server = Server::start(
        command(&db, &["serve"])
            .env("OVERTURN_BOOTSTRAP_ADMIN_KEY", &admin)
            .env("OVERTURN_WEBHOOK_ALLOW_PRIVATE", "true"),
    );
    let client = reqwest::Client::new();
    let receiver = Receiver::start().await;
    for name in ["calls", "portal", "agent"] {
        let res = client
            .post(server.url("/v1/contacts"))
            .bearer_auth(&admin)
            .json(&serde_json::json!({ "kind": "payer", "reference": "GEN01", "name": name,
                "webhook_url": receiver.url, "events": ["denial.created"] }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    }
    let conn = database(&db).await;
    let analyzed = || async {
        let row = conn
            .read
            .query_one_raw(sea_orm::Statement::from_string(
                conn.read.get_database_backend(),
                "SELECT last_analyze IS NOT NULL AS analyzed FROM pg_stat_user_tables WHERE relname = 'webhook_deliveries'",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<bool>("", "analyzed").unwrap()
    };
    assert!(!analyzed().await, "no ANALYZE before the file");

    let res = post_generated(&client, &server, &admin, 46).await;
    assert_eq!(res.status(), 202);
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    wait_for("the classification", Duration::from_secs(120), || async {
        let r: Value = client
            .get(server.url(&format!("/v1/remittances/{id}")))
            .bearer_auth(&admin)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        r["classified_at"].is_string().then_some(())
    })
    .await;
    let deliveries = webhook_delivery::Entity::find().count(&conn.read).await.unwrap();
    assert!(deliveries >= 1_000, "the file makes enough deliveries to matter ({deliveries})");
    // The statistics reach the view within a second or so of the ANALYZE.
    wait_for("the delivery table's statistics", Duration::from_secs(15), || async { analyzed().await.then_some(()) })
        .await;
    server.kill();
}

/// Only PostgreSQL keeps planner statistics that go stale (SQLite has no autovacuum to wait for).
mod postgres_only {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_deliveries_refresh_the_planners_statistics() {
        super::many_deliveries_refresh_the_planners_statistics(crate::helpers::Backend::Postgres).await
    }
}
