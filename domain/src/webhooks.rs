//! Who gets which webhook, and when a failed delivery is tried again: the rules of contacts
//! and deliveries, without I/O.

use std::time::Duration;

/// Whom a contact stands for: a patient (reference = member id) or a payer (reference =
/// payer id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContactKind {
    Patient,
    Payer,
}

impl ContactKind {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "patient" => Some(Self::Patient),
            "payer" => Some(Self::Payer),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Patient => "patient",
            Self::Payer => "payer",
        }
    }
}

/// Where a delivery of one event to one contact stands. `Pending` is the only status the
/// scheduler and the attempt jobs act on; the others are final until a person retries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// An attempt is due now or later.
    Pending,
    Succeeded,
    /// Every attempt of the schedule failed, or the receiver answered 410.
    Failed,
    /// Ended without succeeding: its contact was disabled or deleted.
    Cancelled,
}

impl DeliveryStatus {
    pub const ALL: [Self; 4] = [Self::Pending, Self::Succeeded, Self::Failed, Self::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether a person may send it again (`POST /v1/deliveries/{id}/retry`): any delivery
    /// that has ended; a pending one is on its way already.
    pub fn can_be_sent_again(self) -> bool {
        self != Self::Pending
    }
}

/// What one attempt's answer does to its delivery:
///
/// ```text
/// pending ──2xx──▶ succeeded
///    │ └──410, or a failure with the schedule exhausted──▶ failed
///    ├──another failure──▶ pending (again after `next_delay`)
///    └──contact disabled or deleted──▶ cancelled
/// failed | cancelled | succeeded ──sent again by a person──▶ pending
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AfterAttempt {
    Succeeded,
    /// Failed; try again after this wait.
    Retry(Duration),
    /// Failed for good: the schedule is exhausted, or the receiver answered 410 Gone (which
    /// also disables the contact).
    Failed {
        gone: bool,
    },
}

impl AfterAttempt {
    /// `attempt` is 1-based; `http_status` is `None` when no answer came (timeout, refused).
    pub fn of(attempt: u32, http_status: Option<u16>, retry_after: Option<Duration>, jitter: f64) -> Self {
        match http_status {
            Some(200..=299) => Self::Succeeded,
            Some(410) => Self::Failed { gone: true },
            _ => match next_delay(attempt, retry_after, jitter) {
                Some(wait) => Self::Retry(wait),
                None => Self::Failed { gone: false },
            },
        }
    }

    pub fn status(self) -> DeliveryStatus {
        match self {
            Self::Succeeded => DeliveryStatus::Succeeded,
            Self::Retry(_) => DeliveryStatus::Pending,
            Self::Failed { .. } => DeliveryStatus::Failed,
        }
    }
}

/// The events Overturn sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    BalanceDue,
    ActionRequired,
    FollowupDue,
    DenialCreated,
    /// A claim returned at the front door (999, 277CA): to payer contacts that ask for it.
    ClaimRejected,
    /// Sent by `POST /v1/contacts/{id}/test` only; every contact accepts it.
    Ping,
}

impl EventType {
    pub const ALL: [Self; 6] = [
        Self::BalanceDue,
        Self::ActionRequired,
        Self::FollowupDue,
        Self::DenialCreated,
        Self::ClaimRejected,
        Self::Ping,
    ];

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::BalanceDue => "patient.balance_due",
            Self::ActionRequired => "patient.action_required",
            Self::FollowupDue => "followup.due",
            Self::DenialCreated => "denial.created",
            Self::ClaimRejected => "claim.rejected",
            Self::Ping => "ping",
        }
    }

    /// Whether a contact of `kind` can receive this event at all.
    pub fn reaches(self, kind: ContactKind) -> bool {
        match self {
            Self::BalanceDue | Self::ActionRequired => kind == ContactKind::Patient,
            Self::DenialCreated | Self::ClaimRejected => kind == ContactKind::Payer,
            Self::FollowupDue | Self::Ping => true,
        }
    }

    /// Whether a contact without an `events` filter gets it. `denial.created` and
    /// `claim.rejected` are sent only to payer contacts that ask for them: most payer-facing
    /// automation wants the follow-ups, not one call per denied line or rejected claim.
    pub fn by_default(self, kind: ContactKind) -> bool {
        self.reaches(kind) && !matches!(self, Self::DenialCreated | Self::ClaimRejected)
    }
}

/// Whether a contact with this kind and filter receives `event`.
pub fn wants(kind: ContactKind, filter: Option<&[EventType]>, event: EventType) -> bool {
    match (event, filter) {
        (EventType::Ping, _) => true,
        (_, None) => event.by_default(kind),
        (_, Some(list)) => event.reaches(kind) && list.contains(&event),
    }
}

/// Delays before attempts 2 to 8, after the first at once: over about 28 hours in all, so a
/// receiver down for a working day still gets every event.
pub const RETRY_SCHEDULE: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// Attempts a delivery gets before it is `failed`.
pub const MAX_ATTEMPTS: u32 = RETRY_SCHEDULE.len() as u32 + 1;

/// The longest wait a receiver's `Retry-After` can ask for.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(10 * 3600);

/// A contact whose deliveries have failed without a success for this long is disabled.
pub const DISABLE_AFTER_FAILING: Duration = Duration::from_secs(5 * 24 * 3600);

/// The wait before the next attempt after `attempts_made` failed ones, or `None` when the
/// schedule is exhausted. `jitter` in [-1, 1] moves it by up to ±20 %, so deliveries that
/// failed together do not all return in the same second. A `Retry-After` longer than the
/// schedule's wait is honoured, up to `MAX_RETRY_AFTER`; a shorter one does not speed the
/// schedule up.
pub fn next_delay(attempts_made: u32, retry_after: Option<Duration>, jitter: f64) -> Option<Duration> {
    let index = usize::try_from(attempts_made.checked_sub(1)?).ok()?;
    let scheduled = RETRY_SCHEDULE.get(index)?.mul_f64(1.0 + 0.2 * jitter.clamp(-1.0, 1.0));
    Some(match retry_after {
        Some(asked) => scheduled.max(asked.min(MAX_RETRY_AFTER)),
        None => scheduled,
    })
}

/// Reads a `Retry-After` header: delay-seconds, or an HTTP date relative to `now`.
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    (at.with_timezone(&chrono::Utc) - now).to_std().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn an_attempt_succeeds_on_2xx_ends_on_410_and_retries_until_the_schedule_runs_out() {
        assert_eq!(AfterAttempt::of(1, Some(204), None, 0.0), AfterAttempt::Succeeded);
        assert_eq!(AfterAttempt::of(1, Some(410), None, 0.0), AfterAttempt::Failed { gone: true });
        assert_eq!(AfterAttempt::of(1, Some(500), None, 0.0), AfterAttempt::Retry(RETRY_SCHEDULE[0]));
        assert_eq!(AfterAttempt::of(2, None, None, 0.0), AfterAttempt::Retry(RETRY_SCHEDULE[1]));
        assert_eq!(AfterAttempt::of(MAX_ATTEMPTS, Some(503), None, 0.0), AfterAttempt::Failed { gone: false });
        assert_eq!(AfterAttempt::of(1, Some(302), None, 0.0).status(), DeliveryStatus::Pending);
        assert_eq!(AfterAttempt::of(MAX_ATTEMPTS, Some(200), None, 0.0).status(), DeliveryStatus::Succeeded);
        assert!(!DeliveryStatus::Pending.can_be_sent_again());
        assert!(DeliveryStatus::ALL.iter().filter(|s| s.can_be_sent_again()).count() == 3);
    }

    #[test]
    fn delivery_statuses_read_back_as_stored_and_nothing_else_reads() {
        for status in DeliveryStatus::ALL {
            assert_eq!(DeliveryStatus::parse(status.as_str()), Some(status));
        }
        let names: Vec<&str> = DeliveryStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(names, ["pending", "succeeded", "failed", "cancelled"], "the stored and documented names");
        for other in ["", "Pending", "sent", "pending "] {
            assert_eq!(DeliveryStatus::parse(other), None, "{other:?}");
        }
    }

    #[test]
    fn routing_follows_kind_and_filter() {
        use ContactKind::*;
        use EventType::*;
        assert!(wants(Patient, None, BalanceDue));
        assert!(wants(Patient, None, ActionRequired));
        assert!(wants(Patient, None, FollowupDue));
        assert!(!wants(Patient, None, DenialCreated));
        assert!(!wants(Payer, None, BalanceDue));
        assert!(!wants(Payer, None, DenialCreated), "only when asked for");
        assert!(wants(Payer, Some(&[DenialCreated]), DenialCreated));
        assert!(!wants(Payer, Some(&[DenialCreated]), FollowupDue));
        assert!(!wants(Patient, Some(&[DenialCreated]), DenialCreated), "never to a patient");
        assert!(wants(Payer, Some(&[]), Ping) && wants(Patient, None, Ping));
        for event in EventType::ALL {
            assert_eq!(EventType::parse(event.as_str()), Some(event));
        }
    }

    #[test]
    fn the_schedule_spreads_attempts_over_a_day_and_ends() {
        assert_eq!(next_delay(1, None, 0.0), Some(Duration::from_secs(5)));
        assert_eq!(next_delay(2, None, 0.0), Some(Duration::from_secs(300)));
        assert_eq!(next_delay(7, None, 0.0), Some(Duration::from_secs(36_000)));
        assert_eq!(next_delay(MAX_ATTEMPTS, None, 0.0), None);
        assert_eq!(next_delay(0, None, 0.0), None);
        let total: Duration = RETRY_SCHEDULE.iter().sum();
        assert!(total > Duration::from_secs(24 * 3600) && total < Duration::from_secs(30 * 3600));
        assert_eq!(next_delay(1, None, 1.0), Some(Duration::from_secs(6)));
        assert_eq!(next_delay(1, None, -1.0), Some(Duration::from_secs(4)));
    }

    #[test]
    fn retry_after_can_slow_the_schedule_within_bounds() {
        let at = |s| Some(Duration::from_secs(s));
        assert_eq!(next_delay(1, at(120), 0.0), at(120));
        assert_eq!(next_delay(2, at(1), 0.0), at(300), "never sooner than the schedule");
        assert_eq!(next_delay(1, at(7 * 24 * 3600), 0.0), Some(MAX_RETRY_AFTER));
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-27T10:00:00Z").unwrap().to_utc();
        assert_eq!(parse_retry_after("120", now), at(120));
        assert_eq!(parse_retry_after("Fri, 27 Nov 2026 10:02:00 GMT", now), at(120));
        assert_eq!(parse_retry_after("Fri, 27 Nov 2026 09:00:00 GMT", now), None, "in the past");
        assert_eq!(parse_retry_after("soon", now), None);
    }

    proptest! {
        #[test]
        fn delays_stay_within_twenty_percent_and_bounds(attempt in 0u32..20, jitter in -5.0f64..5.0, asked in proptest::option::of(0u64..10_000_000)) {
            let delay = next_delay(attempt, asked.map(Duration::from_secs), jitter);
            if attempt == 0 || attempt >= MAX_ATTEMPTS {
                prop_assert!(delay.is_none());
            } else {
                let base = RETRY_SCHEDULE[attempt as usize - 1];
                let delay = delay.unwrap();
                prop_assert!(delay >= base.mul_f64(0.8));
                prop_assert!(delay <= base.mul_f64(1.2).max(MAX_RETRY_AFTER));
            }
        }

        #[test]
        fn retry_after_never_panics(text in ".{0,60}") {
            let _ = parse_retry_after(&text, chrono::Utc::now());
        }
    }
}
