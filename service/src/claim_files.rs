//! Claim files (837P, 837I): each claim read, stored or refused on its own, and the file with
//! its 999, in one transaction. A claim already on file (same claim number) is reported as a
//! duplicate, not stored again; a refused claim stores nothing. The file is stored whole or not
//! at all: a request cut off midway leaves nothing, and its retry (same `Idempotency-Key`)
//! starts afresh.

use std::collections::HashMap;

use overturn_domain::audit::{AuditEvent, MAX_LISTED};
use overturn_domain::x12::EdiError;
use overturn_domain::x12::ack999::{self, AckControl};
use overturn_domain::x12::claim837::{ClaimFile, Envelope837, Projected, StoredClaim, project};
use overturn_entity::{claim, claim_detail, claim_file, claim_file_body, claim_file_set};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::claim_writer::{ClaimAnswer, ClaimDetail, Outcome, PendingClaim, store_in};
use crate::sql::MAX_PARAMS;

/// Key of the PostgreSQL advisory lock that numbers acknowledgments one at a time ("OVRT999N").
const NUMBER_LOCK: i64 = 0x4F56_5254_3939_394E;
/// Claims stored per step of a file: the claim writer's batch size.
const CHUNK: usize = 256;

/// What became of one claim of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimStatus {
    Created,
    Rejected,
    Duplicate,
    /// A claim written into an export file.
    Exported,
}

/// A fault as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    pub segment_index: usize,
    pub segment_id: String,
    pub element: Option<usize>,
    pub message: String,
}

impl From<&EdiError> for Fault {
    fn from(e: &EdiError) -> Self {
        Self {
            segment_index: e.segment_index,
            segment_id: e.segment_id.clone(),
            element: e.element,
            message: e.message.clone(),
        }
    }
}

/// One claim's outcome as stored (`claim_files.outcomes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimOutcome {
    pub claim_number: String,
    pub status: ClaimStatus,
    pub claim_id: Option<Uuid>,
    pub errors: Vec<Fault>,
    /// For the access log of whoever reads the outcome; never shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_id: Option<String>,
}

/// One transaction set as stored (`claim_files.transaction_sets`): what a 999 or 277CA about
/// it will be matched on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetRecord {
    pub interchange_control_number: String,
    pub group_control_number: String,
    pub transaction_control_number: String,
    /// A, E or R, as the 999 says.
    pub acknowledgment: String,
    pub claim_count: usize,
}

pub struct Incoming<'a> {
    /// Owned: its loops, the largest thing a large file makes, are freed once its claims are
    /// read, before they are stored.
    pub file: ClaimFile<'a>,
    pub body: &'a [u8],
    pub content_type: &'a str,
    pub api_key_id: Uuid,
    /// The access event of `Create` for a page of the claims stored (their ids, their
    /// patients' member ids), made by the edge that knows the caller.
    pub audit: &'a (dyn Fn(Vec<String>, Vec<String>) -> AuditEvent + Send + Sync),
    /// Who resubmits the denials of claims the file's replacements and voids correct.
    pub actor: &'a crate::denials::Actor,
}

/// The stored file and what its transaction did.
pub struct Received {
    pub file: claim_file::Model,
    pub outcomes: Vec<ClaimOutcome>,
    /// Webhook deliveries of follow-ups that fired with their claims.
    pub deliveries: usize,
}

/// Reads, stores and acknowledges a claim file in `txn`.
pub async fn receive(txn: &DatabaseTransaction, incoming: Incoming<'_>) -> Result<Received, DbErr> {
    let t0 = std::time::Instant::now();
    let now = crate::sql::now();
    let file = incoming.file;
    let file_id = Uuid::now_v7();
    let projected: Vec<Vec<Projected<'_>>> = file.sets.iter().map(|s| project(s, now.date_naive())).collect();

    // The 999 first, while the drafts and faults are all at hand.
    let number = next_number(txn).await?;
    let acknowledgment =
        ack999::acknowledge(&file, &projected, AckControl { number: number.clamp(1, 999_999_999) as u32, at: now });
    let sets: Vec<SetRecord> = file
        .sets
        .iter()
        .zip(&projected)
        .map(|(set, claims)| SetRecord {
            interchange_control_number: set.interchange_control_number.to_owned(),
            group_control_number: set.group_control_number.to_owned(),
            transaction_control_number: set.transaction_control_number.to_owned(),
            acknowledgment: ack999::set_ack(set, claims).code().to_owned(),
            claim_count: claims.len(),
        })
        .collect();
    let mut outcomes = Vec::with_capacity(file.claim_count());
    let mut pending: Vec<(usize, PendingClaim)> = Vec::new();
    // Each draft is consumed as its claim's rows are made: the two are not all held at once.
    for (set, claims) in file.sets.iter().zip(projected) {
        for (claim, p) in set.claims.iter().zip(claims) {
            let index = outcomes.len();
            let mut outcome = ClaimOutcome {
                claim_number: p.claim_number.to_owned(),
                status: ClaimStatus::Rejected,
                claim_id: None,
                errors: Vec::new(),
                member_id: None,
            };
            match (p.result, StoredClaim::of(set, claim, file.delimiters)) {
                (Ok(draft), Some(stored)) => {
                    let (row, lines) = crate::claims::rows_of(&draft, now, now);
                    outcome.member_id = Some(row.patient_member_id.clone());
                    let detail = Some(ClaimDetail::new(Some(file_id), stored, false)?);
                    pending.push((index, PendingClaim { claim: row, lines, idempotency: None, audit: None, detail }));
                }
                (Ok(_), None) => {}
                (Err(faults), _) => outcome.errors = faults.iter().map(Fault::from).collect(),
            }
            outcomes.push(outcome);
        }
    }

    // The drafts are in `pending` now; the faults are in `outcomes` and the 999; the loops are
    // in the claims' details.
    let format = file.format;
    drop(file);
    // A replacement or void (CLM05-3 7 or 8) of a claim on file corrects the latest claim of
    // its number, as `POST /v1/claims/{id}/corrections` does; of no claim on file, it is new.
    let corrections: Vec<String> = pending
        .iter()
        .filter(|(_, p)| matches!(p.claim.frequency_code.as_str(), "7" | "8"))
        .map(|(_, p)| p.claim.claim_number.clone())
        .collect();
    let heads = crate::claims::latest_of_numbers(txn, &corrections).await?;
    let mut sent_before = std::collections::HashSet::new();
    for (i, p) in pending.iter_mut().filter(|(_, p)| matches!(p.claim.frequency_code.as_str(), "7" | "8")) {
        let Some(head) = heads.get(&p.claim.claim_number) else { continue };
        // The same correction again (same frequency, citing the same payer claim) is a duplicate.
        if head.frequency_code == p.claim.frequency_code
            && head.payer_claim_control_number == p.claim.payer_claim_control_number
        {
            outcomes[*i].status = ClaimStatus::Duplicate;
            outcomes[*i].claim_id = Some(head.id);
            sent_before.insert(*i);
        } else {
            p.claim.replaces_claim_id = Some(head.id);
            p.claim.revision = head.revision + 1;
        }
    }
    pending.retain(|(i, _)| !sent_before.contains(i));
    let mut replaced: Vec<Uuid> = Vec::new();
    let t_read = t0.elapsed();
    let mut t_claims = std::time::Duration::ZERO;
    // Claim numbers in one order, so that concurrent files cannot deadlock on PostgreSQL.
    pending.sort_by(|a, b| a.1.claim.claim_number.cmp(&b.1.claim.claim_number));
    let mut deliveries = 0;
    let mut created: Vec<(String, String)> = Vec::new();
    let mut duplicates: Vec<usize> = Vec::new();
    while !pending.is_empty() {
        let rest = pending.split_off(pending.len().min(CHUNK));
        let chunk = std::mem::replace(&mut pending, rest);
        let (indexes, jobs): (Vec<usize>, Vec<PendingClaim>) = chunk.into_iter().unzip();
        let t = std::time::Instant::now();
        let (stored, fired) = store_in(txn, &jobs, &Unshown).await?;
        t_claims += t.elapsed();
        deliveries += fired;
        for ((i, job), outcome) in indexes.into_iter().zip(&jobs).zip(stored) {
            match outcome {
                Outcome::Created(_) | Outcome::Stored(_) => {
                    replaced.extend(job.claim.replaces_claim_id);
                    outcomes[i].status = ClaimStatus::Created;
                    outcomes[i].claim_id = Some(job.claim.id);
                    created.push((job.claim.id.to_string(), job.claim.patient_member_id.clone()));
                }
                Outcome::DuplicateClaimNumber => {
                    outcomes[i].status = ClaimStatus::Duplicate;
                    duplicates.push(i);
                }
                Outcome::Replayed { .. } | Outcome::IdempotencyMismatch => {
                    return Err(DbErr::Custom("a claim of a file met an idempotency record".into()));
                }
            }
        }
    }
    name_duplicates(txn, &mut outcomes, &duplicates).await?;
    crate::corrections::resubmit_denials_of(txn, &replaced, incoming.actor, "corrected by a claim file").await?;

    let count = |s: ClaimStatus| outcomes.iter().filter(|o| o.status == s).count() as i32;
    let row = claim_file::Model {
        id: file_id,
        number,
        kind: "received".into(),
        format: format.name().into(),
        received_at: now,
        api_key_id: incoming.api_key_id,
        byte_size: incoming.body.len() as i64,
        sha256: crate::remittance_store::sha256_hex(incoming.body),
        claim_count: outcomes.len() as i32,
        created_count: count(ClaimStatus::Created),
        rejected_count: count(ClaimStatus::Rejected),
        duplicate_count: count(ClaimStatus::Duplicate),
        transaction_sets: serde_json::to_value(&sets).map_err(|e| DbErr::Custom(e.to_string()))?,
        outcomes: serde_json::to_string(&outcomes).map_err(|e| DbErr::Custom(e.to_string()))?,
        acknowledgment,
    };
    claim_file::Entity::insert(claim_file::ActiveModel::from(row.clone())).exec_without_returning(txn).await?;
    insert_sets(txn, file_id, &sets).await?;
    deliveries += crate::acknowledgments::claim_file_arrived(txn, file_id, &sets, &outcomes, now).await?;
    claim_file_body::Entity::insert(claim_file_body::ActiveModel::from(claim_file_body::Model {
        claim_file_id: file_id,
        content_type: incoming.content_type.chars().take(255).collect(),
        body: incoming.body.to_vec(),
    }))
    .exec_without_returning(txn)
    .await?;
    let events: Vec<AuditEvent> = created
        .chunks(MAX_LISTED)
        .map(|page| {
            let (ids, members): (Vec<String>, Vec<String>) = page.iter().cloned().unzip();
            (incoming.audit)(ids, members)
        })
        .collect();
    crate::audit::write_in(txn, &events).await?;
    tracing::debug!(read = ?t_read, claims = ?t_claims, total = ?t0.elapsed(), "claim file stored");
    Ok(Received { file: row, outcomes, deliveries })
}

/// The file's sets by their control numbers, for the 999s that will answer them.
async fn insert_sets(txn: &DatabaseTransaction, file_id: Uuid, sets: &[SetRecord]) -> Result<(), DbErr> {
    let cut = |t: &str| t.chars().take(20).collect::<String>();
    let mut first = 0;
    let mut rows = Vec::with_capacity(sets.len());
    for (position, set) in sets.iter().enumerate() {
        rows.push(claim_file_set::ActiveModel::from(claim_file_set::Model {
            claim_file_id: file_id,
            position: position as i32,
            interchange_control_number: cut(&set.interchange_control_number),
            group_control_number: cut(&set.group_control_number),
            transaction_control_number: cut(&set.transaction_control_number),
            first_claim: first as i32,
            claim_count: set.claim_count as i32,
        }));
        first += set.claim_count;
    }
    for chunk in rows.chunks(crate::sql::rows_per_statement::<claim_file_set::Entity>()) {
        claim_file_set::Entity::insert_many(chunk.to_vec()).exec_without_returning(txn).await?;
    }
    Ok(())
}

/// The file's answer lists outcomes, not claims: nothing to render for each.
struct Unshown;

impl ClaimAnswer for Unshown {
    fn created(
        &self,
        _: &claim::Model,
        _: &[overturn_entity::claim_line::Model],
        _: &[overturn_entity::follow_up::Model],
        _: Option<&StoredClaim>,
    ) -> Result<String, String> {
        Ok(String::new())
    }

    fn settled<'a>(
        &'a self,
        _: &'a DatabaseTransaction,
        _: claim::Model,
        _: Vec<overturn_entity::claim_line::Model>,
        _: Option<&'a StoredClaim>,
    ) -> crate::queue::BoxFuture<'a, Result<String, DbErr>> {
        Box::pin(async { Ok(String::new()) })
    }
}

/// A duplicate names the claim on file under its number: the latest of its chain.
async fn name_duplicates(
    txn: &DatabaseTransaction,
    outcomes: &mut [ClaimOutcome],
    duplicates: &[usize],
) -> Result<(), DbErr> {
    let numbers: Vec<String> = duplicates.iter().map(|&i| outcomes[i].claim_number.clone()).collect();
    let heads = crate::claims::latest_of_numbers(txn, &numbers).await?;
    for &i in duplicates {
        outcomes[i].claim_id = heads.get(&outcomes[i].claim_number).map(|h| h.id);
    }
    Ok(())
}

/// The next acknowledgment number: one more than the last, one file at a time.
async fn next_number(txn: &DatabaseTransaction) -> Result<i64, DbErr> {
    let backend = txn.get_database_backend();
    if backend == DbBackend::Postgres {
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({NUMBER_LOCK})")).await?;
    }
    #[derive(FromQueryResult)]
    struct Last {
        number: i64,
    }
    let last = claim_file::Entity::find()
        .select_only()
        .column(claim_file::Column::Number)
        .order_by_desc(claim_file::Column::Number)
        .limit(1)
        .into_model::<Last>()
        .one(txn)
        .await?;
    // 999,999,999 is the most ISA13 holds; after it the count starts again.
    Ok(last.map_or(1, |l| if l.number >= 999_999_999 { 1 } else { l.number + 1 }))
}

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<claim_file::Model>, DbErr> {
    claim_file::Entity::find_by_id(id).one(db).await
}

/// Claim files newest first, after the cursor `before`, at most `limit`.
pub async fn list(
    db: &impl ConnectionTrait,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<claim_file::Model>, DbErr> {
    let mut query = claim_file::Entity::find().order_by_desc(claim_file::Column::Id).limit(limit);
    if let Some(before) = before {
        query = query.filter(claim_file::Column::Id.lt(before));
    }
    query.all(db).await
}

/// The outcomes of a stored file.
pub fn outcomes_of(row: &claim_file::Model) -> Vec<ClaimOutcome> {
    serde_json::from_str(&row.outcomes).unwrap_or_default()
}

/// The set records of a stored file.
pub fn sets_of(row: &claim_file::Model) -> Vec<SetRecord> {
    serde_json::from_value(row.transaction_sets.clone()).unwrap_or_default()
}

/// The loops a claim came with in its 837, if it came in one.
pub async fn detail_of(db: &impl ConnectionTrait, claim_id: Uuid) -> Result<Option<StoredClaim>, DbErr> {
    Ok(details_of(db, &[claim_id]).await?.remove(&claim_id))
}

/// The loops of those of `claims` that have them (a page of a list), one query.
pub async fn details_of(db: &impl ConnectionTrait, claims: &[Uuid]) -> Result<HashMap<Uuid, StoredClaim>, DbErr> {
    let mut out = HashMap::new();
    for page in claims.chunks(MAX_PARAMS) {
        let rows =
            claim_detail::Entity::find().filter(claim_detail::Column::ClaimId.is_in(page.to_vec())).all(db).await?;
        for row in rows {
            let stored = serde_json::from_str(&row.detail)
                .map_err(|e| DbErr::Custom(format!("claim {}'s stored 837 loops: {e}", row.claim_id)))?;
            out.insert(row.claim_id, stored);
        }
    }
    Ok(out)
}

/// The envelope of an 837 Overturn writes for `claims`: from the submitter (1000A) to the
/// receiver (1000B) of the first claim, as its file named them.
pub fn envelope_for(claims: &[StoredClaim], control_number: u32, at: chrono::DateTime<chrono::Utc>) -> Envelope837 {
    let party = |id: &str| -> String {
        let header = claims.first().and_then(|c| c.header.view(c.delimiters()?));
        let nm1 = header
            .as_ref()
            .and_then(|h| h.root().child(id))
            .and_then(|l| l.segments().first().map(|s| s.get(9).to_owned()));
        nm1.unwrap_or_default()
    };
    let (sender, receiver) = (party("1000A"), party("1000B"));
    Envelope837 {
        sender: ("ZZ".into(), sender.clone()),
        receiver: ("ZZ".into(), receiver.clone()),
        application_sender: sender,
        application_receiver: receiver,
        control_number,
        at,
        test: false,
    }
}

/// Why claims cannot be exported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// Positions in the request's list of ids, and why.
    #[error("some claims cannot be exported")]
    Claims(Vec<(usize, String)>),
    #[error("{0}")]
    Write(String),
}

fn lacking(fields: &[overturn_domain::FieldError]) -> String {
    let named: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
    format!("lacks what an 837 needs: {}", named.join(", "))
}

/// Writes the claims `ids` (in that order) as one 837 file and stores it as an export: its
/// number from the acknowledgments' sequence, its bytes downloadable.
pub async fn export(
    txn: &DatabaseTransaction,
    ids: &[Uuid],
    api_key_id: Uuid,
) -> Result<Result<(claim_file::Model, Vec<ClaimOutcome>), ExportError>, DbErr> {
    let mut claims: HashMap<Uuid, claim::Model> = HashMap::new();
    for page in ids.chunks(MAX_PARAMS) {
        claims.extend(
            claim::Entity::find()
                .filter(claim::Column::Id.is_in(page.to_vec()))
                .all(txn)
                .await?
                .into_iter()
                .map(|c| (c.id, c)),
        );
    }
    let mut details = details_of(txn, ids).await?;
    let mut problems = Vec::new();
    let mut stored = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        match (claims.get(id), details.remove(id)) {
            (None, _) => problems.push((i, format!("no claim with id {id}"))),
            (Some(_), None) => problems.push((i, lacking(&overturn_domain::x12::claim837::lacking_without_fields()))),
            (Some(_), Some(s)) if !s.lacking.is_empty() => problems.push((i, lacking(&s.lacking))),
            (Some(_), Some(s)) => stored.push(s),
        }
    }
    if !problems.is_empty() {
        return Ok(Err(ExportError::Claims(problems)));
    }
    let formats: std::collections::BTreeSet<&str> = stored.iter().map(|s| s.format.as_str()).collect();
    if formats.len() > 1 {
        return Ok(Err(ExportError::Write("a file holds claims of one format; these mix 837P and 837I".into())));
    }
    let now = crate::sql::now();
    let number = next_number(txn).await?;
    let envelope = envelope_for(&stored, number.clamp(1, 999_999_999) as u32, now);
    let text = match overturn_domain::x12::claim837::write_837(&stored, &envelope) {
        Ok(text) => text,
        Err(e) => return Ok(Err(ExportError::Write(e.to_string()))),
    };
    let outcomes: Vec<ClaimOutcome> = ids
        .iter()
        .map(|id| {
            let c = &claims[id];
            ClaimOutcome {
                claim_number: c.claim_number.clone(),
                status: ClaimStatus::Exported,
                claim_id: Some(c.id),
                errors: Vec::new(),
                member_id: Some(c.patient_member_id.clone()),
            }
        })
        .collect();
    let file_id = Uuid::now_v7();
    let row = claim_file::Model {
        id: file_id,
        number,
        kind: "export".into(),
        format: formats.into_iter().next().unwrap_or_default().to_owned(),
        received_at: now,
        api_key_id,
        byte_size: text.len() as i64,
        sha256: crate::remittance_store::sha256_hex(text.as_bytes()),
        claim_count: outcomes.len() as i32,
        created_count: 0,
        rejected_count: 0,
        duplicate_count: 0,
        transaction_sets: serde_json::json!([]),
        outcomes: serde_json::to_string(&outcomes).map_err(|e| DbErr::Custom(e.to_string()))?,
        acknowledgment: String::new(),
    };
    claim_file::Entity::insert(claim_file::ActiveModel::from(row.clone())).exec_without_returning(txn).await?;
    claim_file_body::Entity::insert(claim_file_body::ActiveModel::from(claim_file_body::Model {
        claim_file_id: file_id,
        content_type: "application/edi-x12".into(),
        body: text.into_bytes(),
    }))
    .exec_without_returning(txn)
    .await?;
    Ok(Ok((row, outcomes)))
}

/// A file's bytes: as received, or as written for an export.
pub async fn body_of(db: &impl ConnectionTrait, file_id: Uuid) -> Result<Option<Vec<u8>>, DbErr> {
    Ok(claim_file_body::Entity::find_by_id(file_id).one(db).await?.map(|b| b.body))
}
