//! Follow-ups: planned from claims and denials (rules in `overturn_domain::followups`),
//! handed to the queue shortly before they fall due, fired once, cancelled when they no
//! longer make sense, and moved when a payer's rules change.
//!
//! The rows are the schedule; the queue only carries the next minute of it. Every worker's
//! relay hands follow-ups due within `LOOKAHEAD` to the queue as delayed jobs of up to
//! `JOB_BATCH` ids, so a month of follow-ups never sits in the queue at once. The same pass
//! picks up anything already due and never handed over, or handed over and not fired for
//! longer than the stale delay (its job was lost): a follow-up that fell due while every
//! process was down fires at the next start. A job fires only the rows still `scheduled`
//! and due, under a row lock, and stores the `followup.due` event in the same transaction
//! with an id derived from the firing; a job run twice fires nothing twice.

mod cancel;
mod firing;
mod plan;
mod reschedule;
pub mod worklist;

pub use cancel::{Scope, attach_claims, attach_claims_of_remittance, cancel, reconcile_claims, reconcile_remittance};
pub use firing::{Fired, as_committed, enqueue_due, fire, fire_planned};
pub use plan::{for_balance, for_claim, for_denials, for_resubmission};
pub use reschedule::reschedule_payer;

pub use crate::due::LOOKAHEAD;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use overturn_entity::{claim_payment, follow_up};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Value,
};
use uuid::Uuid;

use crate::sql::{Column, OneTrip, insert_rows_if_absent, now};

/// Follow-ups one job fires (one transaction).
pub const JOB_BATCH: usize = 500;

/// The widest spread of due times in one job: each job waits for its latest.
const JOB_SPREAD_MS: i64 = 1_000;

fn plus_days(at: DateTime<Utc>, days: u16) -> DateTime<Utc> {
    at + chrono::Duration::days(i64::from(days))
}

const COLUMNS: [Column; 18] = [
    Column::new("id", "uuid"),
    Column::new("kind", "text"),
    Column::new("dedupe_key", "text"),
    Column::nullable("claim_id", "uuid"),
    Column::new("claim_number", "text"),
    Column::nullable("claim_payment_id", "uuid"),
    Column::nullable("denial_id", "uuid"),
    Column::nullable("anchor_at", "timestamptz"),
    Column::new("payer_id", "text"),
    Column::new("target", "text"),
    Column::new("reference", "text"),
    Column::nullable("offset_days", "int4"),
    Column::new("due_at", "timestamptz"),
    Column::new("status", "text"),
    Column::new("fire_count", "int4"),
    Column::new("snoozed", "bool"),
    Column::new("created_at", "timestamptz"),
    Column::new("updated_at", "timestamptz"),
];

/// Stores follow-ups, skipping any scheduled before for the same thing (`dedupe_key`).
pub async fn schedule<C: ConnectionTrait>(db: &C, rows: &[follow_up::Model]) -> Result<(), DbErr> {
    insert_rows_if_absent(db, "follow_ups", &COLUMNS, values(rows)).await
}

/// Adds a new claim's follow-ups to the statement that stores its rows. Nothing can have been
/// scheduled for a claim created in the same transaction, so no `dedupe_key` check.
pub fn schedule_new(trip: &mut OneTrip, rows: &[follow_up::Model]) -> Result<(), DbErr> {
    trip.insert("follow_ups", &COLUMNS, values(rows))
}

fn values(rows: &[follow_up::Model]) -> Vec<Value> {
    let mut values = Vec::with_capacity(rows.len() * COLUMNS.len());
    for r in rows {
        values.extend([
            Value::from(r.id),
            Value::from(r.kind.clone()),
            Value::from(r.dedupe_key.clone()),
            Value::from(r.claim_id),
            Value::from(r.claim_number.clone()),
            Value::from(r.claim_payment_id),
            Value::from(r.denial_id),
            Value::from(r.anchor_at),
            Value::from(r.payer_id.clone()),
            Value::from(r.target.clone()),
            Value::from(r.reference.clone()),
            Value::from(r.offset_days),
            Value::from(r.due_at),
            Value::from(r.status),
            Value::from(r.fire_count),
            Value::from(r.snoozed),
            Value::from(r.created_at),
            Value::from(r.updated_at),
        ]);
    }
    values
}

/// Plans the follow-ups of a classified remittance: its denials' and its patients' balances,
/// a page of claim payments per transaction. Idempotent (every follow-up has its key), so a
/// re-run or a run cut short plans each once. Returns how many were planned.
pub async fn plan_remittance(db: &DatabaseConnection, remittance_id: Uuid, page_size: u64) -> Result<usize, DbErr> {
    use overturn_entity::remittance_transaction;
    let transactions = remittance_transaction::Entity::find()
        .filter(remittance_transaction::Column::RemittanceId.eq(remittance_id))
        .all(db)
        .await?;
    let payer_of: HashMap<Uuid, String> = transactions.iter().map(|t| (t.id, t.payer_id.clone())).collect();
    let now = now();
    // What this remittance's answers end goes first, so nothing it answered is planned anew.
    let txn = crate::db::begin_write(db).await?;
    reconcile_remittance(&txn, remittance_id, now).await?;
    txn.commit().await?;
    let mut planned_count = 0;
    let mut after: i32 = -1;
    loop {
        let page = claim_payment::Entity::find()
            .filter(claim_payment::Column::RemittanceId.eq(remittance_id))
            .filter(claim_payment::Column::Position.gt(after))
            .order_by_asc(claim_payment::Column::Position)
            .limit(std::cmp::max(page_size, 1))
            .all(db)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.position;
        let txn = crate::db::begin_write(db).await?;
        let denials = crate::classify::page_denials(&txn, &page).await?;
        // Outreach goes to the patient the claim was submitted for (the 835's id only while
        // the payment waits for its claim), as the events do.
        let patients = crate::classify::patients_of_claims(&txn, &page).await?;
        let members: HashMap<Uuid, String> = page
            .iter()
            .filter_map(|p| crate::classify::patient_of(p, &patients).map(|m| (p.id, m.to_owned())))
            .collect();
        let mut planned = for_denials(&denials, &members, now);
        planned.extend(page.iter().filter_map(|p| {
            for_balance(
                p,
                members.get(&p.id).map(String::as_str),
                payer_of.get(&p.transaction_id).map_or("", String::as_str),
                now,
            )
        }));
        schedule(&txn, &planned).await?;
        txn.commit().await?;
        planned_count += planned.len();
    }
    // A claim created meanwhile may have been matched after its page was read: under the
    // matching lock its claim writer has finished, and its claim is copied here.
    let txn = crate::db::begin_write(db).await?;
    crate::sql::lock_matching(&txn, true).await?;
    attach_claims_of_remittance(&txn, remittance_id).await?;
    txn.commit().await?;
    Ok(planned_count)
}
