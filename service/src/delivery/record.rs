//! Recording attempts and what follows them, and ending deliveries (a contact disabled
//! or deleted).

use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet, HashSet};

use overturn_domain::webhooks::{AfterAttempt, DISABLE_AFTER_FAILING, DeliveryStatus, MAX_ATTEMPTS};
use overturn_entity::stored::Stored;
use overturn_entity::{contact, webhook_attempt, webhook_delivery};
use rand::Rng;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::delivery::Attempted;
use crate::delivery::Finished;
use crate::sql::now;

/// Records a batch of attempts and what follows each, in one transaction: the delivery's
/// next step, the attempt row, the contact's failing streak, a contact disabled by a 410 or
/// by five days of failures. An attempt the row no longer expects (its job ran twice) is
/// recorded once, by whichever got there first. If the transaction fails, every attempt of
/// the batch is retried by its job, with the same `webhook-id`.
pub(super) async fn record(db: &DatabaseConnection, batch: Vec<Finished>) -> Vec<Result<Attempted, String>> {
    match record_batch(db, &batch).await {
        Ok(outcomes) => outcomes.into_iter().map(Ok).collect(),
        Err(e) => batch.iter().map(|_| Err(e.to_string())).collect(),
    }
}

pub(super) async fn record_batch(db: &DatabaseConnection, batch: &[Finished]) -> Result<Vec<Attempted>, DbErr> {
    let at = now();
    let txn = crate::db::begin_write(db).await?;
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut seen: HashSet<Uuid> = HashSet::new();
    let mut attempts = Vec::new();
    let mut streaks = Streaks::default();
    for f in batch {
        // A second job for the same attempt in this batch finds it recorded.
        if !seen.insert(f.delivery) {
            outcomes.push(Attempted::Skipped);
            continue;
        }
        let response = &f.response;
        let after =
            AfterAttempt::of(f.attempt, response.status, response.retry_after, rand::rng().random_range(-1.0..1.0));
        if !advance_delivery(&txn, f, after, at).await? {
            outcomes.push(Attempted::Skipped);
            continue;
        }
        attempts.push(attempt_row(f));
        streaks.note(f, after, at);
        if matches!(after, AfterAttempt::Failed { gone: false }) && f.attempt >= MAX_ATTEMPTS {
            tracing::warn!(delivery = %f.delivery, contact = %f.contact, "webhook delivery failed on every attempt");
        }
        outcomes.push(match after {
            AfterAttempt::Succeeded => Attempted::Succeeded,
            AfterAttempt::Retry(_) => Attempted::Retrying,
            AfterAttempt::Failed { .. } => Attempted::Failed,
        });
    }
    if !attempts.is_empty() {
        webhook_attempt::Entity::insert_many(attempts).exec_without_returning(&txn).await?;
    }
    streaks.store(&txn, at).await?;
    txn.commit().await?;
    Ok(outcomes)
}

/// Moves the delivery on from the attempt it expects; `false` when it no longer expects
/// this one (recorded already, or the delivery ended meanwhile).
async fn advance_delivery<C: ConnectionTrait>(
    txn: &C,
    f: &Finished,
    after: AfterAttempt,
    at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let response = &f.response;
    let next_at = match after {
        AfterAttempt::Retry(wait) => Some(at + chrono::Duration::from_std(wait).unwrap_or_default()),
        _ => None,
    };
    let succeeded = after == AfterAttempt::Succeeded;
    let error = response.error.clone().or_else(|| response.status.filter(|_| !succeeded).map(|s| format!("HTTP {s}")));
    let updated = webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Attempts, Expr::value(f.attempt as i32))
        .col_expr(webhook_delivery::Column::Status, Expr::value(Stored(after.status())))
        .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(next_at))
        .col_expr(webhook_delivery::Column::EnqueuedAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(webhook_delivery::Column::LastStatusCode, Expr::value(response.status.map(i32::from)))
        .col_expr(webhook_delivery::Column::LastError, Expr::value(error))
        .col_expr(webhook_delivery::Column::UpdatedAt, Expr::value(at))
        .filter(webhook_delivery::Column::Id.eq(f.delivery))
        .filter(webhook_delivery::Column::Attempts.eq(f.attempt as i32 - 1))
        .filter(webhook_delivery::Column::Status.eq(Stored(DeliveryStatus::Pending)))
        .exec(txn)
        .await?;
    Ok(updated.rows_affected > 0)
}

fn attempt_row(f: &Finished) -> webhook_attempt::ActiveModel {
    let response = &f.response;
    webhook_attempt::ActiveModel::from(webhook_attempt::Model {
        id: Uuid::now_v7(),
        delivery_id: f.delivery,
        attempt: f.attempt as i32,
        started_at: f.started_at,
        duration_ms: i32::try_from(response.duration.as_millis()).unwrap_or(i32::MAX),
        status_code: response.status.map(i32::from),
        response_excerpt: response.excerpt.clone(),
        error: response.error.clone(),
    })
}

/// How a batch changes its contacts' failing streaks: a success ends one, a first failure
/// starts one, and a 410 or five days of failures disable the contact.
#[derive(Default)]
struct Streaks {
    recovered: BTreeSet<Uuid>,
    failing: BTreeSet<Uuid>,
    disabled: BTreeMap<Uuid, &'static str>,
}

impl Streaks {
    fn note(&mut self, f: &Finished, after: AfterAttempt, at: DateTime<Utc>) {
        match after {
            AfterAttempt::Succeeded => {
                if f.failing_since.is_some() {
                    self.recovered.insert(f.contact);
                }
            }
            AfterAttempt::Failed { gone: true } => {
                self.disabled.insert(f.contact, "the receiver answered 410 Gone");
            }
            AfterAttempt::Retry(_) | AfterAttempt::Failed { gone: false } => match f.failing_since {
                None => {
                    self.failing.insert(f.contact);
                }
                Some(since) if at - since >= chrono::Duration::from_std(DISABLE_AFTER_FAILING).unwrap_or_default() => {
                    self.disabled.entry(f.contact).or_insert("every delivery failed for 5 days");
                }
                Some(_) => {}
            },
        }
    }

    async fn store<C: ConnectionTrait>(mut self, txn: &C, at: DateTime<Utc>) -> Result<(), DbErr> {
        // A contact that both failed and succeeded within the batch is not failing.
        let (recovered, disabled) = (&self.recovered, &self.disabled);
        self.failing.retain(|c| !recovered.contains(c) && !disabled.contains_key(c));
        if !self.recovered.is_empty() {
            contact::Entity::update_many()
                .col_expr(contact::Column::FailingSince, Expr::value(Option::<DateTime<Utc>>::None))
                .filter(contact::Column::Id.is_in(self.recovered))
                .exec(txn)
                .await?;
        }
        if !self.failing.is_empty() {
            contact::Entity::update_many()
                .col_expr(contact::Column::FailingSince, Expr::value(at))
                .filter(contact::Column::Id.is_in(self.failing))
                .filter(contact::Column::FailingSince.is_null())
                .exec(txn)
                .await?;
        }
        for (contact_id, reason) in self.disabled {
            disable(txn, contact_id, reason, at).await?;
        }
        Ok(())
    }
}

/// Disables a contact and ends its pending deliveries.
pub async fn disable<C: ConnectionTrait>(
    db: &C,
    contact_id: Uuid,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    contact::Entity::update_many()
        .col_expr(contact::Column::Enabled, Expr::value(false))
        .col_expr(contact::Column::DisabledReason, Expr::value(reason))
        .col_expr(contact::Column::DisabledAt, Expr::value(at))
        .col_expr(contact::Column::UpdatedAt, Expr::value(at))
        .filter(contact::Column::Id.eq(contact_id))
        .exec(db)
        .await?;
    tracing::warn!(contact = %contact_id, reason, "contact disabled");
    cancel_pending(db, contact_id, reason).await
}

/// Ends a contact's pending deliveries (the contact was disabled or deleted), saying why.
pub async fn cancel_pending<C: ConnectionTrait>(db: &C, contact_id: Uuid, why: &str) -> Result<(), DbErr> {
    cancel(db, webhook_delivery::Column::ContactId.eq(contact_id), why).await
}

pub(super) async fn end_pending(db: &DatabaseConnection, delivery_id: Uuid, why: &str) -> Result<(), DbErr> {
    cancel(db, webhook_delivery::Column::Id.eq(delivery_id), why).await
}

/// Marks the pending deliveries `which` selects `cancelled`, with `cancelled: <why>`.
pub(super) async fn cancel<C: ConnectionTrait>(
    db: &C,
    which: sea_orm::sea_query::SimpleExpr,
    why: &str,
) -> Result<(), DbErr> {
    webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Status, Expr::value(DeliveryStatus::Cancelled.as_str()))
        .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(webhook_delivery::Column::LastError, Expr::value(format!("cancelled: {why}")))
        .col_expr(webhook_delivery::Column::UpdatedAt, Expr::value(now()))
        .filter(which)
        .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending.as_str()))
        .exec(db)
        .await?;
    Ok(())
}
