//! Webhook contacts (a patient portal, a payer's system) and their deliveries as people see
//! and change them. A patient route sees that patient's contacts only, and a portal key
//! changes only those it made; a contact out of scope is as absent as a deleted one.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use overturn_domain::webhooks::{ContactKind, DeliveryStatus, EventType};
use overturn_entity::{contact, webhook_attempt, webhook_delivery};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::events::payloads::PingData;
use crate::events::{EventDraft, store_for};
use crate::sql::now;

/// How long a rotated-out signing secret still signs beside the new one, so receivers can
/// switch without dropping a delivery.
pub const ROTATION_OVERLAP: Duration = Duration::hours(24);

/// Which contacts a caller may see and change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactScope {
    /// Billing and admin keys on `/v1/contacts`: every contact.
    All,
    /// One patient's contacts (`/v1/patients/{member_id}/contacts`). With `changed_by`, only
    /// the contacts that key made may be changed (a portal key); the others are read-only.
    Patient { member_id: String, changed_by: Option<Uuid> },
}

impl ContactScope {
    /// Whether the caller may see `row`; a contact it may not see is as absent as a deleted one.
    pub fn admits(&self, row: &contact::Model) -> bool {
        match self {
            Self::All => true,
            Self::Patient { member_id, .. } => row.kind == ContactKind::Patient.as_str() && row.reference == *member_id,
        }
    }

    /// Whether the caller may change, rotate, test or delete `row`.
    pub fn may_change(&self, row: &contact::Model) -> bool {
        self.admits(row)
            && match self {
                Self::Patient { changed_by: Some(key), .. } => row.created_by_key_id == Some(*key),
                _ => true,
            }
    }
}

/// A live contact the scope admits.
pub async fn find(db: &impl ConnectionTrait, scope: &ContactScope, id: Uuid) -> Result<Option<contact::Model>, DbErr> {
    let row = contact::Entity::find_by_id(id).filter(contact::Column::DeletedAt.is_null()).one(db).await?;
    Ok(row.filter(|c| scope.admits(c)))
}

/// A live contact the scope lets the caller change; the routes tell "read-only to you" (403)
/// from "absent" (404) before calling the functions below, which refuse both alike.
async fn find_changeable(
    db: &impl ConnectionTrait,
    scope: &ContactScope,
    id: Uuid,
) -> Result<Option<contact::Model>, DbErr> {
    Ok(find(db, scope, id).await?.filter(|c| scope.may_change(c)))
}

/// Live contacts the scope admits, of `kind` and `reference` when given, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    scope: &ContactScope,
    kind: Option<ContactKind>,
    reference: Option<&str>,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<contact::Model>, DbErr> {
    let mut select = contact::Entity::find().filter(contact::Column::DeletedAt.is_null());
    if let Some(kind) = kind {
        select = select.filter(contact::Column::Kind.eq(kind.as_str()));
    }
    if let ContactScope::Patient { member_id, .. } = scope {
        select = select
            .filter(contact::Column::Kind.eq(ContactKind::Patient.as_str()))
            .filter(contact::Column::Reference.eq(member_id.as_str()));
    }
    if let Some(reference) = reference {
        select = select.filter(contact::Column::Reference.eq(reference));
    }
    if let Some(before) = before {
        select = select.filter(contact::Column::Id.lt(before));
    }
    select.order_by_desc(contact::Column::Id).limit(limit).all(db).await
}

/// A contact to create, checked by the caller; its signing secret already sealed.
#[derive(Debug, Clone)]
pub struct NewContact {
    pub kind: ContactKind,
    pub reference: String,
    pub name: String,
    pub webhook_url: String,
    /// The stored event filter; `None` for every event of its kind.
    pub events: Option<String>,
    pub enabled: bool,
    pub sealed_secret: String,
    /// The API key making it.
    pub created_by_key_id: Uuid,
}

pub async fn create(txn: &impl ConnectionTrait, new: NewContact) -> Result<contact::Model, DbErr> {
    let now = now();
    let row = contact::Model {
        id: Uuid::now_v7(),
        kind: new.kind.as_str().to_owned(),
        reference: new.reference,
        name: new.name,
        webhook_url: new.webhook_url,
        events: new.events,
        enabled: new.enabled,
        disabled_reason: None,
        disabled_at: None,
        secret: new.sealed_secret,
        previous_secret: None,
        previous_secret_expires_at: None,
        failing_since: None,
        created_at: now,
        updated_at: now,
        deleted_at: None,
        created_by_key_id: Some(new.created_by_key_id),
    };
    contact::Entity::insert(contact::ActiveModel::from(row.clone())).exec_without_returning(txn).await?;
    tracing::info!(contact = %row.id, kind = new.kind.as_str(), "contact created");
    Ok(row)
}

/// Changes to a contact, checked by the caller; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ContactChange {
    pub name: Option<String>,
    pub webhook_url: Option<String>,
    /// `Some(None)` clears the filter (every event of its kind).
    pub events: Option<Option<String>>,
    pub enabled: Option<bool>,
}

/// Applies `change` in one transaction; disabling ends its pending deliveries, enabling
/// clears its failing streak. `None` when the scope admits no such contact.
pub async fn update(
    db: &DatabaseConnection,
    scope: &ContactScope,
    id: Uuid,
    change: ContactChange,
    by: &str,
    audit: Option<&overturn_domain::audit::AuditEvent>,
) -> Result<Option<contact::Model>, DbErr> {
    let txn = crate::db::begin_write(db).await?;
    let Some(row) = find_changeable(&txn, scope, id).await? else { return Ok(None) };
    let now = now();
    let mut update = contact::Entity::update_many()
        .col_expr(contact::Column::UpdatedAt, Expr::value(now))
        .filter(contact::Column::Id.eq(row.id));
    if let Some(name) = change.name {
        update = update.col_expr(contact::Column::Name, Expr::value(name));
    }
    if let Some(url) = change.webhook_url {
        update = update.col_expr(contact::Column::WebhookUrl, Expr::value(url));
    }
    if let Some(events) = change.events {
        update = update.col_expr(contact::Column::Events, Expr::value(events));
    }
    let mut disable = false;
    match change.enabled {
        Some(true) if !row.enabled => {
            update = update
                .col_expr(contact::Column::Enabled, Expr::value(true))
                .col_expr(contact::Column::DisabledReason, Expr::value(Option::<String>::None))
                .col_expr(contact::Column::DisabledAt, Expr::value(Option::<DateTime<Utc>>::None))
                .col_expr(contact::Column::FailingSince, Expr::value(Option::<DateTime<Utc>>::None));
        }
        Some(false) if row.enabled => disable = true,
        _ => {}
    }
    update.exec(&txn).await?;
    if disable {
        crate::delivery::disable(&txn, row.id, &format!("disabled by {by}"), now).await?;
    }
    let row = find(&txn, scope, id).await?;
    crate::audit::write_in(&txn, &audit.into_iter().cloned().collect::<Vec<_>>()).await?;
    txn.commit().await?;
    Ok(row)
}

/// Deletes a contact (kept, marked deleted) and cancels its pending deliveries; false when
/// the scope admits no such contact.
pub async fn delete(
    db: &DatabaseConnection,
    scope: &ContactScope,
    id: Uuid,
    audit: Option<&overturn_domain::audit::AuditEvent>,
) -> Result<bool, DbErr> {
    let txn = crate::db::begin_write(db).await?;
    let Some(row) = find_changeable(&txn, scope, id).await? else { return Ok(false) };
    let now = now();
    contact::Entity::update_many()
        .col_expr(contact::Column::DeletedAt, Expr::value(now))
        .col_expr(contact::Column::Enabled, Expr::value(false))
        .col_expr(contact::Column::UpdatedAt, Expr::value(now))
        .filter(contact::Column::Id.eq(row.id))
        .exec(&txn)
        .await?;
    crate::delivery::cancel_pending(&txn, row.id, "the contact was deleted").await?;
    crate::audit::write_in(&txn, &audit.into_iter().cloned().collect::<Vec<_>>()).await?;
    txn.commit().await?;
    tracing::info!(contact = %row.id, "contact deleted");
    Ok(true)
}

/// Makes `sealed` the contact's signing secret, in the caller's transaction; the old one
/// keeps signing beside it for `ROTATION_OVERLAP`.
pub async fn rotate_secret(
    txn: &impl ConnectionTrait,
    scope: &ContactScope,
    id: Uuid,
    sealed: String,
) -> Result<Option<contact::Model>, DbErr> {
    let Some(row) = find_changeable(txn, scope, id).await? else { return Ok(None) };
    let now = now();
    contact::Entity::update_many()
        .col_expr(contact::Column::PreviousSecret, Expr::value(row.secret.clone()))
        .col_expr(contact::Column::PreviousSecretExpiresAt, Expr::value(now + ROTATION_OVERLAP))
        .col_expr(contact::Column::Secret, Expr::value(sealed))
        .col_expr(contact::Column::UpdatedAt, Expr::value(now))
        .filter(contact::Column::Id.eq(row.id))
        .exec(txn)
        .await?;
    tracing::info!(contact = %row.id, "signing secret rotated");
    find(txn, scope, id).await
}

/// A contact's deliveries, of `status` when given, newest first.
pub async fn deliveries_of(
    db: &impl ConnectionTrait,
    contact_id: Uuid,
    status: Option<DeliveryStatus>,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<webhook_delivery::Model>, DbErr> {
    let mut select = webhook_delivery::Entity::find().filter(webhook_delivery::Column::ContactId.eq(contact_id));
    if let Some(status) = status {
        select = select.filter(webhook_delivery::Column::Status.eq(status.as_str()));
    }
    if let Some(before) = before {
        select = select.filter(webhook_delivery::Column::Id.lt(before));
    }
    select.order_by_desc(webhook_delivery::Column::Id).limit(limit).all(db).await
}

/// The attempts of these deliveries, in attempt order.
pub async fn attempts_of(
    db: &impl ConnectionTrait,
    deliveries: &[Uuid],
) -> Result<HashMap<Uuid, Vec<webhook_attempt::Model>>, DbErr> {
    let mut attempts: HashMap<Uuid, Vec<webhook_attempt::Model>> = HashMap::new();
    for chunk in deliveries.chunks(crate::sql::MAX_PARAMS) {
        let found = webhook_attempt::Entity::find()
            .filter(webhook_attempt::Column::DeliveryId.is_in(chunk.iter().copied()))
            .order_by_asc(webhook_attempt::Column::DeliveryId)
            .order_by_asc(webhook_attempt::Column::Attempt)
            .all(db)
            .await?;
        for a in found {
            attempts.entry(a.delivery_id).or_default().push(a);
        }
    }
    Ok(attempts)
}

/// A delivery whose contact is live and admitted by the scope (a deleted contact's
/// deliveries are gone with it).
pub async fn find_delivery(
    db: &impl ConnectionTrait,
    scope: &ContactScope,
    id: Uuid,
) -> Result<Option<webhook_delivery::Model>, DbErr> {
    let Some(row) = webhook_delivery::Entity::find_by_id(id).one(db).await? else { return Ok(None) };
    Ok(find(db, scope, row.contact_id).await?.map(|_| row))
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("no delivery {0}")]
    NoDelivery(Uuid),
    #[error("no contact {0}")]
    NoContact(Uuid),
    #[error("this delivery is pending: its next attempt is already scheduled")]
    StillPending,
    #[error("the contact is disabled; enable it first")]
    ContactDisabled,
    #[error("the delivery changed while this ran; read it again")]
    Raced,
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Sends a finished delivery again now, with the same `webhook-id`, in the caller's
/// transaction.
pub async fn retry_delivery(
    txn: &impl ConnectionTrait,
    scope: &ContactScope,
    id: Uuid,
) -> Result<webhook_delivery::Model, DeliveryError> {
    let row = find_delivery(txn, scope, id).await?.ok_or(DeliveryError::NoDelivery(id))?;
    if !row.status.can_be_sent_again() {
        return Err(DeliveryError::StillPending);
    }
    let contact = contact::Entity::find_by_id(row.contact_id).one(txn).await?;
    if !contact.is_some_and(|c| c.enabled) {
        return Err(DeliveryError::ContactDisabled);
    }
    let now = now();
    let updated = webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Status, Expr::value(DeliveryStatus::Pending.as_str()))
        .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(now))
        .col_expr(webhook_delivery::Column::EnqueuedAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(webhook_delivery::Column::UpdatedAt, Expr::value(now))
        .filter(webhook_delivery::Column::Id.eq(row.id))
        .filter(webhook_delivery::Column::Status.eq(row.status.as_str()))
        .exec(txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(DeliveryError::Raced);
    }
    webhook_delivery::Entity::find_by_id(row.id).one(txn).await?.ok_or(DeliveryError::NoDelivery(id))
}

/// Stores a `ping` event for the contact, in the caller's transaction; returns its delivery.
pub async fn send_test(
    txn: &impl ConnectionTrait,
    scope: &ContactScope,
    id: Uuid,
) -> Result<webhook_delivery::Model, DeliveryError> {
    let contact = find_changeable(txn, scope, id).await?.ok_or(DeliveryError::NoContact(id))?;
    if !contact.enabled {
        return Err(DeliveryError::ContactDisabled);
    }
    let draft = EventDraft {
        event_type: EventType::Ping,
        target: ContactKind::parse(&contact.kind).unwrap_or(ContactKind::Patient),
        reference: contact.reference.clone(),
        key: format!("ping:{}", Uuid::now_v7()),
        data: serde_json::to_value(PingData {
            contact_id: contact.id,
            message: "This is a test event from Overturn.".into(),
        })
        .unwrap_or_default(),
        at: now(),
    };
    let stored = store_for(txn, &draft, &[contact.id]).await?;
    let delivery_id = stored.first().copied().ok_or(DeliveryError::Db(DbErr::Custom("no delivery stored".into())))?;
    webhook_delivery::Entity::find_by_id(delivery_id).one(txn).await?.ok_or(DeliveryError::NoDelivery(delivery_id))
}
