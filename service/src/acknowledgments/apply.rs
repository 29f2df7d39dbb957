//! What a matched acknowledgment does to its claim:
//! - rejected (999 R, 277CA/277 A3, A4, A6–A8, E0, E3, E4): the claim becomes `rejected`, gets a
//!   work item (a denial of category `rejection`, its team from the status codes, due by the
//!   timely-filing limit), loses its status check (no payer answer is coming), keeps its
//!   timely-filing watch, and `claim.rejected` goes to the payer's contacts that ask for it;
//! - accepted into adjudication (277CA A1, A2, A5): the payer has it from the status date on,
//!   and the status check is timed from then;
//! - a status answer (277): the claim's `payer_status`; a final one completes the status check,
//!   a pending one times it again from the answer's date.
//! - either of the last two after a rejection dated no later: the payer has the claim again,
//!   so the rejection closes as `resubmitted` and the claim is `submitted` with a status check.
//!
//! Each step is keyed by what caused it (the rejection's work item by claim and codes, the
//! times by the acknowledgment's own dates), so an acknowledgment applied twice changes
//! nothing the second time.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use overturn_domain::acknowledgments::{explanation, work_queue};
use overturn_domain::classification::{self, Action, Category, PayerRules};
use overturn_domain::code_sets::CodeList;
use overturn_domain::followups::{self as rules, FollowUpKind, FollowUpStatus};
use overturn_domain::webhooks::{ContactKind, EventType};
use overturn_domain::x12::ack::{AckKind, AckOutcome, StatusCode};
use overturn_domain::{ClaimStatus, Money};
use overturn_entity::{acknowledgment_claim, claim, follow_up};
use sea_orm::sea_query::{ArrayType, Expr};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Value};
use uuid::Uuid;

use super::rows::StatusCodeRecord;
use crate::events::payloads::ClaimRejectedData;
use crate::events::{self, EventDraft};
use crate::followups::{Scope, cancel};
use crate::sql::{Column, MAX_PARAMS, any_of, insert_rows_if_absent};

/// Namespace of rejection work items' ids (a UUIDv5 of the claim and what rejected it).
const REJECTION_NAMESPACE: Uuid = Uuid::from_u128(0x6f76_6572_7475_726e_2d72_656a_6563_7431);

/// What a rejection's denial row has beyond a classified one's.
const REJECTION_COLUMNS: [Column; 3] =
    [Column::new("source", "text"), Column::nullable("status_codes", "text"), Column::nullable("explanation", "text")];

fn codes_of(row: &acknowledgment_claim::Model) -> Vec<StatusCodeRecord> {
    serde_json::from_str(&row.status_codes).unwrap_or_default()
}

fn borrowed(codes: &[StatusCodeRecord]) -> Vec<StatusCode<'_>> {
    codes
        .iter()
        .map(|c| StatusCode { category: &c.category, code: &c.code, entity: c.entity.as_deref(), line: c.line })
        .collect()
}

/// Who returned the claim, for its explanation.
fn source_words(kind: &str) -> &'static str {
    match AckKind::parse(kind) {
        Some(AckKind::Implementation) => "clearinghouse (999)",
        Some(AckKind::ClaimAcknowledgment) => "clearinghouse or payer (277CA)",
        _ => "payer (277)",
    }
}

/// What applying needs of a claim (not its names, codes and JSON: a 277CA can name 20,000).
#[derive(Debug, Clone, sea_orm::FromQueryResult)]
struct ClaimFacts {
    id: Uuid,
    claim_number: String,
    payer_id: String,
    service_date: NaiveDate,
    total_charge_cents: i64,
    accepted_at: Option<DateTime<Utc>>,
    payer_status: Option<String>,
}

/// Applies `rows` (matched, `claim_id` set) in the caller's transaction; returns the webhook
/// deliveries made.
pub(super) async fn apply<C: ConnectionTrait>(
    db: &C,
    rows: &[acknowledgment_claim::Model],
    now: DateTime<Utc>,
) -> Result<usize, DbErr> {
    let rows: Vec<&acknowledgment_claim::Model> = rows.iter().filter(|r| r.claim_id.is_some()).collect();
    if rows.is_empty() {
        return Ok(0);
    }
    let backend = db.get_database_backend();
    let ids: Vec<Uuid> =
        rows.iter().filter_map(|r| r.claim_id).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    let mut claims: HashMap<Uuid, ClaimFacts> = HashMap::new();
    for chunk in ids.chunks(MAX_PARAMS) {
        let found = claim::Entity::find()
            .select_only()
            .columns([
                claim::Column::Id,
                claim::Column::ClaimNumber,
                claim::Column::PayerId,
                claim::Column::ServiceDate,
                claim::Column::TotalChargeCents,
                claim::Column::AcceptedAt,
                claim::Column::PayerStatus,
            ])
            .filter(any_of(backend, claim::Column::Id, ArrayType::Uuid, chunk))
            .into_model::<ClaimFacts>()
            .all(db)
            .await?;
        claims.extend(found.into_iter().map(|c| (c.id, c)));
    }
    let payer_rules = crate::classify::rules_for(db, claims.values().map(|c| c.payer_id.clone())).await?;
    let rules_of = |c: &ClaimFacts| payer_rules.get(&c.payer_id).copied().unwrap_or_default();

    let outcome = |r: &acknowledgment_claim::Model| AckOutcome::parse(&r.outcome).unwrap_or(AckOutcome::Pending);
    let rejected: Vec<&acknowledgment_claim::Model> =
        rows.iter().copied().filter(|r| outcome(r) == AckOutcome::Rejected).collect();
    let deliveries = reject(db, &rejected, &claims, &rules_of, now).await?;

    // The payer has the claim (accepted into adjudication, or a 277 answering about it): a
    // rejection dated before that no longer stands.
    let reached: Vec<(Uuid, Option<NaiveDate>)> = rows
        .iter()
        .filter(|r| match outcome(r) {
            AckOutcome::Accepted => r.kind != AckKind::Implementation.as_str(),
            AckOutcome::Pending | AckOutcome::Finalized => r.kind == AckKind::ClaimStatus.as_str(),
            AckOutcome::Rejected => false,
        })
        .filter_map(|r| Some((r.claim_id?, Some(r.effective_date.unwrap_or(r.received_at.date_naive())))))
        .collect();
    reopen(db, &reached, &claims, &rules_of, now).await?;

    // Accepted into adjudication: a 277CA's (or a 277's) word; a 999's acceptance is only the
    // file's syntax.
    let accepted: Vec<(&ClaimFacts, DateTime<Utc>)> = rows
        .iter()
        .filter(|r| outcome(r) == AckOutcome::Accepted && r.kind != AckKind::Implementation.as_str())
        .filter_map(|r| {
            Some((claims.get(&r.claim_id?)?, rules::start_of(r.effective_date.unwrap_or(r.received_at.date_naive()))))
        })
        .collect();
    accept(db, &accepted, &rules_of, now).await?;

    let answers: Vec<(&acknowledgment_claim::Model, &ClaimFacts)> = rows
        .iter()
        .filter(|r| r.kind == AckKind::ClaimStatus.as_str())
        .filter_map(|r| Some((*r, claims.get(&r.claim_id?)?)))
        .collect();
    answer(db, &answers, &rules_of, now).await?;
    Ok(deliveries)
}

/// Closes the rejections the payer's news outdates (`reached`: claims with the date of that
/// news) and puts their claims back to `submitted`, with a status check again (timed by the
/// acceptance or answer applied next).
async fn reopen<C: ConnectionTrait>(
    db: &C,
    reached: &[(Uuid, Option<NaiveDate>)],
    claims: &HashMap<Uuid, ClaimFacts>,
    rules_of: &(dyn Fn(&ClaimFacts) -> PayerRules + Sync),
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    if reached.is_empty() {
        return Ok(());
    }
    let why = "the payer has since accepted the claim or answered about it";
    let closed = crate::denials::close_rejections_of(db, reached, why, now).await?;
    if closed.is_empty() {
        return Ok(());
    }
    let backend = db.get_database_backend();
    let claim_ids: Vec<Uuid> =
        closed.iter().map(|c| c.1).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    let dates: HashMap<Uuid, Option<NaiveDate>> = reached.iter().copied().collect();
    let mut first_closed: HashMap<Uuid, Uuid> = HashMap::new();
    for (denial_id, claim_id) in &closed {
        first_closed.entry(*claim_id).or_insert(*denial_id);
    }
    let mut checks = Vec::new();
    for chunk in claim_ids.chunks(MAX_PARAMS) {
        claim::Entity::update_many()
            .col_expr(claim::Column::Status, Expr::value(ClaimStatus::Submitted.as_str()))
            .col_expr(claim::Column::UpdatedAt, Expr::value(now))
            .filter(any_of(backend, claim::Column::Id, ArrayType::Uuid, chunk))
            .filter(claim::Column::Status.eq(ClaimStatus::Rejected.as_str()))
            .exec(db)
            .await?;
        for c in
            claim::Entity::find().filter(any_of(backend, claim::Column::Id, ArrayType::Uuid, chunk)).all(db).await?
        {
            // One check per claim, keyed by the first rejection closed: applied again, none more.
            // Timed from the payer's news, as the acceptance would time it.
            let since = dates.get(&c.id).copied().flatten().map_or(now, rules::start_of);
            if let (Some(denial_id), Some(facts)) = (first_closed.get(&c.id), claims.get(&c.id)) {
                checks.push(crate::followups::for_resubmission(&c, *denial_id, &rules_of(facts), since));
            }
        }
    }
    crate::followups::schedule(db, &checks).await
}

async fn reject<C: ConnectionTrait>(
    db: &C,
    rows: &[&acknowledgment_claim::Model],
    claims: &HashMap<Uuid, ClaimFacts>,
    rules_of: &(dyn Fn(&ClaimFacts) -> PayerRules + Sync),
    now: DateTime<Utc>,
) -> Result<usize, DbErr> {
    if rows.is_empty() {
        return Ok(0);
    }
    // The codes in words: imported descriptions where a user loaded the official lists.
    let all_codes: Vec<StatusCodeRecord> = rows.iter().flat_map(|r| codes_of(r)).collect();
    let categories =
        crate::code_catalog::describe(db, CodeList::StatusCategory, all_codes.iter().map(|c| c.category.clone()))
            .await?;
    let statuses =
        crate::code_catalog::describe(db, CodeList::Status, all_codes.iter().map(|c| c.code.clone())).await?;
    let describe = |list: CodeList, code: &str| match list {
        CodeList::StatusCategory => categories.get(code).cloned(),
        _ => statuses.get(code).cloned(),
    };
    let today = now.date_naive();
    let mut values = Vec::with_capacity(rows.len() * (crate::classify::DENIAL_COLUMNS.len() + REJECTION_COLUMNS.len()));
    let mut drafts = Vec::new();
    let mut claim_ids = Vec::new();
    for r in rows {
        let Some(c) = r.claim_id.and_then(|id| claims.get(&id)) else { continue };
        let codes = codes_of(r);
        let borrowed = borrowed(&codes);
        let queue = work_queue(&borrowed);
        let mut text = explanation(source_words(&r.kind), &borrowed, r.message.as_deref(), &describe);
        if r.kind == AckKind::Implementation.as_str() {
            text = format!("{} {}", text.trim_end_matches('.'), "(the file's syntax).");
        }
        // One work item per claim and cause: the same codes again (a file received twice) are
        // the same rejection.
        let mut key: Vec<String> = codes
            .iter()
            .map(|s| format!("{}:{}:{}:{}", s.category, s.code, s.entity.as_deref().unwrap_or(""), s.line))
            .collect();
        key.sort();
        if r.kind == AckKind::Implementation.as_str() {
            key.push(format!("999:{}", r.trace));
        }
        let id = Uuid::new_v5(&REJECTION_NAMESPACE, format!("rejection:{}:{}", c.id, key.join(",")).as_bytes());
        let rule = rules_of(c);
        let deadline = rules::timely_filing_limit(c.service_date, &rule);
        let days_left = (deadline - today).num_days();
        let priority = classification::priority(
            c.total_charge_cents,
            Category::Rejection,
            Action::CorrectAndResubmit,
            Some(days_left),
            rule.timely_filing_days,
        );
        values.extend([
            Value::from(id),
            Value::from(r.acknowledgment_id),
            Value::from(id),
            Value::from(c.id),
            Value::from(c.claim_number.clone()),
            Value::from(c.payer_id.clone()),
            Value::from(-1i32),
            Value::from(-1i32),
            Value::Int(None),
            Value::String(None),
            Value::String(None),
            Value::String(None),
            Value::from("[]"),
            Value::from(Category::Rejection.as_str()),
            Value::from(queue.as_str()),
            Value::from(Action::CorrectAndResubmit.as_str()),
            Value::from(c.total_charge_cents),
            Value::from(r.effective_date.unwrap_or(today)),
            Value::from(deadline),
            Value::from(priority),
            Value::from("open"),
            Value::from(now),
            Value::from(now),
            Value::from("acknowledgment"),
            Value::from(r.status_codes.clone()),
            Value::from(text),
        ]);
        claim_ids.push(c.id);
        drafts.push(EventDraft {
            event_type: EventType::ClaimRejected,
            target: ContactKind::Payer,
            reference: c.payer_id.clone(),
            key: format!("claim.rejected:{id}"),
            data: serde_json::to_value(ClaimRejectedData {
                claim_id: c.id,
                claim_number: c.claim_number.clone(),
                payer_id: c.payer_id.clone(),
                denial_id: id,
                acknowledgment_id: r.acknowledgment_id,
                kind: r.kind.clone(),
                status_codes: codes.clone(),
                work_queue: queue.as_str().to_owned(),
                appeal_deadline: Some(deadline),
            })
            .unwrap_or_default(),
            at: now,
        });
    }
    let columns = [&crate::classify::DENIAL_COLUMNS[..], &REJECTION_COLUMNS[..]].concat();
    insert_rows_if_absent(db, "denials", &columns, values).await?;
    // A claim the payer has already answered keeps what the payer said.
    let backend = db.get_database_backend();
    for chunk in claim_ids.chunks(MAX_PARAMS) {
        claim::Entity::update_many()
            .col_expr(claim::Column::Status, Expr::value(ClaimStatus::Rejected.as_str()))
            .col_expr(claim::Column::UpdatedAt, Expr::value(now))
            .filter(any_of(backend, claim::Column::Id, ArrayType::Uuid, chunk))
            .filter(claim::Column::Status.eq(ClaimStatus::Submitted.as_str()))
            .exec(db)
            .await?;
    }
    cancel(
        db,
        Scope::Claims(&claim_ids, &[FollowUpKind::StatusCheck]),
        "the claim was rejected before adjudication",
        now,
    )
    .await?;
    // Event ids derive from the work item's: a second application sends nothing new.
    events::emit(db, &drafts).await
}

/// Status checks of these claims still waiting (scheduled, not snoozed), with their claims.
async fn waiting_checks<C: ConnectionTrait>(
    db: &C,
    claim_ids: &[Uuid],
    statuses: &[FollowUpStatus],
) -> Result<Vec<follow_up::Model>, DbErr> {
    let backend = db.get_database_backend();
    let mut out = Vec::new();
    for chunk in claim_ids.chunks(MAX_PARAMS) {
        out.extend(
            follow_up::Entity::find()
                .filter(any_of(backend, follow_up::Column::ClaimId, ArrayType::Uuid, chunk))
                .filter(follow_up::Column::Kind.eq(FollowUpKind::StatusCheck.as_str()))
                .filter(follow_up::Column::Status.is_in(statuses.iter().map(|s| s.as_str())))
                .filter(follow_up::Column::Snoozed.eq(false))
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// Times the status checks of `claims` from `anchors` (each claim's new anchor), due the
/// payer's `status_check_after_days` later: scheduled again, a fired one too when that day is
/// still to come (the payer's news makes the check premature).
async fn retime_checks<C: ConnectionTrait>(
    db: &C,
    anchors: &HashMap<Uuid, (DateTime<Utc>, PayerRules)>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let ids: Vec<Uuid> = anchors.keys().copied().collect();
    let statuses = [FollowUpStatus::Scheduled, FollowUpStatus::Fired];
    // Rows moving to the same time and anchor share one statement.
    let mut moves: BTreeMap<(DateTime<Utc>, DateTime<Utc>), Vec<Uuid>> = BTreeMap::new();
    for f in waiting_checks(db, &ids, &statuses).await? {
        let Some((anchor, rule)) = f.claim_id.and_then(|id| anchors.get(&id)) else { continue };
        if f.anchor_at.is_some_and(|a| a >= *anchor) {
            continue;
        }
        let due = rules::status_check_due(*anchor, rule);
        // A check that already fired goes back on the schedule only for a day still to come.
        if *f.status == FollowUpStatus::Fired && due <= now {
            continue;
        }
        moves.entry((*anchor, due)).or_default().push(f.id);
    }
    for ((anchor, due), ids) in moves {
        follow_up::Entity::update_many()
            .col_expr(follow_up::Column::AnchorAt, Expr::value(anchor))
            .col_expr(follow_up::Column::DueAt, Expr::value(due))
            .col_expr(follow_up::Column::Status, Expr::value(FollowUpStatus::Scheduled.as_str()))
            .col_expr(follow_up::Column::EnqueuedAt, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(follow_up::Column::UpdatedAt, Expr::value(now))
            .filter(follow_up::Column::Id.is_in(ids))
            .exec(db)
            .await?;
    }
    Ok(())
}

async fn accept<C: ConnectionTrait>(
    db: &C,
    accepted: &[(&ClaimFacts, DateTime<Utc>)],
    rules_of: &(dyn Fn(&ClaimFacts) -> PayerRules + Sync),
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    if accepted.is_empty() {
        return Ok(());
    }
    // The first acceptance stands: a second receipt, or a later acknowledgment, moves nothing.
    let mut by_time: BTreeMap<DateTime<Utc>, Vec<Uuid>> = BTreeMap::new();
    let mut anchors = HashMap::new();
    for (c, at) in accepted {
        if c.accepted_at.is_some() {
            continue;
        }
        by_time.entry(*at).or_default().push(c.id);
        anchors.insert(c.id, (*at, rules_of(c)));
    }
    for (at, ids) in by_time {
        for chunk in ids.chunks(MAX_PARAMS) {
            claim::Entity::update_many()
                .col_expr(claim::Column::AcceptedAt, Expr::value(at))
                .col_expr(claim::Column::UpdatedAt, Expr::value(now))
                .filter(claim::Column::Id.is_in(chunk.to_vec()))
                .filter(claim::Column::AcceptedAt.is_null())
                .exec(db)
                .await?;
        }
    }
    retime_checks(db, &anchors, now).await
}

/// A claim's `payer_status` as stored and shown: the first claim-level status of the latest
/// 277 answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PayerStatus {
    /// The claim status category (F1 paid, P2 under review, …).
    #[schema(example = "F1")]
    pub category: String,
    #[schema(example = "65")]
    pub code: String,
    pub entity: Option<String>,
    /// STC02.
    pub effective_date: Option<NaiveDate>,
    /// STC05, when the payer said.
    #[schema(example = "96.00")]
    pub paid_amount: Option<String>,
    /// The 277 it came from.
    pub acknowledgment_id: Uuid,
}

async fn answer<C: ConnectionTrait>(
    db: &C,
    answers: &[(&acknowledgment_claim::Model, &ClaimFacts)],
    rules_of: &(dyn Fn(&ClaimFacts) -> PayerRules + Sync),
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut finished = Vec::new();
    let mut pended = HashMap::new();
    for (r, c) in answers {
        let codes = codes_of(r);
        let Some(first) = codes.iter().find(|s| s.line == 0) else { continue };
        let status = PayerStatus {
            category: first.category.clone(),
            code: first.code.clone(),
            entity: first.entity.clone(),
            effective_date: r.effective_date,
            paid_amount: r.paid_cents.and_then(|p| Money::from_cents(p).ok()).map(|m| m.to_string()),
            acknowledgment_id: r.acknowledgment_id,
        };
        let text = serde_json::to_string(&status).map_err(|e| DbErr::Custom(e.to_string()))?;
        // An older answer received late does not overwrite a newer one.
        let newer = c
            .payer_status
            .as_deref()
            .and_then(|s| serde_json::from_str::<PayerStatus>(s).ok())
            .is_none_or(|old| old.effective_date <= status.effective_date);
        if newer {
            claim::Entity::update_many()
                .col_expr(claim::Column::PayerStatus, Expr::value(text))
                .col_expr(claim::Column::UpdatedAt, Expr::value(now))
                .filter(claim::Column::Id.eq(c.id))
                .exec(db)
                .await?;
        }
        match AckOutcome::parse(&r.outcome) {
            Some(AckOutcome::Finalized) => finished.push((c.id, format!("{}:{}", first.category, first.code))),
            Some(AckOutcome::Pending) => {
                let at = rules::start_of(r.effective_date.unwrap_or(r.received_at.date_naive()));
                pended.insert(c.id, (at, rules_of(c)));
            }
            _ => {}
        }
    }
    for (id, code) in finished {
        follow_up::Entity::update_many()
            .col_expr(follow_up::Column::Status, Expr::value(FollowUpStatus::Completed.as_str()))
            .col_expr(follow_up::Column::ClosedAt, Expr::value(now))
            .col_expr(
                follow_up::Column::CloseReason,
                Expr::value(format!("the payer answered the status inquiry ({code})")),
            )
            .col_expr(follow_up::Column::UpdatedAt, Expr::value(now))
            .filter(follow_up::Column::ClaimId.eq(id))
            .filter(follow_up::Column::Kind.eq(FollowUpKind::StatusCheck.as_str()))
            .filter(follow_up::Column::Status.is_in(FollowUpStatus::OPEN.iter().map(|s| s.as_str())))
            .exec(db)
            .await?;
    }
    retime_checks(db, &pended, now).await
}
