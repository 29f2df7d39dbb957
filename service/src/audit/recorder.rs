//! This process's writer of read events, and the chainer of writes' waiting events.

use std::time::Duration;

use overturn_domain::audit::AuditEvent;
use sea_orm::DatabaseConnection;
use tokio::sync::{mpsc, watch};

use super::append_now;

/// Read events wait at most this long, or until this many gather, before they are written.
const FLUSH_EVERY: Duration = Duration::from_millis(100);
const FLUSH_AT: usize = 500;
/// Events waiting to be written before requests wait for room (backpressure, never loss).
const BUFFER: usize = 20_000;
/// How often waiting writes' events are chained when no read comes to carry them.
const CHAIN_EVERY: Duration = Duration::from_millis(200);

/// This process's writer of read events: handlers hand it events, it appends them in batches.
#[derive(Clone)]
pub struct Recorder {
    sender: mpsc::Sender<AuditEvent>,
}

impl Recorder {
    /// Starts the writer task; it drains and stops when `shutdown` turns true.
    pub fn start(db: DatabaseConnection, shutdown: watch::Receiver<bool>) -> (Self, tokio::task::JoinHandle<()>) {
        let (sender, receiver) = mpsc::channel(BUFFER);
        let task = tokio::spawn(run(db, receiver, shutdown));
        (Self { sender }, task)
    }

    /// Queues an event to be written; waits only when the buffer is full.
    pub async fn record(&self, event: AuditEvent) {
        if self.sender.send(event).await.is_err() {
            tracing::error!("the audit writer has stopped; an audit event was not written");
        }
    }
}

async fn run(db: DatabaseConnection, mut receiver: mpsc::Receiver<AuditEvent>, mut shutdown: watch::Receiver<bool>) {
    let mut batch: Vec<AuditEvent> = Vec::with_capacity(FLUSH_AT);
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
            // Writes' events wait in `audit_pending` on PostgreSQL: chained at least this often.
            _ = tokio::time::sleep(CHAIN_EVERY) => {}
            _ = shutdown.changed(), if !stopping => {}
        }
        if *shutdown.borrow() {
            // Take whatever is still queued before the last write.
            while let Ok(event) = receiver.try_recv() {
                batch.push(event);
            }
        }
        write(&db, &mut batch).await;
        if *shutdown.borrow() && receiver.is_empty() {
            break;
        }
    }
    write(&db, &mut batch).await;
}

/// Appends the batch (and on PostgreSQL the writes' waiting events); the batch is kept for the
/// next pass if the database refuses.
async fn write(db: &DatabaseConnection, batch: &mut Vec<AuditEvent>) {
    match append_now(db, batch).await {
        Ok(_) => batch.clear(),
        Err(err) => {
            tracing::warn!(error = %err, events = batch.len(), "writing audit events failed; retrying");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
