//! The delivery log: every event sent to a contact with each attempt, a manual retry, and
//! a test event.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use overturn_domain::FieldError;
use overturn_domain::webhooks::DeliveryStatus;
use overturn_entity::webhook_delivery;
use overturn_service::contacts::{self, ContactScope};
use overturn_service::events::webhook_id;
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{changeable, find};
use crate::auth::{Allowed, ReadBilling, WriteBilling};
use crate::error::{ApiError, Problem};
use crate::idempotency;
use crate::pagination::Page;
use crate::state::AppState;

/// One HTTP request of a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryAttempt {
    /// 1 for the first.
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i32,
    /// The receiver's HTTP status; null when no response came.
    pub status_code: Option<i32>,
    /// The first kilobyte of the receiver's answer.
    pub response_excerpt: Option<String>,
    /// Why no response came: timeout, connection refused, an address refused by the SSRF guard.
    pub error: Option<String>,
}

/// One event on its way to one contact.
#[derive(Debug, Serialize, ToSchema)]
pub struct Delivery {
    pub id: Uuid,
    /// The `webhook-id` header: the same on every attempt, for receivers to deduplicate.
    #[schema(example = "msg_0193a1c2d3e47f00a1b2c3d4e5f60718")]
    pub webhook_id: String,
    pub event_id: Uuid,
    #[schema(example = "patient.balance_due")]
    pub event_type: String,
    pub contact_id: Uuid,
    /// `pending` (an attempt is due at `next_attempt_at`), `succeeded`, `failed` (every
    /// attempt failed, or the receiver answered 410) or `cancelled` (the contact was disabled
    /// or deleted).
    #[schema(example = "succeeded")]
    pub status: String,
    pub attempt_count: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Every attempt, first to last.
    pub attempts: Vec<DeliveryAttempt>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    pub items: Vec<Delivery>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryListQuery {
    /// `pending`, `succeeded`, `failed` or `cancelled`.
    #[param(pattern = "^(pending|succeeded|failed|cancelled)?$")]
    pub status: Option<String>,
    /// Page size, 1 to 500 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

/// Deliveries with their attempts, loaded in one query.
async fn with_attempts<C: ConnectionTrait>(
    db: &C,
    rows: Vec<webhook_delivery::Model>,
) -> Result<Vec<Delivery>, ApiError> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut attempts = contacts::attempts_of(db, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| Delivery {
            webhook_id: webhook_id(r.event_id),
            attempts: attempts
                .remove(&r.id)
                .unwrap_or_default()
                .into_iter()
                .map(|a| DeliveryAttempt {
                    attempt: a.attempt,
                    started_at: a.started_at,
                    duration_ms: a.duration_ms,
                    status_code: a.status_code,
                    response_excerpt: a.response_excerpt,
                    error: a.error,
                })
                .collect(),
            id: r.id,
            event_id: r.event_id,
            event_type: r.event_type,
            contact_id: r.contact_id,
            status: r.status.as_str().to_owned(),
            attempt_count: r.attempts,
            next_attempt_at: r.next_attempt_at,
            last_status_code: r.last_status_code,
            last_error: r.last_error,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
        .collect())
}

/// A contact's deliveries, newest first, each with its attempts.
#[utoipa::path(
    tag = "contacts",
    params(("id" = Uuid, Path), DeliveryListQuery),
    responses(
        (status = 200, body = DeliveryList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[get("/contacts/{id}/deliveries")]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    _caller: Allowed<ReadBilling>,
    id: web::Path<String>,
    query: web::Query<DeliveryListQuery>,
) -> Result<web::Json<DeliveryList>, ApiError> {
    list(&state, &ContactScope::All, &id, &query).await
}

/// A page of the deliveries of a contact in `scope`.
pub(crate) async fn list(
    state: &AppState,
    scope: &ContactScope,
    id: &str,
    query: &DeliveryListQuery,
) -> Result<web::Json<DeliveryList>, ApiError> {
    let page = Page::parse(query.limit.as_deref(), query.cursor.as_deref())?;
    let contact = find(&state.db.read, scope, id).await?;
    let status = match query.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => Some(DeliveryStatus::parse(text).ok_or_else(|| {
            ApiError::validation(vec![FieldError::new("status", "must be pending, succeeded, failed or cancelled")])
        })?),
    };
    let rows = contacts::deliveries_of(&state.db.read, contact.id, status, page.after, page.fetch_limit()).await?;
    let (rows, next_cursor) = page.finish(rows, |r| r.id);
    Ok(web::Json(DeliveryList { items: with_attempts(&state.db.read, rows).await?, next_cursor }))
}

/// The delivery `id`, if its contact is live.
async fn visible(db: &impl ConnectionTrait, id: &str) -> Result<webhook_delivery::Model, ApiError> {
    let missing = || ApiError::NotFound(format!("no delivery {id}"));
    let uuid = Uuid::parse_str(id).map_err(|_| missing())?;
    contacts::find_delivery(db, &ContactScope::All, uuid).await?.ok_or_else(missing)
}

/// One delivery with its attempts.
#[utoipa::path(
    tag = "contacts",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = Delivery),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[get("/deliveries/{id}")]
pub async fn get_delivery(
    state: web::Data<AppState>,
    _caller: Allowed<ReadBilling>,
    id: web::Path<String>,
) -> Result<web::Json<Delivery>, ApiError> {
    let row = visible(&state.db.read, &id).await?;
    Ok(web::Json(with_attempts(&state.db.read, vec![row]).await?.remove(0)))
}

/// Send a delivery again now, with the same `webhook-id`: after a receiver was fixed, or to
/// replay one it lost. A delivery still pending is already on its way (409).
#[utoipa::path(
    tag = "contacts",
    params(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe", max_length = 255, pattern = "^[!-~]+$")),
    responses(
        (status = 202, body = Delivery),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Still pending, or the contact is disabled", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[post("/deliveries/{id}/retry")]
pub async fn retry_delivery(
    state: web::Data<AppState>,
    caller: Allowed<WriteBilling>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let response = idempotency::run(&state.db.write, &req, caller.key_id, &[], async |txn| {
        let missing = || ApiError::NotFound(format!("no delivery {}", id.as_str()));
        let uuid = Uuid::parse_str(&id).map_err(|_| missing())?;
        let row = contacts::retry_delivery(txn, &ContactScope::All, uuid).await?;
        Ok((StatusCode::ACCEPTED, with_attempts(txn, vec![row]).await?.remove(0)))
    })
    .await?;
    state.relay_wake.notify_one();
    Ok(response)
}

/// Send a `ping` event to this contact now, to check its receiver and signature
/// verification; follow it in the delivery log.
#[utoipa::path(
    tag = "contacts",
    params(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe", max_length = 255, pattern = "^[!-~]+$")),
    responses(
        (status = 202, body = Delivery),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The contact is disabled", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[post("/contacts/{id}/test")]
pub async fn test_contact(
    state: web::Data<AppState>,
    caller: Allowed<WriteBilling>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    test(&state, &req, &ContactScope::All, &id, caller.key_id).await
}

/// Sends a `ping` to a contact the scope lets the caller change.
pub(crate) async fn test(
    state: &AppState,
    req: &HttpRequest,
    scope: &ContactScope,
    id: &str,
    key_id: Uuid,
) -> Result<HttpResponse, ApiError> {
    super::note_contact(req, overturn_domain::audit::AuditAction::Update, scope, id);
    let row = changeable(&state.db.read, scope, id).await?;
    super::note_row(req, overturn_domain::audit::AuditAction::Update, &row);
    let response = idempotency::run(&state.db.write, req, key_id, &[], async |txn| {
        let uuid = super::contact_id(id)?;
        let row = contacts::send_test(txn, scope, uuid).await?;
        Ok((StatusCode::ACCEPTED, with_attempts(txn, vec![row]).await?.remove(0)))
    })
    .await?;
    state.relay_wake.notify_one();
    Ok(response)
}
