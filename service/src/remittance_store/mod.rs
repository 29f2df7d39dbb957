//! Stores an accepted payer response in one transaction: the file as received, its
//! transactions, their claim payments matched to claims, the claims' new standing, and the
//! outbox row that asks the workers to classify it. A file is stored whole or not at all.
//!
//! Matching and settling read claims and payments that another request may be writing, so
//! on PostgreSQL they run under an advisory lock: exclusive here, shared by the claim writer
//! (which matches waiting payments to new claims). Without it a claim and its payment
//! arriving at the same moment could each miss the other for good.

mod matching;
mod rows;

use matching::*;
pub use matching::{match_waiting_payments, settle_claims, waiting_for_numbers};
pub(crate) use rows::sha256_hex;
use rows::*;

use std::collections::{HashMap, HashSet};

use overturn_domain::x12::RemittanceFile;
use overturn_entity::{claim_payment, outbox, remittance, remittance_file, remittance_trace, remittance_transaction};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, TryInsertResult, Value};
use uuid::Uuid;

use crate::queue::Task;
use crate::sql::{Column, rows_per_statement};

pub struct Incoming<'a> {
    /// `x12` or `json`.
    pub source: &'static str,
    pub content_type: &'a str,
    pub body: &'a [u8],
    pub file: &'a RemittanceFile<'a>,
    pub api_key_id: Uuid,
}

/// Everything stored, as the API shows it.
pub struct Stored {
    pub remittance: remittance::Model,
    pub transactions: Vec<remittance_transaction::Model>,
    /// Without their `detail`, which went to the database as it was (megabytes of JSON in a
    /// large file; the answer does not show it).
    pub payments: Vec<claim_payment::Model>,
}

pub use crate::sql::lock_matching;

pub async fn store<C: ConnectionTrait>(txn: &C, incoming: Incoming<'_>) -> Result<Stored, DbErr> {
    let t0 = std::time::Instant::now();
    lock_matching(txn, true).await?;
    let now = crate::sql::now();
    let remittance_id = Uuid::now_v7();
    let file = incoming.file;

    let mut transactions = transaction_rows(remittance_id, file);
    mark_earlier_receipts(txn, &mut transactions).await?;
    let Payments { rows: mut payments, line_refs } = payment_rows(remittance_id, file, &transactions, now);
    let t_rows = t0.elapsed();
    match_payments(txn, &mut payments, &line_refs).await?;
    let t_match = t0.elapsed();

    let summary = summary_row(remittance_id, &incoming, &transactions, &payments, now);
    store_file(txn, &incoming, &summary).await?;
    insert_chunked::<_, _, remittance_transaction::ActiveModel>(
        txn,
        &transactions,
        rows_per_statement::<remittance_transaction::Entity>(),
    )
    .await?;
    let t_file = t0.elapsed();
    insert_payments(txn, &mut payments).await?;
    let t_payments = t0.elapsed();
    keep_unmatched_line_refs(txn, &payments, &line_refs).await?;
    let t_refs = t0.elapsed();
    if !payments.is_empty() {
        outbox::Entity::insert(crate::outbox::pending_job(&Task::ClassifyRemittance { remittance_id }, now))
            .exec_without_returning(txn)
            .await?;
    }
    // Their follow-ups are cancelled by the remittance's follow-up job (`reconcile_remittance`).
    let claims: Vec<Uuid> = payments.iter().filter_map(|p| p.claim_id).collect::<HashSet<_>>().into_iter().collect();
    settle_claims(txn, &claims, now).await?;
    // Cumulative times, for tuning the write path on each backend (RUST_LOG=overturn_service=debug).
    tracing::debug!(
        rows_built = ?t_rows,
        matched = ?t_match,
        file_stored = ?t_file,
        payments_stored = ?t_payments,
        line_refs_stored = ?t_refs,
        total = ?t0.elapsed(),
        "remittance stored"
    );

    Ok(Stored { remittance: summary, transactions, payments })
}

/// One row per transaction; a repeat of an earlier transaction of the same file points at it.
fn transaction_rows(remittance_id: Uuid, file: &RemittanceFile<'_>) -> Vec<remittance_transaction::Model> {
    let mut transactions: Vec<remittance_transaction::Model> = Vec::with_capacity(file.transactions.len());
    let mut first_in_file: HashMap<(String, String), Uuid> = HashMap::new();
    for (position, tx) in file.transactions.iter().enumerate() {
        let mut row = transaction_row(remittance_id, position, tx);
        let key = (row.originator_id.clone(), row.trace_number.clone());
        match first_in_file.get(&key) {
            Some(first) => row.duplicate_of = Some(*first),
            None => {
                first_in_file.insert(key, row.id);
            }
        }
        transactions.push(row);
    }
    transactions
}

/// Registers each new (originator, trace number); one an earlier file registered marks the
/// transaction, and its repeats in this file, as duplicates of the one that applied it.
async fn mark_earlier_receipts<C: ConnectionTrait>(
    txn: &C,
    transactions: &mut [remittance_transaction::Model],
) -> Result<(), DbErr> {
    let trace_of = |t: &remittance_transaction::Model| (t.originator_id.clone(), t.trace_number.clone());
    let fresh: Vec<remittance_trace::ActiveModel> = transactions
        .iter()
        .filter(|t| t.duplicate_of.is_none())
        .map(|t| {
            remittance_trace::ActiveModel::from(remittance_trace::Model {
                payer_id: t.originator_id.clone(),
                trace_number: t.trace_number.clone(),
                transaction_id: t.id,
            })
        })
        .collect();
    let mut registered: HashSet<(String, String)> = HashSet::new();
    if !fresh.is_empty() {
        let inserted = remittance_trace::Entity::insert_many(fresh)
            .on_conflict(
                OnConflict::columns([remittance_trace::Column::PayerId, remittance_trace::Column::TraceNumber])
                    .do_nothing()
                    .to_owned(),
            )
            .try_insert()
            .exec_with_returning_keys(txn)
            .await?;
        if let TryInsertResult::Inserted(keys) = inserted {
            registered.extend(keys);
        }
    }
    let mut earlier: HashMap<Uuid, Uuid> = HashMap::new();
    for t in transactions.iter().filter(|t| t.duplicate_of.is_none()) {
        if !registered.contains(&trace_of(t)) {
            let original = remittance_trace::Entity::find_by_id(trace_of(t))
                .one(txn)
                .await?
                .ok_or_else(|| DbErr::Custom("a payment trace vanished after a conflict".into()))?;
            earlier.insert(t.id, original.transaction_id);
        }
    }
    for t in transactions {
        // A repeat of a transaction that itself repeats an earlier file points at the original.
        let of = t.duplicate_of.unwrap_or(t.id);
        if let Some(original) = earlier.get(&of) {
            t.duplicate_of = Some(*original);
        }
    }
    Ok(())
}

/// The claim payments of the transactions applied now, with each one's line control numbers
/// (REF*6R), by which a payment without a claim number match may still find its claim.
struct Payments<'a> {
    rows: Vec<claim_payment::Model>,
    line_refs: Vec<Vec<&'a str>>,
}

fn payment_rows<'a>(
    remittance_id: Uuid,
    file: &'a RemittanceFile<'a>,
    transactions: &[remittance_transaction::Model],
    now: chrono::DateTime<chrono::Utc>,
) -> Payments<'a> {
    let mut rows = Vec::new();
    let mut line_refs = Vec::new();
    for (tx, row) in file.transactions.iter().zip(transactions) {
        if row.duplicate_of.is_some() {
            continue;
        }
        for claim in &tx.claims {
            line_refs.push(tx.lines_of(claim).iter().filter_map(|l| l.line_control_number).collect());
            rows.push(payment_row(remittance_id, row, rows.len(), tx, claim, now));
        }
    }
    Payments { rows, line_refs }
}

fn summary_row(
    remittance_id: Uuid,
    incoming: &Incoming<'_>,
    transactions: &[remittance_transaction::Model],
    payments: &[claim_payment::Model],
    now: chrono::DateTime<chrono::Utc>,
) -> remittance::Model {
    let applied: Vec<&remittance_transaction::Model> =
        transactions.iter().filter(|t| t.duplicate_of.is_none()).collect();
    let warnings: Vec<serde_json::Value> =
        incoming.file.transactions.iter().flat_map(|tx| tx.warnings.iter()).map(warning_json).collect();
    remittance::Model {
        id: remittance_id,
        source: incoming.source.to_owned(),
        received_at: now,
        api_key_id: incoming.api_key_id,
        byte_size: incoming.body.len() as i64,
        sha256: sha256_hex(incoming.body),
        transaction_count: transactions.len() as i32,
        duplicate_count: (transactions.len() - applied.len()) as i32,
        claim_count: payments.len() as i32,
        matched_count: payments.iter().filter(|p| p.claim_id.is_some()).count() as i32,
        payment_total_cents: applied.iter().map(|t| signed_payment(t)).sum(),
        warnings: serde_json::Value::Array(warnings),
        // Nothing to classify in a file of duplicates only.
        classified_at: if payments.is_empty() { Some(now) } else { None },
    }
}

/// The summary and the file exactly as received.
async fn store_file<C: ConnectionTrait>(
    txn: &C,
    incoming: &Incoming<'_>,
    summary: &remittance::Model,
) -> Result<(), DbErr> {
    remittance::Entity::insert(remittance::ActiveModel::from(summary.clone())).exec_without_returning(txn).await?;
    remittance_file::Entity::insert(remittance_file::ActiveModel::from(remittance_file::Model {
        remittance_id: summary.id,
        content_type: incoming.content_type.to_owned(),
        body: incoming.body.to_vec(),
    }))
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

/// The line control numbers of payments still without a claim, for matching them later.
async fn keep_unmatched_line_refs<C: ConnectionTrait>(
    txn: &C,
    payments: &[claim_payment::Model],
    line_refs: &[Vec<&str>],
) -> Result<(), DbErr> {
    let mut refs: Vec<Value> = Vec::new();
    for (p, line_refs) in payments.iter().zip(line_refs) {
        if p.claim_id.is_none() {
            for r in line_refs.iter().copied().collect::<HashSet<&str>>() {
                refs.extend([Value::from(r), Value::from(p.id)]);
            }
        }
    }
    let columns = [Column::new("control_number", "text"), Column::new("claim_payment_id", "uuid")];
    crate::sql::insert_rows(txn, "unmatched_line_refs", &columns, refs).await
}

async fn insert_chunked<C, M, A>(txn: &C, rows: &[M], per_statement: usize) -> Result<(), DbErr>
where
    C: ConnectionTrait,
    M: Clone + Into<A>,
    A: sea_orm::ActiveModelTrait,
{
    for chunk in rows.chunks(per_statement.max(1)) {
        let models = chunk.iter().cloned().map(Into::into);
        <A::Entity as EntityTrait>::insert_many(models).exec_without_returning(txn).await?;
    }
    Ok(())
}
