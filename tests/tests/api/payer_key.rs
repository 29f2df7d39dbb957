//! One payer key (`overturn_domain::x12::payer_key`) from the file received to the worklist
//! and analytics, and the trace's originator as what makes a payment the same payment again.

use sea_orm::{ConnectionTrait, EntityTrait, Statement};
use sea_orm_migration::MigratorTrait;
use serde_json::Value;

use crate::helpers::{Backend, TestDatabase, spawn_app_without_workers};
use crate::remittances::edi;

/// `edi`'s transaction with its TRN03 and N1*PR identifier replaced.
fn paid_by(trace: &str, trn03: &str, payer_loop_id: &str, control: u32) -> String {
    edi(trace, "0", "C", &["CLP*PK-1*4*500*0*0*12*ICN-PK1", "CAS*CO*50*500"], control)
        .replace(&format!("TRN*1*{trace}*1512345678"), &format!("TRN*1*{trace}*{trn03}"))
        .replace("N1*PR*ACME HEALTH PLAN*XV*60054", &format!("N1*PR*ACME HEALTH PLAN*XV*{payer_loop_id}"))
        .replace("N1*PR*ACME HEALTH PLAN*XV*~", "N1*PR*ACME HEALTH PLAN~")
}

async fn posted(app: &crate::helpers::TestApp, body: &str) -> Value {
    let res = app.post_edi(body).await;
    let status = res.status();
    let answer: Value = res.json().await.unwrap();
    assert_eq!(status, 202, "{answer}");
    answer
}

async fn the_payer_loops_id_is_the_payer_everywhere_and_trn03_the_originator(backend: Backend) {
    let app = spawn_app_without_workers(backend).await;
    let first = posted(&app, &paid_by("PK0001", "1999999999", "60054", 11)).await;
    let tx = &first["transactions"][0];
    assert_eq!((tx["payer_id"].as_str(), tx["originator_id"].as_str()), (Some("60054"), Some("1999999999")));

    app.run_due_jobs().await;
    let denials = app.get_json("/v1/denials?claim_number=PK-1").await;
    assert_eq!(denials["items"][0]["payer_id"], "60054", "the denial is filed under the payer the transaction names");
    let by_payer = app.get_json("/v1/analytics/denials?group_by=payer").await;
    assert_eq!(by_payer["groups"][0]["key"], "60054");
    assert_eq!(by_payer["groups"][0]["claim_payments"], 1, "payments and denials counted under one key");

    // The same trace from the same originator is the same payment, whatever the payer loop says.
    let again = posted(&app, &paid_by("PK0001", "1999999999", "77777", 12)).await;
    assert_eq!(again["duplicate_count"], 1, "{again}");
    assert_eq!(again["transactions"][0]["duplicate_of"], tx["id"]);
    // The same trace number from another originator is another payment.
    let other = posted(&app, &paid_by("PK0001", "1888888888", "60054", 13)).await;
    assert_eq!(other["duplicate_count"], 0, "{other}");

    // A payer loop without an identifier: TRN03 is both the payer and the originator.
    let bare = posted(&app, &paid_by("PK0002", "1777777777", "", 14)).await;
    let tx = &bare["transactions"][0];
    assert_eq!((tx["payer_id"].as_str(), tx["originator_id"].as_str()), (Some("1777777777"), Some("1777777777")));
}

/// Transactions stored before the payer key was resolved at ingestion held TRN03 as their
/// payer id; the migration moves it to `originator_id` and puts the payer key in its place.
async fn the_migration_resolves_the_payer_of_stored_transactions(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let settings = overturn_service::configuration::Settings::from_map(&db.vars).unwrap();
    let conn = overturn_service::db::Db::connect(&settings).await.unwrap();
    // Every migration before this one, however many come after it.
    let before = overturn_migration::Migrator::migrations()
        .iter()
        .position(|m| m.name() == "m20261206_000007_payer_of_transaction")
        .expect("the payer key migration");
    overturn_migration::Migrator::up(&conn.write, Some(before as u32)).await.unwrap();

    let remittance = uuid::Uuid::now_v7();
    let summary = overturn_entity::remittance::Model {
        id: remittance,
        source: "x12".into(),
        received_at: overturn_service::sql::now(),
        api_key_id: remittance,
        byte_size: 1,
        sha256: String::new(),
        transaction_count: 2,
        duplicate_count: 0,
        claim_count: 0,
        matched_count: 0,
        payment_total_cents: 0,
        warnings: serde_json::json!([]),
        classified_at: None,
    };
    overturn_entity::remittance::Entity::insert(overturn_entity::remittance::ActiveModel::from(summary))
        .exec_without_returning(&conn.write)
        .await
        .unwrap();
    // The table as it was: no `originator_id` yet, so no model to write it with.
    let columns = [
        "id",
        "remittance_id",
        "position",
        "payer_id",
        "trace_number",
        "payer_name",
        "payer_id_qualifier",
        "payer_identifier",
        "payee_name",
        "payee_id_qualifier",
        "payee_identifier",
        "handling_code",
        "credit_debit",
        "payment_method",
        "payment_amount_cents",
        "interchange_control_number",
        "group_control_number",
        "transaction_control_number",
        "provider_adjustments",
        "claim_count",
        "warnings",
    ];
    let backend_of = conn.write.get_database_backend();
    let placeholders: Vec<String> =
        (1..=columns.len()).map(|n| overturn_service::sql::placeholder(backend_of, n)).collect();
    let insert =
        format!("INSERT INTO remittance_transactions ({}) VALUES ({})", columns.join(", "), placeholders.join(", "));
    for (position, trn03, payer_loop_id) in [(0, "1999999999", "60054"), (1, "1777777777", " ")] {
        let text = |s: &str| sea_orm::Value::from(s.to_owned());
        let values = vec![
            sea_orm::Value::from(uuid::Uuid::now_v7()),
            sea_orm::Value::from(remittance),
            sea_orm::Value::from(position),
            text(trn03),
            text(&format!("T{position}")),
            text("ACME"),
            text("XV"),
            text(payer_loop_id),
            text("CLINIC"),
            text("XX"),
            text("1234567893"),
            text("I"),
            text("C"),
            text("ACH"),
            sea_orm::Value::from(0i64),
            text("1"),
            text("1"),
            text("1"),
            sea_orm::Value::from(serde_json::json!([])),
            sea_orm::Value::from(0i32),
            sea_orm::Value::from(serde_json::json!([])),
        ];
        conn.write.execute_raw(Statement::from_sql_and_values(backend_of, &insert, values)).await.unwrap();
    }

    overturn_migration::Migrator::up(&conn.write, None).await.unwrap();
    let rows = overturn_entity::remittance_transaction::Entity::find().all(&conn.read).await.unwrap();
    let mut keys: Vec<(i32, String, String)> =
        rows.into_iter().map(|t| (t.position, t.payer_id, t.originator_id)).collect();
    keys.sort();
    assert_eq!(
        keys,
        [(0, "60054".to_owned(), "1999999999".to_owned()), (1, "1777777777".to_owned(), "1777777777".to_owned())]
    );
}

crate::on_both_backends!(
    the_payer_loops_id_is_the_payer_everywhere_and_trn03_the_originator,
    the_migration_resolves_the_payer_of_stored_transactions,
);
