//! `/v1/api-keys`: admins issue, list and revoke keys.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use overturn_domain::{ApiKeySecret, FieldError, Role};
use overturn_entity::api_key;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use overturn_service::keys::{self, Revoked, insert_key};

use crate::auth::{Allowed, ManageKeys};
use crate::error::{ApiError, Problem};
use crate::idempotency;
use crate::json::parse_body;
use crate::pagination::Page;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    /// What the key is for ("clearinghouse sync"); 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
    /// `admin`, `billing` or `portal`.
    #[schema(example = "billing", pattern = "^(admin|billing|portal)$")]
    pub role: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKey {
    pub id: Uuid,
    pub name: String,
    pub role: String,
    /// The first characters of the key, to tell keys apart.
    pub display_prefix: String,
    pub created_at: DateTime<Utc>,
    /// The key that created this one (null for keys made by the CLI or the bootstrap variable).
    pub created_by: Option<Uuid>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub api_key: ApiKey,
    /// The secret. Shown only in this response; Overturn keeps only its hash. Null when
    /// this is a replay of an `Idempotency-Key` request (the secret is not stored anywhere).
    pub key: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyList {
    pub items: Vec<ApiKey>,
    pub next_cursor: Option<String>,
}

impl From<api_key::Model> for ApiKey {
    fn from(m: api_key::Model) -> Self {
        Self {
            id: m.id,
            name: m.name,
            role: m.role,
            display_prefix: m.display_prefix,
            created_at: m.created_at,
            created_by: m.created_by,
            revoked_at: m.revoked_at,
        }
    }
}

fn parse_request(request: &CreateApiKeyRequest) -> Result<(String, Role), ApiError> {
    let mut errors = Vec::new();
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push(FieldError::new("name", "must be 1 to 100 characters"));
    } else if name.chars().any(char::is_control) {
        // PostgreSQL refuses NUL in text; no name needs control characters.
        errors.push(FieldError::new("name", "must not contain control characters"));
    }
    let role = Role::parse(&request.role);
    if role.is_none() {
        errors.push(FieldError::new("role", "must be admin, billing or portal"));
    }
    match role {
        Some(role) if errors.is_empty() => Ok((name.to_owned(), role)),
        _ => Err(ApiError::validation(errors)),
    }
}

/// Create an API key (admin).
#[utoipa::path(
    tag = "api-keys",
    request_body = CreateApiKeyRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat a POST safely", pattern = "^[!-~]{1,255}$")),
    responses(
        (status = 201, body = CreatedApiKey),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[post("/api-keys")]
pub async fn create_api_key(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Allowed<ManageKeys>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    // The secret is shown once and stored nowhere, not even in the idempotency record: a
    // replay answers with the key's details and `key: null`.
    let redact_secret = |stored: &mut serde_json::Value| stored["key"] = serde_json::Value::Null;
    idempotency::run_redacted(&state.db.write, &req, caller.key_id, &body, redact_secret, async |txn| {
        let request: CreateApiKeyRequest = parse_body(&req, &body)?;
        let (name, role) = parse_request(&request)?;
        let secret = ApiKeySecret::generate();
        let row = insert_key(txn, &name, role, &secret, Some(caller.key_id)).await?;
        tracing::info!(key_id = %row.id, role = role.as_str(), "API key created");
        Ok((StatusCode::CREATED, CreatedApiKey { api_key: row.into(), key: Some(secret.expose().to_owned()) }))
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApiKeyListQuery {
    /// Page size, 1 to 500 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

/// List API keys, newest first, revoked ones included (admin).
#[utoipa::path(
    tag = "api-keys",
    params(ApiKeyListQuery),
    responses(
        (status = 200, body = ApiKeyList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[get("/api-keys")]
pub async fn list_api_keys(
    state: web::Data<AppState>,
    _caller: Allowed<ManageKeys>,
    query: web::Query<ApiKeyListQuery>,
) -> Result<web::Json<ApiKeyList>, ApiError> {
    let page = Page::parse(query.limit.as_deref(), query.cursor.as_deref())?;
    let rows = keys::list(&state.db.read, page.after, page.fetch_limit()).await?;
    let (rows, next_cursor) = page.finish(rows, |r| r.id);
    Ok(web::Json(ApiKeyList { items: rows.into_iter().map(ApiKey::from).collect(), next_cursor }))
}

/// Revoke an API key (admin). Effective for the very next request; revoking twice is fine.
#[utoipa::path(
    tag = "api-keys",
    params(("id" = Uuid, Path)),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
#[delete("/api-keys/{id}")]
pub async fn revoke_api_key(
    state: web::Data<AppState>,
    caller: Allowed<ManageKeys>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::NotFound(format!("no API key with id {:?}", id.as_str()));
    let key_id = Uuid::parse_str(&id).map_err(|_| not_found())?;
    match keys::revoke(&state.db.write, key_id).await? {
        Revoked::NoSuchKey => return Err(not_found()),
        // Already revoked is success: the key does not work.
        Revoked::Already => {}
        Revoked::Now => tracing::info!(key_id = %key_id, by = %caller.key_id, "API key revoked"),
    }
    Ok(HttpResponse::NoContent().finish())
}
