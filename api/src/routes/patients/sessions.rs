//! `/v1/patient-sessions`: a short-lived read-only token for one patient, which a portal
//! hands to the patient's browser so that its own key never leaves its server.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, post, web};
use chrono::{DateTime, Duration, Utc};
use overturn_domain::audit::AuditAction;
use overturn_domain::{FieldError, MemberId, Role};
use overturn_service::patient_sessions::{self, DEFAULT_TTL, MAX_TTL, MIN_TTL};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::idempotency;
use crate::json::{Errors, parse_body};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePatientSessionRequest {
    /// The patient the session reads for.
    #[schema(example = "MBR-1001")]
    pub member_id: String,
    /// 60 to 3,600 seconds (default 900).
    #[schema(minimum = 60, maximum = 3600, example = 900)]
    pub ttl_seconds: Option<i64>,
}

/// A new session. The token is shown this once; only its hash is stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct PatientSession {
    pub id: Uuid,
    /// `Authorization: Bearer <token>` on the patient routes of `member_id`.
    #[schema(example = "ops_yQ2b7Xr0Jm6VQyH7y3mO2d0vWmX0Gf4w9p1qQ9eRkLc")]
    pub token: Option<String>,
    pub member_id: String,
    pub expires_at: DateTime<Utc>,
}

/// Start a patient session: a read-only token for one patient's routes, for the patient's
/// browser (allow the portal's origin with `OVERTURN_CORS_ORIGINS`).
#[utoipa::path(
    tag = "patients",
    request_body = CreatePatientSessionRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe", max_length = 255, pattern = "^[!-~]+$")),
    responses(
        (status = 201, body = PatientSession),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A patient session cannot start another", body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The Idempotency-Key was used with another body", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[post("/patient-sessions")]
pub async fn create_patient_session(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    if caller.session.is_some() {
        return Err(ApiError::Forbidden("a patient session cannot start another".into()));
    }
    let request: CreatePatientSessionRequest = parse_body(&req, &body)?;
    let mut errors = Errors(Vec::new());
    let member_id = errors.take("member_id", MemberId::parse(&request.member_id).map_err(|e| e.to_string()));
    let ttl = match request.ttl_seconds {
        None => Some(DEFAULT_TTL),
        Some(s) if (MIN_TTL.num_seconds()..=MAX_TTL.num_seconds()).contains(&s) => Some(Duration::seconds(s)),
        Some(_) => {
            errors.0.push(FieldError::new("ttl_seconds", "must be 60 to 3600"));
            None
        }
    };
    let (Some(member_id), Some(ttl)) = (member_id, ttl) else { return Err(ApiError::validation(errors.0)) };
    let member_id = member_id.as_str().to_owned();
    let redact = |stored: &mut serde_json::Value| stored["token"] = serde_json::Value::Null;
    idempotency::run_redacted(&state.db.write, &req, caller.key_id, &body, redact, async |txn| {
        let new = patient_sessions::create(txn, &member_id, ttl, caller.key_id).await?;
        crate::audit::note(&req, AuditAction::Create, "patient_session", [new.row.id.to_string()], [member_id.clone()]);
        Ok((
            StatusCode::CREATED,
            PatientSession {
                id: new.row.id,
                token: Some(new.token),
                member_id: new.row.member_id,
                expires_at: new.row.expires_at,
            },
        ))
    })
    .await
}

/// End a patient session now. A portal key ends the sessions it started; billing and admin
/// keys end any.
#[utoipa::path(
    tag = "patients",
    params(("id" = Uuid, Path)),
    responses(
        (status = 204, description = "Ended (or had already ended)"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[delete("/patient-sessions/{id}")]
pub async fn end_patient_session(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if caller.session.is_some() {
        return Err(ApiError::Forbidden("a patient session cannot end sessions; its portal ends it".into()));
    }
    let missing = || ApiError::NotFound(format!("no patient session {:?}", id.as_str()));
    let uuid = Uuid::parse_str(&id).map_err(|_| missing())?;
    let row = patient_sessions::find(&state.db.read, uuid).await?.ok_or_else(missing)?;
    // Another portal's sessions are as absent to a portal key as another patient's data.
    if caller.role == Role::Portal && row.created_by_key_id != caller.key_id {
        return Err(missing());
    }
    crate::audit::note(&req, AuditAction::Delete, "patient_session", [row.id.to_string()], [row.member_id.clone()]);
    let event = crate::audit::for_transaction(&req, 204);
    patient_sessions::end(&state.db.write, row.id, event.as_ref()).await?;
    Ok(HttpResponse::NoContent().finish())
}
