//! `Idempotency-Key` records: which key, used by which API key, for what request, and the
//! answer it got. Stored in the transaction of the rows the answer describes.

use overturn_entity::idempotency_key;
use sea_orm::sea_query::OnConflict;
use uuid::Uuid;

/// The idempotency identity of a request: which key, used by which API key, for what request.
#[derive(Debug, Clone)]
pub struct IdempotencyRecord {
    pub api_key_id: Uuid,
    pub key: String,
    pub request_hash: String,
}

impl IdempotencyRecord {
    /// The row that remembers this request's answer.
    pub fn stored(&self, status: u16, body: String, now: chrono::DateTime<chrono::Utc>) -> idempotency_key::Model {
        idempotency_key::Model {
            api_key_id: self.api_key_id,
            key: self.key.clone(),
            request_hash: self.request_hash.clone(),
            response_status: status as i16,
            response_body: body,
            created_at: now,
        }
    }
}

/// `ON CONFLICT DO NOTHING` on the record's key: a conflict means the key was used before.
pub fn already_used() -> OnConflict {
    OnConflict::columns([idempotency_key::Column::ApiKeyId, idempotency_key::Column::Key]).do_nothing().to_owned()
}
