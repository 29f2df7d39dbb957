//! Rejections after the fact: a claim returned at the front door and later accepted, or
//! paid, has its rejection closed (the payer has the claim again), once, and never on news
//! older than the rejection.

use serde_json::Value;

use crate::acknowledgments::{accepted, claim_ack, post_ack, rejections};
use crate::helpers::{Backend, claim_body, spawn_app_without_workers};

/// A rejection stands until the payer shows it has the claim: a later acceptance (the claim was
/// sent again, inside Overturn or not) or a remittance closes it as resubmitted, puts the claim
/// back under a status check, and does so once; news older than the rejection closes nothing.
async fn a_rejection_closes_when_the_payer_later_has_the_claim(backend: Backend) {
    let app = spawn_app_without_workers(backend).await;
    for number in ["LATE-1", "LATE-2", "LATE-3"] {
        assert_eq!(app.post_claim(&claim_body(number)).await.status(), 201);
    }
    let rejecting = claim_ack(&[
        ("LATE-1", "MEM1001", "A7:562:85", "200.50"),
        ("LATE-2", "MEM1001", "A7:562:85", "200.50"),
        ("LATE-3", "MEM1001", "A7:562:85", "200.50"),
    ]);
    accepted(post_ack(&app, &rejecting).await).await;
    assert_eq!(rejections(&app).await.len(), 3);
    let app = &app;
    let item =
        |n: &'static str| async move { rejections(app).await.into_iter().find(|d| d["claim_number"] == n).unwrap() };
    let claim = |n: &'static str| async move {
        let id = app.get_json(&format!("/v1/claims?claim_number={n}")).await["items"][0]["id"].clone();
        app.get_json(&format!("/v1/claims/{}", id.as_str().unwrap())).await
    };

    // Accepted four days after the rejection: resubmitted, by Overturn, saying why.
    let acceptance = claim_ack(&[("LATE-1", "MEM1001", "A2:20:PR", "200.50")]).replace("*20261121*U*", "*20261125*U*");
    accepted(post_ack(app, &acceptance).await).await;
    let closed = item("LATE-1").await;
    assert_eq!(closed["status"], "resubmitted", "{closed}");
    let detail = app.get_json(&format!("/v1/denials/{}", closed["id"].as_str().unwrap())).await;
    let last = detail["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["to_status"].as_str(), last["actor"].as_str()),
        (Some("resubmitted"), Some("overturn")),
        "{detail}"
    );
    assert!(last["note"].as_str().unwrap().contains("payer has since accepted"), "{detail}");
    assert_eq!(claim("LATE-1").await["status"], "submitted");
    // A status check again, timed from the acceptance (30 days after 2026-11-25).
    let checks = app.get_json("/v1/follow-ups?claim_number=LATE-1&kind=status_check&limit=50").await;
    let waiting: Vec<&Value> =
        checks["items"].as_array().unwrap().iter().filter(|f| f["status"] == "scheduled").collect();
    assert_eq!(waiting.len(), 1, "{checks}");
    assert_eq!(waiting[0]["due_at"], "2026-12-25T00:00:00Z", "{checks}");
    // The same acceptance again: nothing more.
    accepted(post_ack(app, &acceptance.replace("000000732", "000000733")).await).await;
    let again = app.get_json("/v1/follow-ups?claim_number=LATE-1&kind=status_check&limit=50").await;
    assert_eq!(again["items"].as_array().unwrap().len(), checks["items"].as_array().unwrap().len(), "{again}");
    let detail = app.get_json(&format!("/v1/denials/{}", closed["id"].as_str().unwrap())).await;
    assert_eq!(detail["history"].as_array().unwrap().len(), 2, "classified, then resubmitted once: {detail}");

    // An acceptance dated before the rejection is older news: the rejection stands.
    let older = claim_ack(&[("LATE-2", "MEM1001", "A2:20:PR", "200.50")]).replace("*20261121*U*", "*20261119*U*");
    accepted(post_ack(app, &older).await).await;
    assert_eq!(item("LATE-2").await["status"], "open");
    assert_eq!(claim("LATE-2").await["status"], "rejected");

    // A remittance answering the claim closes its rejection once the follow-up job has run.
    let paid = crate::remittances::edi(
        "TRN-LATE",
        "180",
        "C",
        &["CLP*LATE-3*1*200.50*180*20.50*12*ICN-LATE", "CAS*PR*1*20.50"],
        7301,
    );
    assert_eq!(app.post_edi(&paid).await.status(), 202);
    app.run_due_jobs().await;
    assert_eq!(item("LATE-3").await["status"], "resubmitted");
    assert_eq!(claim("LATE-3").await["status"], "paid");
    assert_eq!(item("LATE-2").await["status"], "open", "another claim's rejection stays");
}

crate::on_both_backends!(a_rejection_closes_when_the_payer_later_has_the_claim);
