//! `/v1/denials`: the worklist, one denial with its history, and the actions that work it.

pub mod analytics;
mod output;

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use overturn_domain::classification::{Category, WorkQueue};
use overturn_domain::code_sets::CodeList;
use overturn_domain::denial_workflow::{DenialAction, DenialStatus, Outcome};
use overturn_domain::{FieldError, Money};
use overturn_entity::denial;
use overturn_service::denials::{self, Actor, AssigneeFilter, DenialFilter, DenialOrder};
use sea_orm::ConnectionTrait;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub use output::{Denial, DenialDetail, DenialEvent, DenialList, DenialNote};

use crate::auth::{Allowed, ReadBilling, WriteBilling};
use crate::error::{ApiError, Problem};
use crate::idempotency;
use crate::json::{Errors, parse_assignee, parse_body, parse_note};
use crate::pagination::{DEFAULT_LIMIT, KeyedCursor as Cursor, parse_limit};
use crate::state::AppState;
use overturn_domain::audit::AuditAction;
use overturn_service::code_catalog;

/// The worklist's orders.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DenialListQuery {
    /// One status or several, comma-separated (`open,in_progress`).
    #[param(
        example = "open",
        pattern = "^((open|in_progress|appealed|resubmitted|overturned|upheld|written_off)(,(open|in_progress|appealed|resubmitted|overturned|upheld|written_off))*)?$"
    )]
    pub status: Option<String>,
    /// One category or several, comma-separated.
    #[param(
        example = "authorization",
        pattern = "^((eligibility|authorization|coding|medical_necessity|timely_filing|duplicate|bundling|missing_information|coordination_of_benefits|non_covered|provider_eligibility|other)(,(eligibility|authorization|coding|medical_necessity|timely_filing|duplicate|bundling|missing_information|coordination_of_benefits|non_covered|provider_eligibility|other))*)?$"
    )]
    pub category: Option<String>,
    /// `coding`, `registration`, `clinical` or `billing`, or several, comma-separated.
    #[param(
        example = "coding",
        pattern = "^((coding|registration|clinical|billing)(,(coding|registration|clinical|billing))*)?$"
    )]
    pub work_queue: Option<String>,
    pub payer_id: Option<String>,
    pub claim_number: Option<String>,
    #[param(value_type = Option<String>, pattern = r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$")]
    pub claim_id: Option<String>,
    #[param(value_type = Option<String>, pattern = r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$")]
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
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[get("/denials")]
pub async fn list_denials(
    state: web::Data<AppState>,
    _caller: Allowed<ReadBilling>,
    req: HttpRequest,
    query: web::Query<DenialListQuery>,
) -> Result<web::Json<DenialList>, ApiError> {
    let mut errors = Errors(Vec::new());
    let statuses = list_of("status", query.status.as_deref(), DenialStatus::parse, &mut errors);
    let categories = list_of("category", query.category.as_deref(), Category::parse, &mut errors);
    let queues = list_of("work_queue", query.work_queue.as_deref(), WorkQueue::parse, &mut errors);
    let claim_id = uuid_filter("claim_id", query.claim_id.as_deref(), &mut errors);
    let remittance_id = uuid_filter("remittance_id", query.remittance_id.as_deref(), &mut errors);
    let sort = match query.sort.as_deref().filter(|s| !s.is_empty()) {
        None => Some(DenialOrder::Priority),
        Some(text) => {
            let sort = DenialOrder::parse(text);
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
            Some(c) if Some(c.sort) == sort.map(DenialOrder::code) => Some(c),
            _ => {
                errors.0.push(FieldError::new("cursor", "is not a cursor returned by this list with this sort"));
                None
            }
        },
    };
    if !errors.0.is_empty() {
        return Err(ApiError::validation(errors.0));
    }
    let sort = sort.unwrap_or(DenialOrder::Priority);

    let filter = DenialFilter {
        statuses,
        categories,
        queues,
        payer_id: query.payer_id.clone().filter(|p| !p.is_empty()),
        claim_number: query.claim_number.clone().filter(|n| !n.is_empty()),
        claim_id,
        remittance_id,
        assignee: query.assignee.as_deref().and_then(AssigneeFilter::parse),
    };
    let after = cursor.map(|c| (c.key, c.id));
    let mut rows = denials::list(&state.db.read, &filter, sort, after, limit + 1).await?;
    let next_cursor = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| Cursor { sort: sort.code(), key: sort.key(r), id: r.id }.encode())
    } else {
        None
    };
    note_denials(&state.db.read, &req, AuditAction::Read, &rows).await?;
    let items = describe(&state.db.read, &rows).await?;
    Ok(web::Json(DenialList { items, next_cursor }))
}

/// The PHI access of a request on these denials: their ids, and the patients of their claims
/// (a denial whose payment waits for its claim has none yet).
async fn note_denials(
    db: &impl ConnectionTrait,
    req: &HttpRequest,
    action: AuditAction,
    rows: &[denial::Model],
) -> Result<(), sea_orm::DbErr> {
    let claims: Vec<Uuid> = rows.iter().filter_map(|r| r.claim_id).collect();
    let members = overturn_service::claims::members_of(db, &claims).await?;
    crate::audit::note(req, action, "denial", rows.iter().map(|r| r.id.to_string()), members.into_values());
    Ok(())
}

/// Denials as shown: codes described, with their history and notes (one query each for
/// the codes and the events of all of them).
pub async fn describe<C: ConnectionTrait>(db: &C, rows: &[denial::Model]) -> Result<Vec<DenialDetail>, sea_orm::DbErr> {
    let plain = describe_plain(db, rows).await?;
    let mut events = denials::events_of(db, rows).await?;
    Ok(rows
        .iter()
        .zip(plain)
        .map(|(row, denial)| {
            let own = events.remove(&row.id).unwrap_or_default();
            let mut history = vec![DenialEvent::classified(row)];
            history.extend(own.iter().map(DenialEvent::from_row));
            let notes = own
                .iter()
                .filter_map(|e| e.note.clone().map(|note| DenialNote { note, actor: e.actor_name.clone(), at: e.at }))
                .collect();
            DenialDetail { denial, history, notes }
        })
        .collect())
}

/// Denials with their codes described, without their history.
pub async fn describe_plain<C: ConnectionTrait>(db: &C, rows: &[denial::Model]) -> Result<Vec<Denial>, sea_orm::DbErr> {
    let reasons = code_catalog::describe(db, CodeList::Carc, rows.iter().filter_map(|r| r.reason_code.clone())).await?;
    let remark_codes =
        rows.iter().flat_map(|r| serde_json::from_str::<Vec<String>>(&r.remark_codes).unwrap_or_default());
    let remarks = code_catalog::describe(db, CodeList::Rarc, remark_codes).await?;
    Ok(rows.iter().map(|row| Denial::from_row(row, &reasons, &remarks)).collect())
}

/// The denial a path names; 404 for an unknown id or one that is not a UUID.
async fn find(db: &impl ConnectionTrait, id: &str) -> Result<denial::Model, ApiError> {
    let not_found = || ApiError::NotFound(format!("no denial {id}"));
    let id = Uuid::parse_str(id).map_err(|_| not_found())?;
    denials::find(db, id).await?.ok_or_else(not_found)
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
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[get("/denials/{id}")]
pub async fn get_denial(
    state: web::Data<AppState>,
    _caller: Allowed<ReadBilling>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<web::Json<DenialDetail>, ApiError> {
    let row = find(&state.db.read, &id).await?;
    note_denials(&state.db.read, &req, AuditAction::Read, std::slice::from_ref(&row)).await?;
    Ok(web::Json(detail(&state.db.read, row).await?))
}

/// The body of `POST /v1/denials/{id}/actions`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DenialActionRequest {
    /// `assign`, `start`, `appeal`, `resubmit`, `resolve`, `write_off` or `note`.
    #[schema(example = "resolve")]
    pub action: String,
    /// For `assign`: who works it (1 to 100 characters, no control characters); null unassigns.
    #[schema(
        example = "kim.lee",
        pattern = r"^[^\s\x00-\x1f\x7f-\x9f]([^\x00-\x1f\x7f-\x9f]{0,98}[^\s\x00-\x1f\x7f-\x9f])?$"
    )]
    pub assignee: Option<String>,
    /// For `resolve`: `overturned` or `upheld`.
    #[schema(example = "overturned")]
    pub outcome: Option<String>,
    /// For `resolve`: money recovered, a decimal string (default `0.00`; must be `0.00` when upheld).
    #[schema(value_type = Option<String>, example = "145.00")]
    pub recovered_amount: Option<String>,
    /// Any action may carry a note (up to 4,000 characters); `note` needs one.
    #[schema(max_length = 4000, pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]{0,4000}$")]
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
    ),
    responses(
        (status = 200, body = DenialDetail),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not allowed in the denial's status", body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[post("/denials/{id}/actions")]
pub async fn act_on_denial(
    state: web::Data<AppState>,
    caller: Allowed<WriteBilling>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request: DenialActionRequest = parse_body(&req, &body)?;
    let (action, note) = parse_action(&request)?;
    let not_found = || ApiError::NotFound(format!("no denial {id}"));
    let id = Uuid::parse_str(&id).map_err(|_| not_found())?;
    let actor = Actor { key_id: caller.key_id, name: caller.name.clone() };
    idempotency::run(&state.db.write, &req, caller.key_id, &body, async |txn| {
        let row = denials::act(txn, id, &action, note.clone(), &actor).await?;
        note_denials(txn, &req, AuditAction::Update, std::slice::from_ref(&row)).await?;
        Ok((StatusCode::OK, detail(txn, row).await?))
    })
    .await
}

/// Denials of the claims given, for the claim views.
pub async fn of_claims(
    db: &impl ConnectionTrait,
    claims: &[Uuid],
) -> Result<BTreeMap<Uuid, Vec<DenialDetail>>, sea_orm::DbErr> {
    let rows = denials::of_claims(db, claims).await?;
    let mut out: BTreeMap<Uuid, Vec<DenialDetail>> = BTreeMap::new();
    for (row, shown) in rows.iter().zip(describe(db, &rows).await?) {
        if let Some(claim) = row.claim_id {
            out.entry(claim).or_default().push(shown);
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
