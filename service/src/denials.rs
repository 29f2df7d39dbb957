//! The denial worklist: reading denials with a person's filters and order, their history,
//! and the actions that work them (each recorded as an event, with what it means for the
//! denial's follow-ups), in the caller's transaction.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use overturn_domain::classification::{Category, WorkQueue};
use overturn_domain::denial_workflow::{self, DenialAction, DenialStatus};
use overturn_domain::followups::FollowUpKind;
use overturn_entity::{claim, denial, denial_event};
use sea_orm::sea_query::{Expr, NullOrdering, Order};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::followups::{self, Scope};
use crate::sql::{MAX_PARAMS, now};
pub use crate::worklist::AssigneeFilter;

/// The worklist's orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenialOrder {
    /// Highest priority first.
    Priority,
    /// Largest amount first.
    AmountDesc,
    /// Nearest deadline first; denials without one last.
    AppealDeadline,
}

impl DenialOrder {
    /// The `sort` parameter's names.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "priority" => Some(Self::Priority),
            "-amount" => Some(Self::AmountDesc),
            "appeal_deadline" => Some(Self::AppealDeadline),
            _ => None,
        }
    }

    /// Stored in a cursor, so a cursor of one order is refused by another.
    pub fn code(self) -> u8 {
        match self {
            Self::Priority => 1,
            Self::AmountDesc => 2,
            Self::AppealDeadline => 3,
        }
    }

    /// The sort key of a row; a missing deadline sorts after every date.
    pub fn key(self, row: &denial::Model) -> i64 {
        match self {
            Self::Priority => i64::from(row.priority),
            Self::AmountDesc => row.amount_cents,
            Self::AppealDeadline => row.appeal_deadline.map_or(i64::MAX, |d| i64::from(d.num_days_from_ce())),
        }
    }
}

/// What the worklist is narrowed to; an empty filter lists every denial.
#[derive(Debug, Clone, Default)]
pub struct DenialFilter {
    pub statuses: Vec<DenialStatus>,
    pub categories: Vec<Category>,
    pub queues: Vec<WorkQueue>,
    pub payer_id: Option<String>,
    pub claim_number: Option<String>,
    pub claim_id: Option<Uuid>,
    pub remittance_id: Option<Uuid>,
    pub assignee: Option<AssigneeFilter>,
}

/// Denials matching `filter` in `order`, after `after` (the last row's sort key and id), at
/// most `limit`.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &DenialFilter,
    order: DenialOrder,
    after: Option<(i64, Uuid)>,
    limit: u64,
) -> Result<Vec<denial::Model>, DbErr> {
    let mut select = denial::Entity::find();
    if !filter.statuses.is_empty() {
        select = select.filter(denial::Column::Status.is_in(filter.statuses.iter().map(|s| s.as_str())));
    }
    if !filter.categories.is_empty() {
        select = select.filter(denial::Column::Category.is_in(filter.categories.iter().map(|c| c.as_str())));
    }
    if !filter.queues.is_empty() {
        select = select.filter(denial::Column::WorkQueue.is_in(filter.queues.iter().map(|q| q.as_str())));
    }
    if let Some(payer) = &filter.payer_id {
        select = select.filter(denial::Column::PayerId.eq(payer.as_str()));
    }
    if let Some(number) = &filter.claim_number {
        select = select.filter(denial::Column::ClaimNumber.eq(number.as_str()));
    }
    if let Some(id) = filter.claim_id {
        select = select.filter(denial::Column::ClaimId.eq(id));
    }
    if let Some(id) = filter.remittance_id {
        select = select.filter(denial::Column::RemittanceId.eq(id));
    }
    match &filter.assignee {
        Some(AssigneeFilter::Nobody) => select = select.filter(denial::Column::Assignee.is_null()),
        Some(AssigneeFilter::Named(who)) => select = select.filter(denial::Column::Assignee.eq(who.as_str())),
        None => {}
    }
    let descending_after = |column: denial::Column, (key, id): (i64, Uuid)| {
        Condition::any().add(column.lt(key)).add(Condition::all().add(column.eq(key)).add(denial::Column::Id.lt(id)))
    };
    select = match order {
        DenialOrder::Priority => {
            if let Some(after) = after {
                select = select.filter(descending_after(denial::Column::Priority, after));
            }
            select.order_by_desc(denial::Column::Priority).order_by_desc(denial::Column::Id)
        }
        DenialOrder::AmountDesc => {
            if let Some(after) = after {
                select = select.filter(descending_after(denial::Column::AmountCents, after));
            }
            select.order_by_desc(denial::Column::AmountCents).order_by_desc(denial::Column::Id)
        }
        DenialOrder::AppealDeadline => {
            if let Some((key, id)) = after {
                let next = if key == i64::MAX {
                    Condition::all().add(denial::Column::AppealDeadline.is_null()).add(denial::Column::Id.gt(id))
                } else {
                    let date = NaiveDate::from_num_days_from_ce_opt(key as i32).unwrap_or_default();
                    Condition::any()
                        .add(denial::Column::AppealDeadline.gt(date))
                        .add(denial::Column::AppealDeadline.is_null())
                        .add(
                            Condition::all()
                                .add(denial::Column::AppealDeadline.eq(date))
                                .add(denial::Column::Id.gt(id)),
                        )
                };
                select = select.filter(next);
            }
            select
                .order_by_with_nulls(denial::Column::AppealDeadline, Order::Asc, NullOrdering::Last)
                .order_by_asc(denial::Column::Id)
        }
    };
    select.limit(limit).all(db).await
}

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<denial::Model>, DbErr> {
    denial::Entity::find_by_id(id).one(db).await
}

/// The recorded actions of these denials, oldest first (one query per 30,000 denials).
pub async fn events_of(
    db: &impl ConnectionTrait,
    denials: &[denial::Model],
) -> Result<BTreeMap<Uuid, Vec<denial_event::Model>>, DbErr> {
    let mut events: BTreeMap<Uuid, Vec<denial_event::Model>> = BTreeMap::new();
    for chunk in denials.chunks(MAX_PARAMS) {
        let found = denial_event::Entity::find()
            .filter(denial_event::Column::DenialId.is_in(chunk.iter().map(|r| r.id)))
            .order_by_asc(denial_event::Column::Id)
            .all(db)
            .await?;
        for event in found {
            events.entry(event.denial_id).or_default().push(event);
        }
    }
    Ok(events)
}

/// The denials of these claims, oldest first.
pub async fn of_claims(db: &impl ConnectionTrait, claims: &[Uuid]) -> Result<Vec<denial::Model>, DbErr> {
    let mut rows = Vec::new();
    for chunk in claims.chunks(MAX_PARAMS) {
        rows.extend(
            denial::Entity::find()
                .filter(denial::Column::ClaimId.is_in(chunk.iter().copied()))
                .order_by_asc(denial::Column::Id)
                .all(db)
                .await?,
        );
    }
    Ok(rows)
}

/// How many denials each of these claims has (those with none are left out).
async fn counts_of_claims(
    db: &impl ConnectionTrait,
    claims: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, i64>, DbErr> {
    let mut out = std::collections::HashMap::new();
    for chunk in claims.chunks(MAX_PARAMS) {
        let rows: Vec<(Option<Uuid>, i64)> = denial::Entity::find()
            .select_only()
            .column(denial::Column::ClaimId)
            .column_as(sea_orm::sea_query::Expr::cust("COUNT(*)"), "n")
            .filter(denial::Column::ClaimId.is_in(chunk.iter().copied()))
            .group_by(denial::Column::ClaimId)
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows.into_iter().filter_map(|(claim, n)| claim.map(|c| (c, n))));
    }
    Ok(out)
}

/// The first `per_claim` denials of each of these claims, oldest first, and how many each
/// has. PostgreSQL answers both with one window query; SQLite, whose window functions sort
/// what an index would give in order, counts first and reads the claims within the bound in
/// one query and each beyond it in one of its own (measured in docs/benchmarks.md).
pub async fn first_of_claims(
    db: &impl ConnectionTrait,
    claims: &[Uuid],
    per_claim: u64,
) -> Result<(Vec<denial::Model>, std::collections::HashMap<Uuid, i64>), DbErr> {
    use sea_orm::FromQueryResult;
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        let rows = crate::sql::first_per_group(db, "denials", "claim_id", "id", claims, per_claim).await?;
        let mut totals = std::collections::HashMap::new();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let model = denial::Model::from_query_result(&row, "")?;
            if let Some(claim) = model.claim_id {
                totals.insert(claim, row.try_get::<i64>("", "group_total")?);
            }
            out.push(model);
        }
        return Ok((out, totals));
    }
    let counts = counts_of_claims(db, claims).await?;
    let (large, small): (Vec<Uuid>, Vec<Uuid>) =
        claims.iter().copied().filter(|c| counts.contains_key(c)).partition(|c| counts[c] as u64 > per_claim);
    let mut rows = of_claims(db, &small).await?;
    for claim in large {
        rows.extend(
            denial::Entity::find()
                .filter(denial::Column::ClaimId.eq(claim))
                .order_by_asc(denial::Column::Id)
                .limit(per_claim)
                .all(db)
                .await?,
        );
    }
    Ok((rows, counts))
}

/// Who acted on a denial, as its history shows them.
#[derive(Debug, Clone)]
pub struct Actor {
    pub key_id: Uuid,
    pub name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ActError {
    #[error("no denial {0}")]
    NotFound(Uuid),
    /// The denial's status does not allow the action.
    #[error("{0}")]
    NotAllowed(String),
    #[error("the denial changed while this action ran; read it again")]
    Raced,
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Applies an action to a denial in the caller's transaction: its new status (if the current
/// one allows the action), the event recording who did it, and what the new status means for
/// its follow-ups. Returns the denial as it now stands.
pub async fn act(
    txn: &impl ConnectionTrait,
    id: Uuid,
    action: &DenialAction,
    note: Option<String>,
    actor: &Actor,
) -> Result<denial::Model, ActError> {
    let row = find(txn, id).await?.ok_or(ActError::NotFound(id))?;
    let from = *row.status;
    let to = denial_workflow::next_status(from, action).map_err(|e| ActError::NotAllowed(e.to_string()))?;
    let now = now();
    let mut update = denial::Entity::update_many()
        .col_expr(denial::Column::Status, Expr::value(to.as_str()))
        .col_expr(denial::Column::UpdatedAt, Expr::value(now))
        .filter(denial::Column::Id.eq(row.id))
        // Another request may have moved it since it was read: then this one conflicts.
        .filter(denial::Column::Status.eq(row.status.as_str()));
    let (assignee, recovered) = match action {
        DenialAction::Assign(who) => {
            update = update.col_expr(denial::Column::Assignee, Expr::value(who.clone()));
            (who.clone(), None)
        }
        DenialAction::Resolve { recovered_cents, .. } => {
            update = update.col_expr(denial::Column::RecoveredCents, Expr::value(*recovered_cents));
            (None, Some(*recovered_cents))
        }
        _ => (None, None),
    };
    if update.exec(txn).await?.rows_affected != 1 {
        return Err(ActError::Raced);
    }
    denial_event::Entity::insert(denial_event::ActiveModel::from(denial_event::Model {
        id: Uuid::now_v7(),
        denial_id: row.id,
        action: action.name().to_owned(),
        from_status: Some(from.as_str().to_owned()),
        to_status: to.as_str().to_owned(),
        assignee,
        note,
        recovered_cents: recovered,
        actor_key_id: Some(actor.key_id),
        actor_name: actor.name.clone(),
        at: now,
    }))
    .exec_without_returning(txn)
    .await?;
    if to != from {
        follow_ups_after(txn, &row, to, now).await?;
    }
    find(txn, id).await?.ok_or(ActError::NotFound(id))
}

/// What a denial's new status means for its follow-ups: an appeal or a resubmission ends
/// the reminders that led to it (a resubmitted claim gets its own status check); a closed
/// denial needs no more chasing.
async fn follow_ups_after(
    txn: &impl ConnectionTrait,
    row: &denial::Model,
    to: DenialStatus,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let reason = format!("the denial was {}", to.as_str().replace('_', " "));
    match to {
        DenialStatus::Appealed | DenialStatus::Resubmitted => {
            let kinds = [FollowUpKind::AppealDeadline, FollowUpKind::Resubmission];
            followups::cancel(txn, Scope::Denial(row.id, &kinds), &reason, now).await?;
        }
        s if s.is_closed() => {
            followups::cancel(txn, Scope::Denial(row.id, &FollowUpKind::ALL), &reason, now).await?;
        }
        _ => {}
    }
    if to == DenialStatus::Resubmitted
        && let Some(claim_id) = row.claim_id
        && let Some(claim) = claim::Entity::find_by_id(claim_id).one(txn).await?
    {
        let rules = crate::classify::rules_for(txn, [claim.payer_id.clone()]).await?;
        let rules = rules.get(&claim.payer_id).copied().unwrap_or_default();
        followups::schedule(txn, &[followups::for_resubmission(&claim, row.id, &rules, now)]).await?;
    }
    Ok(())
}

/// Closes the open rejections (work items of category `rejection`) of `claims` as
/// `resubmitted`, each with an event that says `why`: the payer has shown it has the claim (an
/// acceptance, a status answer, a remittance), so it was sent again, inside Overturn or not.
/// Each claim comes with the date of that news: a rejection dated after it stays open (`None`:
/// every one of the claim's closes).
/// Returns the rejections closed, with their claims; a second call closes nothing.
pub async fn close_rejections_of(
    db: &impl ConnectionTrait,
    claims: &[(Uuid, Option<NaiveDate>)],
    why: &str,
    now: DateTime<Utc>,
) -> Result<Vec<(Uuid, Uuid)>, DbErr> {
    let backend = db.get_database_backend();
    let open = [DenialStatus::Open.as_str(), DenialStatus::InProgress.as_str()];
    let cutoff: std::collections::HashMap<Uuid, Option<NaiveDate>> = claims.iter().copied().collect();
    let ids: Vec<Uuid> = cutoff.keys().copied().collect();
    let mut closed = Vec::new();
    for chunk in ids.chunks(MAX_PARAMS) {
        let found: Vec<(Uuid, Option<Uuid>, String, Option<NaiveDate>)> = denial::Entity::find()
            .select_only()
            .columns([
                denial::Column::Id,
                denial::Column::ClaimId,
                denial::Column::Status,
                denial::Column::ProductionDate,
            ])
            .filter(crate::sql::any_of(backend, denial::Column::ClaimId, sea_orm::sea_query::ArrayType::Uuid, chunk))
            .filter(denial::Column::Category.eq(Category::Rejection.as_str()))
            .filter(denial::Column::Status.is_in(open))
            .into_tuple()
            .all(db)
            .await?;
        for (id, claim_id, from, dated) in found {
            let Some(claim_id) = claim_id else { continue };
            let until = cutoff.get(&claim_id).copied().flatten();
            if until.is_some_and(|until| dated.is_some_and(|d| d > until)) {
                continue;
            }
            let moved = denial::Entity::update_many()
                .col_expr(denial::Column::Status, Expr::value(DenialStatus::Resubmitted.as_str()))
                .col_expr(denial::Column::UpdatedAt, Expr::value(now))
                .filter(denial::Column::Id.eq(id))
                .filter(denial::Column::Status.eq(from.as_str()))
                .exec(db)
                .await?;
            if moved.rows_affected != 1 {
                continue;
            }
            denial_event::Entity::insert(denial_event::ActiveModel::from(denial_event::Model {
                id: Uuid::now_v7(),
                denial_id: id,
                action: DenialAction::Resubmit.name().to_owned(),
                from_status: Some(from),
                to_status: DenialStatus::Resubmitted.as_str().to_owned(),
                assignee: None,
                note: Some(why.to_owned()),
                recovered_cents: None,
                actor_key_id: None,
                actor_name: "overturn".to_owned(),
                at: now,
            }))
            .exec_without_returning(db)
            .await?;
            closed.push((id, claim_id));
        }
    }
    Ok(closed)
}
