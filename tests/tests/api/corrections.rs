//! Corrections: a replacement or void of a denied claim, citing the payer's claim control
//! number, resubmitting the original's denials, written back as an 837 pyx12 accepts.

use serde_json::{Value, json};

use crate::claim_files::PROFESSIONAL;
use crate::helpers::{Backend, TestApp, assert_problem, claim_body, error_fields, spawn_app};
use crate::python::x12valid;
use crate::remittances::edi;

async fn post_file(app: &TestApp, body: &str) -> Value {
    crate::claim_files::created(crate::claim_files::post_file(app, body, None).await).await
}

/// The payer denies `number` (CLP07 `icn`), and the workers classify it.
async fn denied(app: &TestApp, number: &str, charge: &str, icn: &str, trace: &str, control: u32) -> Value {
    let clp = format!("CLP*{number}*4*{charge}*0*0*12*{icn}");
    let cas = format!("CAS*CO*16*{charge}");
    let res = app.post_edi(&edi(trace, "0", "C", &[&clp, &cas], control)).await;
    assert_eq!(res.status(), 202, "{}", res.text().await.unwrap_or_default());
    app.eventually("the denial classified", || async {
        let body = app.get_json(&format!("/v1/denials?claim_number={number}")).await;
        body["items"].as_array().filter(|a| !a.is_empty()).map(|a| a[0].clone())
    })
    .await
}

async fn correct(app: &TestApp, id: &str, body: Value) -> reqwest::Response {
    app.post(&format!("/v1/claims/{id}/corrections"), &body).await
}

async fn a_denied_claim_is_replaced_and_its_denial_resubmitted(backend: Backend) {
    let app = spawn_app(backend).await;
    let file = post_file(&app, PROFESSIONAL).await;
    let original = file["claims"][1]["claim_id"].as_str().unwrap().to_owned();
    let denial = denied(&app, "CLM05000001", "125", "ICN-77", "TRC-C1", 8101).await;
    assert_eq!(denial["status"], "open");

    let res = correct(
        &app,
        &original,
        json!({"frequency_code": "7", "changes": {"diagnosis_codes": ["E11.65", "I10"]}, "note": "added the missing code"}),
    )
    .await;
    let status = res.status();
    let corrected: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{corrected}");
    assert_eq!(corrected["claim_number"], "CLM05000001");
    assert_eq!(corrected["frequency_code"], "7");
    assert_eq!(corrected["replaces_claim_id"].as_str(), Some(original.as_str()));
    assert_eq!(corrected["payer_claim_control_number"], "ICN-77");
    assert_eq!(corrected["diagnosis_codes"], json!(["E11.65", "I10"]));
    assert_eq!(corrected["total_charge"], "125.00");
    assert_eq!(corrected["status"], "submitted");

    // The original's denial is being worked by the resubmission.
    let denial = app.get_json(&format!("/v1/denials/{}", denial["id"].as_str().unwrap())).await;
    assert_eq!(denial["status"], "resubmitted", "{denial}");

    // The correction as an 837: the claim as it came, frequency 7, REF*F8, the new codes.
    let id = corrected["id"].as_str().unwrap();
    let written = app.get(&format!("/v1/claims/{id}/837")).await.text().await.unwrap();
    x12valid(&written).unwrap_or_else(|e| panic!("pyx12 refused the correction: {e}\n{written}"));
    assert!(
        written.contains("CLM*CLM05000001*125.00***11:B:7*Y*A*Y*Y~\nREF*F8*ICN-77~\nHI*ABK:E1165*ABF:I10~"),
        "{written}"
    );
    assert!(written.contains("NM1*IL*1*DOEB*JANE****MI*M05000001~"), "{written}");

    // The correction's 837 sent in again is the correction already on file.
    let again = post_file(&app, &written).await;
    assert_eq!(
        (again["claims"][0]["status"].as_str(), again["claims"][0]["claim_id"].as_str()),
        (Some("duplicate"), Some(id)),
        "{again}"
    );

    // A replacement in a claim file corrects the claim on file, and resubmits its denial.
    let third = file["claims"][2]["claim_id"].as_str().unwrap().to_owned();
    let denial = denied(&app, "CLM05000002", "210", "ICN-88", "TRC-C3", 8103).await;
    let replacement = crate::claim_files::changed(
        "CLM*CLM05000002*210.00***11:B:1*Y*A*Y*Y~",
        "CLM*CLM05000002*210.00***11:B:7*Y*A*Y*Y~\nREF*F8*ICN-88~",
    );
    let received = post_file(&app, &replacement).await;
    let outcome =
        received["claims"].as_array().unwrap().iter().find(|c| c["claim_number"] == "CLM05000002").unwrap().clone();
    assert_eq!(outcome["status"], "created", "{received}");
    let replaced = app.get_json(&format!("/v1/claims/{}", outcome["claim_id"].as_str().unwrap())).await;
    assert_eq!(
        (replaced["replaces_claim_id"].as_str(), replaced["frequency_code"].as_str()),
        (Some(third.as_str()), Some("7"))
    );
    let denial = app.get_json(&format!("/v1/denials/{}", denial["id"].as_str().unwrap())).await;
    assert_eq!(denial["status"], "resubmitted", "{denial}");
    assert_eq!(post_file(&app, &replacement).await["duplicate_count"], 3, "the same replacement again is a duplicate");

    // A claim is corrected once; the correction is corrected next.
    let again = correct(&app, &original, json!({"frequency_code": "8"})).await;
    assert_problem(again, 409).await;
    let void = correct(&app, id, json!({"frequency_code": "8"})).await;
    let void: Value = void.json().await.unwrap();
    assert_eq!((void["frequency_code"].as_str(), void["replaces_claim_id"].as_str()), (Some("8"), Some(id)), "{void}");
    // Not yet paid, the replacement's void cites what the replacement cited.
    assert_eq!(void["payer_claim_control_number"], "ICN-77");
    assert_problem(correct(&app, void["id"].as_str().unwrap(), json!({"frequency_code": "7"})).await, 409).await;

    // The original file sent again: its claims are duplicates, each naming the latest claim of
    // its number (for CLM05000001, the void).
    let again = post_file(&app, PROFESSIONAL).await;
    assert_eq!(again["duplicate_count"], 3, "{again}");
    assert_eq!(again["claims"][1]["claim_id"], void["id"], "{again}");

    // The payer's next answer for the number goes to the latest claim of the chain.
    let res = app.post_edi(&edi("TRC-C2", "125", "C", &["CLP*CLM05000001*1*125*125*0*12*ICN-78"], 8102)).await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["claims"][0]["claim_id"], void["id"], "{body}");
}

async fn corrections_are_checked(backend: Backend) {
    let app = spawn_app(backend).await;
    let claim: Value = app.post_claim(&claim_body("JC-1")).await.json().await.unwrap();
    let id = claim["id"].as_str().unwrap();
    // Never paid: no payer's claim control number to cite unless given.
    assert_problem(correct(&app, id, json!({"frequency_code": "7"})).await, 422).await;
    // An original again (1) is only for a claim rejected before adjudication.
    let problem = assert_problem(correct(&app, id, json!({"frequency_code": "1"})).await, 422).await;
    assert!(problem["detail"].as_str().unwrap().contains("not rejected before adjudication"), "{problem}");
    let cases = [
        (json!({"frequency_code": "9"}), "frequency_code"),
        (json!({"frequency_code": "7", "changes": {"diagnosis_codes": []}}), "changes.diagnosis_codes"),
        (
            json!({"frequency_code": "7", "changes": {"lines": [{"procedure_code": "9921", "charge": "1"}]}}),
            "changes.lines[0].procedure_code",
        ),
        (json!({"frequency_code": "7", "changes": {"claim_number": "A*B"}}), "changes.claim_number"),
    ];
    for (body, field) in cases {
        let problem = assert_problem(correct(&app, id, body).await, 400).await;
        assert_eq!(error_fields(&problem), [field], "{problem}");
    }
    assert_problem(correct(&app, id, json!({"frequency_code": "7", "surprise": 1})).await, 400).await;
    assert_problem(correct(&app, "0192f0c4-3c1e-7a51-9d9c-3f1c2e4b5a6d", json!({"frequency_code": "7"})).await, 404)
        .await;

    // A JSON claim's correction: new lines, the control number given; the total follows them.
    let res = correct(
        &app,
        id,
        json!({"frequency_code": "7", "changes": {"payer_claim_control_number": "PCN-9", "lines": [{"procedure_code": "99214", "charge": "210.00"}]}}),
    )
    .await;
    let corrected: Value = res.json().await.unwrap();
    assert_eq!(corrected["total_charge"], "210.00", "{corrected}");
    assert_eq!(corrected["lines"][0]["service_date"], claim["service_date"]);
    assert_eq!(corrected["payer_claim_control_number"], "PCN-9");
    // Its number taken by another original is a conflict; the claims list shows both revisions.
    let other: Value = app.post_claim(&claim_body("JC-2")).await.json().await.unwrap();
    let res = correct(
        &app,
        other["id"].as_str().unwrap(),
        json!({"frequency_code": "8", "changes": {"claim_number": "JC-1", "payer_claim_control_number": "P"}}),
    )
    .await;
    assert_problem(res, 409).await;
    let list = app.get_json("/v1/claims?claim_number=JC-1").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    // An original claim number is still unique.
    assert_problem(app.post_claim(&claim_body("JC-1")).await, 409).await;
}

/// Claims stored before claims had revisions keep every row and line through the migration
/// (on SQLite a rebuild of the table with foreign keys off), and their numbers stay unique.
async fn the_revision_migration_keeps_every_claim_and_line(backend: Backend) {
    use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait, Statement};
    use sea_orm_migration::MigratorTrait;
    let db = crate::helpers::TestDatabase::new(backend).await;
    let settings = overturn_service::configuration::Settings::from_map(&db.vars).unwrap();
    let conn = overturn_service::db::Db::connect(&settings).await.unwrap();
    let before = overturn_migration::Migrator::migrations()
        .iter()
        .position(|m| m.name() == "m20261208_000012_claim_revisions")
        .expect("the revisions migration");
    overturn_migration::Migrator::up(&conn.write, Some(before as u32)).await.unwrap();
    let backend_of = conn.write.get_database_backend();
    let id = uuid::Uuid::now_v7();
    let now = overturn_service::sql::now();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
    let claim_values: Vec<sea_orm::Value> = vec![
        id.into(),
        "OLD-1".into(),
        "60054".into(),
        "ACME".into(),
        "M1".into(),
        "A".into(),
        "B".into(),
        day.into(),
        "1234567893".into(),
        "CLINIC".into(),
        day.into(),
        now.into(),
        "1".into(),
        Option::<String>::None.into(),
        json!(["E11.9"]).into(),
        10000i64.into(),
        0i64.into(),
        0i64.into(),
        "submitted".into(),
        now.into(),
        now.into(),
    ];
    let marks: Vec<String> =
        (1..=claim_values.len()).map(|n| overturn_service::sql::placeholder(backend_of, n)).collect();
    let insert = format!(
        "INSERT INTO claims (id, claim_number, payer_id, payer_name, patient_member_id, patient_first_name, patient_last_name, patient_date_of_birth, provider_npi, provider_name, service_date, submitted_at, frequency_code, payer_claim_control_number, diagnosis_codes, total_charge_cents, paid_amount_cents, patient_responsibility_cents, status, created_at, updated_at) VALUES ({})",
        marks.join(", ")
    );
    conn.write.execute_raw(Statement::from_sql_and_values(backend_of, &insert, claim_values)).await.unwrap();
    let line = overturn_entity::claim_line::Model {
        claim_id: id,
        line_number: 1,
        procedure_code: "99213".into(),
        modifiers: json!([]),
        units: "1".into(),
        charge_cents: 10000,
        service_date: day,
        line_control_number: None,
    };
    overturn_entity::claim_line::Entity::insert(overturn_entity::claim_line::ActiveModel::from(line))
        .exec_without_returning(&conn.write)
        .await
        .unwrap();

    overturn_migration::Migrator::up(&conn.write, None).await.unwrap();
    let claim = overturn_entity::claim::Entity::find_by_id(id).one(&conn.read).await.unwrap().expect("the claim kept");
    assert_eq!((claim.claim_number.as_str(), claim.revision, claim.replaces_claim_id), ("OLD-1", 0, None));
    assert_eq!(overturn_entity::claim_line::Entity::find().count(&conn.read).await.unwrap(), 1, "its line kept");
    // The number is still taken for another original.
    let mut again = claim.clone();
    again.id = uuid::Uuid::now_v7();
    let taken = overturn_entity::claim::Entity::insert(overturn_entity::claim::ActiveModel::from(again.clone()))
        .exec_without_returning(&conn.write)
        .await;
    assert!(taken.is_err(), "a second original OLD-1");
    again.revision = 1;
    again.replaces_claim_id = Some(id);
    overturn_entity::claim::Entity::insert(overturn_entity::claim::ActiveModel::from(again))
        .exec_without_returning(&conn.write)
        .await
        .unwrap();
    // And back down past it (and every migration after it): one claim per number again.
    let migrations = overturn_migration::Migrator::migrations();
    let revision = migrations.iter().position(|m| m.name() == "m20261208_000012_claim_revisions").unwrap();
    overturn_migration::Migrator::down(&conn.write, Some((migrations.len() - revision) as u32)).await.unwrap();
    let rows = conn.read.query_all_raw(Statement::from_string(backend_of, "SELECT id FROM claims")).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(overturn_entity::claim_line::Entity::find().count(&conn.read).await.unwrap(), 1);
}

crate::on_both_backends!(
    a_denied_claim_is_replaced_and_its_denial_resubmitted,
    corrections_are_checked,
    the_revision_migration_keeps_every_claim_and_line,
);
