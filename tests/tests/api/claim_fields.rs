//! JSON claims with the fields of an 837: kept and shown, written as an 837P or 837I that
//! pyx12 accepts and that Overturn reads back as the same claim, and named when missing.

use overturn::startup::ServeRole;
use serde_json::{Value, json};

use crate::claim_files::{INSTITUTIONAL, PROFESSIONAL, created, post_file};
use crate::fuzz::{Rng, mutate};
use crate::helpers::{Backend, TestApp, assert_problem, claim_body, error_fields, spawn_app, spawn_app_with};
use crate::python::x12valid;

fn address(line1: &str) -> Value {
    json!({"line1": line1, "city": "HARTFORD", "state": "CT", "postal_code": "061031234"})
}

/// A professional claim with every 837 field a billing system sends.
fn professional(claim_number: &str) -> Value {
    let mut body = claim_body(claim_number);
    let extra = json!({
        "submitter": {"name": "SMITH FAMILY CLINIC", "id": "SUB123", "contact_name": "BILLING OFFICE", "phone": "8605551212", "email": "billing@example.com"},
        "receiver": {"name": "CLEARINGHOUSE", "id": "CLEAR1"},
        "pay_to": {"address": address("PO BOX 9")},
        "place_of_service": "11",
        "prior_authorization": "AUTH-1",
        "referral_number": "REF-2",
        "providers": {
            "referring": {"npi": "1245319599", "name": "JONES", "first_name": "ANN"},
            "rendering": {"npi": "1234567893", "name": "SMITH", "first_name": "JOHN", "taxonomy": "207Q00000X"}
        }
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body["provider"]["tax_id"] = json!("06-1234567");
    body["provider"]["taxonomy"] = json!("207Q00000X");
    body["provider"]["address"] = address("100 MAIN ST");
    body["payer"]["claim_filing_indicator"] = json!("CI");
    body["payer"]["group_number"] = json!("GRP-9");
    body["patient"]["gender"] = json!("F");
    body["patient"]["address"] = address("12 ELM ST");
    body["lines"][0]["diagnosis_pointers"] = json!([1, 2]);
    body["lines"][1]["diagnosis_pointers"] = json!([2]);
    body["lines"][1]["ndc"] = json!({"code": "00409-0001-01", "quantity": "2.5", "unit": "ML"});
    body
}

/// An outpatient hospital claim for a dependent: an 837I.
fn institutional(claim_number: &str) -> Value {
    let mut body = professional(claim_number);
    let o = body.as_object_mut().unwrap();
    o.remove("place_of_service");
    o.remove("providers");
    body["facility_type"] = json!("13");
    body["admission"] = json!({"date": "2024-12-02", "hour": "0930", "type_code": "3", "source_code": "1", "patient_status": "01", "diagnosis_code": "R50.9"});
    body["statement_period"] = json!({"from": "2024-12-02", "to": "2024-12-03"});
    body["providers"] =
        json!({"attending": {"npi": "1245319599", "name": "JONES", "first_name": "ANN", "taxonomy": "207Q00000X"}});
    body["patient"]["relationship"] = json!("19");
    body["subscriber"] = json!({"last_name": "DOE", "first_name": "JOHN", "date_of_birth": "1978-01-30", "gender": "M", "address": address("12 ELM ST")});
    body["lines"] = json!([
        {"revenue_code": "0450", "procedure_code": "99283", "charge": "400.00"},
        {"revenue_code": "0300", "charge": "80.00", "service_date": "2024-12-03", "ndc": {"code": "00409000101"}}
    ]);
    body
}

async fn claim_837(app: &TestApp, id: &str) -> String {
    let res = app.get(&format!("/v1/claims/{id}/837")).await;
    let status = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    text
}

/// The 837 a claim is written as, sent to a second Overturn: the claim it reads is the same.
async fn read_elsewhere(backend: Backend, text: &str) -> Value {
    let other = spawn_app(backend).await;
    let file = created(post_file(&other, text, None).await).await;
    assert_eq!(file["created_count"], 1, "{file}");
    other.get_json(&format!("/v1/claims/{}", file["claims"][0]["claim_id"].as_str().unwrap())).await
}

/// What a claim says, without what differs between two stores of it.
fn comparable(claim: &Value) -> Value {
    let mut c = claim.clone();
    for k in ["id", "created_at", "updated_at", "submitted_at", "follow_ups", "follow_up_count", "status"] {
        c.as_object_mut().unwrap().remove(k);
    }
    c
}

async fn a_json_claim_with_837_fields_is_written_as_an_837p(backend: Backend) {
    let app = spawn_app(backend).await;
    let claim = created(app.post_claim(&professional("JSON-P1")).await).await;
    assert_eq!(claim["format"], "837P");
    assert!(claim.get("missing_for_837").is_none(), "{claim}");
    assert_eq!(claim["provider"]["tax_id"], "061234567");
    assert_eq!(claim["provider"]["address"]["postal_code"], "061031234");
    assert_eq!(claim["submitter"]["phone"], "8605551212");
    assert_eq!(claim["payer"]["claim_filing_indicator"], "CI");
    assert_eq!(claim["payer"]["responsibility"], "P");
    assert_eq!(claim["patient"]["relationship"], "18");
    assert_eq!(claim["providers"]["rendering"]["taxonomy"], "207Q00000X");
    assert_eq!(claim["lines"][0]["diagnosis_pointers"], json!([1, 2]));
    assert_eq!(claim["lines"][1]["ndc"], json!({"code": "00409000101", "quantity": "2.5", "unit": "ML"}));
    assert_eq!(claim["diagnoses"], json!([{"code": "E119", "qualifier": "ABK"}, {"code": "I10", "qualifier": "ABF"}]));
    // Stored as shown.
    let id = claim["id"].as_str().unwrap();
    assert_eq!(comparable(&app.get_json(&format!("/v1/claims/{id}")).await), comparable(&claim));

    let text = claim_837(&app, id).await;
    x12valid(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    for expected in [
        "ST*837*0001*005010X222A1~",
        "NM1*41*2*SMITH FAMILY CLINIC*****46*SUB123~",
        "PER*IC*BILLING OFFICE*TE*8605551212*EM*billing@example.com~",
        "REF*EI*061234567~",
        "NM1*87*2~",
        "SBR*P*18*GRP-9******CI~",
        "CLM*JSON-P1*200.50***11:B:1*Y*A*Y*Y~",
        "REF*9F*REF-2~",
        "REF*G1*AUTH-1~",
        "HI*ABK:E119*ABF:I10~",
        "NM1*DN*1*JONES*ANN****XX*1245319599~",
        "PRV*PE*PXC*207Q00000X~",
        "SV1*HC:99213:25*180.00*UN*1***1:2~",
        "LIN**N4*00409000101~",
        "CTP****2.5*ML~",
    ] {
        assert!(text.contains(expected), "{expected} not in\n{text}");
    }
    // Read by another Overturn, the 837 is the same claim with the same fields.
    let again = read_elsewhere(backend, &text).await;
    let mut expected = comparable(&claim);
    let mut read = comparable(&again);
    read.as_object_mut().unwrap().remove("submitted_at");
    expected["lines"][1]["service_date"] = json!("2024-12-03");
    assert_eq!(read, expected);
}

async fn institutional_fields_make_an_837i(backend: Backend) {
    let app = spawn_app(backend).await;
    let claim = created(app.post_claim(&institutional("JSON-I1")).await).await;
    assert_eq!(claim["format"], "837I");
    assert_eq!(claim["facility_type"], "13");
    assert_eq!(claim["admission"]["diagnosis_code"], "R50.9");
    assert_eq!(claim["subscriber"]["first_name"], "JOHN");
    assert_eq!(claim["lines"][1]["revenue_code"], "0300");
    assert!(claim["lines"][1]["procedure_code"] == "", "{claim}");
    let id = claim["id"].as_str().unwrap();
    let text = claim_837(&app, id).await;
    x12valid(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    for expected in [
        "ST*837*0001*005010X223A2~",
        "PAT*19~",
        "NM1*QC*1*Doe*Jane~",
        "CLM*JSON-I1*480.00***13:A:1**A*Y*Y~",
        "DTP*434*RD8*20241202-20241203~",
        "DTP*435*DT*202412020930~",
        "CL1*3*1*01~",
        "HI*ABK:E119~",
        "HI*ABJ:R509~",
        "NM1*71*1*JONES*ANN****XX*1245319599~",
        "SV2*0450*HC:99283*400.00*UN*1~",
        "SV2*0300**80.00*UN*1~",
    ] {
        assert!(text.contains(expected), "{expected} not in\n{text}");
    }
    let again = read_elsewhere(backend, &text).await;
    assert_eq!(again["facility_type"], "13");
    assert_eq!(again["admission"], claim["admission"]);
    assert_eq!(again["subscriber"], claim["subscriber"]);
    assert_eq!(again["lines"][1]["revenue_code"], "0300");
    // The reader counts the admitting diagnosis among the claim's codes.
    assert_eq!(again["diagnosis_codes"], json!(["E11.9", "R50.9", "I10"]));
}

async fn what_an_837_lacks_is_named(backend: Backend) {
    let app = spawn_app(backend).await;
    // Some fields: kept and shown, with what is missing.
    let mut body = claim_body("PART-1");
    body["place_of_service"] = json!("11");
    body["provider"]["tax_id"] = json!("061234567");
    let claim = created(app.post_claim(&body).await).await;
    assert_eq!(claim["place_of_service"], "11");
    let missing: Vec<&str> =
        claim["missing_for_837"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(
        missing,
        ["submitter", "receiver", "provider.address", "payer.claim_filing_indicator", "patient.address"]
    );
    let problem =
        assert_problem(app.get(&format!("/v1/claims/{}/837", claim["id"].as_str().unwrap())).await, 422).await;
    assert_eq!(error_fields(&problem), missing);
    // None: today's JSON claim, unchanged, and what it would need.
    let plain = created(app.post_claim(&claim_body("PLAIN-1")).await).await;
    assert!(plain.get("format").is_none() && plain.get("missing_for_837").is_none(), "{plain}");
    let problem =
        assert_problem(app.get(&format!("/v1/claims/{}/837", plain["id"].as_str().unwrap())).await, 422).await;
    assert!(error_fields(&problem).contains(&"provider.tax_id".to_owned()), "{problem}");
    // Neither goes into an export; a complete one does.
    let full = created(app.post_claim(&professional("FULL-1")).await).await;
    let ids = json!({"claim_ids": [full["id"], claim["id"]]});
    let problem = assert_problem(app.post("/v1/claim-files/export", &ids).await, 422).await;
    assert_eq!(error_fields(&problem), ["claim_ids[1]"], "{problem}");
    let export = created(app.post("/v1/claim-files/export", &json!({"claim_ids": [full["id"]]})).await).await;
    let text = app.get(&format!("/v1/claim-files/{}/837", export["id"].as_str().unwrap())).await.text().await.unwrap();
    x12valid(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
}

async fn bad_837_fields_are_named(backend: Backend) {
    let app = spawn_app(backend).await;
    type Change = fn(&mut Value);
    let cases: Vec<(Change, &[&str])> = vec![
        (|b| b["provider"]["tax_id"] = json!("12345"), &["provider.tax_id"]),
        (|b| b["provider"]["taxonomy"] = json!("207Q00000"), &["provider.taxonomy"]),
        (
            |b| b["provider"]["address"] = json!({"line1": "1 A ST", "city": "X"}),
            &["provider.address.state", "provider.address.postal_code"],
        ),
        (|b| b["patient"]["address"]["state"] = json!("Connecticut"), &["patient.address.state"]),
        (|b| b["submitter"]["phone"] = json!("555-1212"), &["submitter.phone"]),
        (|b| b["payer"]["claim_filing_indicator"] = json!("XX"), &["payer.claim_filing_indicator"]),
        (|b| b["patient"]["relationship"] = json!("19"), &["subscriber"]),
        (|b| b["lines"][0]["diagnosis_pointers"] = json!([3]), &["lines[0].diagnosis_pointers[0]"]),
        (|b| b["lines"][0]["diagnosis_pointers"] = json!([1, 2, 1, 2, 1]), &["lines[0].diagnosis_pointers"]),
        (|b| b["lines"][1]["ndc"]["code"] = json!("0040900010"), &["lines[1].ndc.code"]),
        (|b| b["lines"][1]["ndc"]["unit"] = json!("KG"), &["lines[1].ndc.unit"]),
        (|b| b["providers"]["referring"]["npi"] = json!("1245319598"), &["providers.referring.npi"]),
        (|b| b["providers"]["rendering"]["name"] = json!("SMITH*JOHN"), &["providers.rendering.name"]),
        (|b| b["facility_type"] = json!("13"), &["facility_type", "place_of_service"]),
        (|b| b["admission"] = json!({"hour": "2460"}), &["admission.hour"]),
        (
            |b| b["lines"][0].as_object_mut().unwrap().remove("procedure_code").map(drop).unwrap_or(()),
            &["lines[0].procedure_code"],
        ),
    ];
    for (change, fields) in cases {
        let mut body = professional("BAD-1");
        change(&mut body);
        let problem = assert_problem(app.post_claim(&body).await, 400).await;
        assert_eq!(error_fields(&problem), *fields, "{problem}");
    }
    let mut body = institutional("BAD-2");
    body["statement_period"]["from"] = json!("2024-12-01");
    let problem = assert_problem(app.post_claim(&body).await, 400).await;
    assert_eq!(error_fields(&problem), ["statement_period.from"], "{problem}");
    let list = app.get_json("/v1/claims").await;
    assert_eq!(list["items"], json!([]), "nothing stored");
}

async fn a_claim_from_a_file_shows_its_837_fields(backend: Backend) {
    let app = spawn_app(backend).await;
    let file = created(post_file(&app, PROFESSIONAL, None).await).await;
    let claim = app.get_json(&format!("/v1/claims/{}", file["claims"][0]["claim_id"].as_str().unwrap())).await;
    assert_eq!(claim["format"], "837P", "{claim}");
    assert!(claim.get("missing_for_837").is_none(), "{claim}");
    assert!(claim["submitter"]["id"].is_string() && claim["receiver"]["id"].is_string(), "{claim}");
    assert!(claim["provider"]["address"]["line1"].is_string(), "{claim}");
    assert!(claim["provider"]["tax_id"].is_string(), "{claim}");
    assert!(claim["payer"]["claim_filing_indicator"].is_string(), "{claim}");
    assert!(claim["place_of_service"].is_string(), "{claim}");
    assert_eq!(claim["diagnoses"][0]["qualifier"], "ABK");
    // And in lists.
    let list = app.get_json("/v1/claims?claim_number=CLM05000000").await;
    assert_eq!(list["items"][0]["provider"], claim["provider"]);
}

async fn a_correction_of_a_json_claim_is_written_with_its_fields(backend: Backend) {
    let app = spawn_app(backend).await;
    let claim = created(app.post_claim(&professional("JSON-C1")).await).await;
    let id = claim["id"].as_str().unwrap();
    let body = json!({"frequency_code": "7", "changes": {"payer_claim_control_number": "PCN-77", "diagnosis_codes": ["E11.9"]}});
    let correction = created(app.post(&format!("/v1/claims/{id}/corrections"), &body).await).await;
    assert_eq!(correction["provider"]["tax_id"], "061234567", "{correction}");
    let text = claim_837(&app, correction["id"].as_str().unwrap()).await;
    x12valid(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(text.contains("CLM*JSON-C1*200.50***11:B:7*Y*A*Y*Y~") && text.contains("REF*F8*PCN-77~"), "{text}");
    // Pointers to a code the correction dropped go; a line left without one points at the principal.
    assert!(text.contains("SV1*HC:99213:25*180.00*UN*1***1~"), "{text}");
    assert!(text.contains("SV1*HC:36415*20.50*UN*1***1~"), "{text}");
    // The payer's claim number follows the referral and authorization, as the guide orders them.
    assert!(text.contains("REF*G1*AUTH-1~\nREF*F8*PCN-77~"), "{text}");
    // The correction has one code: a pointer at a second is named.
    let bad = json!({"frequency_code": "7", "changes": {"payer_claim_control_number": "PCN-77", "lines": [{"procedure_code": "99213", "charge": "1.00", "diagnosis_pointers": [2]}]}});
    let problem = assert_problem(
        app.post(&format!("/v1/claims/{}/corrections", correction["id"].as_str().unwrap()), &bad).await,
        400,
    )
    .await;
    assert_eq!(error_fields(&problem), ["changes.lines[0].diagnosis_pointers[0]"]);
}

/// The fixes a denial for a wrong place of service, a diagnosis that does not support the
/// procedure, or a missing drug code asks for: a correction changes the claim's and a line's
/// place of service, a line's pointers and its NDC; a line that sends none keeps its own.
async fn a_correction_changes_places_of_service_pointers_and_drugs(backend: Backend) {
    let app = spawn_app(backend).await;
    let claim = created(app.post_claim(&professional("JSON-C2")).await).await;
    let id = claim["id"].as_str().unwrap();
    let lines = json!([
        {"procedure_code": "99213", "modifiers": ["25"], "charge": "180.00", "place_of_service": "22",
         "diagnosis_pointers": [2, 1], "ndc": {"code": "00409-0002-02", "quantity": "1", "unit": "UN"}},
        {"procedure_code": "36415", "charge": "20.50"}
    ]);
    let body = json!({"frequency_code": "7", "changes": {"payer_claim_control_number": "PCN-78", "place_of_service": "22", "lines": lines}});
    let correction = created(app.post(&format!("/v1/claims/{id}/corrections"), &body).await).await;
    let text = claim_837(&app, correction["id"].as_str().unwrap()).await;
    x12valid(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(text.contains("CLM*JSON-C2*200.50***22:B:7*Y*A*Y*Y~"), "{text}");
    assert!(text.contains("SV1*HC:99213:25*180.00*UN*1*22**2:1~"), "{text}");
    assert!(text.contains("LIN**N4*00409000202~\nCTP****1*UN~"), "{text}");
    // The second line sent no pointers or drug: it keeps its pointer and its NDC.
    assert!(text.contains("SV1*HC:36415*20.50*UN*1***2~"), "{text}");
    assert!(text.contains("LIN**N4*00409000101~\nCTP****2.5*ML~"), "{text}");
    let shown = app.get_json(&format!("/v1/claims/{}", correction["id"].as_str().unwrap())).await;
    assert_eq!(shown["place_of_service"], "22", "{shown}");
    assert_eq!(shown["lines"][0]["place_of_service"], "22", "{shown}");
    assert_eq!(shown["lines"][0]["diagnosis_pointers"], json!([2, 1]), "{shown}");
    assert_eq!(shown["lines"][0]["ndc"]["code"], "00409000202", "{shown}");
    assert_eq!(shown["lines"][1]["ndc"]["code"], "00409000101", "{shown}");

    // Named and refused, nothing stored: a place of service that is not one, a pointer past
    // the codes, either on an institutional claim, or on a claim without its 837 loops.
    let correction_id = correction["id"].as_str().unwrap();
    let bad = json!({"frequency_code": "7", "changes": {"payer_claim_control_number": "PCN-78", "place_of_service": "2X",
        "lines": [{"procedure_code": "99213", "charge": "1.00", "diagnosis_pointers": [3]}]}});
    let problem = assert_problem(app.post(&format!("/v1/claims/{correction_id}/corrections"), &bad).await, 400).await;
    assert_eq!(error_fields(&problem), ["changes.place_of_service", "changes.lines[0].diagnosis_pointers[0]"]);
    let file = created(post_file(&app, INSTITUTIONAL, None).await).await;
    let institutional_id = file["claims"][0]["claim_id"].as_str().unwrap();
    let pos =
        json!({"frequency_code": "7", "changes": {"payer_claim_control_number": "PCN-9", "place_of_service": "22"}});
    let problem =
        assert_problem(app.post(&format!("/v1/claims/{institutional_id}/corrections"), &pos).await, 422).await;
    assert!(problem["detail"].as_str().unwrap().contains("professional"), "{problem}");
    let plain = created(app.post_claim(&claim_body("PLAIN-1")).await).await;
    let problem =
        assert_problem(app.post(&format!("/v1/claims/{}/corrections", plain["id"].as_str().unwrap()), &pos).await, 422)
            .await;
    assert!(problem["detail"].as_str().unwrap().contains("no 837 loops"), "{problem}");
    let list = app.get_json("/v1/claims?claim_number=PLAIN-1").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
}

async fn an_institutional_correction_rewrites_its_revenue_lines(backend: Backend) {
    let app = spawn_app(backend).await;
    let file = created(post_file(&app, INSTITUTIONAL, None).await).await;
    let id = file["claims"][0]["claim_id"].as_str().unwrap();
    let lines = json!([
        {"revenue_code": "0450", "procedure_code": "99284", "modifiers": ["25"], "charge": "500.00"},
        {"revenue_code": "0300", "charge": "75.00"}
    ]);
    let without = json!({"frequency_code": "7", "changes": {"payer_claim_control_number": "PCN-9", "lines": [{"procedure_code": "99284", "charge": "1.00"}]}});
    let problem = assert_problem(app.post(&format!("/v1/claims/{id}/corrections"), &without).await, 422).await;
    assert!(problem["detail"].as_str().unwrap().contains("revenue_code"), "{problem}");
    let body = json!({"frequency_code": "7", "changes": {"payer_claim_control_number": "PCN-9", "lines": lines}});
    let correction = created(app.post(&format!("/v1/claims/{id}/corrections"), &body).await).await;
    assert_eq!(correction["total_charge"], "575.00");
    assert_eq!(correction["lines"][1]["revenue_code"], "0300", "{correction}");
    let text = claim_837(&app, correction["id"].as_str().unwrap()).await;
    x12valid(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(text.contains("SV2*0450*HC:99284:25*500.00*UN*1~") && text.contains("SV2*0300**75.00*UN*1~"), "{text}");
    // A professional claim's lines take none.
    let json_claim = created(app.post_claim(&professional("P-REV")).await).await;
    let problem = assert_problem(
        app.post(&format!("/v1/claims/{}/corrections", json_claim["id"].as_str().unwrap()), &body).await,
        422,
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("professional"), "{problem}");
}

/// The answers the claim writer renders itself show the fields too: a keyed claim's (stored
/// with its key, replayed as it was) and a claim a waiting payment settled on arrival.
async fn answers_rendered_in_the_claim_transaction_show_the_fields(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = professional("KEYED-1");
    let post = async |key: &str, body: &Value| {
        let res = app
            .client
            .post(app.url("/v1/claims"))
            .bearer_auth(&app.admin_key)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        res.json::<Value>().await.unwrap()
    };
    let first = post("fields-1", &body).await;
    assert_eq!(first["provider"]["tax_id"], "061234567", "{first}");
    assert_eq!(post("fields-1", &body).await, first, "the replay is the first answer");

    let remittance = crate::remittances::edi(
        "TRN-F",
        "180",
        "C",
        &["CLP*PAID-F*1*200.50*180*20.50*12*ICN-F", "CAS*PR*1*20.50"],
        7101,
    );
    assert_eq!(app.post_edi(&remittance).await.status(), 202);
    let settled = post("fields-2", &professional("PAID-F")).await;
    assert_eq!(settled["status"], "paid", "{settled}");
    assert_eq!(
        (settled["format"].as_str(), settled["place_of_service"].as_str()),
        (Some("837P"), Some("11")),
        "{settled}"
    );
    assert_eq!(settled["lines"][1]["ndc"]["code"], "00409000101", "{settled}");
}

/// Mutated claims with 837 fields: a claim or a problem, never a server error; and a claim
/// stored is written as an 837, or 422 naming what it lacks, never a 5xx. The first few
/// written go through pyx12.
async fn mutated_837_fields_never_break_the_server(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut rng = Rng(0x837F_1E1D_5EED_0001);
    let (mut created, mut written, mut validated) = (0, 0, 0);
    for i in 0..120 {
        let mut body = if i % 2 == 0 { professional(&format!("FZ-{i}")) } else { institutional(&format!("FZ-{i}")) };
        for _ in 0..=rng.below(3) {
            mutate(&mut body, &mut rng, 0);
        }
        let res = app.post_claim(&body).await;
        let status = res.status().as_u16();
        assert!(matches!(status, 201 | 400 | 409), "case {i}: status {status} for {body}");
        if status != 201 {
            assert_eq!(res.json::<Value>().await.unwrap()["status"], status, "case {i}");
            continue;
        }
        created += 1;
        let claim: Value = res.json().await.unwrap();
        let res = app.get(&format!("/v1/claims/{}/837", claim["id"].as_str().unwrap())).await;
        match res.status().as_u16() {
            200 => {
                written += 1;
                if validated < 4 {
                    let text = res.text().await.unwrap();
                    x12valid(&text).unwrap_or_else(|e| panic!("case {i}: {e}\n{text}"));
                    validated += 1;
                }
            }
            422 => {
                let problem: Value = res.json().await.unwrap();
                // What the claim shows it lacks (a claim left without any 837 field lacks them all).
                let named = error_fields(&problem);
                match claim["missing_for_837"].as_array() {
                    Some(missing) => assert_eq!(named.len(), missing.len(), "case {i}: {problem}"),
                    None => assert!(claim.get("format").is_none() && !named.is_empty(), "case {i}: {problem}"),
                }
            }
            other => panic!("case {i}: /837 answered {other} for {body}"),
        }
    }
    assert!(created > 10 && written > 5 && created < 120, "created {created}, written {written}");
}

/// The practice's submitter and receiver, configured once, stand in for those a JSON claim
/// does not name; a claim that names its own keeps them; unconfigured, they are still lacking.
async fn the_configured_submitter_and_receiver_stand_in(backend: Backend) {
    let parties = [
        ("OVERTURN_SUBMITTER_NAME", "SMITH FAMILY CLINIC"),
        ("OVERTURN_SUBMITTER_ID", "ETIN9"),
        ("OVERTURN_SUBMITTER_PHONE", "8605551212"),
        ("OVERTURN_RECEIVER_NAME", "CLEARINGHOUSE"),
        ("OVERTURN_RECEIVER_ID", "CLEAR9"),
    ];
    let app = spawn_app_with(backend, ServeRole::All, &parties).await;
    let mut body = professional("DEF-1");
    body.as_object_mut().unwrap().remove("submitter");
    body.as_object_mut().unwrap().remove("receiver");
    let claim = created(app.post_claim(&body).await).await;
    assert_eq!((&claim["submitter"]["id"], &claim["receiver"]["id"]), (&json!("ETIN9"), &json!("CLEAR9")), "{claim}");
    assert!(claim.get("missing_for_837").is_none(), "{claim}");
    let text = claim_837(&app, claim["id"].as_str().unwrap()).await;
    x12valid(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(
        text.contains("NM1*41*2*SMITH FAMILY CLINIC*****46*ETIN9~\nPER*IC*SMITH FAMILY CLINIC*TE*8605551212~"),
        "{text}"
    );
    assert!(text.contains("NM1*40*2*CLEARINGHOUSE*****46*CLEAR9~"), "{text}");
    let own = created(app.post_claim(&professional("DEF-2")).await).await;
    assert_eq!((&own["submitter"]["id"], &own["receiver"]["id"]), (&json!("SUB123"), &json!("CLEAR1")), "{own}");
    assert_eq!(own["submitter"]["email"], "billing@example.com", "{own}");

    let unconfigured = spawn_app(backend).await;
    let lacking = created(unconfigured.post_claim(&body).await).await;
    let missing: Vec<&str> =
        lacking["missing_for_837"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(missing, ["submitter", "receiver"], "{lacking}");
}

crate::on_both_backends!(
    the_configured_submitter_and_receiver_stand_in,
    answers_rendered_in_the_claim_transaction_show_the_fields,
    an_institutional_correction_rewrites_its_revenue_lines,
    mutated_837_fields_never_break_the_server,
    a_json_claim_with_837_fields_is_written_as_an_837p,
    institutional_fields_make_an_837i,
    what_an_837_lacks_is_named,
    bad_837_fields_are_named,
    a_claim_from_a_file_shows_its_837_fields,
    a_correction_of_a_json_claim_is_written_with_its_fields,
    a_correction_changes_places_of_service_pointers_and_drugs,
);
