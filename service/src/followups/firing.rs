//! The scheduler's side: handing follow-ups that fall due to the queue, and firing them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use overturn_domain::classification::{Action, Category};
use overturn_domain::followups::{FollowUpKind, FollowUpStatus};
use overturn_domain::webhooks::{ContactKind, EventType};
use overturn_entity::{denial, follow_up};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use uuid::Uuid;

use crate::delivery::LOOKAHEAD;
use crate::delivery::{EnqueueError, Enqueued};
use crate::events::payloads::FollowUpDueData;
use crate::events::{self, EventDraft};
use crate::followups::JOB_BATCH;
use crate::followups::JOB_SPREAD_MS;
use crate::followups::reconcile_claims;
use crate::queue::{Job, JobQueue, Task};
use crate::sql::{MAX_PARAMS, any_of, now};

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
