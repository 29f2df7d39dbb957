//! The follow-up worklist: reading follow-ups with a person's filters, and a person's
//! changes to one (complete, snooze, reassign).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use overturn_domain::followups::{self as rules, FollowUpChange, FollowUpKind, FollowUpStatus};
use overturn_domain::webhooks::ContactKind;
use overturn_entity::follow_up;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::sql::{MAX_PARAMS, now};
pub use crate::worklist::AssigneeFilter;

/// What the worklist is narrowed to; an empty filter lists every follow-up.
#[derive(Debug, Clone, Default)]
pub struct FollowUpFilter {
    pub claim_id: Option<Uuid>,
    pub claim_number: Option<String>,
    pub denial_id: Option<Uuid>,
    pub payer_id: Option<String>,
    pub kinds: Vec<FollowUpKind>,
    pub statuses: Vec<FollowUpStatus>,
    pub target: Option<ContactKind>,
    pub assignee: Option<AssigneeFilter>,
    /// Due strictly before.
    pub due_before: Option<DateTime<Utc>>,
    /// Due at or after.
    pub due_after: Option<DateTime<Utc>>,
    /// Continue after this (due time, id), in the list's order.
    pub after: Option<(DateTime<Utc>, Uuid)>,
}

/// Follow-ups matching `filter`, soonest due first (then by id), at most `limit`.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &FollowUpFilter,
    limit: u64,
) -> Result<Vec<follow_up::Model>, DbErr> {
    let mut select = follow_up::Entity::find();
    if let Some(id) = filter.claim_id {
        select = select.filter(follow_up::Column::ClaimId.eq(id));
    }
    if let Some(n) = &filter.claim_number {
        select = select.filter(follow_up::Column::ClaimNumber.eq(n.as_str()));
    }
    if let Some(id) = filter.denial_id {
        select = select.filter(follow_up::Column::DenialId.eq(id));
    }
    if let Some(p) = &filter.payer_id {
        select = select.filter(follow_up::Column::PayerId.eq(p.as_str()));
    }
    if !filter.kinds.is_empty() {
        select = select.filter(follow_up::Column::Kind.is_in(filter.kinds.iter().map(|k| k.as_str())));
    }
    if !filter.statuses.is_empty() {
        select = select.filter(follow_up::Column::Status.is_in(filter.statuses.iter().map(|s| s.as_str())));
    }
    if let Some(t) = filter.target {
        select = select.filter(follow_up::Column::Target.eq(t.as_str()));
    }
    match &filter.assignee {
        Some(AssigneeFilter::Nobody) => select = select.filter(follow_up::Column::Assignee.is_null()),
        Some(AssigneeFilter::Named(a)) => select = select.filter(follow_up::Column::Assignee.eq(a.as_str())),
        None => {}
    }
    if let Some(t) = filter.due_before {
        select = select.filter(follow_up::Column::DueAt.lt(t));
    }
    if let Some(t) = filter.due_after {
        select = select.filter(follow_up::Column::DueAt.gte(t));
    }
    if let Some((at, id)) = filter.after {
        select = select.filter(
            Condition::any()
                .add(follow_up::Column::DueAt.gt(at))
                .add(Condition::all().add(follow_up::Column::DueAt.eq(at)).add(follow_up::Column::Id.gt(id))),
        );
    }
    select.order_by_asc(follow_up::Column::DueAt).order_by_asc(follow_up::Column::Id).limit(limit).all(db).await
}

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<follow_up::Model>, DbErr> {
    follow_up::Entity::find_by_id(id).one(db).await
}

/// Every follow-up of these claims, soonest due first.
pub async fn of_claims(
    db: &impl ConnectionTrait,
    claims: &[Uuid],
) -> Result<BTreeMap<Uuid, Vec<follow_up::Model>>, DbErr> {
    let mut out: BTreeMap<Uuid, Vec<follow_up::Model>> = BTreeMap::new();
    for chunk in claims.chunks(MAX_PARAMS) {
        let rows = follow_up::Entity::find()
            .filter(follow_up::Column::ClaimId.is_in(chunk.iter().copied()))
            .order_by_asc(follow_up::Column::DueAt)
            .order_by_asc(follow_up::Column::Id)
            .all(db)
            .await?;
        for row in rows {
            if let Some(claim) = row.claim_id {
                out.entry(claim).or_default().push(row);
            }
        }
    }
    Ok(out)
}

/// The first `per_claim` follow-ups of each of these claims, soonest due first, and how many
/// each has (one window query on PostgreSQL; on SQLite counts first, as `denials` does).
pub async fn first_of_claims(
    db: &impl ConnectionTrait,
    claims: &[Uuid],
    per_claim: u64,
) -> Result<(BTreeMap<Uuid, Vec<follow_up::Model>>, std::collections::HashMap<Uuid, i64>), DbErr> {
    use sea_orm::FromQueryResult;
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        let rows = crate::sql::first_per_group(db, "follow_ups", "claim_id", "due_at, id", claims, per_claim).await?;
        let mut out: BTreeMap<Uuid, Vec<follow_up::Model>> = BTreeMap::new();
        let mut totals = std::collections::HashMap::new();
        for row in rows {
            let model = follow_up::Model::from_query_result(&row, "")?;
            if let Some(claim) = model.claim_id {
                totals.insert(claim, row.try_get::<i64>("", "group_total")?);
                out.entry(claim).or_default().push(model);
            }
        }
        return Ok((out, totals));
    }
    let mut counts = std::collections::HashMap::new();
    for chunk in claims.chunks(MAX_PARAMS) {
        let rows: Vec<(Option<Uuid>, i64)> = follow_up::Entity::find()
            .select_only()
            .column(follow_up::Column::ClaimId)
            .column_as(sea_orm::sea_query::Expr::cust("COUNT(*)"), "n")
            .filter(follow_up::Column::ClaimId.is_in(chunk.iter().copied()))
            .group_by(follow_up::Column::ClaimId)
            .into_tuple()
            .all(db)
            .await?;
        counts.extend(rows.into_iter().filter_map(|(claim, n)| claim.map(|c| (c, n))));
    }
    let (large, small): (Vec<Uuid>, Vec<Uuid>) =
        claims.iter().copied().filter(|c| counts.contains_key(c)).partition(|c| counts[c] as u64 > per_claim);
    let mut out = of_claims(db, &small).await?;
    for claim in large {
        let rows = follow_up::Entity::find()
            .filter(follow_up::Column::ClaimId.eq(claim))
            .order_by_asc(follow_up::Column::DueAt)
            .order_by_asc(follow_up::Column::Id)
            .limit(per_claim)
            .all(db)
            .await?;
        out.insert(claim, rows);
    }
    Ok((out, counts))
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("no follow-up {0}")]
    NotFound(Uuid),
    /// The status does not allow the change (a closed follow-up).
    #[error("{0}")]
    NotAllowed(String),
    /// Another request, or the firing job, moved it since it was read.
    #[error("the follow-up changed while this ran; read it again")]
    Raced,
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Applies a person's change to a follow-up in the caller's transaction, if its status
/// still allows it; `by` names them in the close reason.
pub async fn change(
    txn: &impl ConnectionTrait,
    id: Uuid,
    change: &FollowUpChange,
    note: Option<&str>,
    by: &str,
) -> Result<follow_up::Model, ChangeError> {
    let row = find(txn, id).await?.ok_or(ChangeError::NotFound(id))?;
    let from = *row.status;
    let to = rules::next_status(from, change).map_err(|e| ChangeError::NotAllowed(e.to_string()))?;
    let now = now();
    let mut update = follow_up::Entity::update_many()
        .col_expr(follow_up::Column::Status, Expr::value(to.as_str()))
        .col_expr(follow_up::Column::UpdatedAt, Expr::value(now))
        .filter(follow_up::Column::Id.eq(row.id))
        .filter(follow_up::Column::Status.eq(row.status.as_str()))
        .filter(follow_up::Column::DueAt.eq(row.due_at));
    if let Some(note) = note {
        update = update.col_expr(follow_up::Column::Note, Expr::value(note.to_owned()));
    }
    update = match change {
        FollowUpChange::Complete => update
            .col_expr(follow_up::Column::ClosedAt, Expr::value(now))
            .col_expr(follow_up::Column::CloseReason, Expr::value(format!("completed by {by}"))),
        FollowUpChange::Snooze(until) => update
            .col_expr(follow_up::Column::DueAt, Expr::value(*until))
            .col_expr(follow_up::Column::Snoozed, Expr::value(true))
            .col_expr(follow_up::Column::EnqueuedAt, Expr::value(Option::<DateTime<Utc>>::None)),
        FollowUpChange::Reassign(who) => update.col_expr(follow_up::Column::Assignee, Expr::value(who.clone())),
    };
    if update.exec(txn).await?.rows_affected != 1 {
        return Err(ChangeError::Raced);
    }
    find(txn, id).await?.ok_or(ChangeError::NotFound(id))
}
