//! Claims as X12 837 files: each claim created, rejected or reported as a duplicate, the file
//! refused whole for envelope faults, and the 999 answered (checked by pyx12).

use serde_json::Value;

use crate::helpers::{Backend, TestApp, assert_problem, spawn_app};
use crate::python::x12valid;

pub const PROFESSIONAL: &str = include_str!("../../../domain/testdata/claims-basic.837");
pub const INSTITUTIONAL: &str = include_str!("../../../domain/testdata/claims-institutional.837");

/// The professional sample with one change, its SE count kept right.
pub fn changed(from: &str, to: &str) -> String {
    assert!(PROFESSIONAL.contains(from), "{from}");
    let text = PROFESSIONAL.replacen(from, to, 1);
    let segments: Vec<&str> = text.split('~').map(str::trim).collect();
    let st = segments.iter().position(|s| s.starts_with("ST*")).unwrap();
    let se = segments.iter().position(|s| s.starts_with("SE*")).unwrap();
    text.replace(segments[se], &format!("SE*{}*0001", se - st + 1))
}

pub async fn post_file(app: &TestApp, body: &str, key: Option<&str>) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url("/v1/claim-files"))
        .bearer_auth(&app.admin_key)
        .header("content-type", "application/edi-x12")
        .body(body.to_owned());
    if let Some(key) = key {
        req = req.header("idempotency-key", key);
    }
    req.send().await.expect("request sent")
}

pub async fn created(res: reqwest::Response) -> Value {
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body
}

async fn acknowledgment(app: &TestApp, file: &Value) -> String {
    let res = app.get(file["acknowledgment_url"].as_str().unwrap()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/edi-x12");
    res.text().await.unwrap()
}

async fn each_claim_of_a_file_is_created_and_the_999_accepts_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let file = created(post_file(&app, PROFESSIONAL, None).await).await;
    assert_eq!(file["format"], "837P");
    assert_eq!((file["claim_count"].as_i64(), file["created_count"].as_i64()), (Some(3), Some(3)));
    assert_eq!((file["rejected_count"].as_i64(), file["duplicate_count"].as_i64()), (Some(0), Some(0)));
    let claims = file["claims"].as_array().unwrap();
    assert_eq!(
        claims.iter().map(|c| c["claim_number"].as_str().unwrap()).collect::<Vec<_>>(),
        ["CLM05000000", "CLM05000001", "CLM05000002"]
    );
    assert!(claims.iter().all(|c| c["status"] == "created" && c["errors"] == serde_json::json!([])));

    // The claims are today's claims: read, listed, matched by 835s as any other.
    let claim = app.get_json(&format!("/v1/claims/{}", claims[0]["claim_id"].as_str().unwrap())).await;
    assert_eq!(claim["claim_number"], "CLM05000000");
    assert_eq!(claim["total_charge"], "120.00");
    assert_eq!(claim["patient"]["member_id"], "M05000000");
    assert_eq!(claim["patient"]["last_name"], "DOEA");
    assert_eq!(claim["patient"]["date_of_birth"], "1950-01-10");
    assert_eq!(claim["provider"]["npi"], "1234567893");
    assert_eq!(claim["payer"]["id"], "60054");
    assert_eq!(claim["diagnosis_codes"], serde_json::json!(["E11.9", "F41.9"]));
    assert_eq!(claim["service_date"], "2026-11-02");
    assert_eq!(claim["lines"].as_array().unwrap().len(), 3);
    assert_eq!(claim["lines"][2]["procedure_code"], "J1885");
    assert_eq!(claim["lines"][0]["line_control_number"], "CLM05000000L1");

    // The 999: accepted, valid for pyx12, and the same bytes on every fetch.
    let ack = acknowledgment(&app, &file).await;
    assert!(ack.contains("AK1*HC*5*005010X222A1~") && ack.contains("AK2*837*0001*005010X222A1~"), "{ack}");
    assert!(ack.contains("IK5*A~") && ack.contains("AK9*A*1*1*1~"), "{ack}");
    x12valid(&ack).unwrap_or_else(|e| panic!("pyx12 refused the 999: {e}\n{ack}"));
    assert_eq!(acknowledgment(&app, &file).await, ack);

    let shown = app.get_json(&format!("/v1/claim-files/{}", file["id"].as_str().unwrap())).await;
    assert_eq!(shown, file);
    let list = app.get_json("/v1/claim-files").await;
    assert_eq!(list["items"][0]["id"], file["id"]);
    assert!(list["items"][0].get("claims").is_none(), "a list shows summaries");
}

async fn one_bad_claim_is_rejected_alone_with_its_segment_and_element(backend: Backend) {
    let app = spawn_app(backend).await;
    let text = changed("SV1*HC:93000*", "SV1*HC:9300*");
    let file = created(post_file(&app, &text, None).await).await;
    assert_eq!((file["created_count"].as_i64(), file["rejected_count"].as_i64()), (Some(2), Some(1)));
    let bad = &file["claims"][0];
    assert_eq!((bad["status"].as_str(), bad["claim_id"].as_str()), (Some("rejected"), None));
    let error = &bad["errors"][0];
    assert_eq!(
        (error["segment_id"].as_str(), error["element"].as_i64(), error["segment_index"].as_i64()),
        (Some("SV1"), Some(1), Some(28))
    );
    assert!(error["message"].as_str().unwrap().contains("9300"), "{error}");
    // Nothing of the rejected claim was stored; the others were.
    let none = app.get_json("/v1/claims?claim_number=CLM05000000").await;
    assert_eq!(none["items"], serde_json::json!([]));
    assert_eq!(app.get_json("/v1/claims?claim_number=CLM05000001").await["items"].as_array().unwrap().len(), 1);

    let ack = acknowledgment(&app, &file).await;
    assert!(ack.contains("IK3*SV1*26*2400*8~\nCTX*CLM01:CLM05000000~\nIK4*1**7~\nIK5*E*I5~\nAK9*E*1*1*1~"), "{ack}");
    x12valid(&ack).unwrap_or_else(|e| panic!("pyx12 refused the 999: {e}\n{ack}"));

    // Every kind of fault the 999 names is one pyx12 takes: an unknown segment, a segment out
    // of place, a missing one, a missing element and a bad date.
    let text = changed("LX*2~", "ZZZ*1~\nBHT*0019~\nLX*2~")
        .replacen("DTP*472*D8*20261102~\nREF*6R*CLM05000001L1", "DTP*472*D8*20261302~\nREF*6R*CLM05000001L1", 1)
        .replacen("DMG*D8*19520312*M~\n", "", 1)
        .replacen(
            "SBR*P*18*******CI~\nNM1*IL*1*DOEB*JANE****MI*M05000001",
            "SBR**18*******CI~\nNM1*IL*1*DOEB*JANE****MI*M05000001",
            1,
        );
    let segments: Vec<&str> = text.split('~').map(str::trim).collect();
    let (st, se) = (
        segments.iter().position(|s| s.starts_with("ST*")).unwrap(),
        segments.iter().position(|s| s.starts_with("SE*")).unwrap(),
    );
    let text = text.replace(segments[se], &format!("SE*{}*0001", se - st + 1));
    let file = created(post_file(&app, &text, None).await).await;
    assert_eq!(file["rejected_count"].as_i64(), Some(3), "{file}");
    let ack = acknowledgment(&app, &file).await;
    for expected in ["IK3*ZZZ*25*2400*1~", "IK3*BHT*26*2400*2~", "IK3*DMG*", "IK4*3**8~", "IK4*1**1~", "IK5*R*I5~"] {
        assert!(ack.contains(expected), "{expected} in {ack}");
    }
    x12valid(&ack).unwrap_or_else(|e| panic!("pyx12 refused the 999: {e}\n{ack}"));

    // A fault in the billing provider's loop refuses every claim under it; the set is rejected.
    let text = changed("XX*1234567893", "XX*1234567890");
    let file = created(post_file(&app, &text, None).await).await;
    assert_eq!((file["created_count"].as_i64(), file["rejected_count"].as_i64()), (Some(0), Some(3)));
    let ack = acknowledgment(&app, &file).await;
    assert!(ack.contains("IK3*NM1*8*2010*8~\nIK4*9**7~\nIK5*R*I5~\nAK9*R*1*1*0~"), "{ack}");
    x12valid(&ack).unwrap_or_else(|e| panic!("pyx12 refused the 999: {e}\n{ack}"));
}

async fn a_file_sent_again_reports_duplicates_and_a_key_replays(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = created(post_file(&app, PROFESSIONAL, Some("file-1")).await).await;
    let again = created(post_file(&app, PROFESSIONAL, Some("file-1")).await).await;
    assert_eq!(again, first, "the same key and body replay the first answer");
    let second = created(post_file(&app, PROFESSIONAL, None).await).await;
    assert_ne!(second["id"], first["id"]);
    assert_eq!((second["created_count"].as_i64(), second["duplicate_count"].as_i64()), (Some(0), Some(3)));
    for (dup, original) in second["claims"].as_array().unwrap().iter().zip(first["claims"].as_array().unwrap()) {
        assert_eq!(dup["status"], "duplicate");
        assert_eq!(dup["claim_id"], original["claim_id"], "a duplicate names the claim on file");
    }
    assert_eq!(app.get_json("/v1/claims?limit=500").await["items"].as_array().unwrap().len(), 3);
    // Duplicates are not syntax faults: the 999 accepts them.
    assert!(acknowledgment(&app, &second).await.contains("IK5*A~"));
    // The same key with another body is refused.
    let other = changed("CLM*CLM05000002*", "CLM*CLM05000009*");
    assert_problem(post_file(&app, &other, Some("file-1")).await, 422).await;
}

async fn envelope_faults_refuse_the_file_and_store_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    for (text, segment) in [
        (PROFESSIONAL.replace("SE*63*0001", "SE*64*0001"), "SE"),
        (PROFESSIONAL.replace("IEA*1*000000005", "IEA*1*000000006"), "IEA"),
        (PROFESSIONAL.replace("GE*1*5", "GE*2*5"), "GE"),
        (PROFESSIONAL.replace("005010X222A1", "005010X221A1"), "ST"),
        (PROFESSIONAL[..PROFESSIONAL.len() / 2].to_owned(), ""),
        ("not an X12 file".to_owned(), ""),
    ] {
        let problem = assert_problem(post_file(&app, &text, None).await, 400).await;
        assert_eq!(problem["errors"][0]["segment_id"].as_str(), Some(segment), "{problem}");
    }
    assert_eq!(app.get_json("/v1/claim-files").await["items"], serde_json::json!([]));
    assert_eq!(app.get_json("/v1/claims").await["items"], serde_json::json!([]));

    let res = app
        .client
        .post(app.url("/v1/claim-files"))
        .bearer_auth(&app.admin_key)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_problem(res, 415).await;
    let portal = app.create_key("portal").await;
    let res = app
        .client
        .post(app.url("/v1/claim-files"))
        .bearer_auth(&portal)
        .header("content-type", "application/edi-x12")
        .body(PROFESSIONAL)
        .send()
        .await
        .unwrap();
    assert_problem(res, 403).await;
    assert_problem(app.get("/v1/claim-files/not-an-id").await, 404).await;
    // The fixed route under `{id}` answers other methods as a fixed route does.
    let res = app.get("/v1/claim-files/export").await;
    assert_eq!(res.headers()["allow"], "POST");
    assert_problem(res, 405).await;
    assert_problem(app.get("/v1/claim-files/0192f0c4-3c1e-7a51-9d9c-3f1c2e4b5a6d/999").await, 404).await;
}

async fn an_institutional_file_keeps_its_patient_and_revenue_lines(backend: Backend) {
    let app = spawn_app(backend).await;
    x12valid(INSTITUTIONAL).expect("the sample itself is valid");
    let file = created(post_file(&app, INSTITUTIONAL, None).await).await;
    assert_eq!(file["format"], "837I");
    assert_eq!(file["claims"][0]["status"], "created", "{file}");
    let claim = app.get_json(&format!("/v1/claims/{}", file["claims"][0]["claim_id"].as_str().unwrap())).await;
    assert_eq!(
        (claim["patient"]["first_name"].as_str(), claim["patient"]["member_id"].as_str()),
        (Some("SAM"), Some("M77000001"))
    );
    assert_eq!(claim["total_charge"], "1250.00");
    assert_eq!(claim["lines"][0]["procedure_code"], "99284");
    assert_eq!(claim["lines"][1]["units"], "3");
    let ack = acknowledgment(&app, &file).await;
    assert!(ack.contains("AK2*837*0001*005010X223A2~\nIK5*A~"), "{ack}");
    x12valid(&ack).unwrap_or_else(|e| panic!("pyx12 refused the 999: {e}\n{ack}"));
}

async fn claims_from_files_are_in_the_access_log(backend: Backend) {
    let app = spawn_app(backend).await;
    let file = created(post_file(&app, PROFESSIONAL, None).await).await;
    let id = file["claims"][1]["claim_id"].as_str().unwrap().to_owned();
    let events = app
        .eventually("the file's access events sealed", || async {
            let body = app.get_json("/v1/audit-events?member_id=M05000001&limit=500").await;
            let items = body["items"].as_array()?.clone();
            (!items.is_empty() && items.iter().all(|e| e["hash"].is_string())).then_some(items)
        })
        .await;
    let create =
        events.iter().find(|e| e["action"] == "create" && e["resource_type"] == "claim").expect("a create event");
    assert!(create["resource_ids"].as_array().unwrap().iter().any(|r| r == id.as_str()), "{create}");
    assert_eq!(create["route"], "/v1/claim-files");
    assert_eq!(create["member_count"], 3);
}

async fn a_claim_is_written_back_as_the_837_it_came_in(backend: Backend) {
    let app = spawn_app(backend).await;
    for (text, format) in [(PROFESSIONAL, "837P"), (INSTITUTIONAL, "837I")] {
        let file = created(post_file(&app, text, None).await).await;
        for outcome in file["claims"].as_array().unwrap() {
            let id = outcome["claim_id"].as_str().unwrap();
            let res = app.get(&format!("/v1/claims/{id}/837")).await;
            assert_eq!(res.status(), 200);
            assert_eq!(res.headers()["content-type"], "application/edi-x12");
            let written = res.text().await.unwrap();
            x12valid(&written).unwrap_or_else(|e| panic!("pyx12 refused the 837: {e}\n{written}"));
            assert_eq!(written.matches("CLM*").count(), 1, "{written}");
            let clm = format!("CLM*{}*", outcome["claim_number"].as_str().unwrap());
            assert!(written.contains(&clm), "{written}");
            // Sent back in, it is the claim already on file.
            let again = created(post_file(&app, &written, None).await).await;
            assert_eq!(again["format"], format);
            assert_eq!(again["claims"][0]["status"], "duplicate", "{again}");
            assert_eq!(again["claims"][0]["claim_id"].as_str(), Some(id));
        }
    }
    // A claim that came as JSON holds too little for an 837.
    let res = app.post_claim(&crate::helpers::claim_body("JSON-1")).await;
    let claim: Value = res.json().await.unwrap();
    assert_problem(app.get(&format!("/v1/claims/{}/837", claim["id"].as_str().unwrap())).await, 422).await;
    assert_problem(app.get("/v1/claims/0192f0c4-3c1e-7a51-9d9c-3f1c2e4b5a6d/837").await, 404).await;
}

async fn chosen_claims_are_exported_as_one_837(backend: Backend) {
    let app = spawn_app(backend).await;
    let file = created(post_file(&app, PROFESSIONAL, None).await).await;
    let ids: Vec<&str> = file["claims"].as_array().unwrap().iter().map(|c| c["claim_id"].as_str().unwrap()).collect();
    let chosen = serde_json::json!({"claim_ids": [ids[2], ids[0]]});
    let export = created(app.post("/v1/claim-files/export", &chosen).await).await;
    assert_eq!(
        (export["kind"].as_str(), export["format"].as_str(), export["claim_count"].as_i64()),
        (Some("export"), Some("837P"), Some(2))
    );
    assert_eq!(export["acknowledgment_url"], Value::Null);
    assert_eq!(export["claims"][0]["claim_id"].as_str(), Some(ids[2]));
    assert_eq!(export["claims"][0]["status"], "exported");
    let res = app.get(export["file_url"].as_str().unwrap()).await;
    assert_eq!(res.status(), 200);
    let written = res.text().await.unwrap();
    x12valid(&written).unwrap_or_else(|e| panic!("pyx12 refused the export: {e}\n{written}"));
    let clms: Vec<&str> = written.lines().filter(|l| l.starts_with("CLM*")).collect();
    assert_eq!(clms.len(), 2);
    assert!(clms[0].starts_with("CLM*CLM05000002*") && clms[1].starts_with("CLM*CLM05000000*"), "{written}");
    // Its number follows the file's 999 in one sequence.
    let ack = acknowledgment(&app, &file).await;
    assert!(ack.contains("*00501*000000001*") && written.contains("*00501*000000002*"), "{ack}\n{written}");
    // A received file's 837 is the bytes received; an export has no 999.
    let original = app.get(file["file_url"].as_str().unwrap()).await.text().await.unwrap();
    assert_eq!(original, PROFESSIONAL);
    assert_problem(app.get(&format!("/v1/claim-files/{}/999", export["id"].as_str().unwrap())).await, 404).await;

    // What cannot be exported is named.
    let json_claim: Value = app.post_claim(&crate::helpers::claim_body("JSON-2")).await.json().await.unwrap();
    let institutional = created(post_file(&app, INSTITUTIONAL, None).await).await;
    let cases = [
        (serde_json::json!({"claim_ids": [ids[0], json_claim["id"]]}), 422, "claim_ids[1]"),
        (serde_json::json!({"claim_ids": ["0192f0c4-3c1e-7a51-9d9c-3f1c2e4b5a6d"]}), 422, "claim_ids[0]"),
        (serde_json::json!({"claim_ids": [ids[0], ids[0]]}), 400, "claim_ids[1]"),
        (serde_json::json!({"claim_ids": ["nope"]}), 400, "claim_ids[0]"),
        (serde_json::json!({"claim_ids": []}), 400, "claim_ids"),
        (serde_json::json!({"claim_ids": [ids[0], institutional["claims"][0]["claim_id"]]}), 422, ""),
    ];
    for (body, status, field) in cases {
        let problem = assert_problem(app.post("/v1/claim-files/export", &body).await, status).await;
        if !field.is_empty() {
            assert_eq!(crate::helpers::error_fields(&problem), [field], "{problem}");
        }
    }
    let list = app.get_json("/v1/claim-files").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 3, "refused exports store nothing");
}

crate::on_both_backends!(
    chosen_claims_are_exported_as_one_837,
    a_claim_is_written_back_as_the_837_it_came_in,
    each_claim_of_a_file_is_created_and_the_999_accepts_it,
    one_bad_claim_is_rejected_alone_with_its_segment_and_element,
    a_file_sent_again_reports_duplicates_and_a_key_replays,
    envelope_faults_refuse_the_file_and_store_nothing,
    an_institutional_file_keeps_its_patient_and_revenue_lines,
    claims_from_files_are_in_the_access_log,
);
