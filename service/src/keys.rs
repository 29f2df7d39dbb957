//! API keys: stored as hashes, never as the secret itself.

use overturn_domain::{ApiKeySecret, Role};
use overturn_entity::api_key;
use sea_orm::{
    ActiveModelTrait, ActiveValue, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

/// Stores a new key and returns its row; the secret itself is never stored.
pub async fn insert_key<C: ConnectionTrait>(
    db: &C,
    name: &str,
    role: Role,
    secret: &ApiKeySecret,
    created_by: Option<Uuid>,
) -> Result<api_key::Model, sea_orm::DbErr> {
    api_key::ActiveModel {
        id: ActiveValue::Set(Uuid::now_v7()),
        name: ActiveValue::Set(name.to_owned()),
        role: ActiveValue::Set(role.as_str().to_owned()),
        key_hash: ActiveValue::Set(secret.hash()),
        display_prefix: ActiveValue::Set(secret.display_prefix()),
        created_at: ActiveValue::Set(crate::sql::now()),
        created_by: ActiveValue::Set(created_by),
        revoked_at: ActiveValue::Set(None),
    }
    .insert(db)
    .await
}

/// `OVERTURN_BOOTSTRAP_ADMIN_KEY`: make sure an admin key with this value exists.
///
/// A bootstrap key that an admin has revoked stays revoked: revocation is deliberate, and
/// silently restoring it on the next restart would undo it. Rotate by changing the value.
pub async fn ensure_bootstrap_key<C: ConnectionTrait>(db: &C, secret: &ApiKeySecret) -> Result<(), sea_orm::DbErr> {
    let existing = api_key::Entity::find().filter(api_key::Column::KeyHash.eq(secret.hash())).one(db).await?;
    match existing {
        Some(key) if key.revoked_at.is_some() => {
            tracing::warn!(key_id = %key.id, "OVERTURN_BOOTSTRAP_ADMIN_KEY names a revoked key; it stays revoked");
        }
        Some(_) => {}
        None => {
            let key = insert_key(db, "bootstrap admin", Role::Admin, secret, None).await?;
            tracing::info!(key_id = %key.id, "created the bootstrap admin key");
        }
    }
    Ok(())
}

/// The live key whose hash the presented secret has; `None` for an unknown or revoked key.
/// Looked up by hash only, and never cached: a revoked key stops on the next request.
pub async fn find_live(db: &impl ConnectionTrait, presented: &str) -> Result<Option<api_key::Model>, sea_orm::DbErr> {
    api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(overturn_domain::api_key::hash_presented_key(presented)))
        .filter(api_key::Column::RevokedAt.is_null())
        .one(db)
        .await
}

/// Keys, newest first, after the cursor `before` (exclusive), at most `limit`.
pub async fn list(
    db: &impl ConnectionTrait,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<api_key::Model>, sea_orm::DbErr> {
    let mut select = api_key::Entity::find();
    if let Some(before) = before {
        select = select.filter(api_key::Column::Id.lt(before));
    }
    select.order_by_desc(api_key::Column::Id).limit(limit).all(db).await
}

/// What revoking a key did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    Now,
    /// Revoked before: it does not work either way.
    Already,
    NoSuchKey,
}

/// Revokes a key; effective for the very next request.
pub async fn revoke(db: &impl ConnectionTrait, id: Uuid) -> Result<Revoked, sea_orm::DbErr> {
    let result = api_key::Entity::update_many()
        .col_expr(api_key::Column::RevokedAt, sea_orm::sea_query::Expr::value(crate::sql::now()))
        .filter(api_key::Column::Id.eq(id))
        .filter(api_key::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    if result.rows_affected > 0 {
        return Ok(Revoked::Now);
    }
    Ok(match api_key::Entity::find_by_id(id).one(db).await? {
        Some(_) => Revoked::Already,
        None => Revoked::NoSuchKey,
    })
}
