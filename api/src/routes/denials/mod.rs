//! `/v1/denials`: the worklist, one denial with its history, and the actions that work it.

pub mod analytics;
mod output;

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use overturn_domain::classification::{Category, WorkQueue};
use overturn_domain::code_sets::CodeList;
use overturn_domain::denial_workflow::{self, DenialAction, DenialStatus, Outcome};
use overturn_domain::{FieldError, Money};
use overturn_entity::{denial, denial_event};
use sea_orm::sea_query::{Expr, NullOrdering, Order};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub use output::{Denial, DenialDetail, DenialEvent, DenialList, DenialNote};

use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::idempotency;
use crate::json::{Errors, parse_assignee, parse_body, parse_note};
use crate::pagination::{DEFAULT_LIMIT, KeyedCursor as Cursor, parse_limit};
use crate::state::AppState;
use overturn_service::code_catalog;

/// The worklist's orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sort {
    /// Highest priority first.
    Priority,
    /// Largest amount first.
    AmountDesc,
    /// Nearest deadline first; denials without one last.
    AppealDeadline,
}

impl Sort {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "priority" => Some(Self::Priority),
            "-amount" => Some(Self::AmountDesc),
            "appeal_deadline" => Some(Self::AppealDeadline),
            _ => None,
        }
    }

    fn code(self) -> u8 {
        match self {
            Self::Priority => 1,
            Self::AmountDesc => 2,
            Self::AppealDeadline => 3,
        }
    }

    /// The sort key of a row; a missing deadline sorts after every date.
    fn key(self, row: &denial::Model) -> i64 {
        match self {
            Self::Priority => i64::from(row.priority),
            Self::AmountDesc => row.amount_cents,
            Self::AppealDeadline => {
                row.appeal_deadline.map_or(i64::MAX, |d| i64::from(chrono::Datelike::num_days_from_ce(&d)))
            }
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DenialListQuery {
    /// One status or several, comma-separated (`open,in_progress`).
    #[param(example = "open", pattern = "^[a-z_]*(,[a-z_]+)*$")]
    pub status: Option<String>,
    /// One category or several, comma-separated.
    #[param(example = "authorization", pattern = "^[a-z_]*(,[a-z_]+)*$")]
    pub category: Option<String>,
    /// `coding`, `registration`, `clinical` or `billing`, or several, comma-separated.
    #[param(example = "coding", pattern = "^[a-z_]*(,[a-z_]+)*$")]
    pub work_queue: Option<String>,
    pub payer_id: Option<String>,
    pub claim_number: Option<String>,
    #[param(value_type = Option<String>, format = Uuid)]
    pub claim_id: Option<String>,
    #[param(value_type = Option<String>, format = Uuid)]
    pub remittance_id: Option<String>,
    /// Who it is assigned to; `none` for unassigned denials.
    pub assignee: Option<String>,
    /// `priority` (default, highest first), `-amount` (largest first) or `appeal_deadline`
    /// (nearest first).
    #[param(example = "priority", pattern = "^(priority|-amount|appeal_deadline)?$")]
    pub sort: Option<String>,
    /// Page size, 1 to 500 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page (with the same `sort`).
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

pub(crate) fn list_of<T>(
    field: &str,
    text: Option<&str>,
    parse: impl Fn(&str) -> Option<T>,
    errors: &mut Errors,
) -> Vec<T> {
    let Some(text) = text.filter(|t| !t.is_empty()) else { return Vec::new() };
    let mut out = Vec::new();
    for part in text.split(',') {
        match parse(part.trim()) {
            Some(v) => out.push(v),
            None => errors.0.push(FieldError::new(field, format!("{part:?} is not a known value"))),
        }
    }
    out
}

pub(crate) fn uuid_filter(field: &str, text: Option<&str>, errors: &mut Errors) -> Option<Uuid> {
    let text = text.filter(|t| !t.is_empty())?;
    errors.take(field, Uuid::parse_str(text).map_err(|_| "is not a UUID"))
}

/// The worklist: denials filtered and sorted, a page at a time.
#[utoipa::path(
    tag = "denials",
    params(DenialListQuery),
    responses(
        (status = 200, body = DenialList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[get("/denials")]
pub async fn list_denials(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<DenialListQuery>,
) -> Result<web::Json<DenialList>, ApiError> {
    caller.require_billing_read("the denial worklist")?;
    let mut errors = Errors(Vec::new());
    let statuses = list_of("status", query.status.as_deref(), DenialStatus::parse, &mut errors);
    let categories = list_of("category", query.category.as_deref(), Category::parse, &mut errors);
    let queues = list_of("work_queue", query.work_queue.as_deref(), WorkQueue::parse, &mut errors);
    let claim_id = uuid_filter("claim_id", query.claim_id.as_deref(), &mut errors);
    let remittance_id = uuid_filter("remittance_id", query.remittance_id.as_deref(), &mut errors);
    let sort = match query.sort.as_deref().filter(|s| !s.is_empty()) {
        None => Some(Sort::Priority),
        Some(text) => {
            let sort = Sort::parse(text);
            if sort.is_none() {
                errors.0.push(FieldError::new("sort", "must be priority, -amount or appeal_deadline"));
            }
            sort
        }
    };
    let limit = parse_limit(query.limit.as_deref()).unwrap_or_else(|e| {
        errors.0.push(e);
        DEFAULT_LIMIT
    });
    let cursor = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(text) => match Cursor::decode(text) {
            Some(c) if Some(c.sort) == sort.map(Sort::code) => Some(c),
            _ => {
                errors.0.push(FieldError::new("cursor", "is not a cursor returned by this list with this sort"));
                None
            }
        },
    };
    if !errors.0.is_empty() {
        return Err(ApiError::validation(errors.0));
    }
    let sort = sort.unwrap_or(Sort::Priority);

    let mut select = denial::Entity::find();
    if !statuses.is_empty() {
        select = select.filter(denial::Column::Status.is_in(statuses.iter().map(|s| s.as_str())));
    }
    if !categories.is_empty() {
        select = select.filter(denial::Column::Category.is_in(categories.iter().map(|c| c.as_str())));
    }
    if !queues.is_empty() {
        select = select.filter(denial::Column::WorkQueue.is_in(queues.iter().map(|q| q.as_str())));
    }
    if let Some(payer) = query.payer_id.as_deref().filter(|p| !p.is_empty()) {
        select = select.filter(denial::Column::PayerId.eq(payer));
    }
    if let Some(number) = query.claim_number.as_deref().filter(|n| !n.is_empty()) {
        select = select.filter(denial::Column::ClaimNumber.eq(number));
    }
    if let Some(id) = claim_id {
        select = select.filter(denial::Column::ClaimId.eq(id));
    }
    if let Some(id) = remittance_id {
        select = select.filter(denial::Column::RemittanceId.eq(id));
    }
    match query.assignee.as_deref().filter(|a| !a.is_empty()) {
        Some("none") => select = select.filter(denial::Column::Assignee.is_null()),
        Some(who) => select = select.filter(denial::Column::Assignee.eq(who)),
        None => {}
    }
    select =
        match sort {
            Sort::Priority => {
                if let Some(c) = cursor {
                    select = select.filter(Condition::any().add(denial::Column::Priority.lt(c.key)).add(
                        Condition::all().add(denial::Column::Priority.eq(c.key)).add(denial::Column::Id.lt(c.id)),
                    ));
                }
                select.order_by_desc(denial::Column::Priority).order_by_desc(denial::Column::Id)
            }
            Sort::AmountDesc => {
                if let Some(c) = cursor {
                    select = select.filter(Condition::any().add(denial::Column::AmountCents.lt(c.key)).add(
                        Condition::all().add(denial::Column::AmountCents.eq(c.key)).add(denial::Column::Id.lt(c.id)),
                    ));
                }
                select.order_by_desc(denial::Column::AmountCents).order_by_desc(denial::Column::Id)
            }
            Sort::AppealDeadline => {
                if let Some(c) = cursor {
                    let after = if c.key == i64::MAX {
                        Condition::all().add(denial::Column::AppealDeadline.is_null()).add(denial::Column::Id.gt(c.id))
                    } else {
                        let date = chrono::NaiveDate::from_num_days_from_ce_opt(c.key as i32).unwrap_or_default();
                        Condition::any()
                            .add(denial::Column::AppealDeadline.gt(date))
                            .add(denial::Column::AppealDeadline.is_null())
                            .add(
                                Condition::all()
                                    .add(denial::Column::AppealDeadline.eq(date))
                                    .add(denial::Column::Id.gt(c.id)),
                            )
                    };
                    select = select.filter(after);
                }
                select
                    .order_by_with_nulls(denial::Column::AppealDeadline, Order::Asc, NullOrdering::Last)
                    .order_by_asc(denial::Column::Id)
            }
        };
    let mut rows = select.limit(limit + 1).all(&state.db.read).await?;
    let next_cursor = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| Cursor { sort: sort.code(), key: sort.key(r), id: r.id }.encode())
    } else {
        None
    };
    let items = describe(&state.db.read, &rows).await?;
    Ok(web::Json(DenialList { items, next_cursor }))
}

/// Denials as shown: codes described, with their history and notes (one query each for
/// the codes and the events of all of them).
pub async fn describe<C: ConnectionTrait>(db: &C, rows: &[denial::Model]) -> Result<Vec<DenialDetail>, sea_orm::DbErr> {
    let reasons = code_catalog::describe(db, CodeList::Carc, rows.iter().filter_map(|r| r.reason_code.clone())).await?;
    let remark_codes =
        rows.iter().flat_map(|r| serde_json::from_str::<Vec<String>>(&r.remark_codes).unwrap_or_default());
    let remarks = code_catalog::describe(db, CodeList::Rarc, remark_codes).await?;
    let mut events: BTreeMap<Uuid, Vec<denial_event::Model>> = BTreeMap::new();
    for chunk in rows.chunks(overturn_service::sql::MAX_PARAMS) {
        let found = denial_event::Entity::find()
            .filter(denial_event::Column::DenialId.is_in(chunk.iter().map(|r| r.id)))
            .order_by_asc(denial_event::Column::Id)
            .all(db)
            .await?;
        for event in found {
            events.entry(event.denial_id).or_default().push(event);
        }
    }
    Ok(rows
        .iter()
        .map(|row| {
            let own = events.remove(&row.id).unwrap_or_default();
            let mut history = vec![DenialEvent::classified(row)];
            history.extend(own.iter().map(DenialEvent::from_row));
            let notes = own
                .iter()
                .filter_map(|e| e.note.clone().map(|note| DenialNote { note, actor: e.actor_name.clone(), at: e.at }))
                .collect();
            DenialDetail { denial: Denial::from_row(row, &reasons, &remarks), history, notes }
        })
        .collect())
}

async fn find<C: ConnectionTrait>(db: &C, id: &str) -> Result<denial::Model, ApiError> {
    let not_found = || ApiError::NotFound(format!("no denial {id}"));
    let id = Uuid::parse_str(id).map_err(|_| not_found())?;
    denial::Entity::find_by_id(id).one(db).await?.ok_or_else(not_found)
}

async fn detail<C: ConnectionTrait>(db: &C, row: denial::Model) -> Result<DenialDetail, ApiError> {
    describe(db, std::slice::from_ref(&row))
        .await?
        .pop()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("a described denial went missing")))
}

/// A denial with its history (who did what, when) and notes.
#[utoipa::path(
    tag = "denials",
    params(("id" = Uuid, Path, description = "The denial's id")),
    responses(
        (status = 200, body = DenialDetail),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[get("/denials/{id}")]
pub async fn get_denial(
    state: web::Data<AppState>,
    _caller: Caller,
    id: web::Path<String>,
) -> Result<web::Json<DenialDetail>, ApiError> {
    let row = find(&state.db.read, &id).await?;
    Ok(web::Json(detail(&state.db.read, row).await?))
}

/// The body of `POST /v1/denials/{id}/actions`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DenialActionRequest {
    /// `assign`, `start`, `appeal`, `resubmit`, `resolve`, `write_off` or `note`.
    #[schema(example = "resolve")]
    pub action: String,
    /// For `assign`: who works it (1 to 100 characters); null unassigns.
    #[schema(example = "kim.lee")]
    pub assignee: Option<String>,
    /// For `resolve`: `overturned` or `upheld`.
    #[schema(example = "overturned")]
    pub outcome: Option<String>,
    /// For `resolve`: money recovered, a decimal string (default `0.00`; must be `0.00` when upheld).
    #[schema(value_type = Option<String>, example = "145.00")]
    pub recovered_amount: Option<String>,
    /// Any action may carry a note (up to 4,000 characters); `note` needs one.
    pub note: Option<String>,
}

fn parse_action(body: &DenialActionRequest) -> Result<(DenialAction, Option<String>), ApiError> {
    let mut errors = Errors(Vec::new());
    let note = parse_note(body.note.as_deref(), &mut errors);
    let refuse = |field: &str, errors: &mut Errors, action: &str, value: bool| {
        if value {
            errors.0.push(FieldError::new(field, format!("does not apply to {action}")));
        }
    };
    let action = body.action.as_str();
    if action != "assign" {
        refuse("assignee", &mut errors, action, body.assignee.is_some());
    }
    if action != "resolve" {
        refuse("outcome", &mut errors, action, body.outcome.is_some());
        refuse("recovered_amount", &mut errors, action, body.recovered_amount.is_some());
    }
    let parsed = match action {
        "assign" => parse_assignee(body.assignee.as_deref(), &mut errors).map(DenialAction::Assign),
        "start" => Some(DenialAction::Start),
        "appeal" => Some(DenialAction::Appeal),
        "resubmit" => Some(DenialAction::Resubmit),
        "write_off" => Some(DenialAction::WriteOff),
        "note" => {
            if note.is_none() && body.note.as_deref().is_none_or(|n| n.trim().is_empty()) {
                errors.0.push(FieldError::new("note", "is required for the note action"));
            }
            Some(DenialAction::Note)
        }
        "resolve" => {
            let outcome = match body.outcome.as_deref() {
                Some("overturned") => Some(Outcome::Overturned),
                Some("upheld") => Some(Outcome::Upheld),
                Some(_) => {
                    errors.0.push(FieldError::new("outcome", "must be overturned or upheld"));
                    None
                }
                None => {
                    errors.0.push(FieldError::new("outcome", "is required to resolve (overturned or upheld)"));
                    None
                }
            };
            let recovered = match body.recovered_amount.as_deref() {
                None => Some(Money::default()),
                Some(text) => errors.take("recovered_amount", Money::parse(text)),
            };
            if outcome == Some(Outcome::Upheld) && recovered.is_some_and(|m| m.cents() != 0) {
                errors.0.push(FieldError::new("recovered_amount", "must be 0.00 when the denial is upheld"));
            }
            match (outcome, recovered) {
                (Some(outcome), Some(m)) => Some(DenialAction::Resolve { outcome, recovered_cents: m.cents() }),
                _ => None,
            }
        }
        other => {
            errors.0.push(FieldError::new(
                "action",
                format!("{other:?} is not one of assign, start, appeal, resubmit, resolve, write_off, note"),
            ));
            None
        }
    };
    match parsed {
        Some(action) if errors.0.is_empty() => Ok((action, note)),
        _ => Err(ApiError::validation(errors.0)),
    }
}

/// Work a denial: assign, start, appeal, resubmit, resolve, write off, or add a note.
///
/// Illegal transitions answer 409 (anything but `note` on a closed denial, say). Every action
/// is recorded in the denial's history with the API key that took it.
#[utoipa::path(
    tag = "denials",
    request_body = DenialActionRequest,
    params(
        ("id" = Uuid, Path, description = "The denial's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Repeat a POST safely: the same key and body return the first response", pattern = "^[!-~]{1,255}$"),
    ),
    responses(
        (status = 200, body = DenialDetail),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not allowed in the denial's status", body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Idempotency-Key reused with another body", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[post("/denials/{id}/actions")]
pub async fn act_on_denial(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    caller.require_billing_write()?;
    let request: DenialActionRequest = parse_body(&req, &body)?;
    let (action, note) = parse_action(&request)?;
    idempotency::run(&state.db.write, &req, caller.key_id, &body, async |txn| {
        let row = find(txn, &id).await?;
        let from = DenialStatus::parse(&row.status)
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("denial {} has an unknown status", row.id)))?;
        let to = denial_workflow::next_status(from, &action).map_err(|e| ApiError::Conflict(e.to_string()))?;
        let now = overturn_service::sql::now();
        let mut update = denial::Entity::update_many()
            .col_expr(denial::Column::Status, Expr::value(to.as_str()))
            .col_expr(denial::Column::UpdatedAt, Expr::value(now))
            .filter(denial::Column::Id.eq(row.id))
            // Another request may have moved it since it was read: then this one conflicts.
            .filter(denial::Column::Status.eq(row.status.as_str()));
        let (assignee, recovered) = match &action {
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
            return Err(ApiError::Conflict("the denial changed while this action ran; read it again".into()));
        }
        denial_event::Entity::insert(denial_event::ActiveModel::from(denial_event::Model {
            id: Uuid::now_v7(),
            denial_id: row.id,
            action: action.name().to_owned(),
            from_status: Some(from.as_str().to_owned()),
            to_status: to.as_str().to_owned(),
            assignee,
            note: note.clone(),
            recovered_cents: recovered,
            actor_key_id: Some(caller.key_id),
            actor_name: caller.name.clone(),
            at: now,
        }))
        .exec_without_returning(txn)
        .await?;
        if to != from {
            follow_ups_after(txn, &row, to, now).await?;
        }
        let row = find(txn, &id).await?;
        Ok((StatusCode::OK, detail(txn, row).await?))
    })
    .await
}

/// What a denial's new status means for its follow-ups: an appeal or a resubmission ends
/// the reminders that led to it (a resubmitted claim gets its own status check); a closed
/// denial needs no more chasing.
async fn follow_ups_after<C: ConnectionTrait>(
    txn: &C,
    row: &denial::Model,
    to: DenialStatus,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), sea_orm::DbErr> {
    use overturn_domain::followups::FollowUpKind as Kind;
    use overturn_service::followups::{Scope, cancel};
    let reason = format!("the denial was {}", to.as_str().replace('_', " "));
    match to {
        DenialStatus::Appealed | DenialStatus::Resubmitted => {
            cancel(txn, Scope::Denial(row.id, &[Kind::AppealDeadline, Kind::Resubmission]), &reason, now).await?;
        }
        s if s.is_closed() => {
            cancel(txn, Scope::Denial(row.id, &Kind::ALL), &reason, now).await?;
        }
        _ => {}
    }
    if to == DenialStatus::Resubmitted
        && let Some(claim_id) = row.claim_id
        && let Some(claim) = overturn_entity::claim::Entity::find_by_id(claim_id).one(txn).await?
    {
        let rules = overturn_service::classify::rules_for(txn, [claim.payer_id.clone()]).await?;
        let rules = rules.get(&claim.payer_id).copied().unwrap_or_default();
        overturn_service::followups::schedule(
            txn,
            &[overturn_service::followups::for_resubmission(&claim, row.id, &rules, now)],
        )
        .await?;
    }
    Ok(())
}

/// Denials of the claims given, for the claim views.
pub async fn of_claims<C: ConnectionTrait>(
    db: &C,
    claims: &[Uuid],
) -> Result<BTreeMap<Uuid, Vec<DenialDetail>>, sea_orm::DbErr> {
    let mut out: BTreeMap<Uuid, Vec<DenialDetail>> = BTreeMap::new();
    for chunk in claims.chunks(overturn_service::sql::MAX_PARAMS) {
        let rows = denial::Entity::find()
            .filter(denial::Column::ClaimId.is_in(chunk.iter().copied()))
            .order_by_asc(denial::Column::Id)
            .all(db)
            .await?;
        for (row, shown) in rows.iter().zip(describe(db, &rows).await?) {
            if let Some(claim) = row.claim_id {
                out.entry(claim).or_default().push(shown);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = Cursor { sort: 3, key: i64::MAX, id: Uuid::now_v7() };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        let c = Cursor { sort: 1, key: -5, id: Uuid::now_v7() };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("AQ"), None);
        assert_eq!(Cursor::decode(&crate::pagination::encode_cursor(Uuid::now_v7())), None);
    }
}
