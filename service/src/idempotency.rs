//! `Idempotency-Key` records: which key, used by which API key, for what request, and the
//! answer it got. Stored in the transaction of the rows the answer describes.

use overturn_entity::idempotency_key;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ActiveValue, ConnectionTrait, DbErr, EntityTrait, TryInsertResult};
use uuid::Uuid;

/// The idempotency identity of a request: which key, used by which API key, for what request.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// What the record says of a request about to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// First use of the key (or no key): go ahead, then `finish` in the same transaction.
    Fresh(Option<IdempotencyRecord>),
    /// Seen before with the same request: its stored answer.
    Replay { status: u16, body: String },
    /// Seen before with another request.
    Mismatch,
}

/// Inserts the request's record as the first statement of its transaction, or reads the
/// answer a first use of the key stored. A concurrent first use blocks the insert until it
/// commits (PostgreSQL waits on the unique key; SQLite has a single writer).
pub async fn claim(txn: &impl ConnectionTrait, record: Option<IdempotencyRecord>) -> Result<Claimed, DbErr> {
    let Some(record) = record else { return Ok(Claimed::Fresh(None)) };
    // Status 0 marks a record whose answer is still being made; it is never visible to
    // another transaction, because `finish` fills it in before the commit.
    let placeholder = idempotency_key::ActiveModel::from(record.stored(0, String::new(), crate::sql::now()));
    let inserted = idempotency_key::Entity::insert(placeholder)
        .on_conflict(already_used())
        .try_insert()
        .exec_without_returning(txn)
        .await?;
    if matches!(inserted, TryInsertResult::Inserted(n) if n > 0) {
        return Ok(Claimed::Fresh(Some(record)));
    }
    let stored = idempotency_key::Entity::find_by_id((record.api_key_id, record.key.clone()))
        .one(txn)
        .await?
        .ok_or_else(|| DbErr::Custom("idempotency record vanished after a conflict".into()))?;
    if stored.request_hash != record.request_hash {
        return Ok(Claimed::Mismatch);
    }
    let status = u16::try_from(stored.response_status)
        .ok()
        .filter(|s| *s > 0)
        .ok_or_else(|| DbErr::Custom("idempotency record without a response".into()))?;
    Ok(Claimed::Replay { status, body: stored.response_body })
}

/// Whether the key was used before with another request (for a request refused before it
/// reached the database: the key's error is the one the client must see).
pub async fn used_for_another(db: &impl ConnectionTrait, record: &IdempotencyRecord) -> Result<bool, DbErr> {
    Ok(matches!(earlier_use(db, record).await?, Some(Claimed::Mismatch)))
}

/// What a first use of the key answered, read without claiming it: `Replay` for the same
/// request, `Mismatch` for another, `None` when unused (or still being answered). For a
/// request refused by a rule whose data can change between two sends (the scrubber's code
/// sets): a repeat of a request that was once stored gets that first answer, not a refusal.
pub async fn earlier_use(db: &impl ConnectionTrait, record: &IdempotencyRecord) -> Result<Option<Claimed>, DbErr> {
    let Some(stored) = idempotency_key::Entity::find_by_id((record.api_key_id, record.key.clone())).one(db).await?
    else {
        return Ok(None);
    };
    if stored.request_hash != record.request_hash {
        return Ok(Some(Claimed::Mismatch));
    }
    Ok(u16::try_from(stored.response_status)
        .ok()
        .filter(|s| *s > 0)
        .map(|status| Claimed::Replay { status, body: stored.response_body }))
}

/// Records the answer; call inside the request's transaction, right before the commit.
pub async fn finish(
    txn: &impl ConnectionTrait,
    record: IdempotencyRecord,
    status: u16,
    body: &str,
) -> Result<(), DbErr> {
    idempotency_key::ActiveModel {
        api_key_id: ActiveValue::Unchanged(record.api_key_id),
        key: ActiveValue::Unchanged(record.key),
        request_hash: ActiveValue::Unchanged(record.request_hash),
        response_status: ActiveValue::Set(status as i16),
        response_body: ActiveValue::Set(body.to_owned()),
        created_at: ActiveValue::NotSet,
    }
    .update(txn)
    .await?;
    Ok(())
}
