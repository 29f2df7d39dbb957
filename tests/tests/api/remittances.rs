use overturn_domain::x12::generate::{GeneratorOptions, generate_835};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, assert_problem, claim_body, error_fields, spawn_app, spawn_app_with};

pub const BASIC: &str = include_str!("../../../domain/testdata/remit-basic.835");
const TWO_PAYMENTS: &str = include_str!("../../../domain/testdata/remit-two-payments.835");

/// One interchange holding one 835 transaction with these claim segments; the counts and
/// control numbers are computed, so a test only writes what it is about.
pub fn edi(trace: &str, payment: &str, credit_debit: &str, claims: &[&str], control: u32) -> String {
    let mut segments = vec![
        "ST*835*0001".to_owned(),
        format!(
            "BPR*I*{payment}*{credit_debit}*ACH*CCP*01*011000015*DA*1234567*1512345678**01*021000021*DA*7654321*20250301"
        ),
        format!("TRN*1*{trace}*1512345678"),
        "DTM*405*20250301".to_owned(),
        "N1*PR*ACME HEALTH PLAN*XV*60054".to_owned(),
        "PER*BL*PROVIDER SERVICES*TE*8005551212".to_owned(),
        "N1*PE*SMITH FAMILY CLINIC*XX*1234567893".to_owned(),
    ];
    segments.extend(claims.iter().map(|s| (*s).to_owned()));
    segments.push(format!("SE*{}*0001", segments.len() + 1));
    let mut out = format!(
        "ISA*00*          *00*          *ZZ*ACMEHEALTH     *ZZ*SMITHCLINIC    *250301*1200*^*00501*{control:09}*0*P*:~\n"
    );
    out.push_str("GS*HP*ACMEHEALTH*SMITHCLINIC*20250301*1200*1*X*005010X221A1~\n");
    for s in segments {
        out.push_str(&s);
        out.push_str("~\n");
    }
    out.push_str(&format!("GE*1*1~\nIEA*1*{control:09}~\n"));
    out
}

async fn accepted(res: reqwest::Response) -> Value {
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 202, "{body}");
    body
}

async fn claim(app: &TestApp, claim_number: &str) -> Value {
    let list: Value = app.get(&format!("/v1/claims?claim_number={claim_number}")).await.json().await.unwrap();
    list["items"][0].clone()
}

fn payment_of<'a>(body: &'a Value, claim_number: &str) -> &'a Value {
    body["claims"].as_array().unwrap().iter().find(|c| c["claim_number"] == claim_number).expect("claim payment")
}

async fn sample_files_are_ingested_with_exact_totals(backend: Backend) {
    let app = spawn_app(backend).await;
    let basic = accepted(app.post_edi(BASIC).await).await;
    assert_eq!(basic["status"], "accepted");
    assert_eq!(basic["source"], "x12");
    assert_eq!(basic["payment_total"], "252.00");
    assert_eq!(basic["transaction_count"], 1);
    assert_eq!(basic["duplicate_count"], 0);
    assert_eq!(basic["claim_count"], 4);
    assert_eq!(basic["transactions"][0]["trace_number"], "EFT0001");
    // The payer is the payer loop's id (N1*PR); TRN03 is who originated the trace.
    assert_eq!(basic["transactions"][0]["payer_id"], "60054");
    assert_eq!(basic["transactions"][0]["originator_id"], "1512345678");
    let clm = payment_of(&basic, "CLM-1001");
    assert_eq!(
        (&clm["status_code"], &clm["charge"], &clm["paid"], &clm["patient_responsibility"], &clm["claim_id"]),
        (&json!("1"), &json!("200.00"), &json!("127.00"), &json!("25.00"), &Value::Null)
    );

    let two = accepted(app.post_edi(TWO_PAYMENTS).await).await;
    assert_eq!(two["transaction_count"], 2);
    // 150.25 by ACH plus an advice without payment.
    assert_eq!(two["payment_total"], "150.25");
    assert_eq!(two["claim_count"], 5);

    // The detail: adjustments at claim and line level, remark codes, PLB, warnings.
    let id = basic["id"].as_str().unwrap();
    let detail: Value = app.get(&format!("/v1/remittances/{id}")).await.json().await.unwrap();
    let clm = payment_of(&detail, "CLM-1001");
    assert_eq!(clm["lines"][0]["procedure_code"], "99213");
    let co45 = overturn_domain::code_sets::carc("45").unwrap().description;
    let pr3 = overturn_domain::code_sets::carc("3").unwrap().description;
    assert_eq!(
        clm["lines"][0]["adjustments"],
        json!([
            {"group_code": "CO", "reason_code": "45", "reason_description": co45, "amount": "40.00", "quantity": null},
            {"group_code": "PR", "reason_code": "3", "reason_description": pr3, "amount": "25.00", "quantity": null},
        ])
    );
    let n54 = overturn_domain::code_sets::rarc("N54").unwrap().description;
    assert_eq!(detail["remark_descriptions"]["N54"], n54);
    assert_eq!(clm["patient"]["member_id"], "MEM1001");
    assert_eq!(clm["denied_amount"], "0.00");
    let denied = payment_of(&detail, "CLM-1002");
    assert_eq!(denied["lines"][0]["remark_codes"], json!(["N54"]));
    assert_eq!(denied["denied_amount"], "1450.00");
    assert_eq!(detail["transactions"][0]["provider_adjustments"][0]["reason_code"], "WO");
    assert_eq!(detail["transactions"][0]["provider_adjustments"][0]["amount"], "15.00");
    let two_id = two["id"].as_str().unwrap();
    let two_detail: Value = app.get(&format!("/v1/remittances/{two_id}")).await.json().await.unwrap();
    let clm = payment_of(&two_detail, "CLM-2002");
    assert_eq!(clm["lines"][0]["modifiers"], json!(["25"]));
    assert_eq!(payment_of(&two_detail, "CLM-2004")["lines"][0]["remark_codes"], json!(["MA130", "M51"]));
    assert_eq!(two_detail["transactions"][0]["provider_adjustments"][0]["amount"], "-4.25");

    // A payer that leaves out its technical contact (PER*BL) is still paid, with a warning.
    let no_contact = BASIC
        .replace("PER*BL*PROVIDER SERVICES*TE*8005551212~\n", "")
        .replace("SE*53*0001", "SE*52*0001")
        .replace("EFT0001", "EFT0002");
    let warned = accepted(app.post_edi(&no_contact).await).await;
    assert_eq!(warned["warnings"][0]["segment_id"], "ST", "{warned}");
    assert!(warned["warnings"][0]["message"].as_str().unwrap().contains("PER*BL"));
    assert_eq!(warned["transactions"][0]["warnings"], warned["warnings"]);
    assert_eq!(basic["warnings"], json!([]));

    // Newest first.
    let list: Value = app.get("/v1/remittances").await.json().await.unwrap();
    let ids: Vec<&str> = list["items"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![warned["id"].as_str().unwrap(), two_id, id]);
    assert!(list["items"][0].get("claims").is_none(), "the list shows totals only");
}

async fn payments_update_the_claims_they_match(backend: Backend) {
    let app = spawn_app(backend).await;
    for number in ["CLM-1001", "CLM-1002"] {
        assert_eq!(app.post_claim(&claim_body(number)).await.status(), 201);
    }
    let body = accepted(app.post_edi(BASIC).await).await;
    assert_eq!(body["matched_count"], 2);
    let paid = claim(&app, "CLM-1001").await;
    assert_eq!(payment_of(&body, "CLM-1001")["claim_id"], paid["id"]);
    assert_eq!(payment_of(&body, "CLM-1001")["matched_by"], "claim_number");
    assert_eq!(
        (&paid["status"], &paid["paid_amount"], &paid["patient_responsibility"]),
        (&json!("paid"), &json!("127.00"), &json!("25.00"))
    );
    assert_eq!(claim(&app, "CLM-1002").await["status"], "denied");

    // Claims created after their payment pick it up at once.
    let res = app.post_claim(&claim_body("CLM-1003")).await;
    assert_eq!(res.status(), 201);
    let late: Value = res.json().await.unwrap();
    assert_eq!(
        (&late["status"], &late["paid_amount"], &late["patient_responsibility"]),
        (&json!("partially_paid"), &json!("140.00"), &json!("50.00"))
    );
    let id = body["id"].as_str().unwrap();
    let detail: Value = app.get(&format!("/v1/remittances/{id}")).await.json().await.unwrap();
    assert_eq!(payment_of(&detail, "CLM-1003")["claim_id"], late["id"]);
    assert_eq!(payment_of(&detail, "CLM-1004")["claim_id"], Value::Null);
}

async fn a_reversal_undoes_the_payment_it_reverses(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(app.post_claim(&claim_body("CLM-1001")).await.status(), 201);
    accepted(app.post_edi(BASIC).await).await;
    assert_eq!(claim(&app, "CLM-1001").await["paid_amount"], "127.00");

    let reversal = edi(
        "REV0001",
        "127",
        "D",
        &["LX*1", "CLP*CLM-1001*22*-200*-127*-25*12*PCNCLM-1001*11*1", "CAS*CO*45*-48", "CAS*PR*3*-25"],
        201,
    );
    let body = accepted(app.post_edi(&reversal).await).await;
    assert_eq!(body["payment_total"], "-127.00");
    let reversed = claim(&app, "CLM-1001").await;
    assert_eq!(
        (&reversed["status"], &reversed["paid_amount"], &reversed["patient_responsibility"]),
        (&json!("reversed"), &json!("0.00"), &json!("0.00"))
    );

    let corrected = edi(
        "COR0001",
        "137",
        "C",
        &["LX*1", "CLP*CLM-1001*1*200*137*25*12*PCNCLM-1001*11*7", "CAS*CO*45*38", "CAS*PR*3*25"],
        202,
    );
    accepted(app.post_edi(&corrected).await).await;
    let repaid = claim(&app, "CLM-1001").await;
    assert_eq!((&repaid["status"], &repaid["paid_amount"]), (&json!("paid"), &json!("137.00")));
}

async fn a_payment_already_received_is_not_applied_twice(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(app.post_claim(&claim_body("CLM-1001")).await.status(), 201);
    let first = accepted(app.post_edi(BASIC).await).await;

    // The same file again, then the same transaction re-wrapped with other delimiters and
    // control numbers and no line breaks.
    let again = accepted(app.post_edi(BASIC).await).await;
    let rewrapped_text = BASIC
        .replace('*', "|")
        .replace("|:~", "|>~")
        .replace("HC:", "HC>")
        .replace("WO:", "WO>")
        .replace("000000101", "000000999")
        .replace('\n', "");
    let rewrapped = accepted(app.post_edi(&rewrapped_text).await).await;
    for dup in [&again, &rewrapped] {
        assert_eq!(dup["duplicate_count"], 1, "{dup}");
        assert_eq!(dup["claim_count"], 0);
        assert_eq!(dup["payment_total"], "0.00");
        assert_eq!(dup["transactions"][0]["duplicate"], true);
        assert_eq!(dup["transactions"][0]["duplicate_of"], first["transactions"][0]["id"]);
        assert_eq!(dup["claims"], json!([]));
    }
    assert_eq!(claim(&app, "CLM-1001").await["paid_amount"], "127.00", "not paid twice");

    // Within one file: the second copy of a transaction is the duplicate.
    let one = edi("TWICE01", "0", "C", &[], 301);
    let (head, tail) = one.split_at(one.find("ST*835").unwrap());
    let body_end = tail.find("GE*").unwrap();
    let transaction = &tail[..body_end];
    let doubled = format!(
        "{head}{transaction}{}{}",
        transaction.replace("0001~", "0002~"),
        tail[body_end..].replace("GE*1*1", "GE*2*1")
    );
    let body = accepted(app.post_edi(&doubled).await).await;
    assert_eq!(body["transaction_count"], 2);
    assert_eq!(body["duplicate_count"], 1);
    assert_eq!(body["transactions"][1]["duplicate_of"], body["transactions"][0]["id"]);

    // The same file posted concurrently is applied once.
    let file = generate_835(&GeneratorOptions { seed: 77, claims: 50, ..Default::default() }).0;
    let posts = (0..4).map(|_| app.post_edi(&file));
    let results = futures::future::join_all(posts).await;
    let mut applied = 0;
    for res in results {
        let body = accepted(res).await;
        if body["duplicate_count"] == 0 {
            applied += 1;
            assert_eq!(body["claim_count"], 50);
        }
    }
    assert_eq!(applied, 1);
}

async fn payments_match_on_payer_claim_number_and_line_control_numbers(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut replacement = claim_body("CLM-7001");
    replacement["frequency_code"] = json!("7");
    replacement["payer_claim_control_number"] = json!("ICN-555");
    assert_eq!(app.post_claim(&replacement).await.status(), 201);
    let mut with_refs = claim_body("CLM-8001");
    with_refs["lines"][0]["line_control_number"] = json!("LCN-8001-1");
    let res = app.post_claim(&with_refs).await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["lines"][0]["line_control_number"], "LCN-8001-1");

    let file = edi(
        "MATCH01",
        "180",
        "C",
        &[
            "LX*1",
            "CLP*CLM-7001-MANGLED*1*100*100*0*12*ICN-555*11*7",
            "LX*2",
            "CLP*UNKNOWN-1*1*100*80*0*12**11*1",
            "SVC*HC:99213*100*80**1",
            "CAS*CO*45*20",
            "REF*6R*LCN-8001-1",
        ],
        401,
    );
    let body = accepted(app.post_edi(&file).await).await;
    assert_eq!(payment_of(&body, "CLM-7001-MANGLED")["matched_by"], "payer_claim_control_number");
    assert_eq!(payment_of(&body, "CLM-7001-MANGLED")["claim_id"], claim(&app, "CLM-7001").await["id"]);
    assert_eq!(payment_of(&body, "UNKNOWN-1")["matched_by"], "line_control_number");
    let matched = claim(&app, "CLM-8001").await;
    assert_eq!(payment_of(&body, "UNKNOWN-1")["claim_id"], matched["id"]);
    assert_eq!((&matched["status"], &matched["paid_amount"]), (&json!("paid"), &json!("80.00")));

    // A payment that arrives first waits for its claim's line control number.
    let early = edi(
        "MATCH02",
        "50",
        "C",
        &["LX*1", "CLP*GARBLED*1*60*50*0*12**11*1", "SVC*HC:99213*60*50**1", "CAS*CO*45*10", "REF*6R*LCN-9001-1"],
        402,
    );
    assert_eq!(payment_of(&accepted(app.post_edi(&early).await).await, "GARBLED")["claim_id"], Value::Null);
    let mut late = claim_body("CLM-9001");
    late["lines"][0]["line_control_number"] = json!("LCN-9001-1");
    let created: Value = app.post_claim(&late).await.json().await.unwrap();
    assert_eq!((&created["status"], &created["paid_amount"]), (&json!("paid"), &json!("50.00")));
}

async fn malformed_files_are_refused_naming_the_segment_and_store_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(app.post_claim(&claim_body("CLM-1001")).await.status(), 201);
    let cases: Vec<(&str, String, Option<&str>, Option<u64>)> = vec![
        ("SE count", BASIC.replace("SE*53*0001", "SE*52*0001"), Some("SE"), Some(1)),
        ("unbalanced claim", BASIC.replace("CLP*CLM-1001*1*200*127", "CLP*CLM-1001*1*200*128"), Some("CLP"), None),
        ("bad amount", BASIC.replace("SVC*HC:99213*180*115", "SVC*HC:99213*18x0*115"), Some("SVC"), Some(2)),
        ("bad date", BASIC.replace("DTM*405*20250115", "DTM*405*20251315"), Some("DTM"), Some(2)),
        ("implausible date", BASIC.replace("DTM*405*20250115", "DTM*405*99991231"), Some("DTM"), Some(2)),
        ("year 1", BASIC.replace("DTM*405*20250115", "DTM*405*00010101"), Some("DTM"), Some(2)),
        ("IEA control number", BASIC.replace("IEA*1*000000101", "IEA*1*000000102"), Some("IEA"), Some(2)),
        ("bad group code", BASIC.replace("CAS*CO*97*90", "CAS*XX*97*90"), Some("CAS"), Some(1)),
        ("payment total", BASIC.replace("BPR*I*252*", "BPR*I*253*"), Some("BPR"), Some(2)),
        // Nothing to name but the start.
        ("not X12", "hello".to_owned(), None, None),
    ];
    for (name, body, segment_id, element) in cases {
        let problem = assert_problem(app.post_edi(&body).await, 400).await;
        assert_eq!(problem["type"], "https://overturn.dev/problems/invalid-edi", "{name}");
        if let Some(segment_id) = segment_id {
            assert_eq!(problem["segment_id"], segment_id, "{name}: {problem}");
            assert_eq!(problem["errors"][0]["segment_id"], segment_id, "{name}");
        }
        assert!(problem["segment_index"].as_u64().is_some(), "{name}");
        assert!(problem["message"].as_str().is_some_and(|m| !m.is_empty()), "{name}");
        if let Some(element) = element {
            assert_eq!(problem["element"], element, "{name}: {problem}");
        }
    }
    // A 2 MB segment (no separators: all of it reads as its id) and a 2 MB element are quoted,
    // not echoed: the answers stay small.
    for (huge, id) in [
        (BASIC.replace("DTM*405*20250115", &"X".repeat(2_000_000)), None),
        (BASIC.replace("DTM*405*20250115", &format!("DTM*405*{}", "9".repeat(2_000_000))), Some("DTM")),
    ] {
        let res = app.post_edi(&huge).await;
        assert_eq!(res.status(), 400);
        let answer = res.bytes().await.unwrap();
        assert!(answer.len() < 10_000, "{} bytes answered", answer.len());
        let problem: Value = serde_json::from_slice(&answer).unwrap();
        if let Some(id) = id {
            assert_eq!(problem["segment_id"], id, "{problem}");
        }
    }
    let truncated = &BASIC[..BASIC.len() / 2];
    assert_problem(app.post_edi(truncated).await, 400).await;
    assert_problem(app.post_edi("").await, 400).await;

    let list: Value = app.get("/v1/remittances").await.json().await.unwrap();
    assert_eq!(list["items"], json!([]));
    assert_eq!(claim(&app, "CLM-1001").await["status"], "submitted");
    let db = app.database().await;
    use sea_orm::{EntityTrait, PaginatorTrait};
    assert_eq!(overturn_entity::outbox::Entity::find().count(&db.read).await.unwrap(), 0);
    assert_eq!(overturn_entity::claim_payment::Entity::find().count(&db.read).await.unwrap(), 0);

    // The unbalanced claim's message carries the numbers that disagree.
    let problem =
        assert_problem(app.post_edi(&BASIC.replace("CLP*CLM-1001*1*200*127", "CLP*CLM-1001*1*200*128")).await, 400)
            .await;
    let message = problem["message"].as_str().unwrap();
    assert!(message.contains("128.00") && message.contains("72.00") && message.contains("73.00"), "{message}");
}

async fn generated_files_with_other_delimiters_and_envelopes_keep_exact_totals(backend: Backend) {
    let app = spawn_app(backend).await;
    let styles = [
        GeneratorOptions { seed: 11, claims: 300, ..Default::default() },
        GeneratorOptions {
            seed: 12,
            claims: 300,
            element: '|',
            component: '>',
            repetition: '!',
            segment: '\n',
            newlines: false,
            ..Default::default()
        },
        GeneratorOptions {
            seed: 13,
            claims: 300,
            element: '^',
            component: '\\',
            segment: '~',
            repetition: '{',
            newlines: false,
            ..Default::default()
        },
    ];
    let mut all = String::new();
    for options in &styles {
        let (file, totals) = generate_835(options);
        let body = accepted(app.post_edi(&file).await).await;
        assert_eq!(body["claim_count"], totals.claims, "{options:?}");
        assert_eq!(body["payment_total"], money(totals.payment_cents), "{options:?}");
        let paid: i64 = body["claims"].as_array().unwrap().iter().map(|c| cents(&c["paid"])).sum();
        assert_eq!(paid, totals.paid_cents);
        all.push_str(&generate_835(&GeneratorOptions { seed: options.seed + 100, ..options.clone() }).0);
    }
    // Three interchanges, each with its own delimiters, in one file.
    let body = accepted(app.post_edi(&all).await).await;
    assert_eq!(body["transaction_count"], 3);
    assert_eq!(body["claim_count"], 900);
}

async fn a_large_remittance_pages_its_claims_in_file_order(backend: Backend) {
    let app = spawn_app(backend).await;
    let (file, _) = generate_835(&GeneratorOptions { seed: 21, claims: 1_203, ..Default::default() });
    let body = accepted(app.post_edi(&file).await).await;
    let id = body["id"].as_str().unwrap();
    let detail: Value = app.get(&format!("/v1/remittances/{id}")).await.json().await.unwrap();
    assert_eq!(detail["claims"].as_array().unwrap().len(), 500);
    let mut numbers: Vec<String> =
        detail["claims"].as_array().unwrap().iter().map(|c| c["claim_number"].as_str().unwrap().to_owned()).collect();
    let mut cursor = detail["claims_next_cursor"].as_str().map(str::to_owned);
    while let Some(next) = cursor {
        let page: Value =
            app.get(&format!("/v1/remittances/{id}/claims?limit=300&cursor={next}")).await.json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 300);
        numbers.extend(items.iter().map(|c| c["claim_number"].as_str().unwrap().to_owned()));
        cursor = page["next_cursor"].as_str().map(str::to_owned);
    }
    let expected: Vec<String> = (0..1_203).map(|i| format!("GEN-21-{i}")).collect();
    assert_eq!(numbers, expected, "every claim payment once, in file order");
    let first: Value = app.get(&format!("/v1/remittances/{id}/claims?limit=2")).await.json().await.unwrap();
    assert_eq!(first["items"][1]["claim_number"], "GEN-21-1");
    assert_problem(app.get(&format!("/v1/remittances/{id}/claims?cursor=nonsense")).await, 400).await;
    assert_problem(app.get(&format!("/v1/remittances/{}/claims", uuid::Uuid::now_v7())).await, 404).await;
}

fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents.unsigned_abs() / 100, cents.unsigned_abs() % 100)
}

fn cents(value: &Value) -> i64 {
    let text = value.as_str().unwrap();
    let negative = text.starts_with('-');
    let (whole, fraction) = text.trim_start_matches('-').split_once('.').unwrap();
    let cents = whole.parse::<i64>().unwrap() * 100 + fraction.parse::<i64>().unwrap();
    if negative { -cents } else { cents }
}

pub fn json_remittance() -> Value {
    json!({
        "payer": {"id": "60054", "name": "ACME HEALTH PLAN"},
        "payee": {"name": "SMITH FAMILY CLINIC", "npi": "1234567893"},
        "payment": {"amount": "105.00", "method": "CHK", "date": "2025-03-01", "trace_number": "CHK123"},
        "production_date": "2025-02-28",
        "claims": [{
            "claim_number": "CLM-1001",
            "status_code": "1",
            "charge": "200.50",
            "paid": "120.00",
            "patient_responsibility": "20.00",
            "payer_claim_control_number": "ICN-1",
            "lines": [
                {"procedure_code": "99213", "modifiers": ["25"], "charge": "180.00", "paid": "120.00",
                 "adjustments": [
                     {"group_code": "CO", "reason_code": "45", "amount": "40.00"},
                     {"group_code": "PR", "reason_code": "2", "amount": "20.00"}
                 ]},
                {"procedure_code": "36415", "charge": "20.50", "paid": "0.00",
                 "adjustments": [{"group_code": "CO", "reason_code": "97", "amount": "20.50"}],
                 "remark_codes": ["M15"]}
            ]
        }],
        "provider_adjustments": [{"reason_code": "WO", "reference": "OVERPAY1", "amount": "15.00"}]
    })
}

async fn the_json_form_is_checked_and_stored_like_edi(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(app.post_claim(&claim_body("CLM-1001")).await.status(), 201);
    let body = accepted(app.post("/v1/remittances", &json_remittance()).await).await;
    assert_eq!(body["source"], "json");
    assert_eq!(body["payment_total"], "105.00");
    assert_eq!(payment_of(&body, "CLM-1001")["matched_by"], "claim_number");
    let matched = claim(&app, "CLM-1001").await;
    assert_eq!((&matched["status"], &matched["paid_amount"]), (&json!("partially_paid"), &json!("120.00")));
    let id = body["id"].as_str().unwrap();
    let detail: Value = app.get(&format!("/v1/remittances/{id}")).await.json().await.unwrap();
    assert_eq!(payment_of(&detail, "CLM-1001")["lines"][1]["remark_codes"], json!(["M15"]));
    assert_eq!(payment_of(&detail, "CLM-1001")["denied_amount"], "20.50");

    // The same payment again is a duplicate, as in EDI.
    let again = accepted(app.post("/v1/remittances", &json_remittance()).await).await;
    assert_eq!(again["duplicate_count"], 1);

    // Balancing names the field; field errors all come at once.
    let mut unbalanced = json_remittance();
    unbalanced["payment"]["trace_number"] = json!("CHK124");
    unbalanced["claims"][0]["lines"][0]["paid"] = json!("121.00");
    let problem = assert_problem(app.post("/v1/remittances", &unbalanced).await, 400).await;
    assert_eq!(error_fields(&problem), vec!["claims[0].lines[0]"]);
    let mut total = json_remittance();
    total["payment"]["trace_number"] = json!("CHK125");
    total["payment"]["amount"] = json!("106.00");
    let problem = assert_problem(app.post("/v1/remittances", &total).await, 400).await;
    assert_eq!(error_fields(&problem), vec!["payment.amount"]);
    let mut bad = json_remittance();
    bad["claims"][0]["status_code"] = json!("9");
    bad["claims"][0]["lines"][0]["adjustments"][0]["group_code"] = json!("XX");
    bad["payment"]["method"] = json!("CASH");
    bad["claims"][0]["lines"][1]["remark_codes"] = json!(["not a code"]);
    let problem = assert_problem(app.post("/v1/remittances", &bad).await, 400).await;
    let mut fields = error_fields(&problem);
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "claims[0].lines[0].adjustments[0].group_code",
            "claims[0].lines[1].remark_codes[0]",
            "claims[0].status_code",
            "payment.method"
        ]
    );
    let list: Value = app.get("/v1/remittances").await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 2, "refused documents are not stored");
}

async fn access_media_types_size_and_idempotency(backend: Backend) {
    let app =
        spawn_app_with(backend, overturn::startup::ServeRole::All, &[("OVERTURN_MAX_REMITTANCE_BYTES", "4096")]).await;
    let portal = app.create_key("portal").await;
    let res = app
        .client
        .post(app.url("/v1/remittances"))
        .bearer_auth(&portal)
        .header("content-type", "application/edi-x12")
        .body(BASIC)
        .send()
        .await
        .unwrap();
    assert_problem(res, 403).await;
    assert_problem(app.request(Method::GET, "/v1/remittances", Some(&portal), None).await, 403).await;
    assert_problem(app.request(Method::GET, "/v1/remittances", None, None).await, 401).await;

    let res = app
        .client
        .post(app.url("/v1/remittances"))
        .bearer_auth(&app.admin_key)
        .header("content-type", "application/pdf")
        .body(BASIC)
        .send()
        .await
        .unwrap();
    assert_problem(res, 415).await;
    let big = generate_835(&GeneratorOptions { seed: 5, claims: 100, ..Default::default() }).0;
    assert_problem(app.post_edi(&big).await, 413).await;
    assert_problem(app.get("/v1/remittances/not-a-uuid").await, 404).await;
    assert_problem(app.get(&format!("/v1/remittances/{}", uuid::Uuid::now_v7())).await, 404).await;

    let post = |key: &'static str| {
        app.client
            .post(app.url("/v1/remittances"))
            .bearer_auth(&app.admin_key)
            .header("content-type", "text/plain")
            .header("Idempotency-Key", key)
            .body(BASIC)
            .send()
    };
    let first = post("remit-1").await.unwrap();
    assert_eq!(first.status(), 202);
    let first: Value = first.json().await.unwrap();
    let replay = post("remit-1").await.unwrap();
    assert_eq!(replay.status(), 202);
    assert_eq!(replay.headers().get("idempotent-replayed").unwrap(), "true");
    let replay: Value = replay.json().await.unwrap();
    assert_eq!(replay, first, "a replay is the first answer, not a duplicate report");

    // The file is kept byte for byte, with its digest.
    let db = app.database().await;
    use sea_orm::EntityTrait;
    let id = uuid::Uuid::parse_str(first["id"].as_str().unwrap()).unwrap();
    let file = overturn_entity::remittance_file::Entity::find_by_id(id).one(&db.read).await.unwrap().unwrap();
    assert_eq!(file.body, BASIC.as_bytes());
    assert_eq!(file.content_type, "text/plain");
    assert_eq!(first["byte_size"], BASIC.len());
    assert_eq!(first["sha256"].as_str().unwrap().len(), 64);

    // The accepted file is in the outbox for the workers, in the same transaction.
    let outbox = overturn_entity::outbox::Entity::find().all(&db.read).await.unwrap();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].topic, "classify_remittance");
    assert_eq!(outbox[0].payload["remittance_id"], first["id"]);
}

crate::on_both_backends!(
    sample_files_are_ingested_with_exact_totals,
    payments_update_the_claims_they_match,
    a_reversal_undoes_the_payment_it_reverses,
    a_payment_already_received_is_not_applied_twice,
    payments_match_on_payer_claim_number_and_line_control_numbers,
    malformed_files_are_refused_naming_the_segment_and_store_nothing,
    generated_files_with_other_delimiters_and_envelopes_keep_exact_totals,
    the_json_form_is_checked_and_stored_like_edi,
    access_media_types_size_and_idempotency,
    a_large_remittance_pages_its_claims_in_file_order,
);
