//! Patient sessions: short-lived, read-only tokens bound to one member id, which a portal
//! hands to the patient's browser instead of its own key. Only a token's hash is stored; a
//! session ends when it expires, when it is ended, or when the key that made it is revoked.

use chrono::{DateTime, Duration, Utc};
use overturn_domain::api_key::{ApiKeySecret, hash_presented_key};
use overturn_entity::{api_key, patient_session};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::sql::now;

/// Prefix of every session token, so people and secret scanners tell one from an API key.
pub const TOKEN_PREFIX: &str = "ops_";
pub const DEFAULT_TTL: Duration = Duration::minutes(15);
pub const MAX_TTL: Duration = Duration::hours(1);
pub const MIN_TTL: Duration = Duration::seconds(60);
/// How long an expired or ended session's row is kept (for the audit trail's references).
pub const KEEP_ENDED: Duration = Duration::days(30);

/// A new session's token, shown once.
pub struct NewSession {
    pub row: patient_session::Model,
    pub token: String,
}

/// A new random token: 256 bits, like an API key, with the session prefix.
fn generate_token() -> String {
    let key = ApiKeySecret::generate();
    let random = key.expose().trim_start_matches(overturn_domain::api_key::KEY_PREFIX);
    format!("{TOKEN_PREFIX}{random}")
}

pub async fn create(
    db: &impl ConnectionTrait,
    member_id: &str,
    ttl: Duration,
    created_by_key_id: Uuid,
) -> Result<NewSession, DbErr> {
    let token = generate_token();
    let now = now();
    let row = patient_session::Model {
        id: Uuid::now_v7(),
        token_hash: hash_presented_key(&token),
        member_id: member_id.to_owned(),
        created_by_key_id,
        created_at: now,
        expires_at: now + ttl,
        ended_at: None,
    };
    patient_session::Entity::insert(patient_session::ActiveModel::from(row.clone())).exec_without_returning(db).await?;
    tracing::info!(session = %row.id, key_id = %created_by_key_id, "patient session started");
    Ok(NewSession { row, token })
}

/// The live session a presented token belongs to, with the key that made it: `None` for an
/// unknown, expired or ended token, or one whose key was revoked.
pub async fn find_live(
    db: &impl ConnectionTrait,
    presented: &str,
    at: DateTime<Utc>,
) -> Result<Option<(patient_session::Model, api_key::Model)>, DbErr> {
    let Some(session) = patient_session::Entity::find()
        .filter(patient_session::Column::TokenHash.eq(hash_presented_key(presented)))
        .filter(patient_session::Column::EndedAt.is_null())
        .filter(patient_session::Column::ExpiresAt.gt(at))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let key = api_key::Entity::find_by_id(session.created_by_key_id)
        .filter(api_key::Column::RevokedAt.is_null())
        .one(db)
        .await?;
    Ok(key.map(|key| (session, key)))
}

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<patient_session::Model>, DbErr> {
    patient_session::Entity::find_by_id(id).one(db).await
}

/// Ends a session now, writing `audit` with it; false when it had already ended or expired.
pub async fn end(
    db: &DatabaseConnection,
    id: Uuid,
    audit: Option<&overturn_domain::audit::AuditEvent>,
) -> Result<bool, DbErr> {
    let now = now();
    let txn = crate::db::begin_write(db).await?;
    let ended = patient_session::Entity::update_many()
        .col_expr(patient_session::Column::EndedAt, Expr::value(now))
        .filter(patient_session::Column::Id.eq(id))
        .filter(patient_session::Column::EndedAt.is_null())
        .filter(patient_session::Column::ExpiresAt.gt(now))
        .exec(&txn)
        .await?;
    crate::audit::write_in(&txn, &audit.into_iter().cloned().collect::<Vec<_>>()).await?;
    txn.commit().await?;
    if ended.rows_affected == 1 {
        tracing::info!(session = %id, "patient session ended");
    }
    Ok(ended.rows_affected == 1)
}

/// Deletes sessions that expired more than `KEEP_ENDED` ago; returns how many.
pub async fn purge(db: &impl ConnectionTrait, at: DateTime<Utc>) -> Result<u64, DbErr> {
    let gone = patient_session::Entity::delete_many()
        .filter(patient_session::Column::ExpiresAt.lt(at - KEEP_ENDED))
        .exec(db)
        .await?;
    Ok(gone.rows_affected)
}
