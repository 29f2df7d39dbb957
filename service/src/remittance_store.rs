//! Stores an accepted payer response in one transaction: the file as received, its
//! transactions, their claim payments matched to claims, the claims' new standing, and the
//! outbox row that asks the workers to classify it. A file is stored whole or not at all.
//!
//! Matching and settling read claims and payments that another request may be writing, so
//! on PostgreSQL they run under an advisory lock: exclusive here, shared by the claim writer
//! (which matches waiting payments to new claims). Without it a claim and its payment
//! arriving at the same moment could each miss the other for good.

use std::collections::{HashMap, HashSet};

use overturn_domain::classification;
use overturn_domain::settlement::{self, AppliedPayment};
use overturn_domain::x12::{
    Adjustment, ClaimPayment, ProviderAdjustment, RemittanceFile, ServiceLine, Transaction, Warning,
};
use overturn_entity::{
    claim, claim_line, claim_payment, denial, outbox, remittance, remittance_file, remittance_trace,
    remittance_transaction, unmatched_line_ref,
};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
    TryInsertResult, Value,
};
use serde_json::json;
use uuid::Uuid;

use crate::queue::Task;
use crate::sql::{Column, MAX_PARAMS, any_of, rows_per_statement};

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

/// TRN03 names the payer that made the payment; a payer that leaves it out is known by its
/// N1*PR identifier.
fn payer_key<'a>(tx: &Transaction<'a>) -> &'a str {
    if tx.trace_payer_id.is_empty() { tx.payer.id } else { tx.trace_payer_id }
}

/// A debit (BPR03 = D) takes money back.
fn signed_payment(t: &remittance_transaction::Model) -> i64 {
    if t.credit_debit == "D" { -t.payment_amount_cents } else { t.payment_amount_cents }
}

fn transaction_row(remittance_id: Uuid, position: usize, tx: &Transaction<'_>) -> remittance_transaction::Model {
    remittance_transaction::Model {
        id: Uuid::now_v7(),
        remittance_id,
        position: position as i32,
        payer_id: payer_key(tx).to_owned(),
        trace_number: tx.trace_number.to_owned(),
        payer_name: tx.payer.name.to_owned(),
        payer_id_qualifier: tx.payer.id_qualifier.to_owned(),
        payer_identifier: tx.payer.id.to_owned(),
        payee_name: tx.payee.name.to_owned(),
        payee_id_qualifier: tx.payee.id_qualifier.to_owned(),
        payee_identifier: tx.payee.id.to_owned(),
        handling_code: tx.payment.handling_code.to_owned(),
        credit_debit: tx.payment.credit_debit.to_owned(),
        payment_method: tx.payment.method.to_owned(),
        payment_amount_cents: tx.payment.amount.cents(),
        payment_date: tx.payment.effective_date,
        production_date: tx.production_date,
        interchange_control_number: tx.interchange_control_number.to_owned(),
        group_control_number: tx.group_control_number.to_owned(),
        transaction_control_number: tx.transaction_control_number.to_owned(),
        provider_adjustments: serde_json::Value::Array(tx.provider_adjustments.iter().map(plb_json).collect()),
        claim_count: tx.claims.len() as i32,
        duplicate_of: None,
        warnings: serde_json::Value::Array(tx.warnings.iter().map(warning_json).collect()),
    }
}

fn payment_row(
    remittance_id: Uuid,
    transaction: &remittance_transaction::Model,
    position: usize,
    tx: &Transaction<'_>,
    claim: &ClaimPayment<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> claim_payment::Model {
    let lines = tx.lines_of(claim);
    let denied: i64 = tx
        .claim_adjustments(claim)
        .iter()
        .chain(lines.iter().flat_map(|l| tx.line_adjustments(l)))
        .filter(|a| classification::reason_category(a.group, a.reason).is_some())
        .map(|a| a.amount.cents())
        .sum();
    let detail = serde_json::to_string(&Detail {
        adjustments: Adjustments(tx.claim_adjustments(claim)),
        remark_codes: tx.claim_remarks(claim),
        lines: Lines(tx, lines),
    })
    .unwrap_or_else(|_| "{}".to_owned());
    let optional = |s: &str| if s.is_empty() { None } else { Some(s.to_owned()) };
    claim_payment::Model {
        id: Uuid::now_v7(),
        remittance_id,
        transaction_id: transaction.id,
        position: position as i32,
        claim_id: None,
        matched_by: None,
        claim_number: claim.claim_number.to_owned(),
        status_code: claim.status_code.to_owned(),
        charge_cents: claim.charge.cents(),
        paid_cents: claim.paid.cents(),
        patient_responsibility_cents: claim.patient_responsibility.cents(),
        denied_cents: denied,
        payer_claim_control_number: optional(claim.payer_claim_control_number),
        frequency_code: claim.frequency_code.to_owned(),
        filing_indicator: claim.filing_indicator.to_owned(),
        facility_code: claim.facility_code.to_owned(),
        patient_member_id: optional(claim.patient_member_id),
        patient_first_name: claim.patient_first_name.to_owned(),
        patient_last_name: claim.patient_last_name.to_owned(),
        production_date: tx.production_date.or(tx.payment.effective_date),
        detail,
        received_at: now,
    }
}

/// The stored `detail` of a claim payment, serialized straight from the parsed file (no
/// intermediate JSON tree: a large file has a hundred thousand of these). It is written
/// compactly, since it is most of what a remittance sends to the database: one- and
/// two-letter keys, and absent optional values left out. Readers know both these keys
/// (as serde aliases) and the full names of rows written before, and take a missing
/// optional field as null.
#[derive(serde::Serialize)]
struct Detail<'t, 'a> {
    #[serde(rename = "a")]
    adjustments: Adjustments<'t, 'a>,
    #[serde(rename = "r")]
    remark_codes: &'t [&'a str],
    #[serde(rename = "l")]
    lines: Lines<'t, 'a>,
}

struct Adjustments<'t, 'a>(&'t [Adjustment<'a>]);

impl serde::Serialize for Adjustments<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            #[serde(rename = "g")]
            group_code: &'a str,
            #[serde(rename = "c")]
            reason_code: &'a str,
            #[serde(rename = "m")]
            amount: overturn_domain::Money,
            #[serde(rename = "q", skip_serializing_if = "Option::is_none")]
            quantity: Option<String>,
        }
        serializer.collect_seq(self.0.iter().map(|a| Out {
            group_code: a.group,
            reason_code: a.reason,
            amount: a.amount,
            quantity: a.quantity.map(|q| q.normalize().to_string()),
        }))
    }
}

struct Lines<'t, 'a>(&'t Transaction<'a>, &'t [ServiceLine<'a>]);

impl serde::Serialize for Lines<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Out<'t, 'a> {
            #[serde(rename = "n")]
            line_number: usize,
            #[serde(rename = "pq")]
            procedure_qualifier: &'a str,
            #[serde(rename = "p")]
            procedure_code: &'a str,
            #[serde(rename = "md")]
            modifiers: Vec<&'a str>,
            #[serde(rename = "op", skip_serializing_if = "Option::is_none")]
            original_procedure_code: Option<&'a str>,
            #[serde(rename = "om", skip_serializing_if = "Option::is_none")]
            original_modifiers: Option<Vec<&'a str>>,
            #[serde(rename = "ch")]
            charge: overturn_domain::Money,
            #[serde(rename = "pd")]
            paid: overturn_domain::Money,
            #[serde(rename = "al", skip_serializing_if = "Option::is_none")]
            allowed: Option<overturn_domain::Money>,
            #[serde(rename = "u", skip_serializing_if = "Option::is_none")]
            units: Option<String>,
            #[serde(rename = "d", skip_serializing_if = "Option::is_none")]
            service_date: Option<chrono::NaiveDate>,
            #[serde(rename = "lc", skip_serializing_if = "Option::is_none")]
            line_control_number: Option<&'a str>,
            #[serde(rename = "a")]
            adjustments: Adjustments<'t, 'a>,
            #[serde(rename = "r")]
            remark_codes: &'t [&'a str],
        }
        let tx = self.0;
        serializer.collect_seq(self.1.iter().enumerate().map(|(i, line)| Out {
            line_number: i + 1,
            procedure_qualifier: line.procedure.qualifier,
            procedure_code: line.procedure.code,
            modifiers: line.procedure.modifiers().collect(),
            original_procedure_code: line.original_procedure.as_ref().map(|p| p.code),
            original_modifiers: line.original_procedure.as_ref().map(|p| p.modifiers().collect()),
            charge: line.charge,
            paid: line.paid,
            allowed: line.allowed,
            units: line.units.map(|u| u.normalize().to_string()),
            service_date: line.service_date,
            line_control_number: line.line_control_number,
            adjustments: Adjustments(tx.line_adjustments(line)),
            remark_codes: tx.line_remarks(line),
        }))
    }
}

/// Columns of `claim_payments` in the order `insert_payments` binds them.
const PAYMENT_COLUMNS: [Column; 22] = [
    Column::new("id", "uuid"),
    Column::new("remittance_id", "uuid"),
    Column::new("transaction_id", "uuid"),
    Column::new("position", "int4"),
    Column::nullable("claim_id", "uuid"),
    Column::nullable("matched_by", "text"),
    Column::new("claim_number", "text"),
    Column::new("status_code", "text"),
    Column::new("charge_cents", "int8"),
    Column::new("paid_cents", "int8"),
    Column::new("patient_responsibility_cents", "int8"),
    Column::new("denied_cents", "int8"),
    Column::nullable("payer_claim_control_number", "text"),
    Column::new("frequency_code", "text"),
    Column::new("filing_indicator", "text"),
    Column::new("facility_code", "text"),
    Column::nullable("patient_member_id", "text"),
    Column::new("patient_first_name", "text"),
    Column::new("patient_last_name", "text"),
    Column::nullable("production_date", "date"),
    Column::new("detail", "text"),
    Column::new("received_at", "timestamptz"),
];

/// Inserts the payments, moving each one's `detail` into the statement rather than copying it.
async fn insert_payments<C: ConnectionTrait>(txn: &C, payments: &mut [claim_payment::Model]) -> Result<(), DbErr> {
    let mut values: Vec<Value> = Vec::with_capacity(payments.len() * PAYMENT_COLUMNS.len());
    for p in payments {
        values.extend([
            Value::from(p.id),
            Value::from(p.remittance_id),
            Value::from(p.transaction_id),
            Value::from(p.position),
            Value::from(p.claim_id),
            Value::from(p.matched_by.clone()),
            Value::from(p.claim_number.clone()),
            Value::from(p.status_code.clone()),
            Value::from(p.charge_cents),
            Value::from(p.paid_cents),
            Value::from(p.patient_responsibility_cents),
            Value::from(p.denied_cents),
            Value::from(p.payer_claim_control_number.clone()),
            Value::from(p.frequency_code.clone()),
            Value::from(p.filing_indicator.clone()),
            Value::from(p.facility_code.clone()),
            Value::from(p.patient_member_id.clone()),
            Value::from(p.patient_first_name.clone()),
            Value::from(p.patient_last_name.clone()),
            Value::from(p.production_date),
            Value::from(std::mem::take(&mut p.detail)),
            Value::from(p.received_at),
        ]);
    }
    crate::sql::insert_rows(txn, "claim_payments", &PAYMENT_COLUMNS, values).await
}

fn plb_json(p: &ProviderAdjustment<'_>) -> serde_json::Value {
    json!({
        "provider_id": p.provider_id,
        "fiscal_period_date": p.fiscal_period_date,
        "reason_code": p.reason_code,
        "reference": if p.reference.is_empty() { None } else { Some(p.reference) },
        "amount": p.amount,
    })
}

fn warning_json(w: &Warning) -> serde_json::Value {
    json!({ "segment_index": w.segment_index, "segment_id": w.segment_id, "message": w.message })
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn one_of<C: ColumnTrait>(backend: DbBackend, column: C, values: &[String]) -> sea_orm::sea_query::SimpleExpr {
    any_of(backend, column, sea_orm::sea_query::ArrayType::String, values)
}

/// Finds each payment's claim: by claim number (CLP01), then by the payer's claim control
/// number (CLP07: a claim already paid under it, else the replacement claim that cites it),
/// then by line control numbers (REF*6R) that all point at one claim. Ambiguity leaves a
/// payment unmatched rather than applied to the wrong claim.
async fn match_payments<C: ConnectionTrait>(
    txn: &C,
    payments: &mut [claim_payment::Model],
    line_refs: &[Vec<&str>],
) -> Result<(), DbErr> {
    let backend = txn.get_database_backend();
    let numbers: Vec<String> =
        payments.iter().map(|p| p.claim_number.clone()).collect::<HashSet<_>>().into_iter().collect();
    let mut by_number: HashMap<String, Uuid> = HashMap::new();
    for chunk in numbers.chunks(MAX_PARAMS) {
        let found: Vec<(Uuid, String)> = claim::Entity::find()
            .select_only()
            .column(claim::Column::Id)
            .column(claim::Column::ClaimNumber)
            .filter(one_of(backend, claim::Column::ClaimNumber, chunk))
            .into_tuple()
            .all(txn)
            .await?;
        by_number.extend(found.into_iter().map(|(id, number)| (number, id)));
    }
    for p in payments.iter_mut() {
        if let Some(id) = by_number.get(&p.claim_number) {
            p.claim_id = Some(*id);
            p.matched_by = Some("claim_number".into());
        }
    }

    let control_numbers: Vec<String> = payments
        .iter()
        .filter(|p| p.claim_id.is_none())
        .filter_map(|p| p.payer_claim_control_number.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if !control_numbers.is_empty() {
        let mut candidates: HashMap<String, HashSet<Uuid>> = HashMap::new();
        let mut from_claims: HashMap<String, HashSet<Uuid>> = HashMap::new();
        for chunk in control_numbers.chunks(MAX_PARAMS) {
            let paid_before: Vec<(String, Uuid)> = claim_payment::Entity::find()
                .select_only()
                .column(claim_payment::Column::PayerClaimControlNumber)
                .column(claim_payment::Column::ClaimId)
                .filter(one_of(backend, claim_payment::Column::PayerClaimControlNumber, chunk))
                .filter(claim_payment::Column::ClaimId.is_not_null())
                .into_tuple()
                .all(txn)
                .await?;
            for (number, id) in paid_before {
                candidates.entry(number).or_default().insert(id);
            }
            let citing: Vec<(String, Uuid)> = claim::Entity::find()
                .select_only()
                .column(claim::Column::PayerClaimControlNumber)
                .column(claim::Column::Id)
                .filter(one_of(backend, claim::Column::PayerClaimControlNumber, chunk))
                .into_tuple()
                .all(txn)
                .await?;
            for (number, id) in citing {
                from_claims.entry(number).or_default().insert(id);
            }
        }
        for p in payments.iter_mut().filter(|p| p.claim_id.is_none()) {
            let Some(number) = &p.payer_claim_control_number else { continue };
            let found = candidates.get(number).filter(|c| !c.is_empty()).or_else(|| from_claims.get(number));
            if let Some(ids) = found
                && ids.len() == 1
            {
                p.claim_id = ids.iter().next().copied();
                p.matched_by = Some("payer_claim_control_number".into());
            }
        }
    }

    let refs: Vec<String> = payments
        .iter()
        .zip(line_refs)
        .filter(|(p, _)| p.claim_id.is_none())
        .flat_map(|(_, refs)| refs.iter().map(|r| (*r).to_owned()))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if !refs.is_empty() {
        let mut owners: HashMap<String, HashSet<Uuid>> = HashMap::new();
        for chunk in refs.chunks(MAX_PARAMS) {
            let found: Vec<(Option<String>, Uuid)> = claim_line::Entity::find()
                .select_only()
                .column(claim_line::Column::LineControlNumber)
                .column(claim_line::Column::ClaimId)
                .filter(one_of(backend, claim_line::Column::LineControlNumber, chunk))
                .into_tuple()
                .all(txn)
                .await?;
            for (number, id) in found {
                if let Some(number) = number {
                    owners.entry(number).or_default().insert(id);
                }
            }
        }
        for (p, refs) in payments.iter_mut().zip(line_refs) {
            if p.claim_id.is_some() {
                continue;
            }
            let claims: HashSet<Uuid> = refs.iter().filter_map(|r| owners.get(*r)).flatten().copied().collect();
            if claims.len() == 1 {
                p.claim_id = claims.into_iter().next();
                p.matched_by = Some("line_control_number".into());
            }
        }
    }
    Ok(())
}

/// Recomputes status, paid amount and patient responsibility of these claims from every
/// payment matched to them, in the order received. What that means for their follow-ups is
/// the caller's: `followups::reconcile_claims` now or in a job.
pub async fn settle_claims<C: ConnectionTrait>(
    txn: &C,
    claim_ids: &[Uuid],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), DbErr> {
    let backend = txn.get_database_backend();
    let mut updates: Vec<(Uuid, &'static str, i64, i64)> = Vec::with_capacity(claim_ids.len());
    for chunk in claim_ids.chunks(MAX_PARAMS) {
        let rows: Vec<(Option<Uuid>, String, i64, i64, i64)> = claim_payment::Entity::find()
            .select_only()
            .column(claim_payment::Column::ClaimId)
            .column(claim_payment::Column::StatusCode)
            .column(claim_payment::Column::PaidCents)
            .column(claim_payment::Column::PatientResponsibilityCents)
            .column(claim_payment::Column::DeniedCents)
            .filter(any_of(backend, claim_payment::Column::ClaimId, sea_orm::sea_query::ArrayType::Uuid, chunk))
            .order_by_asc(claim_payment::Column::ReceivedAt)
            .order_by_asc(claim_payment::Column::RemittanceId)
            .order_by_asc(claim_payment::Column::Position)
            .into_tuple()
            .all(txn)
            .await?;
        let mut by_claim: HashMap<Uuid, Vec<AppliedPayment<'_>>> = HashMap::new();
        for (id, status_code, paid, pr, denied) in &rows {
            let Some(id) = id else { continue };
            by_claim.entry(*id).or_default().push(AppliedPayment {
                status_code,
                paid_cents: *paid,
                patient_responsibility_cents: *pr,
                denied_cents: *denied,
            });
        }
        for (id, payments) in by_claim {
            let s = settlement::settle(&payments);
            updates.push((id, s.status.as_str(), s.paid_cents, s.patient_responsibility_cents));
        }
    }
    // One statement per few thousand claims instead of one per claim: a 20,000-claim file
    // settles in a handful of round trips (on PostgreSQL in one, with arrays).
    if backend == DbBackend::Postgres && !updates.is_empty() {
        use sea_orm::sea_query::ArrayType;
        let array = |kind, values: Vec<Value>| Value::Array(kind, Some(Box::new(values)));
        let values = vec![
            array(ArrayType::Uuid, updates.iter().map(|u| Value::from(u.0)).collect()),
            array(ArrayType::String, updates.iter().map(|u| Value::from(u.1)).collect()),
            array(ArrayType::BigInt, updates.iter().map(|u| Value::from(u.2)).collect()),
            array(ArrayType::BigInt, updates.iter().map(|u| Value::from(u.3)).collect()),
            Value::from(now),
        ];
        let sql = "UPDATE claims SET status = v.status, paid_amount_cents = v.paid, \
                   patient_responsibility_cents = v.pr, updated_at = $5 \
                   FROM UNNEST($1::uuid[], $2::text[], $3::int8[], $4::int8[]) AS v(id, status, paid, pr) \
                   WHERE claims.id = v.id";
        txn.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
        return Ok(());
    }
    for chunk in updates.chunks(MAX_PARAMS / 4) {
        // Placeholders in text order, so that SQLite's bare `?` bind in the same order.
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 4 + 1);
        let mut rows = Vec::with_capacity(chunk.len());
        let mut n = 0;
        let mut placeholder = || {
            n += 1;
            if backend == DbBackend::Postgres { format!("${n}") } else { "?".to_owned() }
        };
        for (id, status, paid, pr) in chunk {
            rows.push(format!("({}, {}, {}, {})", placeholder(), placeholder(), placeholder(), placeholder()));
            values.extend([Value::from(*id), Value::from(*status), Value::from(*paid), Value::from(*pr)]);
        }
        let now_param = placeholder();
        values.push(now.into());
        let sql = format!(
            "WITH v(id, status, paid, pr) AS (VALUES {}) \
             UPDATE claims SET status = v.status, paid_amount_cents = v.paid, \
             patient_responsibility_cents = v.pr, updated_at = {now_param} FROM v WHERE claims.id = v.id",
            rows.join(", ")
        );
        txn.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    }
    Ok(())
}

/// For claims just created: the payments that arrived before them, matched now. Returns the
/// claims that got a payment.
pub async fn match_waiting_payments<C: ConnectionTrait>(
    txn: &C,
    claims: &[(&claim::Model, &[claim_line::Model])],
) -> Result<Vec<Uuid>, DbErr> {
    if claims.is_empty() {
        return Ok(Vec::new());
    }
    let numbers: Vec<&str> = claims.iter().map(|(c, _)| c.claim_number.as_str()).collect();
    let control_numbers: Vec<&str> =
        claims.iter().filter_map(|(c, _)| c.payer_claim_control_number.as_deref()).collect();
    let line_refs: Vec<&str> =
        claims.iter().flat_map(|(_, lines)| lines.iter().filter_map(|l| l.line_control_number.as_deref())).collect();

    let mut waiting: Vec<claim_payment::Model> = claim_payment::Entity::find()
        .filter(claim_payment::Column::ClaimId.is_null())
        .filter(claim_payment::Column::ClaimNumber.is_in(numbers.iter().copied()))
        .all(txn)
        .await?;
    if !control_numbers.is_empty() {
        waiting.extend(
            claim_payment::Entity::find()
                .filter(claim_payment::Column::ClaimId.is_null())
                .filter(claim_payment::Column::PayerClaimControlNumber.is_in(control_numbers.iter().copied()))
                .all(txn)
                .await?,
        );
    }
    let mut refs_of: HashMap<Uuid, Vec<String>> = HashMap::new();
    if !line_refs.is_empty() {
        let refs = unmatched_line_ref::Entity::find()
            .filter(unmatched_line_ref::Column::ControlNumber.is_in(line_refs.iter().copied()))
            .all(txn)
            .await?;
        let ids: Vec<Uuid> = refs.iter().map(|r| r.claim_payment_id).collect();
        for r in refs {
            refs_of.entry(r.claim_payment_id).or_default().push(r.control_number);
        }
        if !ids.is_empty() {
            waiting.extend(claim_payment::Entity::find().filter(claim_payment::Column::Id.is_in(ids)).all(txn).await?);
        }
    }
    if waiting.is_empty() {
        return Ok(Vec::new());
    }
    let mut seen = HashSet::new();
    waiting.retain(|p| seen.insert(p.id));

    let by_number: HashMap<&str, Uuid> = claims.iter().map(|(c, _)| (c.claim_number.as_str(), c.id)).collect();
    let mut by_control: HashMap<&str, HashSet<Uuid>> = HashMap::new();
    for (c, _) in claims {
        if let Some(n) = c.payer_claim_control_number.as_deref() {
            by_control.entry(n).or_default().insert(c.id);
        }
    }
    let mut by_line: HashMap<&str, HashSet<Uuid>> = HashMap::new();
    for (c, lines) in claims {
        for l in lines.iter() {
            if let Some(n) = l.line_control_number.as_deref() {
                by_line.entry(n).or_default().insert(c.id);
            }
        }
    }
    let mut matched: Vec<(Uuid, Uuid, &'static str)> = Vec::new();
    for p in &waiting {
        let found = if let Some(id) = by_number.get(p.claim_number.as_str()) {
            Some((*id, "claim_number"))
        } else if let Some(ids) = p.payer_claim_control_number.as_deref().and_then(|n| by_control.get(n))
            && ids.len() == 1
        {
            ids.iter().next().map(|id| (*id, "payer_claim_control_number"))
        } else {
            let owners: HashSet<Uuid> = refs_of
                .get(&p.id)
                .into_iter()
                .flatten()
                .filter_map(|r| by_line.get(r.as_str()))
                .flatten()
                .copied()
                .collect();
            if owners.len() == 1 { owners.into_iter().next().map(|id| (id, "line_control_number")) } else { None }
        };
        if let Some((claim_id, how)) = found {
            matched.push((p.id, claim_id, how));
        }
    }
    for (payment_id, claim_id, how) in &matched {
        claim_payment::Entity::update_many()
            .col_expr(claim_payment::Column::ClaimId, sea_orm::sea_query::Expr::value(*claim_id))
            .col_expr(claim_payment::Column::MatchedBy, sea_orm::sea_query::Expr::value(*how))
            .filter(claim_payment::Column::Id.eq(*payment_id))
            .exec(txn)
            .await?;
        // Denials classified while the payment waited follow it to its claim.
        denial::Entity::update_many()
            .col_expr(denial::Column::ClaimId, sea_orm::sea_query::Expr::value(*claim_id))
            .filter(denial::Column::ClaimPaymentId.eq(*payment_id))
            .exec(txn)
            .await?;
    }
    let ids: Vec<Uuid> = matched.iter().map(|(p, _, _)| *p).collect();
    crate::followups::attach_claims(txn, &ids).await?;
    if !ids.is_empty() {
        unmatched_line_ref::Entity::delete_many()
            .filter(unmatched_line_ref::Column::ClaimPaymentId.is_in(ids))
            .exec(txn)
            .await?;
    }
    let claims: Vec<Uuid> = matched.iter().map(|(_, c, _)| *c).collect::<HashSet<_>>().into_iter().collect();
    let now = crate::sql::now();
    settle_claims(txn, &claims, now).await?;
    // A few claims at a time here, and the claims' own follow-ups were just planned: cancel
    // what the waiting payments answered before the claims are shown.
    crate::followups::reconcile_claims(txn, &claims, now).await?;
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use sea_orm::{IdenStatic, Iterable};

    use super::*;

    /// What the stored detail says, read back as the API shows it, must be what the file said.
    #[test]
    fn the_compact_detail_reads_back_as_the_file_says() {
        use crate::payment_detail::PaymentDetail;
        use overturn_domain::x12::generate::{GeneratorOptions, generate_835};

        let (text, _) = generate_835(&GeneratorOptions { claims: 200, seed: 7, ..Default::default() });
        let file = overturn_domain::x12::parse_835(text.as_bytes()).expect("a generated file parses");
        let tx = &file.transactions[0];
        let row = transaction_row(Uuid::nil(), 0, tx);
        let (mut lines_seen, mut adjustments_seen) = (0, 0);
        for (i, claim) in tx.claims.iter().enumerate() {
            let payment = payment_row(Uuid::nil(), &row, i, tx, claim, chrono::Utc::now());
            let read: PaymentDetail = serde_json::from_str(&payment.detail).expect("the detail reads");
            let claim_adjustments = tx.claim_adjustments(claim);
            assert_eq!(read.adjustments.len(), claim_adjustments.len());
            for (out, a) in read.adjustments.iter().zip(claim_adjustments) {
                assert_eq!((out.group_code.as_str(), out.reason_code.as_str()), (a.group, a.reason));
                assert_eq!(out.amount, a.amount.to_string());
            }
            assert_eq!(read.remark_codes, tx.claim_remarks(claim));
            let lines = tx.lines_of(claim);
            assert_eq!(read.lines.len(), lines.len());
            for (n, (out, line)) in read.lines.iter().zip(lines).enumerate() {
                assert_eq!(out.line_number as usize, n + 1);
                assert_eq!(out.procedure_code, line.procedure.code);
                assert_eq!(out.modifiers, line.procedure.modifiers().collect::<Vec<_>>());
                assert_eq!(out.charge, line.charge.to_string());
                assert_eq!(out.paid, line.paid.to_string());
                assert_eq!(out.allowed, line.allowed.map(|m| m.to_string()));
                assert_eq!(out.service_date, line.service_date);
                assert_eq!(out.line_control_number.as_deref(), line.line_control_number);
                assert_eq!(out.adjustments.len(), tx.line_adjustments(line).len());
                assert_eq!(out.remark_codes, tx.line_remarks(line));
                adjustments_seen += out.adjustments.len();
            }
            lines_seen += lines.len();
        }
        assert!(lines_seen > 200 && adjustments_seen > 200, "{lines_seen} lines, {adjustments_seen} adjustments");
    }

    /// Rows written before the compact form still read.
    #[test]
    fn details_written_with_full_names_still_read() {
        use crate::payment_detail::PaymentDetail;
        let old = r#"{"adjustments":[{"group_code":"CO","reason_code":"45","amount":"40.00","quantity":null}],
            "remark_codes":["MA01"],"lines":[{"line_number":1,"procedure_qualifier":"HC","procedure_code":"99213",
            "modifiers":["25"],"charge":"180.00","paid":"115.00","line_control_number":"L1",
            "adjustments":[{"group_code":"PR","reason_code":"3","amount":"25.00"}],"remark_codes":[]}]}"#;
        let read: PaymentDetail = serde_json::from_str(old).expect("the old form reads");
        assert_eq!(read.adjustments[0].reason_code, "45");
        assert_eq!(read.remark_codes, ["MA01"]);
        assert_eq!(read.lines[0].modifiers, ["25"]);
        assert_eq!(read.lines[0].line_control_number.as_deref(), Some("L1"));
        assert_eq!(read.lines[0].adjustments[0].amount, "25.00");
        assert_eq!(read.lines[0].allowed, None);
    }

    #[test]
    fn payment_columns_follow_the_entity() {
        let entity: Vec<&str> = claim_payment::Column::iter().map(|c| c.as_str()).collect();
        let written: Vec<&str> = PAYMENT_COLUMNS.iter().map(|c| c.name).collect();
        assert_eq!(entity, written);
    }
}
