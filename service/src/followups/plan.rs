//! The rows of follow-ups to schedule: from a claim, a resubmission, denials and balances.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use overturn_domain::classification::{Action, Category, PayerRules};
use overturn_domain::denial_workflow::DenialStatus;
use overturn_domain::followups::{self as rules, FollowUpKind, FollowUpStatus};
use overturn_domain::settlement;
use overturn_entity::{claim, claim_payment, denial, follow_up};
use uuid::Uuid;

use crate::followups::plus_days;

/// A follow-up row, scheduled.
#[allow(clippy::too_many_arguments)]
pub(super) fn planned(
    kind: FollowUpKind,
    key: String,
    claim_number: &str,
    claim_id: Option<Uuid>,
    payer_id: &str,
    reference: &str,
    due_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> follow_up::Model {
    follow_up::Model {
        id: Uuid::now_v7(),
        kind: kind.as_str().to_owned(),
        dedupe_key: key,
        claim_id,
        claim_number: claim_number.to_owned(),
        claim_payment_id: None,
        denial_id: None,
        anchor_at: None,
        payer_id: payer_id.to_owned(),
        target: kind.target().as_str().to_owned(),
        reference: reference.to_owned(),
        offset_days: None,
        due_at,
        status: FollowUpStatus::Scheduled.into(),
        assignee: None,
        note: None,
        enqueued_at: None,
        fired_at: None,
        fire_count: 0,
        snoozed: false,
        closed_at: None,
        close_reason: None,
        created_at: now,
        updated_at: now,
    }
}

/// A new claim's follow-ups: its status check and its timely-filing limit (none for a void).
pub fn for_claim(claim: &claim::Model, rules: &PayerRules, now: DateTime<Utc>) -> Vec<follow_up::Model> {
    if claim.frequency_code == "8" {
        return Vec::new();
    }
    let mut check = planned(
        FollowUpKind::StatusCheck,
        format!("status_check:{}", claim.id),
        &claim.claim_number,
        Some(claim.id),
        &claim.payer_id,
        &claim.payer_id,
        rules::status_check_due(claim.submitted_at, rules),
        now,
    );
    check.anchor_at = Some(claim.submitted_at);
    let mut filing = planned(
        FollowUpKind::TimelyFiling,
        format!("timely_filing:{}", claim.id),
        &claim.claim_number,
        Some(claim.id),
        &claim.payer_id,
        &claim.payer_id,
        rules::timely_filing_due(claim.service_date, rules),
        now,
    );
    filing.anchor_at = Some(rules::start_of(claim.service_date));
    vec![check, filing]
}

/// The status check of a claim resubmitted to work a denial.
pub fn for_resubmission(
    claim: &claim::Model,
    denial_id: Uuid,
    rules: &PayerRules,
    now: DateTime<Utc>,
) -> follow_up::Model {
    let mut check = planned(
        FollowUpKind::StatusCheck,
        format!("status_check:{}:resubmitted:{denial_id}", claim.id),
        &claim.claim_number,
        Some(claim.id),
        &claim.payer_id,
        &claim.payer_id,
        rules::status_check_due(now, rules),
        now,
    );
    check.denial_id = Some(denial_id);
    check.anchor_at = Some(now);
    check
}

/// The follow-ups of newly classified denials: appeal reminders, a resubmission reminder,
/// and the patient asked for insurance details. `members` maps claim payments to the
/// patient's member id. Appeal reminders follow the deadline stored on the denial.
pub fn for_denials(
    denials: &[denial::Model],
    members: &HashMap<Uuid, String>,
    now: DateTime<Utc>,
) -> Vec<follow_up::Model> {
    let mut out = Vec::new();
    for d in denials.iter().filter(|d| *d.status == DenialStatus::Open) {
        let (Some(category), Some(action)) = (Category::parse(&d.category), Action::parse(&d.recommended_action))
        else {
            continue;
        };
        let mut add = |mut row: follow_up::Model| {
            row.denial_id = Some(d.id);
            row.claim_payment_id = Some(d.claim_payment_id);
            out.push(row);
        };
        if let (Some(deadline), true) = (d.appeal_deadline, rules::wants_appeal_reminders(action)) {
            for reminder in rules::appeal_reminders(deadline, now) {
                let mut row = planned(
                    FollowUpKind::AppealDeadline,
                    format!("appeal_deadline:{}:{}", d.id, reminder.offset_days),
                    &d.claim_number,
                    d.claim_id,
                    &d.payer_id,
                    &d.payer_id,
                    reminder.due_at,
                    now,
                );
                row.offset_days = Some(reminder.offset_days);
                // The production date: the deadline moves with the payer's appeal window.
                row.anchor_at = d.production_date.map(rules::start_of);
                add(row);
            }
        }
        if action == Action::CorrectAndResubmit {
            add(planned(
                FollowUpKind::Resubmission,
                format!("resubmission:{}", d.id),
                &d.claim_number,
                d.claim_id,
                &d.payer_id,
                &d.payer_id,
                plus_days(now, rules::RESUBMISSION_AFTER_DAYS),
                now,
            ));
        }
        if let (true, Some(member)) = (rules::asks_the_patient(category), members.get(&d.claim_payment_id)) {
            add(planned(
                FollowUpKind::PatientOutreach,
                format!("patient_outreach:{}", d.id),
                &d.claim_number,
                d.claim_id,
                &d.payer_id,
                member,
                plus_days(now, rules::OUTREACH_QUESTION_AFTER_DAYS),
                now,
            ));
        }
    }
    out
}

/// The reminder of a balance a payment left the patient `member` (none for reversals).
pub fn for_balance(
    payment: &claim_payment::Model,
    member: Option<&str>,
    payer_id: &str,
    now: DateTime<Utc>,
) -> Option<follow_up::Model> {
    let member = member.filter(|m| !m.is_empty())?;
    if !settlement::leaves_patient_balance(&payment.status_code, payment.patient_responsibility_cents) {
        return None;
    }
    let mut row = planned(
        FollowUpKind::PatientOutreach,
        format!("patient_outreach:balance:{}", payment.id),
        &payment.claim_number,
        payment.claim_id,
        payer_id,
        member,
        plus_days(now, rules::OUTREACH_BALANCE_AFTER_DAYS),
        now,
    );
    row.claim_payment_id = Some(payment.id);
    Some(row)
}
