//! `Idempotency-Key` on POST: a retry of the same request returns the first response.
//!
//! The record is inserted as the first statement of the request's transaction and updated
//! with the response before the commit, so it exists exactly when the rows it describes do.
//! A concurrent duplicate blocks on that insert (PostgreSQL waits on the unique key; SQLite
//! has a single writer) until the first commits, then replays its response.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub use overturn_service::idempotency::IdempotencyRecord;
use overturn_service::idempotency::{self, Claimed};

use crate::error::ApiError;

pub const HEADER: &str = "Idempotency-Key";
pub const REPLAYED_HEADER: &str = "Idempotent-Replayed";
const MAX_KEY_LEN: usize = 255;

pub enum Begin {
    /// First time: go ahead, then call `finish` in the same transaction.
    Fresh(Option<IdempotencyRecord>),
    /// Seen before with the same request: answer with this and change nothing.
    Replay(HttpResponse),
}

/// Reads and checks the header; `None` when the client sent none.
pub fn key_from(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(HEADER) else { return Ok(None) };
    let text = value
        .to_str()
        .ok()
        .filter(|t| !t.is_empty() && t.len() <= MAX_KEY_LEN && t.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "{HEADER} must be 1 to {MAX_KEY_LEN} printable ASCII characters without spaces"
            ))
        })?;
    Ok(Some(text.to_owned()))
}

/// Hash of what makes two requests "the same": method, path and the body's JSON value
/// (so that key order and white space do not matter), or the raw bytes when it is not JSON.
pub fn request_hash(req: &HttpRequest, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(req.method().as_str());
    hasher.update(b"\n");
    hasher.update(req.path());
    hasher.update(b"\n");
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(value) => hasher.update(value.to_string()),
        Err(_) => hasher.update(body),
    }
    overturn_domain::hex::encode(&hasher.finalize())
}

pub async fn begin(
    txn: &impl sea_orm::ConnectionTrait,
    api_key_id: Uuid,
    key: Option<String>,
    request_hash: String,
) -> Result<Begin, ApiError> {
    let record = key.map(|key| IdempotencyRecord { api_key_id, key, request_hash });
    match idempotency::claim(txn, record).await? {
        Claimed::Fresh(record) => Ok(Begin::Fresh(record)),
        Claimed::Replay { status, body } => Ok(Begin::Replay(replay(status, body))),
        Claimed::Mismatch => Err(ApiError::IdempotencyMismatch),
    }
}

/// The answer to a request whose key was used before with the same request.
pub fn replay(status: u16, body: String) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::OK))
        .content_type("application/json")
        .insert_header((REPLAYED_HEADER, "true"))
        .body(body)
}

/// For a request that failed before touching the database: if its key was used before, the
/// error the client must see is the key's (422 for another body), not the body's.
pub async fn check_unusable(
    db: &impl sea_orm::ConnectionTrait,
    record: Option<&IdempotencyRecord>,
) -> Result<Option<ApiError>, ApiError> {
    let Some(record) = record else { return Ok(None) };
    Ok(idempotency::used_for_another(db, record).await?.then_some(ApiError::IdempotencyMismatch))
}

/// Records the response; call inside the same transaction, right before the commit.
pub async fn finish(
    txn: &impl sea_orm::ConnectionTrait,
    request: Option<IdempotencyRecord>,
    status: StatusCode,
    body: &str,
) -> Result<(), ApiError> {
    let Some(request) = request else { return Ok(()) };
    idempotency::finish(txn, request, status.as_u16(), body).await?;
    Ok(())
}

/// Opens the request's transaction with its idempotency record inserted first; or, for a key
/// seen before with the same request, the stored answer (`Err`, to send as it is).
async fn start(
    db: &sea_orm::DatabaseConnection,
    req: &HttpRequest,
    api_key_id: Uuid,
    body: &[u8],
) -> Result<Result<(sea_orm::DatabaseTransaction, Option<IdempotencyRecord>), HttpResponse>, ApiError> {
    let key = key_from(req)?;
    let hash = request_hash(req, body);
    let txn = overturn_service::db::begin_write(db).await?;
    Ok(match begin(&txn, api_key_id, key, hash).await? {
        Begin::Replay(response) => Err(response),
        Begin::Fresh(record) => Ok((txn, record)),
    })
}

/// The request's PHI access event, if its handler noted one, appended last in its transaction.
async fn audit_in(txn: &sea_orm::DatabaseTransaction, req: &HttpRequest, status: StatusCode) -> Result<(), ApiError> {
    if let Some(event) = crate::audit::for_transaction(req, status.as_u16()) {
        overturn_service::audit::write_in(txn, &[event]).await?;
    }
    Ok(())
}

/// Runs `work` as an idempotent POST: one transaction holding the idempotency record and
/// every row `work` writes. `work` returns the status and the JSON body of a success; any
/// error rolls everything back, so a retry after a failure runs afresh.
pub async fn run<F, T>(
    db: &sea_orm::DatabaseConnection,
    req: &HttpRequest,
    api_key_id: Uuid,
    body: &[u8],
    work: F,
) -> Result<HttpResponse, ApiError>
where
    F: AsyncFnOnce(&sea_orm::DatabaseTransaction) -> Result<(StatusCode, T), ApiError>,
    T: serde::Serialize,
{
    let (txn, record) = match start(db, req, api_key_id, body).await? {
        Ok(started) => started,
        Err(replay) => return Ok(replay),
    };
    let (status, value) = work(&txn).await?;
    // Straight to text: a remittance's answer can list a hundred thousand claims.
    let json = serde_json::to_string(&value).map_err(|e| ApiError::Internal(e.into()))?;
    finish(&txn, record, status, &json).await?;
    audit_in(&txn, req, status).await?;
    txn.commit().await?;
    Ok(HttpResponse::build(status).content_type("application/json").body(json))
}

/// Like `run`, but `redact` removes from the stored copy what must never be stored (a
/// secret shown once); a replay then answers with the redacted body.
pub async fn run_redacted<F, T>(
    db: &sea_orm::DatabaseConnection,
    req: &HttpRequest,
    api_key_id: Uuid,
    body: &[u8],
    redact: impl FnOnce(&mut serde_json::Value),
    work: F,
) -> Result<HttpResponse, ApiError>
where
    F: AsyncFnOnce(&sea_orm::DatabaseTransaction) -> Result<(StatusCode, T), ApiError>,
    T: serde::Serialize,
{
    let (txn, record) = match start(db, req, api_key_id, body).await? {
        Ok(started) => started,
        Err(replay) => return Ok(replay),
    };
    let (status, value) = work(&txn).await?;
    let mut value = serde_json::to_value(&value).map_err(|e| ApiError::Internal(e.into()))?;
    let json = value.to_string();
    if record.is_some() {
        redact(&mut value);
        finish(&txn, record, status, &value.to_string()).await?;
    }
    audit_in(&txn, req, status).await?;
    txn.commit().await?;
    Ok(HttpResponse::build(status).content_type("application/json").body(json))
}
