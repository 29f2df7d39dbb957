//! Acknowledgments: 999s, 277CAs and 277s matched to claim files and claims, rejections made
//! into worklist items and `claim.rejected` events, acceptances and status answers timing the
//! status checks, and acknowledgments that wait for their claims.

use reqwest::Method;
use serde_json::{Value, json};

use crate::claim_files::{PROFESSIONAL, created, post_file};
use crate::helpers::{
    Backend, TestApp, assert_problem, claim_body, spawn_app, spawn_app_with, spawn_app_without_workers,
};
use crate::receiver::{Receiver, verified_independently};

const CA: &str = include_str!("../../../domain/testdata/acks-basic.277ca");
pub(crate) const STATUS: &str = include_str!("../../../domain/testdata/status-basic.277");
const ACCEPTED_999: &str = include_str!("../../../domain/testdata/claims-basic-accepted.999");

/// `text` with every SE's count made right again after an edit.
pub(crate) fn recount(text: &str) -> String {
    let segments: Vec<&str> = text.split('~').map(str::trim).filter(|s| !s.is_empty()).collect();
    let mut out = Vec::new();
    let mut start = 0;
    for (i, s) in segments.iter().enumerate() {
        if s.starts_with("ST*") {
            start = i;
        }
        if s.starts_with("SE*") {
            let control = s.split('*').nth(2).unwrap_or("");
            out.push(format!("SE*{}*{control}", i - start + 1));
        } else {
            out.push((*s).to_owned());
        }
    }
    out.join("~\n") + "~\n"
}

/// A 277CA of the given claim loops: (patient control number, member id, STC01, charge).
pub(crate) fn claim_ack(claims: &[(&str, &str, &str, &str)]) -> String {
    let mut body = String::from(
        "ISA*00*          *00*          *ZZ*CLEARHOUSE     *ZZ*CLINIC9        *261121*0800*^*00501*000000732*0*P*:~\n\
         GS*HN*CLEARHOUSE*CLINIC9*20261121*0800*732*X*005010X214~\nST*277*0001*005010X214~\n\
         BHT*0085*08*ACK2*20261121*0800*TH~\nHL*1**20*1~\nNM1*AY*2*CLEARHOUSE*****46*CLEARHOUSE~\n\
         HL*2*1*21*1~\nNM1*41*2*SMITH FAMILY CLINIC*****46*CLINIC9~\nHL*3*2*19*1~\n\
         NM1*85*2*SMITH FAMILY CLINIC*****XX*1234567893~\n",
    );
    for (i, (number, member, stc, charge)) in claims.iter().enumerate() {
        body.push_str(&format!(
            "HL*{}*3*PT~\nNM1*QC*1*DOE*JANE****MI*{member}~\nTRN*2*{number}~\nSTC*{stc}*20261121*U*{charge}~\nDTP*472*D8*20241202~\n",
            i + 4
        ));
    }
    body.push_str("SE*0*0001~\nGE*1*732~\nIEA*1*000000732~\n");
    recount(&body)
}

pub(crate) async fn post_ack(app: &TestApp, body: &str) -> reqwest::Response {
    app.client
        .post(app.url("/v1/acknowledgments"))
        .bearer_auth(&app.admin_key)
        .header("content-type", "application/edi-x12")
        .body(body.to_owned())
        .send()
        .await
        .expect("request sent")
}

pub(crate) async fn accepted(res: reqwest::Response) -> Value {
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 202, "{body}");
    body
}

pub(crate) async fn rejections(app: &TestApp) -> Vec<Value> {
    app.get_json("/v1/denials?category=rejection&limit=500").await["items"].as_array().unwrap().clone()
}

pub(crate) async fn follow_up(app: &TestApp, claim_number: &str, kind: &str) -> Value {
    let list = app.get_json(&format!("/v1/follow-ups?claim_number={claim_number}&limit=500")).await;
    list["items"].as_array().unwrap().iter().find(|f| f["kind"] == kind).cloned().unwrap_or(Value::Null)
}

async fn a_277ca_rejects_and_accepts_claim_by_claim(backend: Backend) {
    let app =
        spawn_app_with(backend, overturn::startup::ServeRole::All, &[("OVERTURN_WEBHOOK_ALLOW_PRIVATE", "true")]).await;
    let receiver = Receiver::start().await;
    let contact = json!({"kind": "payer", "reference": "60054", "name": "Payer desk", "webhook_url": receiver.url, "events": ["claim.rejected"]});
    let res = app.request(Method::POST, "/v1/contacts", Some(&app.admin_key), Some(&contact)).await;
    let contact: Value = res.json().await.unwrap();
    let secret = contact["signing_secret"].as_str().unwrap().to_owned();
    let file = created(post_file(&app, PROFESSIONAL, None).await).await;
    let ids: Vec<String> =
        file["claims"].as_array().unwrap().iter().map(|c| c["claim_id"].as_str().unwrap().to_owned()).collect();

    let ack = accepted(post_ack(&app, CA).await).await;
    assert_eq!((ack["kind"].as_str(), ack["transaction_count"].as_i64()), (Some("277CA"), Some(1)));
    assert_eq!(
        (ack["claim_count"].as_i64(), ack["matched_count"].as_i64(), ack["rejected_count"].as_i64()),
        (Some(3), Some(3), Some(2))
    );
    let claims = ack["claims"].as_array().unwrap();
    let summary: Vec<(&str, &str, &str, &str)> = claims
        .iter()
        .map(|c| {
            (
                c["claim_number"].as_str().unwrap(),
                c["claim_id"].as_str().unwrap(),
                c["outcome"].as_str().unwrap(),
                c["matched_by"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("CLM05000000", ids[0].as_str(), "accepted", "claim_number"),
            ("CLM05000001", ids[1].as_str(), "rejected", "claim_number"),
            ("CLM05000002", ids[2].as_str(), "rejected", "claim_number"),
        ]
    );
    let npi = &claims[1];
    assert_eq!(npi["status_codes"][0]["category"], "A7");
    assert_eq!(npi["status_codes"][0]["code"], "562");
    assert_eq!(npi["status_codes"][0]["entity"], "85");
    assert_eq!(npi["status_codes"][1]["code"], "128");
    assert!(npi["status_codes"][0]["description"].as_str().unwrap().contains("national provider identifier"), "{npi}");
    assert_eq!(npi["message"], "NPI DOES NOT MATCH");

    // The rejected claims: status, work items, no status check, the timely-filing watch kept.
    let rejected = app.get_json(&format!("/v1/claims/{}", ids[1])).await;
    assert_eq!(rejected["status"], "rejected");
    let items = rejections(&app).await;
    assert_eq!(items.len(), 2, "{items:?}");
    let by_claim = |n: &str| items.iter().find(|d| d["claim_number"] == n).unwrap().clone();
    let npi_item = by_claim("CLM05000001");
    assert_eq!(npi_item["work_queue"], "billing", "the billing provider's NPI is the billers' to fix");
    assert_eq!(npi_item["recommended_action"], "correct_and_resubmit");
    assert_eq!(npi_item["appeal_deadline"], "2027-11-02", "the timely-filing limit");
    assert_eq!(npi_item["source"], "acknowledgment");
    assert_eq!(npi_item["amount"], "125.00");
    assert_eq!(npi_item["remittance_id"], ack["id"]);
    let explanation = npi_item["explanation"].as_str().unwrap();
    assert!(
        explanation.contains("562")
            && explanation.contains("billing provider")
            && explanation.contains("NPI DOES NOT MATCH"),
        "{explanation}"
    );
    let member_item = by_claim("CLM05000002");
    assert_eq!(member_item["work_queue"], "registration", "subscriber not found: the front desk's");
    assert_eq!(
        app.get_json("/v1/denials?category=rejection&work_queue=registration").await["items"].as_array().unwrap().len(),
        1
    );
    assert_eq!(follow_up(&app, "CLM05000001", "status_check").await["status"], "cancelled");
    assert_eq!(follow_up(&app, "CLM05000001", "timely_filing").await["status"], "scheduled");

    // The accepted claim: the payer has it from the 277CA's date. That date is before the claim
    // was submitted here, so its status check keeps the later start.
    let accepted_claim = app.get_json(&format!("/v1/claims/{}", ids[0])).await;
    assert_eq!(accepted_claim["status"], "submitted");
    assert_eq!(accepted_claim["accepted_at"], "2026-11-21T00:00:00Z");
    let check = follow_up(&app, "CLM05000000", "status_check").await;
    let submitted = chrono::DateTime::parse_from_rfc3339(accepted_claim["submitted_at"].as_str().unwrap()).unwrap();
    let due = chrono::DateTime::parse_from_rfc3339(check["due_at"].as_str().unwrap()).unwrap();
    assert_eq!((check["status"].as_str(), due), (Some("scheduled"), submitted + chrono::Duration::days(30)));

    // `claim.rejected` to the payer contact that asked for it, signed.
    let received = receiver.wait_for(2).await;
    let mut numbers: Vec<String> = received
        .iter()
        .map(|r| {
            assert!(verified_independently(&secret, r));
            let body = r.json();
            assert_eq!(body["type"], "claim.rejected");
            assert_eq!(body["data"]["payer_id"], "60054");
            assert_eq!(body["data"]["kind"], "277CA");
            body["data"]["claim_number"].as_str().unwrap().to_owned()
        })
        .collect();
    numbers.sort();
    assert_eq!(numbers, ["CLM05000001", "CLM05000002"]);

    // Analytics: beside the denials (the category `rejection`, outside the denial rate), and by
    // status category, code and payer, with the rate over the claims acknowledged.
    let denials = app.get_json("/v1/analytics/denials?group_by=category").await;
    let group = denials["groups"].as_array().unwrap().iter().find(|g| g["key"] == "rejection").unwrap().clone();
    assert_eq!((group["denial_count"].as_i64(), group["denied_claim_payments"].as_i64()), (Some(2), Some(0)));
    assert_eq!(denials["totals"]["denied_claim_payments"], 0);
    let by_category = app.get_json("/v1/analytics/rejections").await;
    assert_eq!(by_category["totals"]["rejection_count"], 2);
    assert_eq!(by_category["totals"]["acknowledged_claims"], 3);
    assert_eq!(by_category["totals"]["rejection_rate"], 0.6667);
    assert_eq!(by_category["totals"]["rejected_amount"], "335.00");
    let keys: Vec<&str> =
        by_category["groups"].as_array().unwrap().iter().map(|g| g["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["A3", "A7"]);
    let by_code = app.get_json("/v1/analytics/rejections?group_by=code").await;
    let mut codes: Vec<&str> =
        by_code["groups"].as_array().unwrap().iter().map(|g| g["key"].as_str().unwrap()).collect();
    codes.sort();
    assert_eq!(codes, ["128", "33", "454", "562"]);
    let npi_group = by_code["groups"].as_array().unwrap().iter().find(|g| g["key"] == "562").unwrap().clone();
    assert!(npi_group["description"].as_str().unwrap().contains("national provider identifier"), "{npi_group}");
    let by_payer = app.get_json("/v1/analytics/rejections?group_by=payer").await;
    assert_eq!(by_payer["groups"][0]["key"], "60054");
    assert_eq!(
        (by_payer["groups"][0]["rejection_count"].as_i64(), by_payer["groups"][0]["acknowledged_claims"].as_i64()),
        (Some(2), Some(3))
    );
    assert_problem(app.get("/v1/analytics/rejections?group_by=reason").await, 400).await;
    let later = app.get_json("/v1/analytics/rejections?from=2099-01-01").await;
    assert_eq!(later["totals"]["rejection_count"], 0);

    // The same file again: stored as a repeat, nothing changed twice.
    let again = accepted(post_ack(&app, CA).await).await;
    assert_eq!(again["repeat_of"], ack["id"]);
    assert!(again["claims"].as_array().unwrap().iter().all(|c| c["state"] == "repeat" && c["claim_id"].is_string()));
    assert_eq!(rejections(&app).await.len(), 2);
    let contact_id = contact["id"].as_str().unwrap();
    assert_eq!(
        app.get_json(&format!("/v1/contacts/{contact_id}/deliveries")).await["items"].as_array().unwrap().len(),
        2
    );
    assert_eq!(app.get_json(&format!("/v1/claims/{}", ids[0])).await["accepted_at"], "2026-11-21T00:00:00Z");

    // Correcting the rejected claim sends it again as an original (no payer number to cite),
    // and closes its work item; an accepted claim is not resent that way.
    let res = app.post(&format!("/v1/claims/{}/corrections", ids[0]), &json!({"frequency_code": "1"})).await;
    assert_problem(res, 422).await;
    let res = app
        .post(&format!("/v1/claims/{}/corrections", ids[1]), &json!({"frequency_code": "1", "note": "fixed the NPI"}))
        .await;
    let status = res.status();
    let resent: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{resent}");
    assert_eq!((resent["frequency_code"].as_str(), resent["status"].as_str()), (Some("1"), Some("submitted")));
    assert_eq!(resent["payer_claim_control_number"], Value::Null);
    let written = app.get(&format!("/v1/claims/{}/837", resent["id"].as_str().unwrap())).await.text().await.unwrap();
    assert!(written.contains("*11:B:1*") && !written.contains("REF*F8"), "{written}");
    crate::python::x12valid(&written).unwrap_or_else(|e| panic!("pyx12 refused the resent claim: {e}\n{written}"));
    let item = app.get_json(&format!("/v1/denials/{}", npi_item["id"].as_str().unwrap())).await;
    assert_eq!(item["status"], "resubmitted");
    // The old 277CA received once more does not reach the claim sent again.
    let third = accepted(post_ack(&app, CA).await).await;
    assert_eq!(third["claims"][1]["claim_id"], resent["id"], "the latest claim of the number");
    assert_eq!(app.get_json(&format!("/v1/claims/{}", resent["id"].as_str().unwrap())).await["status"], "submitted");
    assert_eq!(rejections(&app).await.len(), 2);

    // Listed, read back, paged.
    let list = app.get_json("/v1/acknowledgments?kind=277CA").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
    assert_eq!(list["items"][0]["id"], third["id"], "newest first");
    let shown = app.get_json(&format!("/v1/acknowledgments/{}", ack["id"].as_str().unwrap())).await;
    assert_eq!(shown["claims"], ack["claims"]);
    let page = app.get_json(&format!("/v1/acknowledgments/{}/claims?limit=2", ack["id"].as_str().unwrap())).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = app
        .get_json(&format!("/v1/acknowledgments/{}/claims?limit=2&cursor={cursor}", ack["id"].as_str().unwrap()))
        .await;
    assert_eq!(rest["items"][0]["claim_number"], "CLM05000002");
    assert_eq!(rest["next_cursor"], Value::Null);
    assert_eq!(app.get_json("/v1/acknowledgments?kind=999").await["items"], json!([]));
    assert_problem(app.get("/v1/acknowledgments?kind=835").await, 400).await;
    assert_problem(app.get("/v1/acknowledgments/not-an-id").await, 404).await;
}

async fn a_999_rejecting_a_set_rejects_the_claims_of_its_file(backend: Backend) {
    let app = spawn_app(backend).await;
    let file = created(post_file(&app, PROFESSIONAL, None).await).await;
    let rejecting = recount(
        &ACCEPTED_999
            .replace("IK5*A~", "IK3*NM1*8*2010*8~\nCTX*CLM01:CLM05000001~\nIK4*9*67*7*1234567890~\nIK5*R*5~")
            .replace("AK9*A*1*1*1", "AK9*R*1*1*0"),
    );
    let ack = accepted(post_ack(&app, &rejecting).await).await;
    assert_eq!(ack["kind"], "999");
    let set = &ack["transaction_sets"][0];
    assert_eq!(
        (set["group_control_number"].as_str(), set["transaction_control_number"].as_str(), set["code"].as_str()),
        (Some("5"), Some("0001"), Some("R"))
    );
    assert_eq!(set["claim_file_id"], file["id"]);
    assert_eq!(set["matched"], "matched");
    let claims = ack["claims"].as_array().unwrap();
    assert_eq!(claims.len(), 3);
    assert!(claims.iter().all(|c| c["outcome"] == "rejected" && c["matched_by"] == "claim_file"), "{claims:?}");
    // The error naming a claim is that claim's alone.
    assert!(claims[1]["message"].as_str().unwrap().contains("NM1 at position 8"), "{}", claims[1]);
    assert!(!claims[0]["message"].as_str().unwrap().contains("NM1"), "{}", claims[0]);
    for c in claims {
        assert_eq!(
            app.get_json(&format!("/v1/claims/{}", c["claim_id"].as_str().unwrap())).await["status"],
            "rejected"
        );
    }
    let items = rejections(&app).await;
    assert_eq!(items.len(), 3);
    assert!(items.iter().all(|d| d["work_queue"] == "billing" && d["explanation"].as_str().unwrap().contains("999")));

    // An accepting 999 rejects nothing; one for a file never received matches nothing.
    let ok = accepted(post_ack(&app, ACCEPTED_999).await).await;
    assert!(ok["claims"].as_array().unwrap().iter().all(|c| c["outcome"] == "accepted"));
    let unknown = accepted(post_ack(&app, &ACCEPTED_999.replace("AK1*HC*5*", "AK1*HC*77*")).await).await;
    assert_eq!(unknown["transaction_sets"][0]["matched"], "unmatched");
    assert_eq!(unknown["claim_count"], 0);
    // The set waits for its file, as a row without a claim number.
    let waiting = &unknown["claims"][0];
    assert_eq!((waiting["claim_number"].as_str(), waiting["state"].as_str()), (Some(""), Some("waiting")));
    assert_eq!(waiting["trace"], "0001");
    assert_eq!(rejections(&app).await.len(), 3);
}

async fn a_999_before_its_claim_file_waits_for_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let rejecting = recount(&ACCEPTED_999.replace("IK5*A~", "IK5*R*5~").replace("AK9*A*1*1*1", "AK9*R*1*1*0"));
    let ack = accepted(post_ack(&app, &rejecting).await).await;
    assert_eq!(
        (ack["claim_count"].as_i64(), ack["transaction_sets"][0]["matched"].as_str()),
        (Some(0), Some("unmatched"))
    );
    // The file comes: its three claims are created, then rejected by the 999 that waited.
    let file = created(post_file(&app, PROFESSIONAL, None).await).await;
    assert_eq!(file["created_count"], 3);
    for c in file["claims"].as_array().unwrap() {
        assert_eq!(
            app.get_json(&format!("/v1/claims/{}", c["claim_id"].as_str().unwrap())).await["status"],
            "rejected"
        );
    }
    assert_eq!(rejections(&app).await.len(), 3);
    let shown = app.get_json(&format!("/v1/acknowledgments/{}", ack["id"].as_str().unwrap())).await;
    assert_eq!(shown["transaction_sets"][0]["matched"], "matched");
    assert_eq!(shown["transaction_sets"][0]["claim_file_id"], file["id"]);
    assert_eq!(
        (shown["claim_count"].as_i64(), shown["matched_count"].as_i64(), shown["rejected_count"].as_i64()),
        (Some(3), Some(3), Some(3))
    );
    let claims = shown["claims"].as_array().unwrap();
    assert_eq!(claims[0]["state"], "applied", "the set's own row");
    let numbers: Vec<&str> = claims[1..].iter().map(|c| c["claim_number"].as_str().unwrap()).collect();
    assert_eq!(numbers, ["CLM05000000", "CLM05000001", "CLM05000002"]);
    // A second file with the same control numbers finds nothing waiting: nothing doubled.
    let again = created(post_file(&app, &PROFESSIONAL.replace("CLM0500000", "CLM0600000"), None).await).await;
    assert_eq!(again["created_count"], 3);
    assert_eq!(rejections(&app).await.len(), 3);
}

async fn an_acknowledgment_before_its_claim_waits_for_it(backend: Backend) {
    let app = spawn_app_without_workers(backend).await;
    let ack = accepted(post_ack(&app, CA).await).await;
    assert_eq!(ack["matched_count"], 0);
    assert!(ack["claims"].as_array().unwrap().iter().all(|c| c["state"] == "waiting" && c["claim_id"].is_null()));
    created(post_file(&app, PROFESSIONAL, None).await).await;
    app.run_due_jobs().await;
    let shown = app.get_json(&format!("/v1/acknowledgments/{}", ack["id"].as_str().unwrap())).await;
    assert_eq!(shown["matched_count"], 3);
    assert!(
        shown["claims"].as_array().unwrap().iter().all(|c| c["state"] == "applied" && c["claim_id"].is_string()),
        "{shown}"
    );
    let claim = app.get_json("/v1/claims?claim_number=CLM05000001").await;
    assert_eq!(claim["items"][0]["status"], "rejected");
    assert_eq!(rejections(&app).await.len(), 2);
    // Run again: nothing left to apply, nothing doubled.
    app.run_due_jobs().await;
    assert_eq!(rejections(&app).await.len(), 2);
}

async fn a_277_answers_the_status_checks(backend: Backend) {
    let app = spawn_app(backend).await;
    created(post_file(&app, PROFESSIONAL, None).await).await;
    let ack = accepted(post_ack(&app, STATUS).await).await;
    assert_eq!(ack["kind"], "277");
    let outcomes: Vec<&str> =
        ack["claims"].as_array().unwrap().iter().map(|c| c["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["finalized", "pending", "finalized"]);
    let paid = app.get_json("/v1/claims?claim_number=CLM05000000").await["items"][0].clone();
    let paid = app.get_json(&format!("/v1/claims/{}", paid["id"].as_str().unwrap())).await;
    assert_eq!(paid["payer_status"]["category"], "F1");
    assert_eq!(paid["payer_status"]["code"], "65");
    assert_eq!(paid["payer_status"]["paid_amount"], "96.00");
    assert_eq!(paid["payer_status"]["effective_date"], "2026-12-10");
    assert_eq!(paid["status"], "submitted", "the 835 settles money, not the 277");
    assert_eq!(follow_up(&app, "CLM05000000", "status_check").await["status"], "completed");
    // Pending from 2026-12-12: checked again 30 days on.
    let check = follow_up(&app, "CLM05000001", "status_check").await;
    assert_eq!((check["status"].as_str(), check["due_at"].as_str()), (Some("scheduled"), Some("2027-01-11T00:00:00Z")));
    // The dependent's claim, filed under the subscriber's member id.
    assert_eq!(follow_up(&app, "CLM05000002", "status_check").await["status"], "completed");
    assert_eq!(rejections(&app).await.len(), 0);
}

async fn claims_are_matched_by_payer_number_or_member_and_never_guessed(backend: Backend) {
    let app = spawn_app(backend).await;
    // Two claims alike in member, date and charge, and a third of another member.
    for (number, member) in [("TWIN-1", "MEM-T"), ("TWIN-2", "MEM-T"), ("SOLO-1", "MEM-S")] {
        let mut body = claim_body(number);
        body["patient"]["member_id"] = json!(member);
        assert_eq!(app.post_claim(&body).await.status(), 201);
    }
    let ack = accepted(
        post_ack(
            &app,
            &claim_ack(&[("UNKNOWN-1", "MEM-T", "A7:21:QC", "200.50"), ("UNKNOWN-2", "MEM-S", "A7:21:QC", "200.50")]),
        )
        .await,
    )
    .await;
    let claims = ack["claims"].as_array().unwrap();
    assert_eq!((claims[0]["state"].as_str(), claims[0]["claim_id"].as_str()), (Some("ambiguous"), None));
    assert_eq!(claims[1]["matched_by"], "member_and_service");
    let solo = app.get_json("/v1/claims?claim_number=SOLO-1").await["items"][0].clone();
    assert_eq!(claims[1]["claim_id"], solo["id"]);
    assert_eq!(solo["status"], "rejected");
    for twin in ["TWIN-1", "TWIN-2"] {
        assert_eq!(app.get_json(&format!("/v1/claims?claim_number={twin}")).await["items"][0]["status"], "submitted");
    }
}

async fn an_acceptance_times_the_status_check_from_its_date(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut body = claim_body("EARLY-1");
    body["submitted_at"] = json!("2026-11-01T09:00:00Z");
    assert_eq!(app.post_claim(&body).await.status(), 201);
    let before = follow_up(&app, "EARLY-1", "status_check").await;
    assert_eq!(before["due_at"], "2026-12-01T09:00:00Z");
    let ack = accepted(post_ack(&app, &claim_ack(&[("EARLY-1", "MEM1001", "A2:20:PR", "200.50")])).await).await;
    assert_eq!(ack["claims"][0]["outcome"], "accepted");
    // Accepted on 2026-11-21: checked 30 days after the payer took it, not after it was sent.
    let after = follow_up(&app, "EARLY-1", "status_check").await;
    assert_eq!((after["status"].as_str(), after["due_at"].as_str()), (Some("scheduled"), Some("2026-12-21T00:00:00Z")));
    // A later acceptance (the same claim acknowledged again) moves nothing.
    let later = claim_ack(&[("EARLY-1", "MEM1001", "A2:20:PR", "200.50")]).replace("*20261121*U*", "*20261125*U*");
    accepted(post_ack(&app, &later).await).await;
    assert_eq!(follow_up(&app, "EARLY-1", "status_check").await["due_at"], "2026-12-21T00:00:00Z");
    let claim = app.get_json("/v1/claims?claim_number=EARLY-1").await["items"][0].clone();
    assert_eq!(
        app.get_json(&format!("/v1/claims/{}", claim["id"].as_str().unwrap())).await["accepted_at"],
        "2026-11-21T00:00:00Z"
    );
}

async fn malformed_acknowledgments_are_refused_and_store_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let problem = assert_problem(post_ack(&app, &CA.replace("STC*A7:562:85", "STC*A7:X62:85")).await, 400).await;
    assert!(problem["detail"].as_str().unwrap().contains("STC"), "{problem}");
    assert_eq!(problem["errors"][0]["segment_id"], "STC", "{problem}");
    let problem = assert_problem(post_ack(&app, &CA.replace("GS*HN*", "GS*HC*")).await, 400).await;
    assert_eq!(problem["errors"][0]["segment_id"], "GS", "{problem}");
    assert_problem(post_ack(&app, "not an X12 file").await, 400).await;
    let res = app
        .client
        .post(app.url("/v1/acknowledgments"))
        .bearer_auth(&app.admin_key)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 415).await;
    let portal = app.create_key("portal").await;
    let res = app
        .client
        .post(app.url("/v1/acknowledgments"))
        .bearer_auth(&portal)
        .header("content-type", "application/edi-x12")
        .body(CA)
        .send()
        .await
        .unwrap();
    assert_problem(res, 403).await;
    assert_eq!(app.get_json("/v1/acknowledgments").await["items"], json!([]));
}

/// Claim files received before acknowledgments existed get their sets indexed by the
/// migration, so that a 999 about them still finds them.
async fn the_migration_indexes_the_sets_of_earlier_claim_files(backend: Backend) {
    use sea_orm::{EntityTrait, QueryOrder};
    use sea_orm_migration::MigratorTrait;
    let db = crate::helpers::TestDatabase::new(backend).await;
    let settings = overturn_service::configuration::Settings::from_map(&db.vars).unwrap();
    let conn = overturn_service::db::Db::connect(&settings).await.unwrap();
    let before = overturn_migration::Migrator::migrations()
        .iter()
        .position(|m| m.name() == "m20261209_000013_acknowledgments")
        .expect("the acknowledgments migration");
    overturn_migration::Migrator::up(&conn.write, Some(before as u32)).await.unwrap();
    let id = uuid::Uuid::now_v7();
    let sets = json!([
        {"interchange_control_number": "000000005", "group_control_number": "5", "transaction_control_number": "0001", "acknowledgment": "A", "claim_count": 2},
        {"interchange_control_number": "000000005", "group_control_number": "5", "transaction_control_number": "0002", "acknowledgment": "R", "claim_count": 3},
    ]);
    let file = overturn_entity::claim_file::Model {
        id,
        number: 1,
        kind: "received".into(),
        format: "837P".into(),
        received_at: overturn_service::sql::now(),
        api_key_id: uuid::Uuid::now_v7(),
        byte_size: 10,
        sha256: "0".repeat(64),
        claim_count: 5,
        created_count: 5,
        rejected_count: 0,
        duplicate_count: 0,
        transaction_sets: sets,
        outcomes: "[]".into(),
        acknowledgment: String::new(),
    };
    overturn_entity::claim_file::Entity::insert(overturn_entity::claim_file::ActiveModel::from(file))
        .exec_without_returning(&conn.write)
        .await
        .unwrap();
    overturn_migration::Migrator::up(&conn.write, None).await.unwrap();
    let rows = overturn_entity::claim_file_set::Entity::find()
        .order_by_asc(overturn_entity::claim_file_set::Column::Position)
        .all(&conn.read)
        .await
        .unwrap();
    let got: Vec<(uuid::Uuid, i32, &str, &str, i32, i32)> = rows
        .iter()
        .map(|r| {
            (
                r.claim_file_id,
                r.position,
                r.group_control_number.as_str(),
                r.transaction_control_number.as_str(),
                r.first_claim,
                r.claim_count,
            )
        })
        .collect();
    assert_eq!(got, [(id, 0, "5", "0001", 0, 2), (id, 1, "5", "0002", 2, 3)]);
    // And down again, and up: repeatable.
    overturn_migration::Migrator::down(&conn.write, Some(1)).await.unwrap();
    overturn_migration::Migrator::up(&conn.write, None).await.unwrap();
    assert_eq!(overturn_entity::claim_file_set::Entity::find().all(&conn.read).await.unwrap().len(), 2);
}

crate::on_both_backends!(
    the_migration_indexes_the_sets_of_earlier_claim_files,
    a_277ca_rejects_and_accepts_claim_by_claim,
    a_999_rejecting_a_set_rejects_the_claims_of_its_file,
    a_999_before_its_claim_file_waits_for_it,
    an_acknowledgment_before_its_claim_waits_for_it,
    a_277_answers_the_status_checks,
    claims_are_matched_by_payer_number_or_member_and_never_guessed,
    an_acceptance_times_the_status_check_from_its_date,
    malformed_acknowledgments_are_refused_and_store_nothing,
);
