//! Acknowledgments (999, 277CA, 277) in: stored with what each says about each claim, matched
//! to claims (or to the claim files a 999 answers), and applied in one transaction. A row
//! whose claim is not on file yet waits; the claim writer marks it `found` when a claim of its
//! number arrives and queues `Task::ApplyAcknowledgments`, which applies it then.
//!
//! Matching reads claims that another request may be creating, so it runs under the matching
//! lock, exclusive here as for remittances.

mod apply;
pub mod inquiry;
mod matching;
mod rows;

pub use apply::PayerStatus;
pub use rows::{SetVerdict, StatusCodeRecord};

use overturn_domain::x12::ack::AckFile;
use overturn_entity::{acknowledgment, acknowledgment_body, acknowledgment_claim};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::sql::{Column, insert_rows, lock_matching};

/// The rows a job applies at a time.
pub const APPLY_PAGE: u64 = 2_000;

pub struct Incoming<'a> {
    pub file: &'a AckFile<'a>,
    pub body: &'a [u8],
    pub content_type: &'a str,
    pub api_key_id: Uuid,
}

/// Everything stored, as the API shows it.
pub struct Stored {
    pub acknowledgment: acknowledgment::Model,
    pub claims: Vec<acknowledgment_claim::Model>,
    /// Webhook deliveries the rejections made.
    pub deliveries: usize,
}

/// Stores, matches and applies an acknowledgment in `txn` (the caller commits).
pub async fn store<C: ConnectionTrait>(txn: &C, incoming: Incoming<'_>) -> Result<Stored, DbErr> {
    let t0 = std::time::Instant::now();
    lock_matching(txn, true).await?;
    let now = crate::sql::now();
    let id = Uuid::now_v7();
    let kind = incoming.file.kind();
    let (sets, mut claims) = match incoming.file {
        AckFile::Implementation(groups) => rows::implementation_rows(txn, id, groups, now).await?,
        AckFile::Status(file) => (Vec::new(), rows::status_rows(id, file, now)?),
    };
    matching::match_rows(txn, &mut claims).await?;
    let sha256 = crate::remittance_store::sha256_hex(incoming.body);
    let repeat_of: Option<Uuid> = acknowledgment::Entity::find()
        .select_only()
        .column(acknowledgment::Column::Id)
        .filter(acknowledgment::Column::Sha256.eq(sha256.clone()))
        .order_by_asc(acknowledgment::Column::Id)
        .into_tuple()
        .one(txn)
        .await?;
    // The same file again is kept, and shown matched, but does nothing: applied now it could
    // reach a claim corrected since the first receipt (the latest claim of the number).
    for c in &mut claims {
        if repeat_of.is_some() {
            c.state = "repeat".into();
        } else if c.claim_id.is_some() {
            c.applied_at = Some(now);
        }
    }
    let t_matched = t0.elapsed();
    let row = acknowledgment::Model {
        id,
        kind: kind.as_str().to_owned(),
        received_at: now,
        api_key_id: incoming.api_key_id,
        byte_size: incoming.body.len() as i64,
        sha256,
        repeat_of,
        transaction_count: incoming.file.transaction_count() as i32,
        // A 999's set waiting for its claim file is no claim (yet).
        claim_count: claims.iter().filter(|c| !c.claim_number.is_empty()).count() as i32,
        matched_count: claims.iter().filter(|c| c.claim_id.is_some()).count() as i32,
        rejected_count: claims.iter().filter(|c| c.outcome == "rejected" && !c.claim_number.is_empty()).count() as i32,
        sets: serde_json::to_string(&sets).map_err(|e| DbErr::Custom(e.to_string()))?,
    };
    acknowledgment::Entity::insert(acknowledgment::ActiveModel::from(row.clone())).exec_without_returning(txn).await?;
    acknowledgment_body::Entity::insert(acknowledgment_body::ActiveModel::from(acknowledgment_body::Model {
        acknowledgment_id: id,
        content_type: incoming.content_type.chars().take(255).collect(),
        body: incoming.body.to_vec(),
    }))
    .exec_without_returning(txn)
    .await?;
    insert_claim_rows(txn, &claims).await?;
    let t_stored = t0.elapsed();
    let deliveries = if repeat_of.is_some() { 0 } else { apply::apply(txn, &claims, now).await? };
    tracing::debug!(read_and_match = ?t_matched, stored = ?t_stored, total = ?t0.elapsed(), claims = claims.len(), "acknowledgment applied");
    Ok(Stored { acknowledgment: row, claims, deliveries })
}

const CLAIM_COLUMNS: [Column; 21] = [
    Column::new("id", "uuid"),
    Column::new("acknowledgment_id", "uuid"),
    Column::new("position", "int4"),
    Column::new("kind", "text"),
    Column::new("claim_number", "text"),
    Column::new("trace", "text"),
    Column::nullable("payer_claim_number", "text"),
    Column::nullable("member_id", "text"),
    Column::nullable("service_date", "date"),
    Column::nullable("charge_cents", "int8"),
    Column::nullable("paid_cents", "int8"),
    Column::nullable("effective_date", "date"),
    Column::new("outcome", "text"),
    Column::new("status_codes", "text"),
    Column::nullable("message", "text"),
    Column::nullable("claim_id", "uuid"),
    Column::nullable("matched_by", "text"),
    Column::new("state", "text"),
    Column::nullable("group_control_number", "text"),
    Column::new("received_at", "timestamptz"),
    Column::nullable("applied_at", "timestamptz"),
];

/// The claim rows, built as the bulk insert wants them (a 277CA can hold 20,000).
async fn insert_claim_rows<C: ConnectionTrait>(txn: &C, rows: &[acknowledgment_claim::Model]) -> Result<(), DbErr> {
    use sea_orm::Value;
    let mut values = Vec::with_capacity(rows.len() * CLAIM_COLUMNS.len());
    for r in rows {
        values.extend([
            Value::from(r.id),
            Value::from(r.acknowledgment_id),
            Value::from(r.position),
            Value::from(r.kind.clone()),
            Value::from(r.claim_number.clone()),
            Value::from(r.trace.clone()),
            Value::from(r.payer_claim_number.clone()),
            Value::from(r.member_id.clone()),
            Value::from(r.service_date),
            Value::from(r.charge_cents),
            Value::from(r.paid_cents),
            Value::from(r.effective_date),
            Value::from(r.outcome.clone()),
            Value::from(r.status_codes.clone()),
            Value::from(r.message.clone()),
            Value::from(r.claim_id),
            Value::from(r.matched_by.clone()),
            Value::from(r.state.clone()),
            Value::from(r.group_control_number.clone()),
            Value::from(r.received_at),
            Value::from(r.applied_at),
        ]);
    }
    insert_rows(txn, "acknowledgment_claims", &CLAIM_COLUMNS, values).await
}

/// The job's work: rows whose claim has arrived since they came (`found`), matched and applied
/// a page at a time. Returns how many were applied, and the webhook deliveries made; idempotent (a row applied is `applied`, and
/// applying is keyed by its cause).
pub async fn apply_found(db: &DatabaseConnection) -> Result<(usize, usize), DbErr> {
    let mut applied = 0;
    let mut deliveries = 0;
    loop {
        let txn = crate::db::begin_write(db).await?;
        lock_matching(&txn, true).await?;
        let mut rows = acknowledgment_claim::Entity::find()
            .filter(acknowledgment_claim::Column::State.eq("found"))
            .order_by_asc(acknowledgment_claim::Column::Id)
            .limit(APPLY_PAGE)
            .all(&txn)
            .await?;
        if rows.is_empty() {
            txn.commit().await?;
            return Ok((applied, deliveries));
        }
        let page = rows.len();
        matching::match_rows(&txn, &mut rows).await?;
        let now = crate::sql::now();
        for r in &mut rows {
            if r.claim_id.is_some() {
                r.applied_at = Some(now);
            }
            acknowledgment_claim::Entity::update_many()
                .col_expr(acknowledgment_claim::Column::ClaimId, Expr::value(r.claim_id))
                .col_expr(acknowledgment_claim::Column::MatchedBy, Expr::value(r.matched_by.clone()))
                .col_expr(acknowledgment_claim::Column::State, Expr::value(r.state.clone()))
                .col_expr(acknowledgment_claim::Column::AppliedAt, Expr::value(r.applied_at))
                .filter(acknowledgment_claim::Column::Id.eq(r.id))
                .exec(&txn)
                .await?;
        }
        deliveries += apply::apply(&txn, &rows, now).await?;
        let matched: Vec<Uuid> = rows.iter().filter(|r| r.claim_id.is_some()).map(|r| r.acknowledgment_id).collect();
        for ack in matched.iter().collect::<std::collections::BTreeSet<_>>() {
            let count = matched.iter().filter(|a| *a == ack).count() as i32;
            acknowledgment::Entity::update_many()
                .col_expr(
                    acknowledgment::Column::MatchedCount,
                    Expr::col(acknowledgment::Column::MatchedCount).add(count),
                )
                .filter(acknowledgment::Column::Id.eq(*ack))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        applied += rows.iter().filter(|r| r.claim_id.is_some()).count();
        if (page as u64) < APPLY_PAGE {
            return Ok((applied, deliveries));
        }
    }
}

/// For new claims, in the claim writer's own statement: marks the rows waiting under their
/// numbers `found`, and when there were any, queues the job that applies them. Nothing waits
/// in the usual case, so this is one look in a small partial index per batch of claims.
pub fn found_for_numbers(trip: &mut crate::sql::OneTrip, numbers: &[&str], now: chrono::DateTime<chrono::Utc>) {
    use sea_orm::Value;
    let job = crate::outbox::pending_job(&crate::queue::Task::ApplyAcknowledgments {}, now);
    let (id, created) = (job.id.unwrap(), now);
    if trip.backend() == sea_orm::DbBackend::Postgres {
        let array = numbers.iter().map(|n| Value::from(*n)).collect::<Vec<_>>();
        let marked = trip.next_name();
        trip.statement(
            format!(
                "UPDATE acknowledgment_claims SET state = 'found' WHERE state = 'waiting' AND claim_number = ANY({}::text[]) RETURNING 1",
                trip.placeholder(0)
            ),
            vec![Value::Array(sea_orm::sea_query::ArrayType::String, Some(Box::new(array)))],
        );
        trip.statement(
            format!(
                "INSERT INTO outbox (id, topic, payload, created_at) SELECT {}, 'apply_acknowledgments', '{{}}'::json, {} \
                 WHERE EXISTS (SELECT 1 FROM {marked})",
                trip.placeholder(0),
                trip.placeholder(1)
            ),
            vec![Value::from(id), Value::from(created)],
        );
    } else {
        let marks = vec!["?"; numbers.len()].join(", ");
        trip.statement(
            format!(
                "UPDATE acknowledgment_claims SET state = 'found' WHERE state = 'waiting' AND claim_number IN ({marks})"
            ),
            numbers.iter().map(|n| Value::from(*n)).collect(),
        );
        trip.statement(
            "INSERT INTO outbox (id, topic, payload, created_at) SELECT ?, 'apply_acknowledgments', '{}', ? WHERE changes() > 0"
                .to_owned(),
            vec![Value::from(id), Value::from(created)],
        );
    }
}

pub async fn find<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Option<acknowledgment::Model>, DbErr> {
    acknowledgment::Entity::find_by_id(id).one(db).await
}

/// Newest first, after `before` (the cursor: the last id of the previous page).
pub async fn list<C: ConnectionTrait>(
    db: &C,
    kind: Option<&str>,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<acknowledgment::Model>, DbErr> {
    let mut select = acknowledgment::Entity::find().order_by_desc(acknowledgment::Column::Id).limit(limit);
    if let Some(kind) = kind {
        select = select.filter(acknowledgment::Column::Kind.eq(kind));
    }
    if let Some(before) = before {
        select = select.filter(acknowledgment::Column::Id.lt(before));
    }
    select.all(db).await
}

/// An acknowledgment's claim rows in file order, after the row `after` (the cursor: the last
/// row of the previous page).
pub async fn claims_of<C: ConnectionTrait>(
    db: &C,
    acknowledgment_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<acknowledgment_claim::Model>, DbErr> {
    let mut select = acknowledgment_claim::Entity::find()
        .filter(acknowledgment_claim::Column::AcknowledgmentId.eq(acknowledgment_id))
        .order_by_asc(acknowledgment_claim::Column::Position)
        .limit(limit);
    if let Some(after) = after {
        let position: Option<i32> = acknowledgment_claim::Entity::find_by_id(after)
            .select_only()
            .column(acknowledgment_claim::Column::Position)
            .filter(acknowledgment_claim::Column::AcknowledgmentId.eq(acknowledgment_id))
            .into_tuple()
            .one(db)
            .await?;
        select = select.filter(acknowledgment_claim::Column::Position.gt(position.unwrap_or(i32::MAX)));
    }
    select.all(db).await
}

/// What acknowledgments said of a claim, newest first.
pub async fn of_claim<C: ConnectionTrait>(db: &C, claim_id: Uuid) -> Result<Vec<acknowledgment_claim::Model>, DbErr> {
    acknowledgment_claim::Entity::find()
        .filter(acknowledgment_claim::Column::ClaimId.eq(claim_id))
        .order_by_desc(acknowledgment_claim::Column::Id)
        .limit(100)
        .all(db)
        .await
}

/// For a claim file just stored (in its transaction): the 999 sets that waited for it (by its
/// sets' GS06 and ST02) become rows for the claims created from those sets, applied now.
/// Returns the webhook deliveries made.
pub async fn claim_file_arrived<C: ConnectionTrait>(
    txn: &C,
    file_id: Uuid,
    sets: &[crate::claim_files::SetRecord],
    outcomes: &[crate::claim_files::ClaimOutcome],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<usize, DbErr> {
    use crate::claim_files::ClaimStatus;
    let controls: Vec<String> = sets.iter().map(|s| s.transaction_control_number.clone()).collect();
    if controls.is_empty() {
        return Ok(0);
    }
    // Few or none: a 999 seldom comes before the file it answers.
    let mut waiting = Vec::new();
    for chunk in controls.chunks(crate::sql::MAX_PARAMS) {
        waiting.extend(
            acknowledgment_claim::Entity::find()
                .filter(acknowledgment_claim::Column::State.eq("waiting"))
                .filter(acknowledgment_claim::Column::ClaimNumber.eq(""))
                .filter(acknowledgment_claim::Column::GroupControlNumber.is_not_null())
                .filter(acknowledgment_claim::Column::Trace.is_in(chunk.iter().cloned()))
                .all(txn)
                .await?,
        );
    }
    let mut firsts = Vec::with_capacity(sets.len());
    let mut first = 0;
    for s in sets {
        firsts.push(first);
        first += s.claim_count;
    }
    let mut rows = Vec::new();
    for w in waiting {
        let found = sets.iter().zip(&firsts).find(|(s, _)| {
            Some(s.group_control_number.as_str()) == w.group_control_number.as_deref()
                && s.transaction_control_number == w.trace
        });
        let Some((set, &first)) = found else { continue };
        let next: Option<i32> = acknowledgment_claim::Entity::find()
            .select_only()
            .column_as(acknowledgment_claim::Column::Position.max(), "max")
            .filter(acknowledgment_claim::Column::AcknowledgmentId.eq(w.acknowledgment_id))
            .into_tuple()
            .one(txn)
            .await?
            .flatten();
        let mut position = next.unwrap_or(0) as usize + 1;
        for outcome in outcomes.iter().skip(first).take(set.claim_count) {
            let (ClaimStatus::Created, Some(claim_id)) = (outcome.status, outcome.claim_id) else { continue };
            let mut row =
                rows::blank(w.acknowledgment_id, overturn_domain::x12::ack::AckKind::Implementation, position, now);
            position += 1;
            row.claim_number = outcome.claim_number.chars().take(50).collect();
            row.trace = w.trace.clone();
            row.member_id = outcome.member_id.clone();
            row.outcome = w.outcome.clone();
            row.message = w.message.clone();
            row.claim_id = Some(claim_id);
            row.matched_by = Some("claim_file".into());
            row.state = "applied".into();
            row.applied_at = Some(now);
            rows.push(row);
        }
        acknowledgment_claim::Entity::update_many()
            .col_expr(acknowledgment_claim::Column::State, Expr::value("applied"))
            .col_expr(acknowledgment_claim::Column::MatchedBy, Expr::value("claim_file"))
            .col_expr(acknowledgment_claim::Column::AppliedAt, Expr::value(now))
            .filter(acknowledgment_claim::Column::Id.eq(w.id))
            .exec(txn)
            .await?;
        // The 999's verdict on the set names the file now.
        if let Some(ack) = acknowledgment::Entity::find_by_id(w.acknowledgment_id).one(txn).await? {
            let mut verdicts: Vec<SetVerdict> = serde_json::from_str(&ack.sets).unwrap_or_default();
            for v in verdicts.iter_mut().filter(|v| {
                v.group_control_number == set.group_control_number
                    && v.transaction_control_number == set.transaction_control_number
            }) {
                v.claim_file_id = Some(file_id);
                v.matched = "matched".into();
            }
            let added: Vec<&acknowledgment_claim::Model> =
                rows.iter().filter(|r| r.acknowledgment_id == ack.id).collect();
            let rejected = added.iter().filter(|r| r.outcome == "rejected").count() as i32;
            acknowledgment::Entity::update_many()
                .col_expr(
                    acknowledgment::Column::Sets,
                    Expr::value(serde_json::to_string(&verdicts).unwrap_or_default()),
                )
                .col_expr(
                    acknowledgment::Column::ClaimCount,
                    Expr::col(acknowledgment::Column::ClaimCount).add(added.len() as i32),
                )
                .col_expr(
                    acknowledgment::Column::MatchedCount,
                    Expr::col(acknowledgment::Column::MatchedCount).add(added.len() as i32),
                )
                .col_expr(
                    acknowledgment::Column::RejectedCount,
                    Expr::col(acknowledgment::Column::RejectedCount).add(rejected),
                )
                .filter(acknowledgment::Column::Id.eq(ack.id))
                .exec(txn)
                .await?;
        }
    }
    if rows.is_empty() {
        return Ok(0);
    }
    insert_claim_rows(txn, &rows).await?;
    apply::apply(txn, &rows, now).await
}
