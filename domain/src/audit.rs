//! The PHI access log's events and their hash chain.
//!
//! Each event's `hash` is SHA-256 over the previous event's hash (64 hex digits; 64 zeros
//! before the first) followed by the event's canonical JSON: the fields of `AuditEvent` in
//! the order declared below, no spaces, `at` in microseconds with a `Z`. Changing, removing
//! or reordering an event breaks every link after it, which `verify` names.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The `prev_hash` of the first event ever written.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Most resource and member ids an event lists; the counts say how many there were.
pub const MAX_LISTED: usize = 100;

/// What a request did with patient data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    Read,
    Create,
    Update,
    Delete,
    Export,
}

impl AuditAction {
    pub const ALL: [AuditAction; 5] = [Self::Read, Self::Create, Self::Update, Self::Delete, Self::Export];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::Export => "export",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

/// One request's access to patient data, as chained. Its serde form is how an event waits to
/// be chained (`audit_pending`); the hash covers `canonical_json`, not this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Position in the chain, from 1.
    pub seq: i64,
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub key_id: Option<Uuid>,
    pub role: String,
    pub session_id: Option<Uuid>,
    pub action: AuditAction,
    /// The route's pattern (`/v1/patients/{member_id}/claims`), never the path with ids.
    pub route: String,
    pub status: u16,
    pub resource_type: String,
    pub resource_ids: Vec<String>,
    pub resource_count: i64,
    pub member_ids: Vec<String>,
    pub member_count: i64,
    pub request_id: String,
    pub remote_addr: Option<String>,
}

#[derive(Serialize)]
struct Canonical<'a> {
    seq: i64,
    id: Uuid,
    at: String,
    key_id: Option<Uuid>,
    role: &'a str,
    session_id: Option<Uuid>,
    action: AuditAction,
    route: &'a str,
    status: u16,
    resource_type: &'a str,
    resource_ids: &'a [String],
    resource_count: i64,
    member_ids: &'a [String],
    member_count: i64,
    request_id: &'a str,
    remote_addr: Option<&'a str>,
}

/// Timestamps as stored: both databases keep microseconds.
pub fn truncate_to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    let nanos = at.timestamp_subsec_nanos();
    at - chrono::Duration::nanoseconds(i64::from(nanos % 1_000))
}

impl AuditEvent {
    /// The event's canonical JSON, which its hash covers.
    pub fn canonical_json(&self) -> String {
        let canonical = Canonical {
            seq: self.seq,
            id: self.id,
            at: truncate_to_micros(self.at).to_rfc3339_opts(SecondsFormat::Micros, true),
            key_id: self.key_id,
            role: &self.role,
            session_id: self.session_id,
            action: self.action,
            route: &self.route,
            status: self.status,
            resource_type: &self.resource_type,
            resource_ids: &self.resource_ids,
            resource_count: self.resource_count,
            member_ids: &self.member_ids,
            member_count: self.member_count,
            request_id: &self.request_id,
            remote_addr: self.remote_addr.as_deref(),
        };
        // A struct of strings, numbers and ids always serializes.
        serde_json::to_string(&canonical).unwrap_or_default()
    }

    /// This event's hash, following `prev_hash`.
    pub fn chain_hash(&self, prev_hash: &str) -> String {
        let mut digest = Sha256::new();
        digest.update(prev_hash.as_bytes());
        digest.update(self.canonical_json().as_bytes());
        crate::hex::encode(&digest.finalize())
    }
}

/// An event as stored, with its links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub event: AuditEvent,
    pub prev_hash: String,
    pub hash: String,
}

/// The first break in a run of stored events.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrokenLink {
    #[error("event seq {seq} ({id}) does not hash to its stored hash: it was changed")]
    Altered { seq: i64, id: Uuid },
    #[error("event seq {seq} ({id}) does not follow the event before it: one was removed, added or reordered")]
    Unlinked { seq: i64, id: Uuid },
    #[error("seq {after} is followed by seq {next}: events in between are missing")]
    Gap { after: i64, next: i64 },
}

/// Checks a run of events in seq order, continuing from `prev` (the seq and hash before the
/// run); returns where the run ends, for the next one.
pub fn verify<'a>(prev: (i64, &str), run: impl IntoIterator<Item = &'a Sealed>) -> Result<(i64, String), BrokenLink> {
    let (mut seq, mut hash) = (prev.0, prev.1.to_owned());
    for stored in run {
        let event = &stored.event;
        if event.seq != seq + 1 {
            return Err(BrokenLink::Gap { after: seq, next: event.seq });
        }
        if stored.prev_hash != hash {
            return Err(BrokenLink::Unlinked { seq: event.seq, id: event.id });
        }
        if event.chain_hash(&stored.prev_hash) != stored.hash {
            return Err(BrokenLink::Altered { seq: event.seq, id: event.id });
        }
        seq = event.seq;
        hash = stored.hash.clone();
    }
    Ok((seq, hash))
}

/// Chains `events` (their `seq` set here) after `prev`.
pub fn seal(prev: (i64, &str), events: Vec<AuditEvent>) -> Vec<Sealed> {
    let (mut seq, mut hash) = (prev.0, prev.1.to_owned());
    events
        .into_iter()
        .map(|mut event| {
            seq += 1;
            event.seq = seq;
            let next = event.chain_hash(&hash);
            Sealed { event, prev_hash: std::mem::replace(&mut hash, next.clone()), hash: next }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u8) -> AuditEvent {
        AuditEvent {
            seq: 0,
            id: Uuid::from_bytes([n; 16]),
            at: DateTime::parse_from_rfc3339("2026-12-07T10:00:00.123456789Z").unwrap().with_timezone(&Utc),
            key_id: Some(Uuid::from_bytes([9; 16])),
            role: "portal".into(),
            session_id: None,
            action: AuditAction::Read,
            route: "/v1/patients/{member_id}/claims".into(),
            status: 200,
            resource_type: "claim".into(),
            resource_ids: vec![format!("c{n}")],
            resource_count: 1,
            member_ids: vec!["BRM2008".into()],
            member_count: 1,
            request_id: format!("r{n}"),
            remote_addr: Some("127.0.0.1".into()),
        }
    }

    #[test]
    fn the_canonical_form_is_fixed() {
        let json = event(1).canonical_json();
        assert!(
            json.starts_with(
                r#"{"seq":0,"id":"01010101-0101-0101-0101-010101010101","at":"2026-12-07T10:00:00.123456Z","key_id":"#
            ),
            "{json}"
        );
        assert!(json.ends_with(r#""request_id":"r1","remote_addr":"127.0.0.1"}"#), "{json}");
        // A known digest: anyone can recompute it from the documented form.
        let mut digest = Sha256::new();
        digest.update(GENESIS.as_bytes());
        digest.update(json.as_bytes());
        let expected: String = digest.finalize().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(expected.len(), 64);
        assert_eq!(event(1).chain_hash(GENESIS), expected);
    }

    #[test]
    fn a_sealed_chain_verifies_and_every_tampering_is_named() {
        let chain = seal((0, GENESIS), (1..=5).map(event).collect());
        assert_eq!(verify((0, GENESIS), &chain), Ok((5, chain[4].hash.clone())));
        // Continues across runs.
        let (seq, hash) = verify((0, GENESIS), &chain[..2]).unwrap();
        assert_eq!(verify((seq, &hash), &chain[2..]).unwrap().0, 5);

        let mut altered = chain.clone();
        altered[2].event.member_ids = vec!["OTHER9".into()];
        assert_eq!(verify((0, GENESIS), &altered), Err(BrokenLink::Altered { seq: 3, id: altered[2].event.id }));

        let mut removed = chain.clone();
        removed.remove(2);
        assert_eq!(verify((0, GENESIS), &removed), Err(BrokenLink::Gap { after: 2, next: 4 }));

        // Removed and renumbered, rehashed in place: the next link still breaks.
        let mut renumbered = chain.clone();
        renumbered.remove(2);
        for s in &mut renumbered[2..] {
            s.event.seq -= 1;
        }
        renumbered[2].hash = renumbered[2].event.chain_hash(&renumbered[2].prev_hash);
        assert_eq!(verify((0, GENESIS), &renumbered), Err(BrokenLink::Unlinked { seq: 3, id: renumbered[2].event.id }));

        let mut swapped = chain.clone();
        swapped.swap(1, 2);
        assert!(verify((0, GENESIS), &swapped).is_err());
    }

    #[test]
    fn timestamps_keep_microseconds() {
        let at = event(1).at;
        assert_eq!(truncate_to_micros(at).timestamp_subsec_nanos(), 123_456_000);
    }
}
