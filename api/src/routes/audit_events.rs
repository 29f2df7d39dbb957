//! `GET /v1/audit-events`: the PHI access log, for admins.

use actix_web::{HttpRequest, get, web};
use chrono::{DateTime, Utc};
use overturn_domain::audit::AuditAction;
use overturn_domain::followups::parse_instant;
use overturn_domain::hex;
use overturn_domain::{FieldError, MemberId};
use overturn_service::audit::{self, AuditFilter, Listed};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::{Allowed, ManageKeys};
use crate::error::{ApiError, Problem};
use crate::json::Errors;
use crate::pagination::Page;
use crate::routes::denials::uuid_filter;
use crate::state::AppState;

/// One request's access to patient data.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventJson {
    pub id: Uuid,
    /// Position in the hash chain, from 1.
    pub seq: i64,
    pub at: DateTime<Utc>,
    /// The API key (for a patient session, the key that started it).
    pub key_id: Option<Uuid>,
    /// `admin`, `billing`, `portal`, or `session` for a patient session.
    #[schema(example = "portal")]
    pub role: String,
    pub session_id: Option<Uuid>,
    /// `read`, `create`, `update`, `delete` or `export`.
    #[schema(example = "read")]
    pub action: String,
    /// The route pattern, never the path with its ids.
    #[schema(example = "/v1/patients/{member_id}/claims")]
    pub route: String,
    /// The HTTP status the caller got.
    pub status: i32,
    #[schema(example = "claim")]
    pub resource_type: String,
    /// The first 100.
    pub resource_ids: Vec<String>,
    pub resource_count: i64,
    /// The first 100.
    pub member_ids: Vec<String>,
    pub member_count: i64,
    pub request_id: String,
    pub remote_addr: Option<String>,
    pub prev_hash: String,
    /// SHA-256 over `prev_hash` and the event's canonical JSON (see the README).
    pub hash: String,
}

impl From<Listed> for AuditEventJson {
    fn from(Listed { row, prev_hash }: Listed) -> Self {
        let member_ids = audit::member_ids_of(&row).unwrap_or_default();
        Self {
            id: row.id,
            seq: row.seq,
            at: DateTime::from_timestamp_micros(row.at).unwrap_or_default(),
            key_id: row.key_id,
            role: row.role,
            session_id: row.session_id,
            action: row.action,
            route: row.route,
            status: row.status,
            resource_type: row.resource_type,
            resource_ids: serde_json::from_str(&row.resource_ids).unwrap_or_default(),
            resource_count: row.resource_count,
            member_ids,
            member_count: row.member_count,
            request_id: row.request_id,
            remote_addr: row.remote_addr,
            prev_hash,
            hash: hex::encode(&row.hash),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventList {
    pub items: Vec<AuditEventJson>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditEventQuery {
    /// Events that list this member id.
    pub member_id: Option<String>,
    /// Events of this API key (and of the patient sessions it started).
    #[param(pattern = r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$")]
    pub key_id: Option<String>,
    /// From this date (00:00 UTC) or RFC 3339 timestamp, inclusive.
    #[param(
        example = "2026-12-01",
        pattern = r"^([0-9]{4}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-9])|(0[13-9]|1[0-2])-30|(0[13578]|1[02])-31)([Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?)?$"
    )]
    pub from: Option<String>,
    /// Up to this date, inclusive of the whole day, or before this RFC 3339 timestamp.
    #[param(
        example = "2026-12-31",
        pattern = r"^([0-9]{4}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-9])|(0[13-9]|1[0-2])-30|(0[13578]|1[02])-31)([Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?)?$"
    )]
    pub to: Option<String>,
    /// Page size, 1 to 500 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

/// The PHI access log, newest first (admin only).
#[utoipa::path(
    tag = "audit",
    params(AuditEventQuery),
    responses(
        (status = 200, body = AuditEventList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[get("/audit-events")]
pub async fn list_audit_events(
    state: web::Data<AppState>,
    _caller: Allowed<ManageKeys>,
    req: HttpRequest,
    query: web::Query<AuditEventQuery>,
) -> Result<web::Json<AuditEventList>, ApiError> {
    let mut errors = Errors(Vec::new());
    let page = Page::parse(query.limit.as_deref(), query.cursor.as_deref());
    let member_id = query
        .member_id
        .as_deref()
        .filter(|m| !m.is_empty())
        .and_then(|m| errors.take("member_id", MemberId::parse(m)).map(|m| m.as_str().to_owned()));
    let key_id = uuid_filter("key_id", query.key_id.as_deref(), &mut errors);
    let instant = |field: &'static str, text: &Option<String>, errors: &mut Errors| {
        text.as_deref().filter(|t| !t.is_empty()).and_then(|t| errors.take(field, parse_instant(t)))
    };
    let from = instant("from", &query.from, &mut errors);
    // A bare date means the whole of that day.
    let to = instant("to", &query.to, &mut errors).map(|t| {
        let date_only = query.to.as_deref().is_some_and(|t| t.trim().len() == 10);
        if date_only { t + chrono::Duration::days(1) } else { t }
    });
    let page = match page {
        Ok(page) => page,
        Err(ApiError::Validation { errors: more, .. }) => {
            errors.0.extend(more);
            Page { limit: 0, after: None }
        }
        Err(other) => return Err(other),
    };
    if let (Some(from), Some(to)) = (from, to)
        && from >= to
    {
        errors.0.push(FieldError::new("to", "must be after from"));
    }
    if !errors.0.is_empty() {
        return Err(ApiError::validation(errors.0));
    }
    let filter = AuditFilter { member_id: member_id.clone(), key_id, from, to };
    // The page cursor carries a position in the chain (opaque to clients like every cursor).
    let before = page.after.map(|c| c.as_u64_pair().1 as i64);
    let rows = audit::list(&state.db.read, &filter, before, page.fetch_limit()).await?;
    let (rows, next_cursor) = page.finish(rows, |r| Uuid::from_u64_pair(0, r.row.seq as u64));
    // Reading the log reads which patients were seen: that is recorded too.
    crate::audit::note(&req, AuditAction::Read, "audit_event", rows.iter().map(|r| r.row.id.to_string()), member_id);
    Ok(web::Json(AuditEventList { items: rows.into_iter().map(AuditEventJson::from).collect(), next_cursor }))
}
