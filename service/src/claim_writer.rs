//! Writes new claims in batches: the hot path of `POST /v1/claims`.
//!
//! Each request parses and validates its claim on its own HTTP worker, then hands the rows
//! to a writer task. A writer takes every claim waiting at that moment (at least one, at most
//! `MAX_BATCH`) and stores them in one transaction with a handful of multi-row statements,
//! whatever the batch size. On SQLite, which has a single writer, this turns per-statement
//! thread hand-offs (most of the cost of a small transaction) into per-batch ones; on
//! PostgreSQL it saves round trips and commits. Nothing waits to fill a batch: under light
//! load a batch is one claim.
//!
//! The statements of a batch, the same count as before claims had follow-ups: begin; the
//! payers' rules (with the matching lock on PostgreSQL); the claims; their lines, follow-ups
//! and the payments waiting for them, as one statement (`sql::OneTrip`); commit. Each
//! statement costs a round trip to PostgreSQL or a hand-off to SQLite's thread, as much as
//! the rows themselves in a batch of a few claims (docs/benchmarks.md, issue #16).
//!
//! Per claim the outcome is exactly what a transaction of its own would give: an
//! `Idempotency-Key` seen before replays its stored answer (or is refused for another body),
//! a duplicate `claim_number` is refused and leaves no trace, and otherwise the claim, its
//! lines, its follow-ups and its idempotency record commit together. A follow-up already due
//! when planned (a claim of an old date of service) fires in that same transaction, its
//! `followup.due` stored with the claim.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use overturn_domain::x12::claim837::StoredClaim as Loops;
use overturn_entity::{claim, claim_line, claim_payment, follow_up, idempotency_key};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait,
    FromQueryResult, QueryFilter, TryInsertResult, Value,
};
use tokio::sync::{Mutex, Notify, mpsc, oneshot};
use uuid::Uuid;

use crate::followups;
use crate::idempotency::IdempotencyRecord;
use crate::queue::BoxFuture;
use crate::sql::{Column, OneTrip};

const MAX_BATCH: usize = 256;

/// A validated claim, ready to store, with the answer to give once it is stored.
pub struct PendingClaim {
    pub claim: claim::Model,
    pub lines: Vec<claim_line::Model>,
    pub idempotency: Option<IdempotencyRecord>,
    /// Its PHI access event, written with the claim (the caller's status: 201).
    pub audit: Option<overturn_domain::audit::AuditEvent>,
    /// Its 837 loops, stored with it: those of a claim file, or those a JSON claim's 837
    /// fields were built into.
    pub detail: Option<ClaimDetail>,
}

/// A claim's 837 loops and the file they came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimDetail {
    pub claim_file_id: Option<Uuid>,
    /// `837P` or `837I`.
    pub format: String,
    /// The loops as stored: JSON text.
    pub text: String,
    /// The loops themselves, kept when the claim's answer shows them (a claim file's answer
    /// does not: ten thousand claims waiting to be stored keep only their text, a third the size).
    pub loops: Option<Loops>,
}

impl ClaimDetail {
    pub fn new(claim_file_id: Option<Uuid>, loops: Loops, shown: bool) -> Result<Self, DbErr> {
        let text = serde_json::to_string(&loops).map_err(|e| DbErr::Custom(format!("a claim's 837 loops: {e}")))?;
        Ok(Self { claim_file_id, format: loops.format.clone(), text, loops: shown.then_some(loops) })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Stored; the answer, rendered by the writer (it is stored with the idempotency record,
    /// or waiting payments changed the claim).
    Created(String),
    /// Stored with nothing else to show than these rows: the caller renders the answer
    /// (`ClaimAnswer::created`) on its own thread rather than on the writer's, which every
    /// claim of the batch waits for.
    Stored(Box<StoredClaim>),
    /// The key was used before with the same request: its stored answer.
    Replayed {
        status: u16,
        body: String,
    },
    IdempotencyMismatch,
    DuplicateClaimNumber,
}

/// A stored claim as its commit left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredClaim {
    pub claim: claim::Model,
    pub lines: Vec<claim_line::Model>,
    pub follow_ups: Vec<follow_up::Model>,
    pub detail: Option<Loops>,
}

/// Why a claim was not written, kept apart so that a database outage is a 503, not a 500.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WriteError {
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

type Reply = oneshot::Sender<Result<Outcome, WriteError>>;

/// How the caller shows a stored claim. An answer stored with its idempotency record, in the
/// claim's own transaction, or one waiting payments changed, is rendered by the writer through
/// this; any other the caller renders itself from `Outcome::Stored`.
pub trait ClaimAnswer: Send + Sync + 'static {
    /// The answer for a claim about to be stored, with the follow-ups planned for it.
    fn created(
        &self,
        claim: &claim::Model,
        lines: &[claim_line::Model],
        follow_ups: &[follow_up::Model],
        detail: Option<&Loops>,
    ) -> Result<String, String>;

    /// The answer for a claim that payments waiting for it settled at once; `txn` sees its
    /// denials and follow-ups as they now stand.
    fn settled<'a>(
        &'a self,
        txn: &'a DatabaseTransaction,
        claim: claim::Model,
        lines: Vec<claim_line::Model>,
        detail: Option<&'a Loops>,
    ) -> BoxFuture<'a, Result<String, DbErr>>;
}

#[derive(Clone)]
pub struct ClaimWriter {
    queue: mpsc::Sender<(PendingClaim, Reply)>,
}

impl ClaimWriter {
    /// Starts `writers` writer tasks on the current runtime. They stop when every handle is
    /// dropped. `wake` is notified after a commit that created webhook deliveries (follow-ups
    /// that fired with their claim), so that a relay in this process sends them at once.
    pub fn start(db: DatabaseConnection, writers: usize, answer: Arc<dyn ClaimAnswer>, wake: Arc<Notify>) -> Self {
        let (queue, receiver) = mpsc::channel::<(PendingClaim, Reply)>(MAX_BATCH * 4);
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..writers.max(1) {
            tokio::spawn(supervise(db.clone(), receiver.clone(), answer.clone(), wake.clone()));
        }
        Self { queue }
    }

    pub async fn write(&self, pending: PendingClaim) -> Result<Outcome, WriteError> {
        let (reply, answer) = oneshot::channel();
        let gone = || WriteError::Internal("the claim writer has stopped".into());
        self.queue.send((pending, reply)).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

/// Restarts a writer that panicked: the claims of that batch get a 500 (their reply
/// channels close), and the next claims are stored as usual.
async fn supervise(
    db: DatabaseConnection,
    receiver: Arc<Mutex<mpsc::Receiver<(PendingClaim, Reply)>>>,
    answer: Arc<dyn ClaimAnswer>,
    wake: Arc<Notify>,
) {
    loop {
        match tokio::spawn(run_writer(db.clone(), receiver.clone(), answer.clone(), wake.clone())).await {
            Ok(()) => return,
            Err(err) => tracing::error!(error = %err, "claim writer stopped unexpectedly; restarting it"),
        }
    }
}

async fn run_writer(
    db: DatabaseConnection,
    receiver: Arc<Mutex<mpsc::Receiver<(PendingClaim, Reply)>>>,
    answer: Arc<dyn ClaimAnswer>,
    wake: Arc<Notify>,
) {
    let mut carried: Vec<(PendingClaim, Reply)> = Vec::new();
    loop {
        let mut batch = std::mem::take(&mut carried);
        if batch.is_empty() {
            let mut receiver = receiver.lock().await;
            match receiver.recv().await {
                Some(job) => batch.push(job),
                None => return,
            }
            drain_into(&mut receiver, &mut batch);
        } else if let Ok(mut receiver) = receiver.try_lock() {
            // Never wait for the lock with work in hand: its holder may be waiting for a
            // request that will not come until this work is answered.
            drain_into(&mut receiver, &mut batch);
        }
        // A second request with an idempotency key already in this batch waits for the next
        // one, where the first one's committed record decides its answer.
        let mut seen = HashSet::new();
        let (now, later): (Vec<_>, Vec<_>) = batch.into_iter().partition(|(job, _)| match &job.idempotency {
            Some(r) => seen.insert((r.api_key_id, r.key.clone())),
            None => true,
        });
        carried = later;
        let (jobs, replies): (Vec<PendingClaim>, Vec<Reply>) = in_lock_order(now).into_iter().unzip();
        match write_batch(&db, &jobs, answer.as_ref()).await {
            Ok(Written { outcomes, deliveries }) => {
                if deliveries > 0 {
                    wake.notify_one();
                }
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(err) => {
                tracing::error!(error = %err, claims = jobs.len(), "claim batch failed; nothing of it was stored");
                let failure = if crate::db::is_unavailable(&err) {
                    WriteError::Unavailable(err.to_string())
                } else {
                    WriteError::Internal(format!("storing the claim failed: {err}"))
                };
                for reply in replies {
                    let _ = reply.send(Err(failure.clone()));
                }
            }
        }
    }
}

fn drain_into(receiver: &mut mpsc::Receiver<(PendingClaim, Reply)>, batch: &mut Vec<(PendingClaim, Reply)>) {
    while batch.len() < MAX_BATCH {
        match receiver.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
}

fn lock_key(job: &PendingClaim) -> Option<(Uuid, &str)> {
    job.idempotency.as_ref().map(|r| (r.api_key_id, r.key.as_str()))
}

/// Concurrent batches on PostgreSQL lock unique keys as they insert them; taking them in one
/// global order (idempotency key, then claim number) means two batches cannot deadlock.
/// The sort is stable, so among equal claim numbers the earlier request still wins.
fn in_lock_order(mut jobs: Vec<(PendingClaim, Reply)>) -> Vec<(PendingClaim, Reply)> {
    jobs.sort_by(|(a, _), (b, _)| {
        lock_key(a).cmp(&lock_key(b)).then_with(|| a.claim.claim_number.cmp(&b.claim.claim_number))
    });
    jobs
}

/// What a batch's transaction did.
struct Written {
    /// One per claim, in the batch's order.
    outcomes: Vec<Outcome>,
    /// Webhook deliveries of the follow-ups it fired.
    deliveries: usize,
}

async fn write_batch(
    db: &DatabaseConnection,
    jobs: &[PendingClaim],
    answer: &dyn ClaimAnswer,
) -> Result<Written, DbErr> {
    let txn = crate::db::begin_write(db).await?;
    let written = write_in(&txn, jobs, answer).await?;
    txn.commit().await?;
    Ok(written)
}

/// Stores `jobs` in `txn` (the caller commits): what `ClaimWriter` does for a batch, and a
/// claim file for each chunk of its claims, in the file's own transaction.
pub async fn store_in(
    txn: &DatabaseTransaction,
    jobs: &[PendingClaim],
    answer: &dyn ClaimAnswer,
) -> Result<(Vec<Outcome>, usize), DbErr> {
    let written = write_in(txn, jobs, answer).await?;
    Ok((written.outcomes, written.deliveries))
}

async fn write_in(
    txn: &DatabaseTransaction,
    jobs: &[PendingClaim],
    answer: &dyn ClaimAnswer,
) -> Result<Written, DbErr> {
    let now = crate::sql::now();

    let planned = plan_follow_ups(txn, jobs, now).await?;
    // The 201 bodies show the follow-ups as the claim's commit leaves them (one already due
    // fired with it). Those of keyed claims are stored with their idempotency records, so
    // rendered here; the others are left to the caller.
    let shown: Vec<Vec<follow_up::Model>> =
        planned.iter().map(|rows| rows.iter().map(|f| followups::as_committed(f, now)).collect()).collect();
    let responses: Vec<Option<String>> = jobs
        .iter()
        .zip(&shown)
        .map(|(j, rows)| {
            j.idempotency
                .as_ref()
                .map(|_| {
                    answer
                        .created(&j.claim, &j.lines, rows, j.detail.as_ref().and_then(|d| d.loops.as_ref()))
                        .map_err(DbErr::Custom)
                })
                .transpose()
        })
        .collect::<Result<_, _>>()?;
    let mut outcomes = claim_idempotency_keys(txn, jobs, &responses, now).await?;

    let to_insert: Vec<usize> = (0..jobs.len()).filter(|&i| outcomes[i].is_none()).collect();
    let created = insert_claims(txn, jobs, &to_insert).await?;
    let mut stored = Vec::with_capacity(to_insert.len());
    let mut forget_keys = Vec::new();
    for &i in &to_insert {
        if created.contains(&jobs[i].claim.id) {
            outcomes[i] = Some(match &responses[i] {
                Some(body) => Outcome::Created(body.clone()),
                None => Outcome::Stored(Box::new(StoredClaim {
                    claim: jobs[i].claim.clone(),
                    lines: jobs[i].lines.clone(),
                    follow_ups: shown[i].clone(),
                    detail: jobs[i].detail.as_ref().and_then(|d| d.loops.clone()),
                })),
            });
            stored.push(i);
        } else {
            outcomes[i] = Some(Outcome::DuplicateClaimNumber);
            // A failed request is not remembered: its key stays free for the corrected request.
            if let Some(r) = &jobs[i].idempotency {
                forget_keys.push(r.clone());
            }
        }
    }
    let scheduled: Vec<follow_up::Model> = stored.iter().flat_map(|&i| planned[i].iter().cloned()).collect();
    let audited: Vec<overturn_domain::audit::AuditEvent> =
        stored.iter().filter_map(|&i| jobs[i].audit.clone()).collect();
    let (settled, audit_written) = store_rows_and_match(txn, jobs, &stored, &scheduled, &audited).await?;
    // Follow-ups due the moment they are planned fire with the claim (a claim of an old date of
    // service is past its timely-filing watch on arrival); those of claims a waiting payment
    // answered were cancelled by the step before and stay so.
    let fired = followups::fire_planned(txn, &scheduled, &settled, now).await?;
    answer_settled(txn, jobs, &stored, &settled, answer, &mut outcomes).await?;

    for r in forget_keys {
        idempotency_key::Entity::delete_by_id((r.api_key_id, r.key)).exec(txn).await?;
    }
    // Last: on SQLite the chain's head is held from here to the commit.
    if !audit_written {
        crate::audit::write_in(txn, &audited).await?;
    }
    let outcomes = outcomes.into_iter().map(|o| o.expect("every claim has an outcome")).collect();
    Ok(Written { outcomes, deliveries: fired.deliveries })
}

/// Each claim's follow-ups, timed by its payer's rules (read under the matching lock, which
/// this takes for the batch).
async fn plan_follow_ups<C: ConnectionTrait>(
    txn: &C,
    jobs: &[PendingClaim],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Vec<follow_up::Model>>, DbErr> {
    let payers = jobs.iter().map(|j| j.claim.payer_id.clone()).collect::<std::collections::BTreeSet<_>>();
    let rules = crate::classify::lock_matching_and_read_rules(txn, payers).await?;
    Ok(jobs
        .iter()
        .map(|j| followups::for_claim(&j.claim, &rules.get(&j.claim.payer_id).copied().unwrap_or_default(), now))
        .collect())
}

/// Stores the idempotency records of keyed claims with their final answer. A conflict means
/// the key was used before (PostgreSQL waits here for a concurrent first use to commit): that
/// claim's outcome is the stored answer, or a mismatch. `None` for the claims to write.
async fn claim_idempotency_keys<C: ConnectionTrait>(
    txn: &C,
    jobs: &[PendingClaim],
    responses: &[Option<String>],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Option<Outcome>>, DbErr> {
    let mut outcomes: Vec<Option<Outcome>> = vec![None; jobs.len()];
    let keyed: Vec<(usize, &IdempotencyRecord)> =
        jobs.iter().enumerate().filter_map(|(i, j)| j.idempotency.as_ref().map(|r| (i, r))).collect();
    if keyed.is_empty() {
        return Ok(outcomes);
    }
    let rows = keyed.iter().map(|&(i, record)| {
        idempotency_key::ActiveModel::from(record.stored(201, responses[i].clone().unwrap_or_default(), now))
    });
    let inserted = idempotency_key::Entity::insert_many(rows)
        .on_conflict(crate::idempotency::already_used())
        .try_insert()
        .exec_with_returning_keys(txn)
        .await?;
    let mut fresh_keys: HashSet<(Uuid, String)> = HashSet::new();
    if let TryInsertResult::Inserted(keys) = inserted {
        fresh_keys.extend(keys);
    }
    let used_before: Vec<(usize, &IdempotencyRecord)> =
        keyed.into_iter().filter(|(_, r)| !fresh_keys.contains(&(r.api_key_id, r.key.clone()))).collect();
    if used_before.is_empty() {
        return Ok(outcomes);
    }
    let mut any = Condition::any();
    for (_, r) in &used_before {
        any = any.add(
            Condition::all()
                .add(idempotency_key::Column::ApiKeyId.eq(r.api_key_id))
                .add(idempotency_key::Column::Key.eq(r.key.clone())),
        );
    }
    let stored: HashMap<(Uuid, String), idempotency_key::Model> = idempotency_key::Entity::find()
        .filter(any)
        .all(txn)
        .await?
        .into_iter()
        .map(|m| ((m.api_key_id, m.key.clone()), m))
        .collect();
    for (i, r) in used_before {
        outcomes[i] = Some(match stored.get(&(r.api_key_id, r.key.clone())) {
            Some(m) if m.request_hash == r.request_hash => {
                Outcome::Replayed { status: m.response_status as u16, body: m.response_body.clone() }
            }
            Some(_) => Outcome::IdempotencyMismatch,
            None => return Err(DbErr::Custom("idempotency record vanished after a conflict".into())),
        });
    }
    Ok(outcomes)
}

/// Inserts the claims; a claim_number already taken (before, or earlier in this batch) is
/// skipped. Returns the ids stored.
async fn insert_claims<C: ConnectionTrait>(
    txn: &C,
    jobs: &[PendingClaim],
    to_insert: &[usize],
) -> Result<HashSet<Uuid>, DbErr> {
    let mut created: HashSet<Uuid> = HashSet::new();
    for chunk in to_insert.chunks(crate::sql::rows_per_statement::<claim::Entity>()) {
        let rows = chunk.iter().map(|&i| claim::ActiveModel::from(jobs[i].claim.clone()));
        let inserted = claim::Entity::insert_many(rows)
            // A claim number is unique with its revision (migration 12): a correction keeps
            // its original's number at the next revision.
            .on_conflict(
                OnConflict::columns([claim::Column::ClaimNumber, claim::Column::Revision]).do_nothing().to_owned(),
            )
            .try_insert()
            .exec_with_returning_keys(txn)
            .await?;
        if let TryInsertResult::Inserted(ids) = inserted {
            created.extend(ids);
        }
    }
    Ok(created)
}

const LINE_COLUMNS: [Column; 8] = [
    Column::new("claim_id", "uuid"),
    Column::new("line_number", "int4"),
    Column::new("procedure_code", "text"),
    Column::new("modifiers", "json"),
    Column::new("units", "text"),
    Column::new("charge_cents", "int8"),
    Column::new("service_date", "date"),
    Column::nullable("line_control_number", "text"),
];

const DETAIL_COLUMNS: [Column; 4] = [
    Column::new("claim_id", "uuid"),
    Column::nullable("claim_file_id", "uuid"),
    Column::new("format", "text"),
    Column::new("detail", "text"),
];

/// Stores the lines and follow-ups of the claims stored, and reads the payments waiting under
/// their claim numbers, in one statement (`OneTrip`); then matches what waited. Returns the
/// claims those payments settled.
async fn store_rows_and_match(
    txn: &DatabaseTransaction,
    jobs: &[PendingClaim],
    stored: &[usize],
    follow_ups: &[follow_up::Model],
    audited: &[overturn_domain::audit::AuditEvent],
) -> Result<(HashSet<Uuid>, bool), DbErr> {
    if stored.is_empty() {
        return Ok((HashSet::new(), false));
    }
    let mut trip = OneTrip::new(txn.get_database_backend());
    let mut lines = Vec::new();
    for l in stored.iter().flat_map(|&i| &jobs[i].lines) {
        lines.extend([
            Value::from(l.claim_id),
            Value::from(l.line_number),
            Value::from(l.procedure_code.clone()),
            Value::from(l.modifiers.clone()),
            Value::from(l.units.clone()),
            Value::from(l.charge_cents),
            Value::from(l.service_date),
            Value::from(l.line_control_number.clone()),
        ]);
    }
    trip.insert("claim_lines", &LINE_COLUMNS, lines)?;
    let mut details = Vec::new();
    for &i in stored {
        if let Some(d) = &jobs[i].detail {
            details.extend([
                Value::from(jobs[i].claim.id),
                Value::from(d.claim_file_id),
                Value::from(d.format.clone()),
                Value::from(d.text.clone()),
            ]);
        }
    }
    if !details.is_empty() {
        trip.insert("claim_details", &DETAIL_COLUMNS, details)?;
    }
    followups::schedule_new(&mut trip, follow_ups)?;
    let audit_written = crate::audit::write_in_trip(txn, &mut trip, audited).await?;
    let numbers: Vec<&str> = stored.iter().map(|&i| jobs[i].claim.claim_number.as_str()).collect();
    crate::acknowledgments::found_for_numbers(&mut trip, &numbers, crate::sql::now());
    let (query, values) = crate::remittance_store::waiting_for_numbers(&trip, &numbers);
    let waiting = txn
        .query_all_raw(trip.then_query(&query, values))
        .await?
        .iter()
        .map(|row| claim_payment::Model::from_query_result(row, ""))
        .collect::<Result<Vec<_>, _>>()?;
    let claims: Vec<(&claim::Model, &[claim_line::Model])> =
        stored.iter().map(|&i| (&jobs[i].claim, jobs[i].lines.as_slice())).collect();
    let settled = crate::remittance_store::match_waiting_payments(txn, &claims, waiting).await?.into_iter().collect();
    Ok((settled, audit_written))
}

/// The answer for a claim that waiting payments settled (and its stored idempotent replay)
/// shows them, read back as the transaction now has them.
async fn answer_settled(
    txn: &DatabaseTransaction,
    jobs: &[PendingClaim],
    stored: &[usize],
    settled: &HashSet<Uuid>,
    answer: &dyn ClaimAnswer,
    outcomes: &mut [Option<Outcome>],
) -> Result<(), DbErr> {
    for &i in stored.iter().filter(|&&i| settled.contains(&jobs[i].claim.id)) {
        let row = claim::Entity::find_by_id(jobs[i].claim.id)
            .one(txn)
            .await?
            .ok_or_else(|| DbErr::Custom("a claim vanished inside its own transaction".into()))?;
        let body = answer
            .settled(txn, row, jobs[i].lines.clone(), jobs[i].detail.as_ref().and_then(|d| d.loops.as_ref()))
            .await?;
        if let Some(r) = &jobs[i].idempotency {
            idempotency_key::Entity::update_many()
                .col_expr(idempotency_key::Column::ResponseBody, sea_orm::sea_query::Expr::value(body.clone()))
                .filter(idempotency_key::Column::ApiKeyId.eq(r.api_key_id))
                .filter(idempotency_key::Column::Key.eq(r.key.clone()))
                .exec(txn)
                .await?;
        }
        outcomes[i] = Some(Outcome::Created(body));
    }
    Ok(())
}
