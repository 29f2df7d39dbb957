//! The relay: hands committed work (the outbox, follow-ups and webhook attempts falling due)
//! to the queue in chunks, and holds back while the queue is deep, so a backlog of any size
//! waits in the database rather than in Redis.

use std::sync::Arc;
use std::time::Duration;

use overturn_service::outbox::{relay_once, requeue_stale};
use overturn_service::queue::JobQueue;
use overturn_service::{delivery, followups};
use sea_orm::DatabaseConnection;
use tokio::sync::{Notify, watch};

#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// Outbox rows handed over per transaction.
    pub chunk: u64,
    /// The queue depth above which the relay waits.
    pub high_water: u64,
    /// The same for the webhook queue, kept to a few fetches' worth: apalis-redis takes each
    /// fetched job's lease with an `LREM` over the whole list of waiting jobs, so every
    /// fetch costs in proportion to the depth, and a deep list blocks Redis during each one.
    pub webhook_high_water: u64,
    /// How often an idle relay looks at the outbox (a local `wake` is immediate).
    pub poll: Duration,
    /// A remittance still unclassified this long after it arrived, with nothing queued or
    /// waiting, is handed to the queue again (its job was lost with a queue that lost data).
    pub stale_after: Duration,
    /// Webhook requests one contact may have in flight per process (see `delivery`).
    pub per_contact: usize,
}

/// The least time between two passes when woken rather than beaten.
const WOKEN_PASS_GAP: Duration = Duration::from_millis(5);

/// Follow-ups one scheduler pass reads at most (one transaction).
const FOLLOWUPS_PER_PASS: u64 = 10_000;

/// Runs until `stop`: relays while there is work and room, sleeps otherwise.
pub async fn run(
    db: DatabaseConnection,
    queue: Arc<dyn JobQueue>,
    webhook_queue: Arc<dyn JobQueue>,
    settings: RelaySettings,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    // A fixed beat: a wake (a finished webhook attempt) adds a pass without moving the next
    // poll, so work arriving from another process still waits half a poll on average.
    let mut beat = tokio::time::interval(settings.poll);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_sweep = std::time::Instant::now();
    let mut last_prune = std::time::Instant::now();
    loop {
        if *stop.borrow() {
            return;
        }
        let mut busy = false;
        let last_pass = std::time::Instant::now();
        // One depth read serves the outbox and the follow-up scheduler: what the outbox just
        // pushed is added to it, so together they still stop at the high-water mark.
        match queue.depth().await {
            Ok(mut depth) => {
                if depth < settings.high_water {
                    let room = (settings.high_water - depth).min(settings.chunk);
                    match relay_once(&db, queue.as_ref(), room).await {
                        Ok(n) => {
                            busy = n as u64 == room;
                            depth += n as u64;
                        }
                        Err(err) => tracing::warn!(error = %err, "outbox relay failed; retrying"),
                    }
                }
                // Follow-ups falling due within the minute, in jobs of up to `JOB_BATCH`; the
                // rest of the schedule waits as rows.
                if depth < settings.high_water {
                    let jobs = (settings.high_water - depth).min(settings.chunk).max(1);
                    let rows = (jobs * followups::JOB_BATCH as u64).min(FOLLOWUPS_PER_PASS);
                    match followups::enqueue_due(&db, queue.as_ref(), rows, settings.stale_after).await {
                        Ok(pass) => busy |= pass.scanned as u64 == rows,
                        Err(err) => tracing::warn!(error = %err, "follow-up scheduler failed; retrying"),
                    }
                }
            }
            Err(err) => tracing::warn!(error = %err, "queue unreachable; the outbox and follow-ups keep the work"),
        }
        // Webhook deliveries are their own outbox, on their own queue: a flood of them never
        // delays classification, nor the other way round.
        match webhook_queue.depth().await {
            Ok(depth) if depth < settings.webhook_high_water => {
                let room = (settings.webhook_high_water - depth).min(settings.chunk);
                match delivery::enqueue_due(
                    &db,
                    webhook_queue.as_ref(),
                    room,
                    settings.per_contact,
                    settings.stale_after,
                )
                .await
                {
                    // A full page means more may be due. Attempts a contact's share held back
                    // wait for its attempts to finish, which wake this loop.
                    Ok(pass) => busy |= pass.scanned as u64 == room,
                    Err(err) => tracing::warn!(error = %err, "webhook scheduler failed; retrying"),
                }
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "webhook queue unreachable; deliveries wait as rows"),
        }
        if last_sweep.elapsed() >= settings.stale_after.min(Duration::from_secs(60)) {
            last_sweep = std::time::Instant::now();
            if let Err(err) = requeue_stale(&db, queue.as_ref(), settings.stale_after).await {
                tracing::warn!(error = %err, "stale classification sweep failed");
            }
        }
        if last_prune.elapsed() >= queue.prune_every() {
            last_prune = std::time::Instant::now();
            for q in [&queue, &webhook_queue] {
                match q.prune().await {
                    Ok(n) => tracing::debug!(pruned = n, "pruned finished jobs from the queue"),
                    Err(err) => tracing::warn!(error = %err, "queue prune failed"),
                }
            }
        }
        if busy {
            tokio::task::yield_now().await;
            continue;
        }
        tokio::select! {
            _ = beat.tick() => {}
            _ = wake.notified() => {
                // Finished attempts wake this loop by the thousand a second; a pass every
                // few milliseconds serves them all.
                tokio::time::sleep(WOKEN_PASS_GAP.saturating_sub(last_pass.elapsed())).await;
            }
            _ = stop.changed() => {}
        }
    }
}
