//! `/v1/follow-ups`: the chasing Overturn schedules (status checks, appeal reminders,
//! resubmissions, patient outreach, timely filing), and the actions that work it.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use overturn_domain::FieldError;
use overturn_domain::followups::{self as rules, FollowUpChange, FollowUpKind, FollowUpStatus};
use overturn_domain::webhooks::ContactKind;
use overturn_entity::follow_up;
use overturn_service::followups::worklist::{self, AssigneeFilter, FollowUpFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::{Allowed, Caller, ReadBilling, WriteBilling};
use crate::error::{ApiError, Problem};
use crate::idempotency;
use crate::json::{Errors, parse_assignee, parse_body, parse_note};
use crate::pagination::{DEFAULT_LIMIT, KeyedCursor, parse_limit};
use crate::routes::denials::{list_of, uuid_filter};
use crate::state::AppState;
use overturn_domain::audit::AuditAction;

/// A follow-up: something to chase, for whom, and when.
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowUp {
    pub id: Uuid,
    /// `status_check`, `appeal_deadline`, `resubmission`, `patient_outreach` or
    /// `timely_filing`.
    #[schema(example = "status_check")]
    pub kind: String,
    /// `scheduled` (waiting for `due_at`), `fired` (fell due: its `followup.due` event went
    /// out and it waits for a person), `completed` or `cancelled`.
    #[schema(example = "scheduled")]
    pub status: String,
    /// When it falls due (UTC). Dates count calendar days in UTC; something due "on" a
    /// date falls due at 00:00 UTC.
    pub due_at: DateTime<Utc>,
    /// Whose contacts `followup.due` goes to: `payer` or `patient`.
    #[schema(example = "payer")]
    pub target: String,
    pub claim_id: Option<Uuid>,
    #[schema(example = "CLM-1001")]
    pub claim_number: String,
    pub denial_id: Option<Uuid>,
    #[schema(example = "60054")]
    pub payer_id: String,
    /// For a patient target: the member id its contacts stand for.
    pub member_id: Option<String>,
    /// For an appeal reminder: days before the deadline it falls (30, 14, 3); null for
    /// the escalation.
    pub days_before_deadline: Option<i32>,
    /// True for the escalation of an appeal deadline that passed with the denial still open.
    pub escalation: bool,
    pub assignee: Option<String>,
    pub note: Option<String>,
    /// True once a person chose `due_at` (payer rule changes no longer move it).
    pub snoozed: bool,
    pub fired_at: Option<DateTime<Utc>>,
    /// How many times it fired (a snoozed follow-up fires again).
    pub fire_count: i32,
    pub closed_at: Option<DateTime<Utc>>,
    /// Why it was cancelled or by whom completed.
    pub close_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl FollowUp {
    pub fn from_row(row: &follow_up::Model) -> Self {
        let appeal = row.kind == FollowUpKind::AppealDeadline.as_str();
        Self {
            id: row.id,
            kind: row.kind.clone(),
            status: row.status.as_str().to_owned(),
            due_at: row.due_at,
            target: row.target.clone(),
            claim_id: row.claim_id,
            claim_number: row.claim_number.clone(),
            denial_id: row.denial_id,
            payer_id: row.payer_id.clone(),
            member_id: (row.target == ContactKind::Patient.as_str()).then(|| row.reference.clone()),
            days_before_deadline: row.offset_days.filter(|o| appeal && *o < 0).map(|o| -o),
            escalation: appeal && row.offset_days.is_some_and(|o| o > 0),
            assignee: row.assignee.clone(),
            note: row.note.clone(),
            snoozed: row.snoozed,
            fired_at: row.fired_at,
            fire_count: row.fire_count,
            closed_at: row.closed_at,
            close_reason: row.close_reason.clone(),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FollowUpList {
    pub items: Vec<FollowUp>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FollowUpListQuery {
    #[param(value_type = Option<String>, pattern = r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$")]
    pub claim_id: Option<String>,
    pub claim_number: Option<String>,
    #[param(value_type = Option<String>, pattern = r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$")]
    pub denial_id: Option<String>,
    pub payer_id: Option<String>,
    /// One kind or several, comma-separated.
    #[param(
        example = "status_check",
        pattern = "^((status_check|appeal_deadline|resubmission|patient_outreach|timely_filing)(,(status_check|appeal_deadline|resubmission|patient_outreach|timely_filing))*)?$"
    )]
    pub kind: Option<String>,
    /// One status or several, comma-separated (`scheduled,fired` for everything open).
    #[param(
        example = "fired",
        pattern = "^((scheduled|fired|completed|cancelled)(,(scheduled|fired|completed|cancelled))*)?$"
    )]
    pub status: Option<String>,
    /// `payer` or `patient`.
    #[param(pattern = "^(payer|patient)?$")]
    pub target: Option<String>,
    /// Who it is assigned to; `none` for unassigned ones.
    pub assignee: Option<String>,
    /// Due strictly before this instant: an RFC 3339 timestamp, or a date (00:00 UTC of it).
    #[param(
        example = "2026-12-01",
        pattern = r"^([0-9]{4}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-9])|(0[13-9]|1[0-2])-30|(0[13578]|1[02])-31)([Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?)?$"
    )]
    pub due_before: Option<String>,
    /// Due at or after this instant: an RFC 3339 timestamp, or a date (00:00 UTC of it).
    #[param(
        example = "2026-11-01",
        pattern = r"^([0-9]{4}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-9])|(0[13-9]|1[0-2])-30|(0[13578]|1[02])-31)([Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?)?$"
    )]
    pub due_after: Option<String>,
    /// Page size, 1 to 500 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

/// The order of the list, in cursors.
const BY_DUE_AT: u8 = 1;

/// The follow-up worklist, soonest due first: filter on `status=fired` for what fell due
/// and waits for a person.
#[utoipa::path(
    tag = "follow-ups",
    params(FollowUpListQuery),
    responses(
        (status = 200, body = FollowUpList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[get("/follow-ups")]
pub async fn list_follow_ups(
    state: web::Data<AppState>,
    _caller: Allowed<ReadBilling>,
    req: HttpRequest,
    query: web::Query<FollowUpListQuery>,
) -> Result<web::Json<FollowUpList>, ApiError> {
    let mut errors = Errors(Vec::new());
    let q = query.into_inner();
    let claim_id = uuid_filter("claim_id", q.claim_id.as_deref(), &mut errors);
    let denial_id = uuid_filter("denial_id", q.denial_id.as_deref(), &mut errors);
    let kinds = list_of("kind", q.kind.as_deref(), FollowUpKind::parse, &mut errors);
    let statuses = list_of("status", q.status.as_deref(), FollowUpStatus::parse, &mut errors);
    let target = q.target.as_deref().filter(|t| !t.is_empty()).and_then(|t| {
        let parsed = ContactKind::parse(t);
        if parsed.is_none() {
            errors.0.push(FieldError::new("target", "must be payer or patient"));
        }
        parsed
    });
    let due_before = q
        .due_before
        .as_deref()
        .filter(|t| !t.is_empty())
        .and_then(|t| errors.take("due_before", rules::parse_instant(t)));
    let due_after = q
        .due_after
        .as_deref()
        .filter(|t| !t.is_empty())
        .and_then(|t| errors.take("due_after", rules::parse_instant(t)));
    let limit = parse_limit(q.limit.as_deref()).unwrap_or_else(|e| {
        errors.0.push(e);
        DEFAULT_LIMIT
    });
    let cursor = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(text) => match KeyedCursor::decode(text) {
            Some(c) if c.sort == BY_DUE_AT => Some(c),
            _ => {
                errors.0.push(FieldError::new("cursor", "is not a cursor returned by this list"));
                None
            }
        },
    };
    if !errors.0.is_empty() {
        return Err(ApiError::validation(errors.0));
    }
    let filter = FollowUpFilter {
        claim_id,
        claim_number: q.claim_number.filter(|n| !n.is_empty()),
        denial_id,
        payer_id: q.payer_id.filter(|p| !p.is_empty()),
        kinds,
        statuses,
        target,
        assignee: q.assignee.as_deref().and_then(AssigneeFilter::parse),
        due_before,
        due_after,
        after: cursor.map(|c| (DateTime::<Utc>::from_timestamp_micros(c.key).unwrap_or_default(), c.id)),
    };
    let mut rows = worklist::list(&state.db.read, &filter, limit + 1).await?;
    let next_cursor = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| KeyedCursor { sort: BY_DUE_AT, key: r.due_at.timestamp_micros(), id: r.id }.encode())
    } else {
        None
    };
    note_follow_ups(&state.db.read, &req, AuditAction::Read, &rows).await?;
    Ok(web::Json(FollowUpList { items: rows.iter().map(FollowUp::from_row).collect(), next_cursor }))
}

/// The PHI access of a request on these follow-ups: their ids and their claims' patients.
async fn note_follow_ups(
    db: &impl sea_orm::ConnectionTrait,
    req: &HttpRequest,
    action: AuditAction,
    rows: &[follow_up::Model],
) -> Result<(), sea_orm::DbErr> {
    let claims: Vec<Uuid> = rows.iter().filter_map(|r| r.claim_id).collect();
    let mut members: Vec<String> = overturn_service::claims::members_of(db, &claims).await?.into_values().collect();
    members.extend(rows.iter().filter(|r| r.target == ContactKind::Patient.as_str()).map(|r| r.reference.clone()));
    crate::audit::note(req, action, "follow_up", rows.iter().map(|r| r.id.to_string()), members);
    Ok(())
}

/// The follow-up a path names; 404 for an unknown id or one that is not a UUID.
async fn find(db: &impl sea_orm::ConnectionTrait, id: &str) -> Result<follow_up::Model, ApiError> {
    let not_found = || ApiError::NotFound(format!("no follow-up {id}"));
    let id = Uuid::parse_str(id).map_err(|_| not_found())?;
    worklist::find(db, id).await?.ok_or_else(not_found)
}

/// One follow-up.
#[utoipa::path(
    tag = "follow-ups",
    params(("id" = Uuid, Path, description = "The follow-up's id")),
    responses(
        (status = 200, body = FollowUp),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[get("/follow-ups/{id}")]
pub async fn get_follow_up(
    state: web::Data<AppState>,
    _caller: Allowed<ReadBilling>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<web::Json<FollowUp>, ApiError> {
    let row = find(&state.db.read, &id).await?;
    note_follow_ups(&state.db.read, &req, AuditAction::Read, std::slice::from_ref(&row)).await?;
    Ok(web::Json(FollowUp::from_row(&row)))
}

/// The claim status inquiry (276, 005010X212) of a status check.
///
/// The question the check asks the payer, for its claim: payer, submitter (the claim's, else
/// the configured `OVERTURN_SUBMITTER_*`), billing provider, subscriber, the claim's patient
/// control number (REF*EJ), the payer's claim number when known (REF*1K), charge and dates of
/// service. Its trace number (TRN02) is the follow-up's id: the payer's 277 echoes it, and
/// `POST /v1/acknowledgments` matches the answer to the claim by it. The same bytes on every
/// fetch.
#[utoipa::path(
    tag = "follow-ups",
    params(("id" = Uuid, Path, description = "The status check's id")),
    responses(
        (status = 200, description = "The 276", body = String, content_type = "application/edi-x12"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a status check of a claim, or no submitter or receiver to address it", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[get("/follow-ups/{id}/276")]
pub async fn get_follow_up_276(
    state: web::Data<AppState>,
    _caller: Allowed<ReadBilling>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    use overturn_service::acknowledgments::inquiry::{InquiryError, inquiry_276};
    let row = find(&state.db.read, &id).await?;
    let settings = &state.settings;
    let text = inquiry_276(&state.db.read, row.id, settings.submitter.as_ref(), settings.receiver.as_ref())
        .await?
        .map_err(|e| match e {
            InquiryError::NotFound(_) => ApiError::NotFound(e.to_string()),
            e => ApiError::Unprocessable { detail: e.to_string(), errors: Vec::new() },
        })?;
    note_follow_ups(&state.db.read, &req, AuditAction::Export, std::slice::from_ref(&row)).await?;
    Ok(HttpResponse::Ok().content_type("application/edi-x12").body(text))
}

/// The body of `POST /v1/follow-ups/{id}/complete`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteRequest {
    /// What was done (up to 4,000 characters).
    #[schema(
        example = "Called the payer: claim in process, check number expected Friday.",
        max_length = 4000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]{0,4000}$"
    )]
    pub note: Option<String>,
}

/// The body of `POST /v1/follow-ups/{id}/snooze`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnoozeRequest {
    /// When it falls due again: an RFC 3339 timestamp, or a date (00:00 UTC of it); in the
    /// future, at most 3,650 days ahead.
    #[schema(
        example = "2026-12-15",
        pattern = r"^[0-9]{4}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-9])|(0[13-9]|1[0-2])-30|(0[13578]|1[02])-31)([Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?$"
    )]
    pub until: String,
    #[schema(max_length = 4000, pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]{0,4000}$")]
    pub note: Option<String>,
}

/// The body of `POST /v1/follow-ups/{id}/reassign`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReassignRequest {
    /// Who works it (1 to 100 characters, no control characters); null unassigns.
    #[schema(
        example = "kim.lee",
        pattern = r"^[^\s\x00-\x1f\x7f-\x9f]([^\x00-\x1f\x7f-\x9f]{0,98}[^\s\x00-\x1f\x7f-\x9f])?$"
    )]
    pub assignee: Option<String>,
    #[schema(max_length = 4000, pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]{0,4000}$")]
    pub note: Option<String>,
}

/// Applies a person's change to a follow-up, if its status still allows it (409 otherwise).
async fn change(
    state: &AppState,
    caller: &Caller,
    req: &HttpRequest,
    body: &[u8],
    id: &str,
    change: FollowUpChange,
    note: Option<String>,
) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::NotFound(format!("no follow-up {id}"));
    let id = Uuid::parse_str(id).map_err(|_| not_found())?;
    idempotency::run(&state.db.write, req, caller.key_id, body, async |txn| {
        let row = worklist::change(txn, id, &change, note.as_deref(), &caller.name).await?;
        note_follow_ups(txn, req, AuditAction::Update, std::slice::from_ref(&row)).await?;
        Ok((StatusCode::OK, FollowUp::from_row(&row)))
    })
    .await
}

/// Mark a follow-up done (scheduled or fired), with an optional note.
#[utoipa::path(
    tag = "follow-ups",
    request_body(content = Option<CompleteRequest>, description = "Optional"),
    params(
        ("id" = Uuid, Path, description = "The follow-up's id"),
    ),
    responses(
        (status = 200, body = FollowUp),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already completed or cancelled", body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[post("/follow-ups/{id}/complete")]
pub async fn complete_follow_up(
    state: web::Data<AppState>,
    caller: Allowed<WriteBilling>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    // The body is optional: none, or JSON `null` (as the document allows), is no note.
    let request: CompleteRequest = if body.trim_ascii().is_empty() || body.trim_ascii() == b"null" {
        CompleteRequest::default()
    } else {
        parse_body(&req, &body)?
    };
    let mut errors = Errors(Vec::new());
    let note = parse_note(request.note.as_deref(), &mut errors);
    if !errors.0.is_empty() {
        return Err(ApiError::validation(errors.0));
    }
    change(&state, &caller, &req, &body, &id, FollowUpChange::Complete, note).await
}

/// Move a follow-up to a later time; a fired one is scheduled again and fires anew (with a
/// new event id) when that time comes. Payer rule changes no longer move it.
#[utoipa::path(
    tag = "follow-ups",
    request_body = SnoozeRequest,
    params(
        ("id" = Uuid, Path, description = "The follow-up's id"),
    ),
    responses(
        (status = 200, body = FollowUp),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already completed or cancelled", body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[post("/follow-ups/{id}/snooze")]
pub async fn snooze_follow_up(
    state: web::Data<AppState>,
    caller: Allowed<WriteBilling>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request: SnoozeRequest = parse_body(&req, &body)?;
    let mut errors = Errors(Vec::new());
    let until = errors.take("until", rules::parse_until(&request.until, overturn_service::sql::now()));
    let note = parse_note(request.note.as_deref(), &mut errors);
    let Some(until) = until.filter(|_| errors.0.is_empty()) else {
        return Err(ApiError::validation(errors.0));
    };
    // Stored at the precision both databases keep.
    let until = chrono::SubsecRound::trunc_subsecs(until, 6);
    change(&state, &caller, &req, &body, &id, FollowUpChange::Snooze(until), note).await
}

/// Give a follow-up to someone else (or to nobody).
#[utoipa::path(
    tag = "follow-ups",
    request_body = ReassignRequest,
    params(
        ("id" = Uuid, Path, description = "The follow-up's id"),
    ),
    responses(
        (status = 200, body = FollowUp),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already completed or cancelled", body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[post("/follow-ups/{id}/reassign")]
pub async fn reassign_follow_up(
    state: web::Data<AppState>,
    caller: Allowed<WriteBilling>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request: ReassignRequest = parse_body(&req, &body)?;
    let mut errors = Errors(Vec::new());
    let assignee = parse_assignee(request.assignee.as_deref(), &mut errors);
    let note = parse_note(request.note.as_deref(), &mut errors);
    let Some(assignee) = assignee.filter(|_| errors.0.is_empty()) else {
        return Err(ApiError::validation(errors.0));
    };
    change(&state, &caller, &req, &body, &id, FollowUpChange::Reassign(assignee), note).await
}

/// The follow-ups of these claims as the claim views show them, soonest due first.
pub async fn of_claims(
    db: &impl sea_orm::ConnectionTrait,
    claims: &[Uuid],
) -> Result<BTreeMap<Uuid, Vec<FollowUp>>, sea_orm::DbErr> {
    let rows = worklist::of_claims(db, claims).await?;
    Ok(rows.into_iter().map(|(claim, rows)| (claim, rows.iter().map(FollowUp::from_row).collect())).collect())
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    #[test]
    fn filter_instants_take_dates_and_timestamps() {
        assert_eq!(
            rules::parse_instant("2026-12-01"),
            Ok(rules::start_of(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()))
        );
        assert_eq!(
            rules::parse_instant("2026-12-01T10:00:00+02:00").map(|t| t.to_rfc3339()),
            Ok("2026-12-01T08:00:00+00:00".to_owned())
        );
        assert!(rules::parse_instant("yesterday").is_err());
        assert!(rules::parse_instant("2026-12-1").is_err());
    }
}
