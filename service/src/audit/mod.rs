//! The PHI access log as stored: events appended to the hash chain (in the request's own
//! transaction for writes, in batches for reads), listed, verified and purged after the
//! retention period.
//!
//! An append holds the chain's head until its transaction commits (an advisory lock on
//! PostgreSQL, the single writer on SQLite), so events are chained in commit order and a
//! rolled-back write leaves no hole. On SQLite a write appends its event itself, last in its
//! transaction: there is one writer anyway, so holding the head costs nothing. On PostgreSQL a
//! write commits its event to `audit_pending` instead and the chainer (every API process's
//! `Recorder`, one at a time) appends it moments later: holding the head in every writing
//! transaction would make concurrent writers commit one by one.

use chrono::{DateTime, Utc};
use overturn_domain::audit::{AuditAction, AuditEvent, BrokenLink, GENESIS, Sealed, seal, verify};
use overturn_domain::hex;
use overturn_entity::{audit_checkpoint, audit_event, audit_event_member, audit_pending};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::sql::MAX_PARAMS;

mod listing;
mod recorder;

pub use listing::{AuditFilter, Listed, list};
pub use recorder::Recorder;

/// Key of the PostgreSQL advisory lock on the chain's head ("OVRTAUDT").
const HEAD_LOCK: i64 = 0x4F56_5254_4155_4454;

fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

fn row_of(sealed: &Sealed) -> audit_event::Model {
    let event = &sealed.event;
    let member_id = match event.member_ids.as_slice() {
        [one] if event.member_count == 1 => Some(one.clone()),
        _ => None,
    };
    audit_event::Model {
        seq: event.seq,
        id: event.id,
        at: event.at.timestamp_micros(),
        key_id: event.key_id,
        role: event.role.clone(),
        session_id: event.session_id,
        action: event.action.as_str().to_owned(),
        route: event.route.clone(),
        status: i32::from(event.status),
        resource_type: event.resource_type.clone(),
        resource_ids: json_list(&event.resource_ids),
        resource_count: event.resource_count,
        // The one patient's id is the list: stored once.
        member_ids: member_id.is_none().then(|| json_list(&event.member_ids)),
        member_id,
        member_count: event.member_count,
        request_id: event.request_id.clone(),
        remote_addr: event.remote_addr.clone(),
        hash: hex::decode(&sealed.hash).unwrap_or_default(),
    }
}

/// The patients a stored row names: its list, or its one `member_id`.
pub fn member_ids_of(row: &audit_event::Model) -> Option<Vec<String>> {
    match (&row.member_ids, &row.member_id) {
        (Some(list), _) => serde_json::from_str(list).ok(),
        (None, Some(one)) => Some(vec![one.clone()]),
        (None, None) => None,
    }
}

/// The event a stored row holds; `None` for a row no writer of this code could have made.
pub fn event_of(row: &audit_event::Model) -> Option<AuditEvent> {
    Some(AuditEvent {
        seq: row.seq,
        id: row.id,
        at: DateTime::from_timestamp_micros(row.at)?,
        key_id: row.key_id,
        role: row.role.clone(),
        session_id: row.session_id,
        action: AuditAction::parse(&row.action)?,
        route: row.route.clone(),
        status: u16::try_from(row.status).ok()?,
        resource_type: row.resource_type.clone(),
        resource_ids: serde_json::from_str(&row.resource_ids).ok()?,
        resource_count: row.resource_count,
        member_ids: member_ids_of(row)?,
        member_count: row.member_count,
        request_id: row.request_id.clone(),
        remote_addr: row.remote_addr.clone(),
    })
}

/// Holds the chain's head for the rest of the transaction (PostgreSQL; SQLite has one writer).
async fn lock_head(txn: &impl ConnectionTrait) -> Result<(), DbErr> {
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({HEAD_LOCK})")).await?;
    }
    Ok(())
}

/// Appends events to the chain in the caller's transaction, which should commit soon after:
/// the chain's head stays held until it does. Call it last.
pub async fn append(txn: &impl ConnectionTrait, events: &[AuditEvent]) -> Result<(), DbErr> {
    if events.is_empty() {
        return Ok(());
    }
    lock_head(txn).await?;
    let (seq, hash) = head(txn).await?;
    let sealed = seal((seq, &hash), events.to_vec());
    crate::sql::insert_rows(txn, "audit_events", &EVENT_COLUMNS, event_values(&sealed)).await?;
    insert_members(txn, &sealed).await?;
    log_head(sealed.last());
    Ok(())
}

/// The columns of `audit_events`, for `insert_rows` and `OneTrip`.
const EVENT_COLUMNS: [crate::sql::Column; 18] = [
    crate::sql::Column::new("seq", "int8"),
    crate::sql::Column::new("id", "uuid"),
    crate::sql::Column::new("at", "int8"),
    crate::sql::Column::nullable("key_id", "uuid"),
    crate::sql::Column::new("role", "text"),
    crate::sql::Column::nullable("session_id", "uuid"),
    crate::sql::Column::new("action", "text"),
    crate::sql::Column::new("route", "text"),
    crate::sql::Column::new("status", "int4"),
    crate::sql::Column::new("resource_type", "text"),
    crate::sql::Column::new("resource_ids", "text"),
    crate::sql::Column::new("resource_count", "int8"),
    crate::sql::Column::nullable("member_id", "text"),
    crate::sql::Column::nullable("member_ids", "text"),
    crate::sql::Column::new("member_count", "int8"),
    crate::sql::Column::new("request_id", "text"),
    crate::sql::Column::nullable("remote_addr", "text"),
    crate::sql::Column::new("hash", "bytea"),
];

fn event_values(sealed: &[Sealed]) -> Vec<sea_orm::Value> {
    use sea_orm::Value;
    let mut values = Vec::with_capacity(sealed.len() * EVENT_COLUMNS.len());
    for s in sealed {
        let r = row_of(s);
        values.extend([
            Value::from(r.seq),
            Value::from(r.id),
            Value::from(r.at),
            Value::from(r.key_id),
            Value::from(r.role),
            Value::from(r.session_id),
            Value::from(r.action),
            Value::from(r.route),
            Value::from(r.status),
            Value::from(r.resource_type),
            Value::from(r.resource_ids),
            Value::from(r.resource_count),
            Value::from(r.member_id),
            Value::from(r.member_ids),
            Value::from(r.member_count),
            Value::from(r.request_id),
            Value::from(r.remote_addr),
            Value::from(r.hash),
        ]);
    }
    values
}

/// Events naming several patients (lists) index each in `audit_event_members`; one naming
/// one keeps it in its row's `member_id`.
async fn insert_members(txn: &impl ConnectionTrait, sealed: &[Sealed]) -> Result<(), DbErr> {
    let members: Vec<audit_event_member::ActiveModel> = sealed
        .iter()
        .filter(|s| s.event.member_count > 1)
        .flat_map(|s| {
            let mut ids: Vec<&String> = s.event.member_ids.iter().collect();
            ids.sort();
            ids.dedup();
            ids.into_iter().map(move |m| {
                audit_event_member::ActiveModel::from(audit_event_member::Model {
                    member_id: m.clone(),
                    seq: s.event.seq,
                })
            })
        })
        .collect();
    for chunk in members.chunks(MAX_PARAMS / 2) {
        audit_event_member::Entity::insert_many(chunk.to_vec()).exec_without_returning(txn).await?;
    }
    Ok(())
}

/// Writes a write's events in its own transaction, last before it commits: appended to the
/// chain on SQLite, committed to wait for the chainer on PostgreSQL.
pub async fn write_in(txn: &impl ConnectionTrait, events: &[AuditEvent]) -> Result<(), DbErr> {
    if events.is_empty() {
        return Ok(());
    }
    if txn.get_database_backend() != DbBackend::Postgres {
        return append(txn, events).await;
    }
    let rows = events.iter().map(|e| {
        audit_pending::ActiveModel::from(audit_pending::Model {
            id: e.id,
            event: serde_json::to_string(e).unwrap_or_default(),
        })
    });
    audit_pending::Entity::insert_many(rows).exec_without_returning(txn).await?;
    Ok(())
}

/// Adds a write's events to a `OneTrip` of its transaction, saving it a statement: sealed
/// (SQLite, whose one writer holds the chain's head for the whole transaction) or waiting for
/// the chainer (PostgreSQL). False when the caller must `write_in` them itself, last.
pub async fn write_in_trip(
    txn: &impl ConnectionTrait,
    trip: &mut crate::sql::OneTrip,
    events: &[AuditEvent],
) -> Result<bool, DbErr> {
    const PENDING_COLUMNS: [crate::sql::Column; 2] =
        [crate::sql::Column::new("id", "uuid"), crate::sql::Column::new("event", "text")];
    if trip.backend() != DbBackend::Postgres {
        // SQLite's one writer holds the head for the whole transaction already: seal here.
        if events.is_empty() || events.iter().any(|e| e.member_count > 1) {
            return Ok(false);
        }
        let (seq, hash) = head(txn).await?;
        let sealed = seal((seq, &hash), events.to_vec());
        trip.insert("audit_events", &EVENT_COLUMNS, event_values(&sealed))?;
        log_head(sealed.last());
        return Ok(true);
    }
    if !events.is_empty() {
        let values = events
            .iter()
            .flat_map(|e| {
                [sea_orm::Value::from(e.id), sea_orm::Value::from(serde_json::to_string(e).unwrap_or_default())]
            })
            .collect();
        trip.insert("audit_pending", &PENDING_COLUMNS, values)?;
    }
    Ok(true)
}

/// Most waiting events one chaining pass takes.
const CHAIN_BATCH: u64 = 2_000;

/// Appends `events` (reads) and every write's event waiting in `audit_pending` (oldest first,
/// before the reads) in one transaction; returns how many were appended.
pub async fn append_now(db: &DatabaseConnection, events: &[AuditEvent]) -> Result<usize, DbErr> {
    // The chainer's idle passes (every 200 ms in every API process) look before they lock.
    if events.is_empty() {
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(0);
        }
        let waiting = audit_pending::Entity::find()
            .select_only()
            .column(audit_pending::Column::Id)
            .limit(1)
            .into_tuple::<uuid::Uuid>()
            .one(db)
            .await?;
        if waiting.is_none() {
            return Ok(0);
        }
    }
    let txn = crate::db::begin_write(db).await?;
    let mut all = Vec::new();
    let mut taken = Vec::new();
    if db.get_database_backend() == DbBackend::Postgres {
        lock_head(&txn).await?;
        let waiting =
            audit_pending::Entity::find().order_by_asc(audit_pending::Column::Id).limit(CHAIN_BATCH).all(&txn).await?;
        for row in waiting {
            let event: AuditEvent = serde_json::from_str(&row.event).map_err(|e| {
                DbErr::Custom(format!("audit event {} waiting to be chained is unreadable: {e}", row.id))
            })?;
            all.push(event);
            taken.push(row.id);
        }
    }
    all.extend_from_slice(events);
    append(&txn, &all).await?;
    for chunk in taken.chunks(MAX_PARAMS) {
        audit_pending::Entity::delete_many()
            .filter(audit_pending::Column::Id.is_in(chunk.iter().copied()))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(all.len())
}

/// Appends every event waiting to be chained (before a verification, say).
pub async fn chain_pending(db: &DatabaseConnection) -> Result<usize, DbErr> {
    let mut total = 0;
    loop {
        let done = append_now(db, &[]).await?;
        total += done;
        if (done as u64) < CHAIN_BATCH {
            return Ok(total);
        }
    }
}

/// The head, in the logs too (once a minute at most): removing the newest events leaves a
/// chain that still verifies, unless its head was also recorded somewhere else.
fn log_head(last: Option<&Sealed>) {
    static LOGGED_AT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
    let Some(last) = last else { return };
    let now = Utc::now().timestamp();
    let before = LOGGED_AT.load(std::sync::atomic::Ordering::Relaxed);
    if now - before >= 60
        && LOGGED_AT
            .compare_exchange(before, now, std::sync::atomic::Ordering::Relaxed, std::sync::atomic::Ordering::Relaxed)
            .is_ok()
    {
        tracing::info!(seq = last.event.seq, hash = %last.hash, "audit chain head");
    }
}

/// Where the chain continues: the last event, else the last purged one, else genesis.
async fn head(db: &impl ConnectionTrait) -> Result<(i64, String), DbErr> {
    let last = audit_event::Entity::find()
        .select_only()
        .column(audit_event::Column::Seq)
        .column(audit_event::Column::Hash)
        .order_by_desc(audit_event::Column::Seq)
        .limit(1)
        .into_tuple::<(i64, Vec<u8>)>()
        .one(db)
        .await?;
    if let Some((seq, hash)) = last {
        return Ok((seq, hex::encode(&hash)));
    }
    let checkpoint = audit_checkpoint::Entity::find().order_by_desc(audit_checkpoint::Column::Seq).one(db).await?;
    Ok(checkpoint.map(|c| (c.seq, c.hash)).unwrap_or((0, GENESIS.to_owned())))
}

/// What `overturn audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Events checked.
    pub checked: u64,
    /// The first and last seq checked.
    pub first: Option<i64>,
    pub last: Option<i64>,
    pub head_hash: String,
    pub broken: Option<BrokenLink>,
}

/// Recomputes the whole chain, in seq order, from its anchor (genesis, or the checkpoint of
/// the last retention purge).
pub async fn verify_chain(db: &impl ConnectionTrait) -> Result<Verification, DbErr> {
    let first = audit_event::Entity::find()
        .select_only()
        .column(audit_event::Column::Seq)
        .order_by_asc(audit_event::Column::Seq)
        .limit(1)
        .into_tuple::<i64>()
        .one(db)
        .await?;
    let mut out = Verification { checked: 0, first: None, last: None, head_hash: GENESIS.into(), broken: None };
    let Some(first_seq) = first else { return Ok(out) };
    let mut anchor: (i64, String) = (0, GENESIS.to_owned());
    if first_seq > 1 {
        match audit_checkpoint::Entity::find_by_id(first_seq - 1).one(db).await? {
            Some(c) => anchor = (c.seq, c.hash),
            None => {
                let last_purged = audit_checkpoint::Entity::find()
                    .order_by_desc(audit_checkpoint::Column::Seq)
                    .one(db)
                    .await?
                    .map_or(0, |c| c.seq);
                out.broken = Some(BrokenLink::Gap { after: last_purged, next: first_seq });
                return Ok(out);
            }
        }
    }
    out.first = Some(first_seq);
    loop {
        let page = audit_event::Entity::find()
            .filter(audit_event::Column::Seq.gt(anchor.0))
            .order_by_asc(audit_event::Column::Seq)
            .limit(5_000)
            .all(db)
            .await?;
        if page.is_empty() {
            break;
        }
        let mut run = Vec::with_capacity(page.len());
        let mut prev_hash = anchor.1.clone();
        for row in &page {
            let Some(event) = event_of(row) else {
                out.broken = Some(BrokenLink::Altered { seq: row.seq, id: row.id });
                return Ok(out);
            };
            let hash = hex::encode(&row.hash);
            run.push(Sealed { event, prev_hash: std::mem::replace(&mut prev_hash, hash.clone()), hash });
        }
        match verify((anchor.0, &anchor.1), &run) {
            Ok(next) => {
                out.checked += run.len() as u64;
                anchor = next;
            }
            Err(broken) => {
                out.broken = Some(broken);
                return Ok(out);
            }
        }
    }
    out.last = Some(anchor.0);
    out.head_hash = anchor.1;
    Ok(out)
}

/// Deletes events older than `retention` from the start of the chain, keeping the last one's
/// hash as the chain's anchor; returns how many it deleted.
pub async fn purge(db: &DatabaseConnection, retention: chrono::Duration, now: DateTime<Utc>) -> Result<u64, DbErr> {
    const ROUND: u64 = 5_000;
    let cutoff = now - retention;
    let mut purged = 0;
    loop {
        let txn = crate::db::begin_write(db).await?;
        lock_head(&txn).await?;
        // Only a run from the chain's start may go, so the rest still verifies from its anchor.
        let old: Vec<(i64, i64, Vec<u8>)> = audit_event::Entity::find()
            .select_only()
            .column(audit_event::Column::Seq)
            .column(audit_event::Column::At)
            .column(audit_event::Column::Hash)
            .order_by_asc(audit_event::Column::Seq)
            .limit(ROUND)
            .into_tuple()
            .all(&txn)
            .await?;
        let run = old.iter().take_while(|(_, at, _)| *at < cutoff.timestamp_micros()).count();
        let Some((last_seq, _, last_hash)) = run.checked_sub(1).map(|i| &old[i]) else { return Ok(purged) };
        audit_event_member::Entity::delete_many()
            .filter(audit_event_member::Column::Seq.lte(*last_seq))
            .exec(&txn)
            .await?;
        audit_event::Entity::delete_many().filter(audit_event::Column::Seq.lte(*last_seq)).exec(&txn).await?;
        audit_checkpoint::Entity::insert(audit_checkpoint::ActiveModel::from(audit_checkpoint::Model {
            seq: *last_seq,
            hash: hex::encode(last_hash),
            purged_at: now,
        }))
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        purged += run as u64;
        if run < old.len() || (old.len() as u64) < ROUND {
            return Ok(purged);
        }
    }
}
