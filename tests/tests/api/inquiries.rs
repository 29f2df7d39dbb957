//! The claim status inquiry (276) a status check offers, read by an independent checker
//! (LinuxForHealth's X12 models; pyx12 has no 005010X212 map): for a subscriber's claim, for a
//! dependent's, and for inquiries made of hostile names and numbers. And the 277 answering
//! it, found by its trace.

use chrono::{DateTime, NaiveDate, Utc};
use overturn_domain::Money;
use overturn_domain::x12::inquiry276::{Inquiry, Person, write_276};

use crate::acknowledgments::{STATUS, accepted, follow_up, post_ack, recount};
use crate::claim_files::{INSTITUTIONAL, PROFESSIONAL, created, post_file};
use crate::fuzz::Rng;
use crate::helpers::{Backend, TestApp, assert_problem, claim_body, spawn_app};
use crate::python::claim_status_inquiries_valid;

/// The 276 of `claim_number`'s status check, and that check's trace (its id, 32 hex digits).
async fn inquiry_of(app: &TestApp, claim_number: &str) -> (String, String, String) {
    let check = follow_up(app, claim_number, "status_check").await;
    let id = check["id"].as_str().unwrap().to_owned();
    let res = app.get(&format!("/v1/follow-ups/{id}/276")).await;
    assert_eq!(res.status(), 200, "{claim_number}");
    assert_eq!(res.headers()["content-type"], "application/edi-x12");
    let trace = uuid::Uuid::parse_str(&id).unwrap().simple().to_string().to_uppercase();
    (id, trace, res.text().await.unwrap())
}

async fn a_status_check_asks_with_a_276_and_its_277_finds_the_claim(backend: Backend) {
    let app = spawn_app(backend).await;
    let file = created(post_file(&app, PROFESSIONAL, None).await).await;
    let (id, trace, inquiry) = inquiry_of(&app, "CLM05000000").await;
    for expected in [
        "GS*HR*CLINIC9*CLEARHOUSE*".to_owned(),
        "ST*276*0001*005010X212~".to_owned(),
        "NM1*PR*2*ACME HEALTH PLAN*****PI*60054~".to_owned(),
        "NM1*1P*2*SMITH FAMILY CLINIC*****XX*1234567893~".to_owned(),
        "DMG*D8*19500110*M~\nNM1*IL*1*DOEA*JANE****MI*M05000000~".to_owned(),
        format!("TRN*1*{trace}~\nREF*EJ*CLM05000000~\nAMT*T3*120.00~\nDTP*472*D8*20261102~"),
    ] {
        assert!(inquiry.contains(&expected), "{expected}\n{inquiry}");
    }
    claim_status_inquiries_valid(std::slice::from_ref(&inquiry)).unwrap_or_else(|e| panic!("{e}\n{inquiry}"));
    // The same bytes on every fetch.
    assert_eq!(app.get(&format!("/v1/follow-ups/{id}/276")).await.text().await.unwrap(), inquiry);

    // The payer's 277 echoes the trace and names no patient control number: found by the trace.
    let answer = recount(
        &STATUS
            .replace("TRN*2*INQ0001", &format!("TRN*2*{trace}"))
            .replace("REF*EJ*CLM05000000~\n", "")
            .replace("REF*1K*PAYER20261121A~\n", ""),
    );
    let ack = accepted(post_ack(&app, &answer).await).await;
    assert_eq!(ack["claims"][0]["matched_by"], "inquiry", "{ack}");
    assert_eq!(ack["claims"][0]["claim_id"], file["claims"][0]["claim_id"]);
    assert_eq!(follow_up(&app, "CLM05000000", "status_check").await["status"], "completed");

    // Only a status check of a claim asks; an unknown follow-up is 404.
    let filing = follow_up(&app, "CLM05000001", "timely_filing").await;
    assert_problem(app.get(&format!("/v1/follow-ups/{}/276", filing["id"].as_str().unwrap())).await, 422).await;
    assert_problem(app.get("/v1/follow-ups/0192f0c4-3c1e-7a51-9d9c-3f1c2e4b5a6d/276").await, 404).await;

    // A JSON claim without a submitter or receiver, none configured: named.
    assert_eq!(app.post_claim(&claim_body("PLAIN-1")).await.status(), 201);
    let plain = follow_up(&app, "PLAIN-1", "status_check").await;
    let problem =
        assert_problem(app.get(&format!("/v1/follow-ups/{}/276", plain["id"].as_str().unwrap())).await, 422).await;
    assert!(problem["detail"].as_str().unwrap().contains("a submitter and a receiver"), "{problem}");
}

/// A claim whose patient is the subscriber's dependent (the 837's 2000C): the 276 names the
/// subscriber in 2000D and asks about the patient's claim in 2000E, as the guide has it.
async fn a_dependents_claim_is_asked_about_under_the_dependent(backend: Backend) {
    let app = spawn_app(backend).await;
    created(post_file(&app, INSTITUTIONAL, None).await).await;
    let (_, trace, inquiry) = inquiry_of(&app, "HOSP770001").await;
    let expected = format!(
        "HL*4*3*22*1~\nNM1*IL*1*ROE*RICHARD****MI*M77000001~\nHL*5*4*23~\nDMG*D8*20100505*M~\n\
         NM1*QC*1*ROE*SAM~\nTRN*1*{trace}~\nREF*EJ*HOSP770001~\nAMT*T3*1250.00~"
    );
    assert!(inquiry.contains(&expected), "{expected}\n{inquiry}");
    // The subscriber's own birth date is not the patient's: the only DMG is the dependent's.
    assert_eq!(inquiry.matches("DMG*").count(), 1, "{inquiry}");
    claim_status_inquiries_valid(std::slice::from_ref(&inquiry)).unwrap_or_else(|e| panic!("{e}\n{inquiry}"));
}

/// Inquiries made of hostile text (delimiters, lower case, accents, nothing at all, far too
/// long), dependents or not, ranges of dates, with and without the payer's number: every one
/// the writer makes is a 276 the independent checker reads without an error.
#[test]
fn every_276_written_passes_the_independent_checker() {
    const TEXTS: [&str; 10] = [
        "Acme Health Plan",
        "o'brien-smith",
        "D*o:e^s~",
        "",
        "   ",
        "Zoë Ñúñez",
        "***",
        "A very long name that goes on well past the sixty characters an NM103 may hold, and more",
        "x",
        "12345",
    ];
    let mut rng = Rng(0x0276_5EED_0000_0001);
    let mut pick = |rng: &mut Rng| TEXTS[rng.below(TEXTS.len())].to_owned();
    let day = |rng: &mut Rng| {
        NaiveDate::from_ymd_opt(2015 + rng.below(12) as i32, 1 + rng.below(12) as u32, 1 + rng.below(28) as u32)
            .unwrap()
    };
    let person = |rng: &mut Rng, pick: &mut dyn FnMut(&mut Rng) -> String| Person {
        last_name: pick(rng),
        first_name: pick(rng),
        birth_date: (rng.below(4) > 0).then(|| day(rng)),
        gender: ["F", "M", "U", "", "X"][rng.below(5)].to_owned(),
    };
    let at = DateTime::parse_from_rfc3339("2026-12-08T01:02:00Z").unwrap().with_timezone(&Utc);
    let mut files = Vec::new();
    let mut dependents = 0;
    for i in 0..150u32 {
        let from = day(&mut rng);
        let subscriber = person(&mut rng, &mut pick);
        let mut dependent = (rng.below(2) == 0).then(|| person(&mut rng, &mut pick));
        if let Some(d) = dependent.as_mut() {
            // The service always knows the patient's birth date: the dependent's level requires it.
            d.birth_date.get_or_insert(from);
            dependents += 1;
        }
        let inquiry = Inquiry {
            trace: if i % 3 == 0 { pick(&mut rng) } else { format!("{:032x}", rng.below(usize::MAX)) },
            sender: ("ZZ".into(), ["CLINIC9", "A*B", "submitter-with-a-long-id-0001"][rng.below(3)].into()),
            receiver: ("ZZ".into(), ["CLEARHOUSE", "60054", "x"][rng.below(3)].into()),
            payer_name: pick(&mut rng),
            payer_id: pick(&mut rng),
            submitter_name: pick(&mut rng),
            submitter_id: pick(&mut rng),
            provider_name: pick(&mut rng),
            provider_npi: "1234567893".into(),
            subscriber,
            member_id: pick(&mut rng),
            dependent,
            claim_number: pick(&mut rng),
            payer_claim_number: [None, Some(String::new()), Some(" ".into()), Some(pick(&mut rng))][rng.below(4)]
                .clone(),
            charge: Money::from_cents([0, 1, 12_000, 9_999_999_999][rng.below(4)]).unwrap(),
            service_from: from,
            service_to: from + chrono::Duration::days([0, 0, 1, 30][rng.below(4)]),
        };
        files.push(write_276(&inquiry, 1 + i * 7_777_777, at));
    }
    assert!(dependents > 30 && dependents < 120, "{dependents} dependents");
    if let Err(e) = claim_status_inquiries_valid(&files) {
        let index: Option<usize> =
            e.strip_prefix("file ").and_then(|r| r.split(':').next()).and_then(|n| n.parse().ok());
        panic!("{e}\n{}", index.map(|i| files[i].as_str()).unwrap_or(""));
    }
}

crate::on_both_backends!(
    a_status_check_asks_with_a_276_and_its_277_finds_the_claim,
    a_dependents_claim_is_asked_about_under_the_dependent,
);
