//! Mutated claim bodies: whatever a client sends, the answer is a success or a problem
//! document, never a 500, and a refused body stores nothing.

use serde_json::{Value, json};

use crate::helpers::{Backend, claim_body, spawn_app};

/// xorshift64*: deterministic, so a failure can be replayed from its seed.
pub struct Rng(pub u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn strange_value(rng: &mut Rng) -> Value {
    let choices = [
        json!(null),
        json!(true),
        json!(0),
        json!(-1),
        json!(1e308),
        json!(18446744073709551615u64),
        json!(0.1),
        json!(""),
        json!(" "),
        json!("0"),
        json!("-0.00"),
        json!("99999999999999999999999999999.99"),
        json!("1e5"),
        json!("NaN"),
        json!("2024-02-30"),
        json!("9999-12-31"),
        json!("0000-01-01"),
        json!("E11.9"),
        json!("99213"),
        json!("ñ✓🙂"),
        json!("a\u{0000}b"),
        json!("*~:^|"),
        json!("x".repeat(300)),
        json!([]),
        json!([1, "2", null]),
        json!({}),
        json!({"nested": {"deep": [1]}}),
    ];
    choices[rng.below(choices.len())].clone()
}

/// Replaces one randomly chosen node of `value` (objects and arrays included) with a strange value.
pub fn mutate(value: &mut Value, rng: &mut Rng, depth: usize) {
    let replace_here = depth > 0 && rng.below(4) == 0;
    match value {
        _ if replace_here => *value = strange_value(rng),
        Value::Object(map) if !map.is_empty() => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let key = &keys[rng.below(keys.len())];
            match rng.below(10) {
                0 => {
                    map.remove(key);
                }
                1 => {
                    map.insert(format!("extra_{}", rng.below(100)), strange_value(rng));
                }
                _ => mutate(map.get_mut(key).unwrap(), rng, depth + 1),
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let at = rng.below(items.len());
            mutate(&mut items[at], rng, depth + 1)
        }
        _ => *value = strange_value(rng),
    }
}

async fn mutated_claims_never_break_the_server(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut rng = Rng(0x5EED_0F0E_1234_5678);
    let mut created = 0;
    for i in 0..150 {
        let mut body = claim_body(&format!("CLM-FUZZ-{i}"));
        for _ in 0..=rng.below(3) {
            mutate(&mut body, &mut rng, 0);
        }
        let res = app.post_claim(&body).await;
        let status = res.status().as_u16();
        let content_type = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
        assert!(matches!(status, 201 | 400 | 409), "case {i}: status {status} for {body}");
        if status == 201 {
            created += 1;
        } else {
            assert_eq!(content_type.as_deref(), Some("application/problem+json"), "case {i}");
            let problem: Value = res.json().await.unwrap();
            assert_eq!(problem["status"], status, "case {i}");
        }
    }
    let list: Value = app.get("/v1/claims?limit=500").await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), created, "only accepted claims were stored");
    assert!(created < 150, "the mutations did refuse some bodies");
}

/// The answer to a mutated remittance: accepted, or a problem document (400, or 415/413 for
/// what no longer reads as the format); never a server error. Returns whether it was accepted.
/// An X12 file with one to four changes: a delimiter or digit put in, a random byte, a run
/// cut out, a run repeated.
fn mutated_bytes(original: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut bytes = original.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(bytes.len());
        match rng.below(4) {
            0 => bytes[at] = b"*~:^|0-9.ZN\n\r "[rng.below(14)],
            1 => bytes[at] = (rng.next() & 0xFF) as u8,
            2 => {
                let end = (at + rng.below(40)).min(bytes.len());
                bytes.drain(at..end);
            }
            _ => {
                let end = (at + rng.below(60)).min(bytes.len());
                let copy = bytes[at..end].to_vec();
                bytes.splice(at..at, copy);
            }
        }
        if bytes.is_empty() {
            break;
        }
    }
    bytes
}

async fn accepted_or_problem(res: reqwest::Response, case: &str) -> bool {
    let status = res.status().as_u16();
    if status == 202 {
        return true;
    }
    assert!(matches!(status, 400 | 413 | 415), "{case}: status {status}");
    let content_type = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(content_type.as_deref(), Some("application/problem+json"), "{case}");
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["status"], status, "{case}");
    false
}

async fn mutated_remittances_never_break_the_server(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut rng = Rng(0x0FEE_D835_0000_0001);
    let mut accepted = 0;
    for i in 0..120 {
        let mut body = crate::remittances::json_remittance();
        body["payment"]["trace_number"] = json!(format!("FUZZ{i}"));
        for _ in 0..=rng.below(3) {
            mutate(&mut body, &mut rng, 0);
        }
        let res = app.post("/v1/remittances", &body).await;
        accepted += usize::from(accepted_or_problem(res, &format!("json case {i}: {body}")).await);
    }
    let original = crate::remittances::BASIC.as_bytes();
    for i in 0..150 {
        let bytes = mutated_bytes(original, &mut rng);
        let res = app
            .client
            .post(app.url("/v1/remittances"))
            .bearer_auth(&app.admin_key)
            .header("content-type", "application/edi-x12")
            .body(bytes)
            .send()
            .await
            .unwrap();
        accepted += usize::from(accepted_or_problem(res, &format!("edi case {i}")).await);
    }
    let mut stored = 0;
    let mut cursor = String::new();
    loop {
        let page: Value = app.get(&format!("/v1/remittances?limit=500{cursor}")).await.json().await.unwrap();
        stored += page["items"].as_array().unwrap().len();
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(stored, accepted, "only accepted remittances were stored");
    assert!(accepted < 270, "the mutations did refuse some bodies");
}

/// Mutated denial actions, payer rules and worklist queries: a success or a problem document,
/// never a server error; a refused action leaves the denial as it was.
async fn mutated_worklist_requests_never_break_the_server(backend: Backend) {
    use reqwest::Method;
    let app = spawn_app(backend).await;
    let res = app.post_edi(&crate::denials::remittance("FUZZ-DEN")).await;
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let denials = app
        .eventually("denials", || async {
            let body = app.get_json(&format!("/v1/denials?remittance_id={id}")).await;
            let items = body["items"].as_array().cloned().unwrap_or_default();
            (items.len() == 5).then_some(items)
        })
        .await;
    let ids: Vec<String> = denials.iter().map(|d| d["id"].as_str().unwrap().to_owned()).collect();
    let mut rng = Rng(0xDE11_A150_0000_0004);
    let actions = [
        json!({"action": "assign", "assignee": "kim.lee", "note": "n"}),
        json!({"action": "start"}),
        json!({"action": "appeal", "note": "letter"}),
        json!({"action": "resubmit"}),
        json!({"action": "resolve", "outcome": "overturned", "recovered_amount": "10.00"}),
        json!({"action": "write_off"}),
        json!({"action": "note", "note": "called the payer"}),
    ];
    for i in 0..150 {
        let denial = &ids[rng.below(ids.len())];
        let before = app.get_json(&format!("/v1/denials/{denial}")).await;
        let mut body = actions[rng.below(actions.len())].clone();
        for _ in 0..=rng.below(2) {
            mutate(&mut body, &mut rng, 0);
        }
        let res = app.post(&format!("/v1/denials/{denial}/actions"), &body).await;
        let status = res.status().as_u16();
        assert!(matches!(status, 200 | 400 | 409), "case {i}: status {status} for {body}");
        if status != 200 {
            let problem: Value = res.json().await.unwrap();
            assert_eq!(problem["status"], status, "case {i}");
            let after = app.get_json(&format!("/v1/denials/{denial}")).await;
            assert_eq!(after, before, "case {i}: a refused action changed nothing");
        }
    }
    for i in 0..60 {
        let mut body = json!({"appeal_window_days": 90, "timely_filing_days": 365, "status_check_after_days": 30});
        mutate(&mut body, &mut rng, 0);
        let res = app.request(Method::PUT, "/v1/payers/60054/rules", Some(&app.admin_key), Some(&body)).await;
        let status = res.status().as_u16();
        assert!(matches!(status, 200 | 400), "rules case {i}: status {status} for {body}");
    }
    let junk = ["", "x", "%00", "-1", "99999999999999999999", "open,,", "🙂", "priority;drop", "2026-02-30"];
    for i in 0..80 {
        let param =
            ["status", "category", "work_queue", "sort", "limit", "cursor", "claim_id", "assignee"][rng.below(8)];
        let value = junk[rng.below(junk.len())];
        let res = app.get(&format!("/v1/denials?{param}={value}")).await;
        assert!(matches!(res.status().as_u16(), 200 | 400), "query case {i}: {param}={value}: {}", res.status());
        let group = ["category", "payer", "reason_code", "x"][rng.below(4)];
        let res = app.get(&format!("/v1/analytics/denials?group_by={group}&from={value}")).await;
        assert!(matches!(res.status().as_u16(), 200 | 400), "analytics case {i}: {}", res.status());
    }
}

/// Mutated 837 files: a claim file stored with each claim's outcome, or a problem document;
/// never a server error. A refused file stores nothing; every claim a file created is on file.
async fn mutated_claim_files_never_break_the_server(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut rng = Rng(0x0FEE_D837_0000_0001);
    let sources = [crate::claim_files::PROFESSIONAL, crate::claim_files::INSTITUTIONAL];
    let (mut files, mut created) = (0, 0);
    for i in 0..160 {
        let bytes = mutated_bytes(sources[i % 2].as_bytes(), &mut rng);
        let res = app
            .client
            .post(app.url("/v1/claim-files"))
            .bearer_auth(&app.admin_key)
            .header("content-type", "application/edi-x12")
            .body(bytes)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        match status {
            201 => {
                files += 1;
                created += body["created_count"].as_u64().unwrap();
                // Every fault names a segment, and stays short.
                for claim in body["claims"].as_array().unwrap() {
                    for e in claim["errors"].as_array().unwrap() {
                        assert!(
                            e["segment_index"].as_u64().is_some() && e["message"].as_str().unwrap().len() < 1_000,
                            "{e}"
                        );
                    }
                }
            }
            400 | 413 | 415 => assert_eq!(body["status"], status, "case {i}: {body}"),
            other => panic!("case {i}: status {other}: {body}"),
        }
    }
    let listed = app.get_json("/v1/claim-files?limit=500").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), files, "only files answered 201 were stored");
    let claims = app.get_json("/v1/claims?limit=500").await;
    assert_eq!(claims["items"].as_array().unwrap().len() as u64, created);
    assert!(files > 0 && files < 160, "some files were taken and some refused");
}

crate::on_both_backends!(
    mutated_claim_files_never_break_the_server,
    mutated_worklist_requests_never_break_the_server,
    mutated_claims_never_break_the_server,
    mutated_remittances_never_break_the_server
);
