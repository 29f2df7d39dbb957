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
pub use matching::{match_waiting_payments, settle_claims};
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

    // 1. Which transactions are new: (payer, trace number) not seen in an earlier file nor
    //    earlier in this one.
    let mut transactions: Vec<remittance_transaction::Model> = Vec::with_capacity(file.transactions.len());
    let mut first_in_file: HashMap<(String, String), Uuid> = HashMap::new();
    for (position, tx) in file.transactions.iter().enumerate() {
        let row = transaction_row(remittance_id, position, tx);
        let key = (row.payer_id.clone(), row.trace_number.clone());
        let mut row = row;
        match first_in_file.get(&key) {
            Some(first) => row.duplicate_of = Some(*first),
            None => {
                first_in_file.insert(key, row.id);
            }
        }
        transactions.push(row);
    }
    let fresh: Vec<remittance_trace::ActiveModel> = transactions
        .iter()
        .filter(|t| t.duplicate_of.is_none())
        .map(|t| {
            remittance_trace::ActiveModel::from(remittance_trace::Model {
                payer_id: t.payer_id.clone(),
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
        if !registered.contains(&(t.payer_id.clone(), t.trace_number.clone())) {
            let original = remittance_trace::Entity::find_by_id((t.payer_id.clone(), t.trace_number.clone()))
                .one(txn)
                .await?
                .ok_or_else(|| DbErr::Custom("a payment trace vanished after a conflict".into()))?;
            earlier.insert(t.id, original.transaction_id);
        }
    }
    for t in &mut transactions {
        // A repeat of a transaction that itself repeats an earlier file points at the original.
        let of = t.duplicate_of.unwrap_or(t.id);
        if let Some(original) = earlier.get(&of) {
            t.duplicate_of = Some(*original);
        }
    }

    // 2. The claim payments of the transactions applied now.
    let mut payments = Vec::new();
    let mut line_refs: Vec<Vec<&str>> = Vec::new();
    for (tx, row) in file.transactions.iter().zip(&transactions) {
        if row.duplicate_of.is_some() {
            continue;
        }
        for claim in &tx.claims {
            line_refs.push(tx.lines_of(claim).iter().filter_map(|l| l.line_control_number).collect());
            payments.push(payment_row(remittance_id, row, payments.len(), tx, claim, now));
        }
    }
    let t_rows = t0.elapsed();
    match_payments(txn, &mut payments, &line_refs).await?;
    let t_match = t0.elapsed();

    // 3. Store it all.
    let applied: Vec<&remittance_transaction::Model> =
        transactions.iter().filter(|t| t.duplicate_of.is_none()).collect();
    let warnings: Vec<serde_json::Value> =
        file.transactions.iter().flat_map(|tx| tx.warnings.iter()).map(warning_json).collect();
    let summary = remittance::Model {
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
    };
    remittance::Entity::insert(remittance::ActiveModel::from(summary.clone())).exec_without_returning(txn).await?;
    remittance_file::Entity::insert(remittance_file::ActiveModel::from(remittance_file::Model {
        remittance_id,
        content_type: incoming.content_type.to_owned(),
        body: incoming.body.to_vec(),
    }))
    .exec_without_returning(txn)
    .await?;
    insert_chunked::<_, _, remittance_transaction::ActiveModel>(
        txn,
        &transactions,
        rows_per_statement::<remittance_transaction::Entity>(),
    )
    .await?;
    let t_file = t0.elapsed();
    insert_payments(txn, &mut payments).await?;
    let t_payments = t0.elapsed();
    let mut refs: Vec<Value> = Vec::new();
    for (p, line_refs) in payments.iter().zip(&line_refs) {
        if p.claim_id.is_none() {
            for r in line_refs.iter().copied().collect::<HashSet<&str>>() {
                refs.extend([Value::from(r), Value::from(p.id)]);
            }
        }
    }
    let columns = [Column::new("control_number", "text"), Column::new("claim_payment_id", "uuid")];
    crate::sql::insert_rows(txn, "unmatched_line_refs", &columns, refs).await?;
    let t_refs = t0.elapsed();
    if !payments.is_empty() {
        outbox::Entity::insert(crate::outbox::pending_job(&Task::ClassifyRemittance { remittance_id }, now))
            .exec_without_returning(txn)
            .await?;
    }

    // 4. The matched claims' status and amounts, from all their payments.
    // Their follow-ups are cancelled by the remittance's follow-up job (`reconcile_remittance`).
    let claims: Vec<Uuid> = payments.iter().filter_map(|p| p.claim_id).collect::<HashSet<_>>().into_iter().collect();
    settle_claims(txn, &claims, now).await?;
    // Cumulative times, for tuning the write path on each backend (RUST_LOG=overturn_api=debug).
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
