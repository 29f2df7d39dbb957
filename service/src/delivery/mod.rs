//! Webhook delivery: the scheduler that hands due deliveries to the queue, and the job that
//! makes one attempt.
//!
//! The database decides what must happen: a delivery row says which attempt is next and
//! when. The scheduler (in every worker's relay loop) hands attempts falling due within
//! `LOOKAHEAD` to the queue as delayed jobs, in bounded batches; a job makes its attempt
//! only if the row still expects it, and records it (an attempt row, the next attempt's
//! time) in one transaction. A worker killed between attempts loses nothing: the next
//! attempt is a row, and a job lost with a queue is handed over again once stale.

mod record;
mod schedule;

pub use crate::due::{EnqueueError, Enqueued, LOOKAHEAD};
use record::*;
pub use record::{cancel_pending, disable};
pub use schedule::enqueue_due;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use overturn_domain::secret_box::SecretKey;
use overturn_domain::webhook_signature::SigningSecret;
use overturn_domain::webhooks;
use overturn_domain::webhooks::DeliveryStatus;
use overturn_entity::{contact, webhook_delivery, webhook_event};
use rand::Rng;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

use crate::batch::Batcher;
use crate::events::webhook_id;
use crate::sql::now;
use crate::webhook_client::check_url;

/// Bytes of a receiver's answer kept with the attempt.
const EXCERPT_BYTES: usize = 1024;

/// How long an attempt waits for its contact to have a request slot free before it is
/// deferred.
const SLOT_WAIT: Duration = Duration::from_millis(250);

/// How long a deferred attempt (its contact already at its limit) waits.
const DEFER: Duration = Duration::from_secs(2);

/// What deliveries need beyond the database: the HTTP client with its SSRF guard, the key
/// that opens signing secrets, and the per-contact bound on requests in flight.
pub struct Webhooks {
    client: reqwest::Client,
    key: SecretKey,
    allow_private: bool,
    /// Deliveries go through a configured proxy, which resolves targets itself.
    proxied: bool,
    per_contact: usize,
    in_flight: Mutex<HashMap<Uuid, Arc<Semaphore>>>,
    /// Reads what attempts need, for all the attempts starting at about the same moment.
    loader: Batcher<Uuid, Result<Option<Loaded>, String>>,
    /// Records finished attempts, many in one transaction.
    recorder: Batcher<Finished, Result<Attempted, String>>,
}

/// Attempts read or recorded together: about one batch per database round trip.
const BATCH: usize = 128;

impl Webhooks {
    /// Spawns the loader and recorder tasks on `db`; call within the runtime.
    pub fn new(
        db: DatabaseConnection,
        key: SecretKey,
        allow_private: bool,
        proxy: Option<&reqwest::Url>,
        per_contact: usize,
    ) -> reqwest::Result<Self> {
        let read = db.clone();
        Ok(Self {
            client: crate::webhook_client::client(allow_private, proxy)?,
            key,
            allow_private,
            proxied: proxy.is_some(),
            per_contact: per_contact.max(1),
            in_flight: Mutex::new(HashMap::new()),
            loader: Batcher::spawn(BATCH, move |ids| {
                let db = read.clone();
                async move { load(&db, ids).await }
            }),
            recorder: Batcher::spawn(BATCH, move |finished| {
                let db = db.clone();
                async move { record(&db, finished).await }
            }),
        })
    }

    /// A slot for one request to `contact`, or `None` when it kept `per_contact` requests in
    /// flight in this process for all of `SLOT_WAIT`: one slow receiver then cannot occupy
    /// every worker, while a busy fast one only waits a moment.
    async fn slot(&self, contact: Uuid) -> Option<Slot<'_>> {
        let semaphore = {
            let mut map = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(contact).or_insert_with(|| Arc::new(Semaphore::new(self.per_contact))).clone()
        };
        let permit = tokio::time::timeout(SLOT_WAIT, semaphore.acquire_owned()).await.ok()?.ok()?;
        Some(Slot { owner: self, contact, permit: Some(permit) })
    }
}

struct Slot<'a> {
    owner: &'a Webhooks,
    contact: Uuid,
    permit: Option<OwnedSemaphorePermit>,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        drop(self.permit.take());
        // Forget idle contacts so the map does not grow with every contact ever called.
        let mut map = self.owner.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(semaphore) = map.get(&self.contact)
            && Arc::strong_count(semaphore) == 1
            && semaphore.available_permits() == self.owner.per_contact
        {
            map.remove(&self.contact);
        }
    }
}

/// What an attempt job did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempted {
    Succeeded,
    /// Failed; another attempt is scheduled.
    Retrying,
    /// Failed, and the schedule is exhausted or the contact is gone.
    Failed,
    /// The contact had its limit of requests in flight; the attempt waits a moment.
    Deferred,
    /// The row no longer expects this attempt (made already, or the delivery ended).
    Skipped,
}

/// What came of one HTTP request.
struct Response {
    status: Option<u16>,
    excerpt: Option<String>,
    error: Option<String>,
    retry_after: Option<Duration>,
    duration: Duration,
}

/// Makes attempt `attempt` of a delivery, if the delivery still expects it.
pub async fn attempt(
    db: &DatabaseConnection,
    webhooks: &Webhooks,
    delivery_id: Uuid,
    attempt: u32,
) -> Result<Attempted, DbErr> {
    let loaded = webhooks.loader.call(delivery_id).await.unwrap_or_else(|| Err(STOPPED.to_owned()));
    let Some(Loaded { delivery, contact, event }) = loaded.map_err(DbErr::Custom)? else {
        return Ok(Attempted::Skipped);
    };
    if *delivery.status != DeliveryStatus::Pending || delivery.attempts as u32 + 1 != attempt {
        return Ok(Attempted::Skipped);
    }
    let contact = match contact {
        Some(c) if c.enabled && c.deleted_at.is_none() => c,
        other => {
            let why = match other {
                Some(c) if c.deleted_at.is_none() => "the contact is disabled",
                _ => "the contact was deleted",
            };
            end_pending(db, delivery.id, why).await?;
            return Ok(Attempted::Failed);
        }
    };
    let Some(slot) = webhooks.slot(contact.id).await else {
        let later =
            now() + chrono::Duration::from_std(DEFER.mul_f64(rand::rng().random_range(1.0..2.0))).unwrap_or_default();
        webhook_delivery::Entity::update_many()
            .col_expr(webhook_delivery::Column::EnqueuedAt, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(later))
            .filter(webhook_delivery::Column::Id.eq(delivery.id))
            .filter(webhook_delivery::Column::Attempts.eq(delivery.attempts))
            .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending.as_str()))
            .exec(db)
            .await?;
        return Ok(Attempted::Deferred);
    };
    let Some(event) = event else {
        end_pending(db, delivery.id, "the event is gone").await?;
        return Ok(Attempted::Failed);
    };
    let started_at = now();
    let response = send(webhooks, &contact, &event, started_at).await;
    // The bound is on requests in flight to the receiver; recording needs no slot.
    drop(slot);
    let finished = Finished {
        delivery: delivery.id,
        contact: contact.id,
        failing_since: contact.failing_since,
        attempt,
        started_at,
        response,
    };
    webhooks.recorder.call(finished).await.unwrap_or_else(|| Err(STOPPED.to_owned())).map_err(DbErr::Custom)
}

const STOPPED: &str = "the webhook batcher stopped";

/// What an attempt needs from the database.
struct Loaded {
    delivery: webhook_delivery::Model,
    contact: Option<contact::Model>,
    event: Option<webhook_event::Model>,
}

/// Reads the deliveries `ids` with their contacts and events: three queries for the batch.
async fn load(db: &DatabaseConnection, ids: Vec<Uuid>) -> Vec<Result<Option<Loaded>, String>> {
    let read = async {
        let unique: Vec<Uuid> = ids.iter().copied().collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        let deliveries: HashMap<Uuid, webhook_delivery::Model> = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::Id.is_in(unique))
            .all(db)
            .await?
            .into_iter()
            .map(|d| (d.id, d))
            .collect();
        let contact_ids: std::collections::BTreeSet<Uuid> = deliveries.values().map(|d| d.contact_id).collect();
        let event_ids: std::collections::BTreeSet<Uuid> = deliveries.values().map(|d| d.event_id).collect();
        let (contacts, events) = tokio::join!(
            contact::Entity::find().filter(contact::Column::Id.is_in(contact_ids)).all(db),
            webhook_event::Entity::find().filter(webhook_event::Column::Id.is_in(event_ids)).all(db)
        );
        let contacts: HashMap<Uuid, contact::Model> = contacts?.into_iter().map(|c| (c.id, c)).collect();
        let events: HashMap<Uuid, webhook_event::Model> = events?.into_iter().map(|e| (e.id, e)).collect();
        Ok::<_, DbErr>((deliveries, contacts, events))
    };
    match read.await {
        Ok((deliveries, contacts, events)) => ids
            .iter()
            .map(|id| {
                Ok(deliveries.get(id).map(|d| Loaded {
                    delivery: d.clone(),
                    contact: contacts.get(&d.contact_id).cloned(),
                    event: events.get(&d.event_id).cloned(),
                }))
            })
            .collect(),
        Err(e) => ids.iter().map(|_| Err(e.to_string())).collect(),
    }
}

/// Signs and sends one request; never fails (what went wrong is part of the response).
async fn send(
    webhooks: &Webhooks,
    contact: &contact::Model,
    event: &webhook_event::Model,
    at: DateTime<Utc>,
) -> Response {
    let clock = Instant::now();
    let failed = |error: String| Response {
        status: None,
        excerpt: None,
        error: Some(error),
        retry_after: None,
        duration: clock.elapsed(),
    };
    let url = match check_url(&contact.webhook_url, webhooks.allow_private) {
        Ok(url) => url,
        Err(e) => return failed(format!("webhook URL refused: it {e}")),
    };
    // Through a proxy the client's resolver never sees the target: checked here instead.
    if webhooks.proxied
        && let Err(e) = crate::webhook_client::resolve_public(&url, webhooks.allow_private).await
    {
        return failed(e);
    }
    let signatures = match signatures(webhooks, contact, event, at) {
        Ok(s) => s,
        Err(e) => return failed(e),
    };
    let request = webhooks
        .client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", webhook_id(event.id))
        .header("webhook-timestamp", at.timestamp().to_string())
        .header("webhook-signature", signatures)
        .body(event.body.clone());
    let mut response = match request.send().await {
        Ok(r) => r,
        Err(e) => return failed(describe(&e)),
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| webhooks::parse_retry_after(v, Utc::now()));
    let mut body = Vec::new();
    while body.len() < EXCERPT_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(EXCERPT_BYTES);
    let excerpt = (!body.is_empty()).then(|| String::from_utf8_lossy(&body).replace('\0', ""));
    Response { status: Some(status), excerpt, error: None, retry_after, duration: clock.elapsed() }
}

/// `v1,<sig>` for the current secret, and for the previous one while it is still valid.
fn signatures(
    webhooks: &Webhooks,
    contact: &contact::Model,
    event: &webhook_event::Model,
    at: DateTime<Utc>,
) -> Result<String, String> {
    let open = |sealed: &str| -> Result<SigningSecret, String> {
        let bytes = webhooks.key.open(sealed).map_err(|e| format!("signing secret: {e}"))?;
        let text = String::from_utf8(bytes).map_err(|_| "signing secret: not text".to_owned())?;
        SigningSecret::parse(&text).map_err(|e| format!("signing secret: {e}"))
    };
    let id = webhook_id(event.id);
    let body = event.body.as_bytes();
    let mut out = vec![open(&contact.secret)?.sign(&id, at.timestamp(), body)];
    if let (Some(previous), Some(until)) = (&contact.previous_secret, contact.previous_secret_expires_at)
        && until > at
    {
        out.push(open(previous)?.sign(&id, at.timestamp(), body));
    }
    Ok(out.join(" "))
}

fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    // The innermost cause says what happened (refused, reset, an internal address).
    let mut cause: &dyn std::error::Error = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    format!("{kind}: {cause}")
}

/// A finished attempt, to be recorded.
struct Finished {
    delivery: Uuid,
    contact: Uuid,
    /// The contact's `failing_since` when the attempt started.
    failing_since: Option<DateTime<Utc>>,
    attempt: u32,
    started_at: DateTime<Utc>,
    response: Response,
}
