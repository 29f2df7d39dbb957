//! Follow-ups: planned from claims and denials (rules in `overturn_domain::followups`),
//! handed to the queue shortly before they fall due, fired once, cancelled when they no
//! longer make sense, and moved when a payer's rules change.
//!
//! The rows are the schedule; the queue only carries the next minute of it. Every worker's
//! relay hands follow-ups due within `LOOKAHEAD` to the queue as delayed jobs of up to
//! `JOB_BATCH` ids, so a month of follow-ups never sits in the queue at once. The same pass
//! picks up anything already due and never handed over, or handed over and not fired for
//! longer than the stale delay (its job was lost): a follow-up that fell due while every
//! process was down fires at the next start. A job fires only the rows still `scheduled`
//! and due, under a row lock, and stores the `followup.due` event in the same transaction
//! with an id derived from the firing; a job run twice fires nothing twice.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use overturn_domain::claim::ClaimStatus;
use overturn_domain::classification::{Action, Category, PayerRules};
use overturn_domain::followups::{self as rules, FollowUpKind, FollowUpStatus};
use overturn_domain::webhooks::{ContactKind, EventType};
use overturn_entity::{claim, claim_payment, denial, follow_up};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement, TransactionTrait, Value,
};
use uuid::Uuid;

use crate::delivery::{EnqueueError, Enqueued};
use crate::events::payloads::FollowUpDueData;
use crate::events::{self, EventDraft};
use crate::queue::{Job, JobQueue, Task};
use crate::sql::{Column, MAX_PARAMS, any_of, insert_rows_if_absent, now};

/// How far ahead follow-ups are handed to the queue.
pub const LOOKAHEAD: Duration = Duration::from_secs(60);

/// Follow-ups one job fires (one transaction).
pub const JOB_BATCH: usize = 500;

/// The widest spread of due times in one job: each job waits for its latest.
const JOB_SPREAD_MS: i64 = 1_000;

fn plus_days(at: DateTime<Utc>, days: u16) -> DateTime<Utc> {
    at + chrono::Duration::days(i64::from(days))
}

/// A follow-up row, scheduled.
#[allow(clippy::too_many_arguments)]
fn planned(
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
        status: FollowUpStatus::Scheduled.as_str().to_owned(),
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
    for d in denials.iter().filter(|d| d.status == "open") {
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

/// The reminder of a balance a payment left the patient (none for reversals).
pub fn for_balance(payment: &claim_payment::Model, payer_id: &str, now: DateTime<Utc>) -> Option<follow_up::Model> {
    let member = payment.patient_member_id.as_deref().filter(|m| !m.is_empty())?;
    if payment.patient_responsibility_cents <= 0 || payment.status_code == "22" {
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

const COLUMNS: [Column; 18] = [
    Column::new("id", "uuid"),
    Column::new("kind", "text"),
    Column::new("dedupe_key", "text"),
    Column::nullable("claim_id", "uuid"),
    Column::new("claim_number", "text"),
    Column::nullable("claim_payment_id", "uuid"),
    Column::nullable("denial_id", "uuid"),
    Column::nullable("anchor_at", "timestamptz"),
    Column::new("payer_id", "text"),
    Column::new("target", "text"),
    Column::new("reference", "text"),
    Column::nullable("offset_days", "int4"),
    Column::new("due_at", "timestamptz"),
    Column::new("status", "text"),
    Column::new("fire_count", "int4"),
    Column::new("snoozed", "bool"),
    Column::new("created_at", "timestamptz"),
    Column::new("updated_at", "timestamptz"),
];

/// Stores follow-ups, skipping any scheduled before for the same thing (`dedupe_key`).
pub async fn schedule<C: ConnectionTrait>(db: &C, rows: &[follow_up::Model]) -> Result<(), DbErr> {
    let mut values = Vec::with_capacity(rows.len() * COLUMNS.len());
    for r in rows {
        values.extend([
            Value::from(r.id),
            Value::from(r.kind.clone()),
            Value::from(r.dedupe_key.clone()),
            Value::from(r.claim_id),
            Value::from(r.claim_number.clone()),
            Value::from(r.claim_payment_id),
            Value::from(r.denial_id),
            Value::from(r.anchor_at),
            Value::from(r.payer_id.clone()),
            Value::from(r.target.clone()),
            Value::from(r.reference.clone()),
            Value::from(r.offset_days),
            Value::from(r.due_at),
            Value::from(r.status.clone()),
            Value::from(r.fire_count),
            Value::from(r.snoozed),
            Value::from(r.created_at),
            Value::from(r.updated_at),
        ]);
    }
    insert_rows_if_absent(db, "follow_ups", &COLUMNS, values).await?;
    Ok(())
}

/// Plans the follow-ups of a classified remittance: its denials' and its patients' balances,
/// a page of claim payments per transaction. Idempotent (every follow-up has its key), so a
/// re-run or a run cut short plans each once. Returns how many were planned.
pub async fn plan_remittance(db: &DatabaseConnection, remittance_id: Uuid, page_size: u64) -> Result<usize, DbErr> {
    use overturn_entity::remittance_transaction;
    let transactions = remittance_transaction::Entity::find()
        .filter(remittance_transaction::Column::RemittanceId.eq(remittance_id))
        .all(db)
        .await?;
    let payer_of: HashMap<Uuid, String> = transactions.iter().map(|t| (t.id, crate::classify::payer_key(t))).collect();
    let now = now();
    // What this remittance's answers end goes first, as the request used to do it.
    let txn = db.begin().await?;
    reconcile_remittance(&txn, remittance_id, now).await?;
    txn.commit().await?;
    let mut planned_count = 0;
    let mut after: i32 = -1;
    loop {
        let page = claim_payment::Entity::find()
            .filter(claim_payment::Column::RemittanceId.eq(remittance_id))
            .filter(claim_payment::Column::Position.gt(after))
            .order_by_asc(claim_payment::Column::Position)
            .limit(std::cmp::max(page_size, 1))
            .all(db)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.position;
        let txn = db.begin().await?;
        let denials = crate::classify::page_denials(&txn, &page).await?;
        let members: HashMap<Uuid, String> = page
            .iter()
            .filter_map(|p| p.patient_member_id.clone().filter(|m| !m.is_empty()).map(|m| (p.id, m)))
            .collect();
        let mut planned = for_denials(&denials, &members, now);
        planned.extend(
            page.iter().filter_map(|p| for_balance(p, payer_of.get(&p.transaction_id).map_or("", String::as_str), now)),
        );
        schedule(&txn, &planned).await?;
        txn.commit().await?;
        planned_count += planned.len();
    }
    // A claim created meanwhile may have been matched after its page was read: under the
    // matching lock its claim writer has finished, and its claim is copied here.
    let txn = db.begin().await?;
    crate::sql::lock_matching(&txn, true).await?;
    attach_claims_of_remittance(&txn, remittance_id).await?;
    txn.commit().await?;
    Ok(planned_count)
}

/// Which open follow-ups to cancel.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// Of these kinds, on these claims.
    Claims(&'a [Uuid], &'a [FollowUpKind]),
    /// Those about a denial (or a payment) on these claims: appeal reminders, resubmission,
    /// the patient's questions; not the patient's balance.
    DenialsOfClaims(&'a [Uuid]),
    /// The patient-balance reminders on these claims.
    BalancesOfClaims(&'a [Uuid]),
    /// Of these kinds, about this denial.
    Denial(Uuid, &'a [FollowUpKind]),
}

fn open_statuses() -> Vec<&'static str> {
    FollowUpStatus::OPEN.iter().map(|s| s.as_str()).collect()
}

fn kinds(kinds: &[FollowUpKind]) -> Vec<&'static str> {
    kinds.iter().map(|k| k.as_str()).collect()
}

/// Cancels the open follow-ups in `scope`; returns how many.
pub async fn cancel<C: ConnectionTrait>(
    db: &C,
    scope: Scope<'_>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let base = || {
        follow_up::Entity::update_many()
            .col_expr(follow_up::Column::Status, Expr::value(FollowUpStatus::Cancelled.as_str()))
            .col_expr(follow_up::Column::ClosedAt, Expr::value(now))
            .col_expr(follow_up::Column::CloseReason, Expr::value(reason))
            .col_expr(follow_up::Column::UpdatedAt, Expr::value(now))
            .filter(follow_up::Column::Status.is_in(open_statuses()))
    };
    let mut cancelled = 0;
    let (claims, condition) = match scope {
        Scope::Denial(id, which) => {
            let result = base()
                .filter(follow_up::Column::DenialId.eq(id))
                .filter(follow_up::Column::Kind.is_in(kinds(which)))
                .exec(db)
                .await?;
            return Ok(result.rows_affected);
        }
        Scope::Claims(ids, which) => (ids, Condition::all().add(follow_up::Column::Kind.is_in(kinds(which)))),
        Scope::DenialsOfClaims(ids) => (
            ids,
            Condition::all()
                .add(follow_up::Column::DenialId.is_not_null())
                .add(follow_up::Column::Kind.is_not_in(kinds(&FollowUpKind::ANSWERED_BY_PAYER))),
        ),
        Scope::BalancesOfClaims(ids) => (
            ids,
            Condition::all()
                .add(follow_up::Column::Kind.eq(FollowUpKind::PatientOutreach.as_str()))
                .add(follow_up::Column::DenialId.is_null()),
        ),
    };
    let backend = db.get_database_backend();
    for chunk in claims.chunks(MAX_PARAMS / 2) {
        cancelled += base()
            .filter(condition.clone())
            .filter(any_of(backend, follow_up::Column::ClaimId, sea_orm::sea_query::ArrayType::Uuid, chunk))
            .exec(db)
            .await?
            .rows_affected;
    }
    Ok(cancelled)
}

/// What settling claims means for their follow-ups: a payer response ends the status check
/// and the timely-filing watch; a claim paid in full ends the chasing of its denials; a
/// balance gone (paid, or reversed) ends the patient's balance reminder.
async fn claims_settled<C: ConnectionTrait>(
    db: &C,
    settled: &[(Uuid, &str, i64)],
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    if settled.is_empty() {
        return Ok(0);
    }
    let answered: Vec<Uuid> = settled.iter().map(|s| s.0).collect();
    let mut n =
        cancel(db, Scope::Claims(&answered, &FollowUpKind::ANSWERED_BY_PAYER), "the payer answered", now).await?;
    let paid: Vec<Uuid> = settled.iter().filter(|s| s.1 == "paid").map(|s| s.0).collect();
    if !paid.is_empty() {
        n += cancel(db, Scope::DenialsOfClaims(&paid), "the claim was paid", now).await?;
    }
    let no_balance: Vec<Uuid> = settled.iter().filter(|s| s.2 <= 0 || s.1 == "reversed").map(|s| s.0).collect();
    if !no_balance.is_empty() {
        n += cancel(db, Scope::BalancesOfClaims(&no_balance), "the patient owes nothing on the claim", now).await?;
    }
    Ok(n)
}

/// `claims_settled` for these claims as they stand now, for those the payer has answered.
///
/// A remittance settles its claims in the request but leaves the cancelling to its follow-up
/// job (on a 20,000-claim file that is tens of thousands of rows with many indexes to keep,
/// too slow for the request); `fire` runs this first for the claims of what it is about to
/// fire, so an answered claim's status check cannot go out in between. Reading the claims'
/// standing rather than remembering it makes both idempotent, and right when later payments
/// have changed a claim meanwhile.
pub async fn reconcile_claims<C: ConnectionTrait>(
    db: &C,
    claim_ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    let mut answered: Vec<(Uuid, String, i64)> = Vec::new();
    for chunk in claim_ids.chunks(MAX_PARAMS) {
        let rows: Vec<(Uuid, String, i64)> = claim::Entity::find()
            .select_only()
            .columns([claim::Column::Id, claim::Column::Status, claim::Column::PatientResponsibilityCents])
            .filter(any_of(backend, claim::Column::Id, sea_orm::sea_query::ArrayType::Uuid, chunk))
            .filter(claim::Column::Status.ne(ClaimStatus::Submitted.as_str()))
            .into_tuple()
            .all(db)
            .await?;
        answered.extend(rows);
    }
    let settled: Vec<(Uuid, &str, i64)> = answered.iter().map(|(id, status, pr)| (*id, status.as_str(), *pr)).collect();
    claims_settled(db, &settled, now).await
}

/// `reconcile_claims` for the claims a remittance's payments were matched to.
pub async fn reconcile_remittance<C: ConnectionTrait>(
    db: &C,
    remittance_id: Uuid,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let claims: Vec<Option<Uuid>> = claim_payment::Entity::find()
        .select_only()
        .column(claim_payment::Column::ClaimId)
        .distinct()
        .filter(claim_payment::Column::RemittanceId.eq(remittance_id))
        .filter(claim_payment::Column::ClaimId.is_not_null())
        .into_tuple()
        .all(db)
        .await?;
    let claims: Vec<Uuid> = claims.into_iter().flatten().collect();
    reconcile_claims(db, &claims, now).await
}

/// Copies the claims of these payments (matched after their follow-ups were planned) onto
/// those follow-ups.
pub async fn attach_claims<C: ConnectionTrait>(db: &C, payments: &[Uuid]) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    let mut n = 0;
    for chunk in payments.chunks(MAX_PARAMS) {
        let placeholders: Vec<String> = (1..=chunk.len())
            .map(|i| if backend == DbBackend::Postgres { format!("${i}") } else { "?".to_owned() })
            .collect();
        let values: Vec<Value> = chunk.iter().map(|id| Value::from(*id)).collect();
        n += attach(db, &placeholders.join(", "), values).await?;
    }
    Ok(n)
}

/// `attach_claims` for every payment of a remittance.
pub async fn attach_claims_of_remittance<C: ConnectionTrait>(db: &C, remittance_id: Uuid) -> Result<u64, DbErr> {
    let placeholder = if db.get_database_backend() == DbBackend::Postgres { "$1" } else { "?" };
    // Only payments matched meanwhile: the rest would be rewritten with the NULL they hold.
    let payments =
        format!("SELECT id FROM claim_payments WHERE remittance_id = {placeholder} AND claim_id IS NOT NULL");
    attach(db, &payments, vec![Value::from(remittance_id)]).await
}

async fn attach<C: ConnectionTrait>(db: &C, payments: &str, values: Vec<Value>) -> Result<u64, DbErr> {
    let sql = format!(
        "UPDATE follow_ups SET claim_id = (SELECT p.claim_id FROM claim_payments p WHERE p.id = follow_ups.claim_payment_id) \
         WHERE claim_id IS NULL AND claim_payment_id IN ({payments})"
    );
    let backend = db.get_database_backend();
    Ok(db.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?.rows_affected())
}

/// Moves the payer's scheduled follow-ups that its rules time (status checks, timely filing,
/// appeal reminders) to the dates the new rules give; snoozed ones keep the date a person
/// chose. A reminder whose new day is already over is cancelled rather than sent late; the
/// escalation always stays. Returns how many changed.
pub async fn reschedule_payer<C: ConnectionTrait>(
    db: &C,
    payer: &str,
    payer_rules: &PayerRules,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let rows = follow_up::Entity::find()
        .filter(follow_up::Column::PayerId.eq(payer))
        .filter(follow_up::Column::Status.eq(FollowUpStatus::Scheduled.as_str()))
        .filter(follow_up::Column::Snoozed.eq(false))
        .filter(follow_up::Column::AnchorAt.is_not_null())
        .all(db)
        .await?;
    let today = rules::start_of(now.date_naive());
    // Rows that move to the same time share one statement: a payer with tens of thousands of
    // open follow-ups has only as many distinct due times as distinct anchor dates.
    let mut moved: BTreeMap<DateTime<Utc>, Vec<Uuid>> = BTreeMap::new();
    let mut passed: Vec<Uuid> = Vec::new();
    for row in rows {
        let (Some(kind), Some(anchor)) = (FollowUpKind::parse(&row.kind), row.anchor_at) else { continue };
        let due = match kind {
            FollowUpKind::StatusCheck => rules::status_check_due(anchor, payer_rules),
            FollowUpKind::TimelyFiling => rules::timely_filing_due(anchor.date_naive(), payer_rules),
            FollowUpKind::AppealDeadline => {
                let deadline = payer_rules.appeal_deadline(anchor.date_naive());
                rules::appeal_reminder_due(deadline, row.offset_days.unwrap_or(rules::ESCALATION_OFFSET))
            }
            FollowUpKind::Resubmission | FollowUpKind::PatientOutreach => continue,
        };
        if due == row.due_at {
            continue;
        }
        if kind == FollowUpKind::AppealDeadline && row.offset_days.is_some_and(|o| o < 0) && due < today {
            passed.push(row.id);
        } else {
            moved.entry(due).or_default().push(row.id);
        }
    }
    let backend = db.get_database_backend();
    let still_scheduled = || {
        follow_up::Entity::update_many()
            .col_expr(follow_up::Column::UpdatedAt, Expr::value(now))
            .filter(follow_up::Column::Status.eq(FollowUpStatus::Scheduled.as_str()))
    };
    let mut changed = 0;
    for chunk in passed.chunks(MAX_PARAMS) {
        changed += still_scheduled()
            .col_expr(follow_up::Column::Status, Expr::value(FollowUpStatus::Cancelled.as_str()))
            .col_expr(follow_up::Column::ClosedAt, Expr::value(now))
            .col_expr(
                follow_up::Column::CloseReason,
                Expr::value("the payer's new rules put this reminder in the past"),
            )
            .filter(any_of(backend, follow_up::Column::Id, sea_orm::sea_query::ArrayType::Uuid, chunk))
            .exec(db)
            .await?
            .rows_affected;
    }
    for (due, ids) in moved {
        for chunk in ids.chunks(MAX_PARAMS) {
            changed += still_scheduled()
                .col_expr(follow_up::Column::DueAt, Expr::value(due))
                .col_expr(follow_up::Column::EnqueuedAt, Expr::value(Option::<DateTime<Utc>>::None))
                .filter(any_of(backend, follow_up::Column::Id, sea_orm::sea_query::ArrayType::Uuid, chunk))
                .exec(db)
                .await?
                .rows_affected;
        }
    }
    Ok(changed)
}

/// Hands up to `limit` follow-ups due within `LOOKAHEAD` (or overdue) to the queue, in jobs
/// of up to `JOB_BATCH` whose due times lie within a second. One handed over longer than
/// `stale_after` ago and still scheduled is handed over again.
pub async fn enqueue_due(
    db: &DatabaseConnection,
    queue: &dyn JobQueue,
    limit: u64,
    stale_after: Duration,
) -> Result<Enqueued, EnqueueError> {
    let now = now();
    let horizon = now + chrono::Duration::from_std(LOOKAHEAD).unwrap_or_default();
    let stale = now - chrono::Duration::from_std(LOOKAHEAD + stale_after).unwrap_or_default();
    let txn = db.begin().await?;
    let mut select = follow_up::Entity::find()
        .select_only()
        .columns([follow_up::Column::Id, follow_up::Column::DueAt])
        .filter(follow_up::Column::Status.eq(FollowUpStatus::Scheduled.as_str()))
        .filter(follow_up::Column::DueAt.lte(horizon))
        .filter(
            Condition::any().add(follow_up::Column::EnqueuedAt.is_null()).add(follow_up::Column::EnqueuedAt.lt(stale)),
        )
        .order_by_asc(follow_up::Column::DueAt)
        .limit(std::cmp::max(limit, 1));
    if db.get_database_backend() == DbBackend::Postgres {
        select = select.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let rows: Vec<(Uuid, DateTime<Utc>)> = select.into_tuple().all(&txn).await?;
    let scanned = rows.len();
    if rows.is_empty() {
        return Ok(Enqueued { handed: 0, scanned });
    }
    let mut jobs = Vec::new();
    let mut batch: Vec<Uuid> = Vec::new();
    let mut first = rows[0].1;
    let mut last = rows[0].1;
    for (id, due) in &rows {
        if batch.len() == JOB_BATCH || (*due - first).num_milliseconds() > JOB_SPREAD_MS {
            jobs.push((firing_job(&batch), (last - now).to_std().unwrap_or_default()));
            batch.clear();
            first = *due;
        }
        batch.push(*id);
        last = *due;
    }
    jobs.push((firing_job(&batch), (last - now).to_std().unwrap_or_default()));
    queue.push(jobs).await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.0).collect();
    for chunk in ids.chunks(MAX_PARAMS) {
        follow_up::Entity::update_many()
            .col_expr(follow_up::Column::EnqueuedAt, Expr::value(now))
            .filter(follow_up::Column::Id.is_in(chunk.iter().copied()))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(Enqueued { handed: ids.len(), scanned })
}

/// The job that fires these follow-ups.
fn firing_job(ids: &[Uuid]) -> Job {
    Job::new(Task::FireFollowUps { follow_up_ids: ids.to_vec() })
}

/// What a firing job did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fired {
    pub fired: usize,
    /// Webhook deliveries the `followup.due` events created.
    pub deliveries: usize,
}

/// Fires those of `ids` still scheduled and due: marks them fired, recomputes the priority of
/// the denials behind appeal reminders for the days now left (it rises as the deadline
/// nears), and stores their `followup.due` events, all in one transaction.
/// Those not due yet (a job that ran early, a snooze since) go back to the scheduler.
pub async fn fire(db: &DatabaseConnection, ids: &[Uuid]) -> Result<Fired, DbErr> {
    if ids.is_empty() {
        return Ok(Fired::default());
    }
    let now = now();
    let txn = db.begin().await?;
    // A claim answered since these were planned may not have had its follow-ups cancelled
    // yet (its remittance's job may still be waiting): cancel them now rather than fire.
    let claims: Vec<Option<Uuid>> = follow_up::Entity::find()
        .select_only()
        .column(follow_up::Column::ClaimId)
        .distinct()
        .filter(follow_up::Column::Id.is_in(ids.iter().copied()))
        .filter(follow_up::Column::Status.eq(FollowUpStatus::Scheduled.as_str()))
        .filter(follow_up::Column::ClaimId.is_not_null())
        .into_tuple()
        .all(&txn)
        .await?;
    reconcile_claims(&txn, &claims.into_iter().flatten().collect::<Vec<_>>(), now).await?;
    let mut select = follow_up::Entity::find()
        .filter(follow_up::Column::Id.is_in(ids.iter().copied()))
        .filter(follow_up::Column::Status.eq(FollowUpStatus::Scheduled.as_str()))
        .filter(follow_up::Column::DueAt.lte(now))
        .order_by_asc(follow_up::Column::DueAt);
    if db.get_database_backend() == DbBackend::Postgres {
        // Another worker firing the same rows holds them; once it commits they are no
        // longer `scheduled` and this read skips them.
        select = select.lock(LockType::Update);
    }
    let due = select.all(&txn).await?;
    if !due.is_empty() {
        follow_up::Entity::update_many()
            .col_expr(follow_up::Column::Status, Expr::value(FollowUpStatus::Fired.as_str()))
            .col_expr(follow_up::Column::FiredAt, Expr::value(now))
            .col_expr(follow_up::Column::FireCount, Expr::col(follow_up::Column::FireCount).add(1))
            .col_expr(follow_up::Column::EnqueuedAt, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(follow_up::Column::UpdatedAt, Expr::value(now))
            .filter(follow_up::Column::Id.is_in(due.iter().map(|f| f.id)))
            .exec(&txn)
            .await?;
    }
    let drafts = fired_events(&txn, &due, now).await?;
    let deliveries = events::emit(&txn, &drafts).await?;
    follow_up::Entity::update_many()
        .col_expr(follow_up::Column::EnqueuedAt, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(follow_up::Column::Id.is_in(ids.iter().copied()))
        .filter(follow_up::Column::Status.eq(FollowUpStatus::Scheduled.as_str()))
        .filter(follow_up::Column::DueAt.gt(now))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(Fired { fired: due.len(), deliveries })
}

/// The `followup.due` events of fired follow-ups, after refreshing their denials.
async fn fired_events<C: ConnectionTrait>(
    db: &C,
    fired: &[follow_up::Model],
    now: DateTime<Utc>,
) -> Result<Vec<EventDraft>, DbErr> {
    let denial_ids: Vec<Uuid> = fired
        .iter()
        .filter(|f| f.kind == FollowUpKind::AppealDeadline.as_str())
        .filter_map(|f| f.denial_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let denials: HashMap<Uuid, denial::Model> = if denial_ids.is_empty() {
        HashMap::new()
    } else {
        denial::Entity::find()
            .filter(denial::Column::Id.is_in(denial_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|d| (d.id, d))
            .collect()
    };
    let payer_rules =
        crate::classify::rules_for(db, denials.values().map(|d| d.payer_id.clone()).collect::<BTreeSet<_>>()).await?;
    let today = now.date_naive();
    let mut priorities: HashMap<Uuid, i32> = HashMap::new();
    let mut changed: BTreeMap<i32, Vec<Uuid>> = BTreeMap::new();
    for d in denials.values() {
        let (Some(category), Some(action)) = (Category::parse(&d.category), Action::parse(&d.recommended_action))
        else {
            continue;
        };
        let rules = payer_rules.get(&d.payer_id).copied().unwrap_or_default();
        let priority = crate::classify::rank(d.amount_cents, category, action, d.appeal_deadline, &rules, today);
        priorities.insert(d.id, priority);
        if priority != d.priority {
            changed.entry(priority).or_default().push(d.id);
        }
    }
    // One statement per new priority, not per denial: a batch of reminders firing together
    // mostly lands its denials on a few priorities.
    let backend = db.get_database_backend();
    for (priority, ids) in changed {
        for chunk in ids.chunks(MAX_PARAMS) {
            denial::Entity::update_many()
                .col_expr(denial::Column::Priority, Expr::value(priority))
                .col_expr(denial::Column::UpdatedAt, Expr::value(now))
                .filter(any_of(backend, denial::Column::Id, sea_orm::sea_query::ArrayType::Uuid, chunk))
                .exec(db)
                .await?;
        }
    }
    let mut drafts = Vec::with_capacity(fired.len());
    for f in fired {
        let Some(target) = ContactKind::parse(&f.target) else { continue };
        let denial = f.denial_id.and_then(|id| denials.get(&id));
        let deadline = denial.and_then(|d| d.appeal_deadline);
        let escalation = f.kind == FollowUpKind::AppealDeadline.as_str() && f.offset_days.is_some_and(|o| o > 0);
        drafts.push(EventDraft {
            event_type: EventType::FollowupDue,
            target,
            reference: f.reference.clone(),
            key: format!("followup.due:{}:{}", f.id, f.fire_count + 1),
            data: serde_json::to_value(FollowUpDueData {
                follow_up_id: f.id,
                kind: f.kind.clone(),
                due_at: f.due_at,
                claim_number: f.claim_number.clone(),
                claim_id: f.claim_id,
                denial_id: f.denial_id,
                payer_id: (target == ContactKind::Payer).then(|| f.reference.clone()),
                member_id: (target == ContactKind::Patient).then(|| f.reference.clone()),
                appeal_deadline: deadline,
                days_left: deadline.map(|d| (d - today).num_days()),
                escalation,
                priority: f.denial_id.and_then(|id| priorities.get(&id).copied()),
            })
            .unwrap_or_default(),
            at: now,
        });
    }
    Ok(drafts)
}
