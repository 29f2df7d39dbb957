//! The PHI access log at the edge: a handler says what patient data its request touches
//! (`note`), and the event is written with the request's own transaction when it writes
//! (`idempotency::run` and the claim writer take it), or after the response, in batches,
//! when it only reads (`trail`). The status is the one the caller got.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, web};
use overturn_domain::audit::{AuditAction, AuditEvent, MAX_LISTED};
use uuid::Uuid;

use crate::auth::Caller;
use crate::state::AppState;

/// The request id, set by `metrics::observe` for everything after it.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// What a request did with patient data, as its handler tells it.
#[derive(Debug, Clone)]
pub struct AuditNote {
    action: AuditAction,
    resource_type: &'static str,
    resource_ids: Vec<String>,
    resource_count: i64,
    member_ids: Vec<String>,
    member_count: i64,
    /// Written already, in the request's transaction.
    written: bool,
}

/// The first `MAX_LISTED` distinct values, and how many distinct values there were.
fn listed(values: impl IntoIterator<Item = String>) -> (Vec<String>, i64) {
    let mut seen = std::collections::BTreeSet::new();
    let mut first = Vec::new();
    for value in values {
        if seen.insert(value.clone()) && first.len() < MAX_LISTED {
            first.push(value);
        }
    }
    (first, seen.len() as i64)
}

/// Records that this request `action`s the resources `ids` of the patients `members`
/// (replacing an earlier note of the same request).
pub fn note(
    req: &HttpRequest,
    action: AuditAction,
    resource_type: &'static str,
    ids: impl IntoIterator<Item = String>,
    members: impl IntoIterator<Item = String>,
) {
    let (resource_ids, resource_count) = listed(ids);
    let (member_ids, member_count) = listed(members);
    req.extensions_mut().insert(AuditNote {
        action,
        resource_type,
        resource_ids,
        resource_count,
        member_ids,
        member_count,
        written: false,
    });
}

/// The event of `note` for the request as answered with `status`.
fn event(req: &HttpRequest, note: &AuditNote, status: u16) -> AuditEvent {
    let extensions = req.extensions();
    let caller = extensions.get::<Caller>();
    AuditEvent {
        seq: 0,
        id: Uuid::now_v7(),
        at: chrono::Utc::now(),
        key_id: caller.map(|c| c.key_id),
        role: caller.map_or("none", |c| if c.session.is_some() { "session" } else { c.role.as_str() }).to_owned(),
        session_id: caller.and_then(|c| c.session.as_ref().map(|s| s.id)),
        action: note.action,
        route: req.match_pattern().unwrap_or_else(|| "unmatched".to_owned()),
        status,
        resource_type: note.resource_type.to_owned(),
        resource_ids: note.resource_ids.clone(),
        resource_count: note.resource_count,
        member_ids: note.member_ids.clone(),
        member_count: note.member_count,
        request_id: extensions.get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default(),
        remote_addr: req.peer_addr().map(|a| a.ip().to_string()),
    }
}

/// An event of this request's caller for `action` on `ids` of the patients `members` (at
/// most `MAX_LISTED` of each), answered `status`: for a request that touches many pages of
/// patients and logs one event per page.
pub fn event_for(
    req: &HttpRequest,
    action: AuditAction,
    resource_type: &'static str,
    ids: Vec<String>,
    members: Vec<String>,
    status: u16,
) -> AuditEvent {
    let (resource_ids, resource_count) = listed(ids);
    let (member_ids, member_count) = listed(members);
    let note =
        AuditNote { action, resource_type, resource_ids, resource_count, member_ids, member_count, written: false };
    event(req, &note, status)
}

/// The event to write in the request's own transaction, answered `status`; the note is then
/// marked written so that `trail` does not write it again.
pub fn for_transaction(req: &HttpRequest, status: u16) -> Option<AuditEvent> {
    let note = req.extensions().get::<AuditNote>().filter(|n| !n.written).cloned()?;
    let event = event(req, &note, status);
    if let Some(stored) = req.extensions_mut().get_mut::<AuditNote>() {
        stored.written = true;
    }
    Some(event)
}

/// The request's noted event was not written after all (its transaction wrote nothing):
/// `trail` writes it, with the status the caller got.
pub fn not_written(req: &HttpRequest) {
    if let Some(stored) = req.extensions_mut().get_mut::<AuditNote>() {
        stored.written = false;
    }
}

/// Writes the event of every request whose handler noted one and did not write it in its
/// transaction: reads, and writes that failed (which changed nothing, and are kept as
/// attempts).
pub async fn trail(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let res = next.call(req).await?;
    let note = res.request().extensions().get::<AuditNote>().cloned();
    if let Some(note) = note {
        let state = res.request().app_data::<web::Data<AppState>>().cloned();
        if let (Some(state), false) = (state, note.written) {
            state.audit.record(event(res.request(), &note, res.status().as_u16())).await;
        }
    }
    Ok(res)
}
