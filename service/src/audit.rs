//! The PHI access log as stored: events written (in the request's own transaction for
//! writes, in batches for reads), sealed into the hash chain in order, listed, verified and
//! purged after the retention period.
//!
//! Writing and chaining are apart on purpose: a writer only inserts its event, so requests
//! never queue behind one another for the chain's head; one sealer at a time (an advisory
//! lock on PostgreSQL, the single writer on SQLite) gives events their `seq` and hashes
//! moments later, in the order they were written.

use std::time::Duration;

use chrono::{DateTime, Utc};
use overturn_domain::audit::{AuditAction, AuditEvent, BrokenLink, GENESIS, Sealed, seal, verify};
use overturn_entity::{audit_checkpoint, audit_event, audit_event_member};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement, TransactionTrait, Value,
};
use tokio::sync::{Notify, mpsc, watch};
use uuid::Uuid;

use crate::sql::{MAX_PARAMS, placeholder};

/// Key of the PostgreSQL advisory lock the sealer holds ("OVRTAUDT").
const SEAL_LOCK: i64 = 0x4F56_5254_4155_4454;
/// Most events one sealing pass chains.
const SEAL_BATCH: u64 = 2_000;
/// Read events wait at most this long, or until this many gather, before they are written.
const FLUSH_EVERY: Duration = Duration::from_millis(100);
const FLUSH_AT: usize = 500;
/// Events waiting to be written before requests wait for room (backpressure, never loss).
const BUFFER: usize = 20_000;

fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

fn row_of(event: &AuditEvent) -> audit_event::Model {
    audit_event::Model {
        id: event.id,
        seq: None,
        at: overturn_domain::audit::truncate_to_micros(event.at),
        key_id: event.key_id,
        role: event.role.clone(),
        session_id: event.session_id,
        action: event.action.as_str().to_owned(),
        route: event.route.clone(),
        status: i32::from(event.status),
        resource_type: event.resource_type.clone(),
        resource_ids: json_list(&event.resource_ids),
        resource_count: event.resource_count,
        member_ids: json_list(&event.member_ids),
        member_count: event.member_count,
        request_id: event.request_id.clone(),
        remote_addr: event.remote_addr.clone(),
        prev_hash: None,
        hash: None,
    }
}

/// The event a stored row holds; `None` for a row no writer of this code could have made.
pub fn event_of(row: &audit_event::Model) -> Option<AuditEvent> {
    Some(AuditEvent {
        seq: row.seq.unwrap_or(0),
        id: row.id,
        at: row.at,
        key_id: row.key_id,
        role: row.role.clone(),
        session_id: row.session_id,
        action: AuditAction::parse(&row.action)?,
        route: row.route.clone(),
        status: u16::try_from(row.status).ok()?,
        resource_type: row.resource_type.clone(),
        resource_ids: serde_json::from_str(&row.resource_ids).ok()?,
        resource_count: row.resource_count,
        member_ids: serde_json::from_str(&row.member_ids).ok()?,
        member_count: row.member_count,
        request_id: row.request_id.clone(),
        remote_addr: row.remote_addr.clone(),
    })
}

/// Writes events (unsealed), in the caller's transaction when it passes one.
pub async fn record(db: &impl ConnectionTrait, events: &[AuditEvent]) -> Result<(), DbErr> {
    if events.is_empty() {
        return Ok(());
    }
    for chunk in events.chunks(MAX_PARAMS / 20) {
        let rows = chunk.iter().map(|e| audit_event::ActiveModel::from(row_of(e)));
        audit_event::Entity::insert_many(rows).exec_without_returning(db).await?;
    }
    let members: Vec<audit_event_member::ActiveModel> = events
        .iter()
        .flat_map(|e| {
            let mut ids: Vec<&String> = e.member_ids.iter().collect();
            ids.sort();
            ids.dedup();
            ids.into_iter().map(move |m| {
                audit_event_member::ActiveModel::from(audit_event_member::Model {
                    member_id: m.clone(),
                    event_id: e.id,
                })
            })
        })
        .collect();
    for chunk in members.chunks(MAX_PARAMS / 2) {
        audit_event_member::Entity::insert_many(chunk.to_vec()).exec_without_returning(db).await?;
    }
    Ok(())
}

/// Where the chain continues: the last sealed event, else the last purged one, else genesis.
async fn head(db: &impl ConnectionTrait) -> Result<(i64, String), DbErr> {
    let last = audit_event::Entity::find()
        .filter(audit_event::Column::Seq.is_not_null())
        .order_by_desc(audit_event::Column::Seq)
        .one(db)
        .await?;
    if let Some(row) = last {
        return Ok((row.seq.unwrap_or(0), row.hash.unwrap_or_default()));
    }
    let checkpoint = audit_checkpoint::Entity::find().order_by_desc(audit_checkpoint::Column::Seq).one(db).await?;
    Ok(checkpoint.map(|c| (c.seq, c.hash)).unwrap_or((0, GENESIS.to_owned())))
}

/// Chains every event written so far, oldest first; returns how many it sealed.
pub async fn seal_pending(db: &DatabaseConnection) -> Result<usize, DbErr> {
    let mut total = 0;
    loop {
        let sealed = seal_batch(db).await?;
        total += sealed;
        if sealed < SEAL_BATCH as usize {
            return Ok(total);
        }
    }
}

async fn seal_batch(db: &DatabaseConnection) -> Result<usize, DbErr> {
    let backend = db.get_database_backend();
    let txn = db.begin().await?;
    if backend == DbBackend::Postgres {
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({SEAL_LOCK})")).await?;
    }
    let pending = audit_event::Entity::find()
        .filter(audit_event::Column::Seq.is_null())
        .order_by_asc(audit_event::Column::Id)
        .limit(SEAL_BATCH)
        .all(&txn)
        .await?;
    if pending.is_empty() {
        return Ok(0);
    }
    let (seq, hash) = head(&txn).await?;
    let events: Vec<AuditEvent> = pending
        .iter()
        .map(|row| event_of(row).ok_or_else(|| DbErr::Custom(format!("audit event {} is unreadable", row.id))))
        .collect::<Result<_, _>>()?;
    let sealed = seal((seq, &hash), events);
    for chunk in sealed.chunks(MAX_PARAMS / 4) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 4);
        let mut rows = Vec::with_capacity(chunk.len());
        let mut n = 0;
        let mut next = || {
            n += 1;
            placeholder(backend, n)
        };
        for s in chunk {
            let cast = if backend == DbBackend::Postgres { "::uuid" } else { "" };
            let int = if backend == DbBackend::Postgres { "::int8" } else { "" };
            rows.push(format!("({}{cast}, {}{int}, {}, {})", next(), next(), next(), next()));
            values.extend([
                Value::from(s.event.id),
                Value::from(s.event.seq),
                Value::from(s.prev_hash.clone()),
                Value::from(s.hash.clone()),
            ]);
        }
        // `seq IS NULL` makes a second sealer that slipped past the lock change nothing.
        let sql = format!(
            "WITH v(id, seq, prev_hash, hash) AS (VALUES {}) \
             UPDATE audit_events SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash \
             FROM v WHERE audit_events.id = v.id AND audit_events.seq IS NULL",
            rows.join(", ")
        );
        let done = txn.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
        if done.rows_affected() != chunk.len() as u64 {
            return Err(DbErr::Custom("another sealer chained these audit events first".into()));
        }
    }
    txn.commit().await?;
    if let Some(last) = sealed.last() {
        // The head, in the logs too (once a minute at most): removing the newest events leaves
        // a chain that still verifies, unless its head was also recorded somewhere else.
        static LOGGED_AT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
        let now = Utc::now().timestamp();
        let before = LOGGED_AT.load(std::sync::atomic::Ordering::Relaxed);
        if now - before >= 60
            && LOGGED_AT
                .compare_exchange(
                    before,
                    now,
                    std::sync::atomic::Ordering::Relaxed,
                    std::sync::atomic::Ordering::Relaxed,
                )
                .is_ok()
        {
            tracing::info!(seq = last.event.seq, hash = %last.hash, "audit chain head");
        }
    }
    Ok(sealed.len())
}

/// What `overturn audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Sealed events checked.
    pub checked: u64,
    /// The first and last seq checked.
    pub first: Option<i64>,
    pub last: Option<i64>,
    pub head_hash: String,
    /// Events written but not sealed yet (sealed within a second while a process runs).
    pub unsealed: u64,
    pub broken: Option<BrokenLink>,
}

/// Recomputes the whole chain, in seq order, from its anchor (genesis, or the checkpoint of
/// the last retention purge).
pub async fn verify_chain(db: &impl ConnectionTrait) -> Result<Verification, DbErr> {
    let first = audit_event::Entity::find()
        .filter(audit_event::Column::Seq.is_not_null())
        .order_by_asc(audit_event::Column::Seq)
        .one(db)
        .await?;
    let unsealed = {
        use sea_orm::PaginatorTrait;
        audit_event::Entity::find().filter(audit_event::Column::Seq.is_null()).count(db).await?
    };
    let mut out =
        Verification { checked: 0, first: None, last: None, head_hash: GENESIS.into(), unsealed, broken: None };
    let Some(first) = first else { return Ok(out) };
    let first_seq = first.seq.unwrap_or(0);
    let mut anchor: (i64, String) = (0, GENESIS.to_owned());
    if first_seq > 1 {
        let checkpoint = audit_checkpoint::Entity::find_by_id(first_seq - 1).one(db).await?;
        match checkpoint {
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
    let mut after = anchor.0;
    loop {
        let page = audit_event::Entity::find()
            .filter(audit_event::Column::Seq.gt(after))
            .order_by_asc(audit_event::Column::Seq)
            .limit(5_000)
            .all(db)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.seq.unwrap_or(after);
        let mut run = Vec::with_capacity(page.len());
        for row in &page {
            let Some(event) = event_of(row) else {
                out.broken = Some(BrokenLink::Altered { seq: row.seq.unwrap_or(0), id: row.id });
                return Ok(out);
            };
            run.push(Sealed {
                event,
                prev_hash: row.prev_hash.clone().unwrap_or_default(),
                hash: row.hash.clone().unwrap_or_default(),
            });
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

/// Deletes sealed events older than `retention`, oldest first, keeping the last one's hash as
/// the chain's anchor; returns how many it deleted.
pub async fn purge(db: &DatabaseConnection, retention: chrono::Duration, now: DateTime<Utc>) -> Result<u64, DbErr> {
    let cutoff = now - retention;
    let mut purged = 0;
    loop {
        let txn = db.begin().await?;
        if db.get_database_backend() == DbBackend::Postgres {
            txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({SEAL_LOCK})")).await?;
        }
        // Only a run from the chain's start may go, so the rest still verifies from its anchor.
        let old = audit_event::Entity::find()
            .filter(audit_event::Column::Seq.is_not_null())
            .order_by_asc(audit_event::Column::Seq)
            .limit(5_000)
            .all(&txn)
            .await?;
        let run: Vec<&audit_event::Model> = old.iter().take_while(|e| e.at < cutoff).collect();
        let Some(last) = run.last() else { return Ok(purged) };
        let ids: Vec<Uuid> = run.iter().map(|e| e.id).collect();
        for chunk in ids.chunks(MAX_PARAMS) {
            audit_event_member::Entity::delete_many()
                .filter(audit_event_member::Column::EventId.is_in(chunk.iter().copied()))
                .exec(&txn)
                .await?;
            audit_event::Entity::delete_many()
                .filter(audit_event::Column::Id.is_in(chunk.iter().copied()))
                .exec(&txn)
                .await?;
        }
        audit_checkpoint::Entity::insert(audit_checkpoint::ActiveModel::from(audit_checkpoint::Model {
            seq: last.seq.unwrap_or(0),
            hash: last.hash.clone().unwrap_or_default(),
            purged_at: now,
        }))
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        purged += run.len() as u64;
        if run.len() < old.len() || old.len() < 5_000 {
            return Ok(purged);
        }
    }
}

/// What an audit listing is narrowed to.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub member_id: Option<String>,
    pub key_id: Option<Uuid>,
    pub from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub to: Option<DateTime<Utc>>,
}

/// Events, newest first, after the cursor `before` (exclusive), at most `limit`.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &AuditFilter,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<audit_event::Model>, DbErr> {
    let mut select = audit_event::Entity::find();
    if let Some(member) = &filter.member_id {
        let mut events = audit_event_member::Entity::find()
            .select_only()
            .column(audit_event_member::Column::EventId)
            .filter(audit_event_member::Column::MemberId.eq(member.as_str()));
        if let Some(before) = before {
            events = events.filter(audit_event_member::Column::EventId.lt(before));
        }
        select = select.filter(audit_event::Column::Id.in_subquery(sea_orm::QueryTrait::into_query(events)));
    }
    if let Some(key) = filter.key_id {
        select = select.filter(audit_event::Column::KeyId.eq(key));
    }
    if let Some(from) = filter.from {
        select = select.filter(audit_event::Column::At.gte(from));
    }
    if let Some(to) = filter.to {
        select = select.filter(audit_event::Column::At.lt(to));
    }
    if let Some(before) = before {
        select = select.filter(audit_event::Column::Id.lt(before));
    }
    select.order_by_desc(audit_event::Column::Id).limit(limit).all(db).await
}

/// This process's writer of read events: handlers hand it events, it writes them in batches
/// and seals everything written (its own and the write paths') in order.
#[derive(Clone)]
pub struct Recorder {
    sender: mpsc::Sender<AuditEvent>,
    wake: std::sync::Arc<Notify>,
}

impl Recorder {
    /// Starts the writer and sealer task; it drains and stops when `shutdown` turns true.
    pub fn start(db: DatabaseConnection, shutdown: watch::Receiver<bool>) -> (Self, tokio::task::JoinHandle<()>) {
        let (sender, receiver) = mpsc::channel(BUFFER);
        let wake = std::sync::Arc::new(Notify::new());
        let task = tokio::spawn(run(db, receiver, wake.clone(), shutdown));
        (Self { sender, wake }, task)
    }

    /// Queues an event to be written; waits only when the buffer is full.
    pub async fn record(&self, event: AuditEvent) {
        if self.sender.send(event).await.is_err() {
            tracing::error!("the audit writer has stopped; an audit event was not written");
        }
    }

    /// Asks for a sealing pass now (after a write path committed its own events).
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

async fn run(
    db: DatabaseConnection,
    mut receiver: mpsc::Receiver<AuditEvent>,
    wake: std::sync::Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut batch: Vec<AuditEvent> = Vec::with_capacity(FLUSH_AT);
    let mut idle = tokio::time::interval(Duration::from_secs(1));
    loop {
        let stopping = *shutdown.borrow();
        tokio::select! {
            got = receiver.recv_many(&mut batch, FLUSH_AT), if !stopping && batch.len() < BUFFER => {
                if got == 0 { break; }
                // Gather what else arrives within the flush window, up to a batch.
                let deadline = tokio::time::Instant::now() + FLUSH_EVERY;
                while batch.len() < FLUSH_AT {
                    let room = FLUSH_AT - batch.len();
                    match tokio::time::timeout_at(deadline, receiver.recv_many(&mut batch, room)).await {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    }
                }
            }
            _ = wake.notified() => {}
            _ = idle.tick() => {}
            _ = shutdown.changed(), if !stopping => {}
        }
        if *shutdown.borrow() {
            // Take whatever is still queued before the last write.
            while let Ok(event) = receiver.try_recv() {
                batch.push(event);
            }
        }
        write_and_seal(&db, &mut batch).await;
        if *shutdown.borrow() && receiver.is_empty() {
            break;
        }
    }
    write_and_seal(&db, &mut batch).await;
}

/// Writes the batch (kept for the next pass if the database refuses) and seals.
async fn write_and_seal(db: &DatabaseConnection, batch: &mut Vec<AuditEvent>) {
    if !batch.is_empty() {
        match record(db, batch).await {
            Ok(()) => batch.clear(),
            Err(err) => {
                tracing::warn!(error = %err, events = batch.len(), "writing audit events failed; retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
                return;
            }
        }
    }
    if let Err(err) = seal_pending(db).await {
        tracing::warn!(error = %err, "sealing audit events failed; retrying next pass");
    }
}
