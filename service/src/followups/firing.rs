//! The scheduler's side: handing follow-ups that fall due to the queue, and firing them.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use overturn_domain::followups::{FollowUpKind, FollowUpStatus};
use overturn_domain::webhooks::{ContactKind, EventType};
use overturn_entity::stored::Stored;
use overturn_entity::{denial, follow_up};
use sea_orm::sea_query::{Expr, ExprTrait, LockType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use crate::due::{self, EnqueueError, Enqueued, Handover, Schedule};
use crate::events::payloads::FollowUpDueData;
use crate::events::{self, EventDraft};
use crate::followups::JOB_BATCH;
use crate::followups::JOB_SPREAD_MS;
use crate::followups::reconcile_claims;
use crate::queue::{Job, JobQueue, Task};
use crate::sql::now;

/// Hands up to `limit` follow-ups due within `LOOKAHEAD` (or overdue) to the queue, in jobs
/// of up to `JOB_BATCH` whose due times lie within a second. One handed over longer than
/// `stale_after` ago and still scheduled is handed over again.
pub async fn enqueue_due(
    db: &DatabaseConnection,
    queue: &dyn JobQueue,
    limit: u64,
    stale_after: Duration,
) -> Result<Enqueued, EnqueueError> {
    use follow_up::Column;
    let schedule = Schedule {
        id: Column::Id,
        status: Column::Status,
        waiting: Stored(FollowUpStatus::Scheduled).into(),
        due_at: Column::DueAt,
        enqueued_at: Column::EnqueuedAt,
        // Follow-ups are fired in batches by one job kind; there is no receiver to share.
        share: None,
    };
    due::hand_over::<follow_up::Entity, (Uuid, DateTime<Utc>)>(
        db,
        queue,
        schedule,
        [Column::Id, Column::DueAt],
        limit,
        stale_after,
        firing_jobs,
    )
    .await
}

/// Rows in due order into jobs of up to `JOB_BATCH` spanning at most `JOB_SPREAD_MS`, each
/// delayed until its latest row is due.
fn firing_jobs(rows: Vec<(Uuid, DateTime<Utc>)>, now: DateTime<Utc>) -> Handover {
    let delay = |at: DateTime<Utc>| (at - now).to_std().unwrap_or_default();
    let mut jobs = Vec::new();
    let mut batch: Vec<Uuid> = Vec::new();
    let (mut first, mut last) = (rows[0].1, rows[0].1);
    for (id, due) in &rows {
        if batch.len() == JOB_BATCH || (*due - first).num_milliseconds() > JOB_SPREAD_MS {
            jobs.push((firing_job(&batch), delay(last)));
            batch.clear();
            first = *due;
        }
        batch.push(*id);
        last = *due;
    }
    jobs.push((firing_job(&batch), delay(last)));
    Handover { ids: rows.iter().map(|r| r.0).collect(), jobs }
}

/// The job that fires these follow-ups.
pub(super) fn firing_job(ids: &[Uuid]) -> Job {
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
    let txn = crate::db::begin_write(db).await?;
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
        mark_fired(now).filter(follow_up::Column::Id.is_in(due.iter().map(|f| f.id))).exec(&txn).await?;
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

/// The update that fires follow-ups; `as_committed` is the same change to a row in hand.
fn mark_fired(now: DateTime<Utc>) -> sea_orm::UpdateMany<follow_up::Entity> {
    follow_up::Entity::update_many()
        .col_expr(follow_up::Column::Status, Expr::value(FollowUpStatus::Fired.as_str()))
        .col_expr(follow_up::Column::FiredAt, Expr::value(now))
        .col_expr(follow_up::Column::FireCount, Expr::col(follow_up::Column::FireCount).add(1))
        .col_expr(follow_up::Column::EnqueuedAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(follow_up::Column::UpdatedAt, Expr::value(now))
}

/// Whether a follow-up planned at `now` fires with the transaction that stores it.
fn due_on_arrival(planned: &follow_up::Model, now: DateTime<Utc>) -> bool {
    planned.due_at <= now
}

/// A follow-up planned at `now` as `fire_planned` leaves it when nothing answered it first:
/// fired (the change `mark_fired` makes) if due on arrival, else as planned.
pub fn as_committed(planned: &follow_up::Model, now: DateTime<Utc>) -> follow_up::Model {
    if !due_on_arrival(planned, now) {
        return planned.clone();
    }
    follow_up::Model {
        status: Stored(FollowUpStatus::Fired),
        fired_at: Some(now),
        fire_count: planned.fire_count + 1,
        enqueued_at: None,
        updated_at: now,
        ..planned.clone()
    }
}

/// Fires, in the caller's transaction, follow-ups it has just planned and stored already due:
/// the timely-filing watch of a claim whose date of service is long past, say. It fires with
/// the claim's commit rather than after a relay pass, a job and a transaction of its own
/// (measured in docs/benchmarks.md, issue #16).
/// The rows are the caller's own, not yet visible to anyone else, so nothing else can be
/// firing them; those no longer scheduled (a payment waiting for the claim answered it) are
/// left as they are. `planned` holds the rows as stored; `answered` the claims that waiting
/// payments settled in this transaction, the only ones whose rows may have been cancelled.
pub async fn fire_planned<C: ConnectionTrait>(
    txn: &C,
    planned: &[follow_up::Model],
    answered: &std::collections::HashSet<Uuid>,
    now: DateTime<Utc>,
) -> Result<Fired, DbErr> {
    let due: Vec<&follow_up::Model> = planned.iter().filter(|f| due_on_arrival(f, now)).collect();
    if due.is_empty() {
        return Ok(Fired::default());
    }
    let maybe_cancelled: Vec<Uuid> =
        due.iter().filter(|f| f.claim_id.is_some_and(|c| answered.contains(&c))).map(|f| f.id).collect();
    let mut cancelled = std::collections::HashSet::new();
    if !maybe_cancelled.is_empty() {
        // Read and written by id alone. With `status = 'scheduled'` beside the ids, SQLite (no
        // statistics) prefers the status index and walks every scheduled follow-up for each
        // batch: that made claims of old dates of service three times slower (docs/benchmarks.md).
        let still: Vec<(Uuid, Stored<FollowUpStatus>)> = follow_up::Entity::find()
            .select_only()
            .columns([follow_up::Column::Id, follow_up::Column::Status])
            .filter(follow_up::Column::Id.is_in(maybe_cancelled))
            .into_tuple()
            .all(txn)
            .await?;
        cancelled.extend(still.into_iter().filter(|(_, s)| **s != FollowUpStatus::Scheduled).map(|(id, _)| id));
    }
    let fired: Vec<follow_up::Model> = due.into_iter().filter(|f| !cancelled.contains(&f.id)).cloned().collect();
    if fired.is_empty() {
        return Ok(Fired::default());
    }
    mark_fired(now).filter(follow_up::Column::Id.is_in(fired.iter().map(|f| f.id))).exec(txn).await?;
    let drafts = fired_events(txn, &fired, now).await?;
    let deliveries = events::emit(txn, &drafts).await?;
    Ok(Fired { fired: fired.len(), deliveries })
}

/// The `followup.due` events of fired follow-ups, after refreshing their denials.
pub(super) async fn fired_events<C: ConnectionTrait>(
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
    let rows: Vec<denial::Model> = denials.values().cloned().collect();
    let priorities = crate::priorities::refresh(db, &rows, &payer_rules, today, now).await?.priorities;
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
                inquiry_url: (f.kind == FollowUpKind::StatusCheck.as_str() && f.claim_id.is_some())
                    .then(|| format!("/v1/follow-ups/{}/276", f.id)),
            })
            .unwrap_or_default(),
            at: now,
        });
    }
    Ok(drafts)
}
