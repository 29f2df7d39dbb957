//! Follow-ups: the chasing a claim or a denial needs, who it is for, and when it falls due.
//!
//! Every date here is a calendar date in UTC, and a follow-up that falls due "on" a date
//! falls due at 00:00 UTC of that date. Payer rules (`PayerRules`) give the windows; the
//! fixed delays below are the ones a billing office works to.
//!
//! ```text
//! scheduled ──(due_at passes)──▶ fired ──complete──▶ completed
//!     ▲ │                          │
//!     └─┴──────── snooze ◀─────────┘        scheduled | fired ──(claim paid, denial closed, …)──▶ cancelled
//! ```

use chrono::{DateTime, Days, NaiveDate, Utc};

use crate::classification::{Action, Category, PayerRules};
use crate::webhooks::ContactKind;

/// Reminders before an open denial's appeal deadline, in days before it.
pub const APPEAL_REMINDER_DAYS: [u16; 3] = [30, 14, 3];

/// How long before the timely-filing limit a claim the payer never answered is chased.
pub const TIMELY_FILING_WARNING_DAYS: u16 = 30;

/// Days after classification a denial to correct and resubmit is chased, if still open.
pub const RESUBMISSION_AFTER_DAYS: u16 = 7;

/// Days after an eligibility or coordination-of-benefits denial the patient is asked
/// again for their insurance details, if the denial is still open.
pub const OUTREACH_QUESTION_AFTER_DAYS: u16 = 7;

/// Days after a remittance left the patient a balance that they are reminded of it (one
/// statement cycle).
pub const OUTREACH_BALANCE_AFTER_DAYS: u16 = 30;

/// The furthest a follow-up may be snoozed.
pub const MAX_SNOOZE_DAYS: u16 = 3650;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FollowUpKind {
    /// A claim with no payer response `status_check_after_days` after it was submitted.
    StatusCheck,
    /// Reminders before an open denial's appeal deadline, and its escalation once it passes.
    AppealDeadline,
    /// A denial to correct and resubmit, still open.
    Resubmission,
    /// A patient to ask for insurance details, or to remind of a balance.
    PatientOutreach,
    /// A claim the payer never answered, nearing its timely-filing limit.
    TimelyFiling,
}

impl FollowUpKind {
    pub const ALL: [FollowUpKind; 5] =
        [Self::StatusCheck, Self::AppealDeadline, Self::Resubmission, Self::PatientOutreach, Self::TimelyFiling];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::StatusCheck => "status_check",
            Self::AppealDeadline => "appeal_deadline",
            Self::Resubmission => "resubmission",
            Self::PatientOutreach => "patient_outreach",
            Self::TimelyFiling => "timely_filing",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }

    /// Whom the follow-up calls when it fires.
    pub fn target(self) -> ContactKind {
        match self {
            Self::PatientOutreach => ContactKind::Patient,
            _ => ContactKind::Payer,
        }
    }

    /// The kinds a payer response to the claim makes pointless.
    pub const ANSWERED_BY_PAYER: [FollowUpKind; 2] = [Self::StatusCheck, Self::TimelyFiling];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FollowUpStatus {
    /// Waiting for `due_at`.
    Scheduled,
    /// Fell due: its event went out and it waits in the worklist for a person.
    Fired,
    Completed,
    /// No longer makes sense (the claim was paid, the denial closed, …).
    Cancelled,
}

impl FollowUpStatus {
    pub const ALL: [FollowUpStatus; 4] = [Self::Scheduled, Self::Fired, Self::Completed, Self::Cancelled];
    /// The statuses a follow-up can still be worked or cancelled in.
    pub const OPEN: [FollowUpStatus; 2] = [Self::Scheduled, Self::Fired];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Fired => "fired",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    pub fn is_open(self) -> bool {
        Self::OPEN.contains(&self)
    }
}

/// What a person does to a follow-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowUpChange {
    Complete,
    Snooze(DateTime<Utc>),
    Reassign(Option<String>),
}

impl FollowUpChange {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Complete => "complete",
            Self::Snooze(_) => "snooze",
            Self::Reassign(_) => "reassign",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FollowUpError {
    #[error("this follow-up is {0}: it cannot be changed any more")]
    Closed(&'static str),
}

/// The status a change leads to; a completed or cancelled follow-up takes none.
pub fn next_status(from: FollowUpStatus, change: &FollowUpChange) -> Result<FollowUpStatus, FollowUpError> {
    if !from.is_open() {
        return Err(FollowUpError::Closed(from.as_str()));
    }
    Ok(match change {
        FollowUpChange::Complete => FollowUpStatus::Completed,
        FollowUpChange::Snooze(_) => FollowUpStatus::Scheduled,
        FollowUpChange::Reassign(_) => from,
    })
}

/// 00:00 UTC of a date: when something due "on" that date falls due.
pub fn start_of(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(chrono::NaiveTime::MIN).and_utc()
}

fn plus_days(at: DateTime<Utc>, days: u16) -> DateTime<Utc> {
    at.checked_add_days(Days::new(u64::from(days))).unwrap_or(at)
}

/// When a claim without a payer response gets its status checked.
pub fn status_check_due(submitted_at: DateTime<Utc>, rules: &PayerRules) -> DateTime<Utc> {
    plus_days(submitted_at, rules.status_check_after_days)
}

/// The last day a claim for this date of service reaches the payer in time.
pub fn timely_filing_limit(service_date: NaiveDate, rules: &PayerRules) -> NaiveDate {
    service_date.checked_add_days(Days::new(u64::from(rules.timely_filing_days))).unwrap_or(service_date)
}

/// When a claim the payer never answered is chased before its timely-filing limit:
/// `TIMELY_FILING_WARNING_DAYS` before it, or on the date of service for a shorter window.
pub fn timely_filing_due(service_date: NaiveDate, rules: &PayerRules) -> DateTime<Utc> {
    let limit = timely_filing_limit(service_date, rules);
    let warn = limit.checked_sub_days(Days::new(u64::from(TIMELY_FILING_WARNING_DAYS))).unwrap_or(limit);
    start_of(warn.max(service_date))
}

/// One reminder of an appeal deadline: `offset_days` relative to the deadline (−30, −14,
/// −3; +1 is the escalation the day after it passed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppealReminder {
    pub offset_days: i32,
    pub due_at: DateTime<Utc>,
}

impl AppealReminder {
    pub fn is_escalation(&self) -> bool {
        self.offset_days > 0
    }
}

/// The offset of the escalation: the day after the deadline, once it has passed.
pub const ESCALATION_OFFSET: i32 = 1;

/// When the reminder `offset_days` from `deadline` falls due.
pub fn appeal_reminder_due(deadline: NaiveDate, offset_days: i32) -> DateTime<Utc> {
    let day = if offset_days >= 0 {
        deadline.checked_add_days(Days::new(offset_days.unsigned_abs().into()))
    } else {
        deadline.checked_sub_days(Days::new(offset_days.unsigned_abs().into()))
    };
    start_of(day.unwrap_or(deadline))
}

/// The reminders an open denial with this deadline gets, planned at `now`: those still
/// ahead, and the escalation always (at once when the deadline already passed). Reminders
/// whose day is over are left out rather than sent late all together.
pub fn appeal_reminders(deadline: NaiveDate, now: DateTime<Utc>) -> Vec<AppealReminder> {
    let mut out: Vec<AppealReminder> = APPEAL_REMINDER_DAYS
        .iter()
        .map(|&d| -i32::from(d))
        .map(|offset_days| AppealReminder { offset_days, due_at: appeal_reminder_due(deadline, offset_days) })
        .filter(|r| r.due_at >= start_of(now.date_naive()))
        .collect();
    out.push(AppealReminder {
        offset_days: ESCALATION_OFFSET,
        due_at: appeal_reminder_due(deadline, ESCALATION_OFFSET),
    });
    out
}

/// Whether a denial's appeal deadline is worth reminders: when an appeal is the way, or may
/// be (a review, a retro authorization, an eligibility fixed after the fact); not when the
/// way out is a corrected claim (MA130 even forbids the appeal), another payer, the patient
/// or a write-off.
pub fn wants_appeal_reminders(action: Action) -> bool {
    matches!(action, Action::Appeal | Action::Review | Action::ObtainAuthorization | Action::VerifyEligibility)
}

/// Whether the patient is asked for their insurance details about a denial of this category.
pub fn asks_the_patient(category: Category) -> bool {
    matches!(category, Category::Eligibility | Category::CoordinationOfBenefits)
}

/// An instant as the API takes one: an RFC 3339 timestamp (converted to UTC), or a date
/// (YYYY-MM-DD) meaning 00:00 UTC of it.
pub fn parse_instant(text: &str) -> Result<DateTime<Utc>, &'static str> {
    const EXPECTED: &str = "must be a date (YYYY-MM-DD) or an RFC 3339 timestamp";
    let text = text.trim();
    match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        // chrono takes unpadded fields and 5-digit years; the form is exact.
        Ok(date) if text.len() == 10 => Ok(start_of(date)),
        Ok(_) => Err(EXPECTED),
        Err(_) => DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).map_err(|_| EXPECTED),
    }
}

/// Reads a snooze's `until` (`parse_instant`). It must lie after `now` and at most
/// `MAX_SNOOZE_DAYS` ahead.
pub fn parse_until(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let at = parse_instant(text)?;
    if at <= now {
        return Err("must lie in the future".into());
    }
    if at > plus_days(now, MAX_SNOOZE_DAYS) {
        return Err(format!("must be at most {MAX_SNOOZE_DAYS} days ahead"));
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    #[test]
    fn status_checks_count_calendar_days_from_submission() {
        let rules = PayerRules { status_check_after_days: 30, ..PayerRules::default() };
        // Across the end of February and a US daylight-saving change: calendar days in UTC.
        assert_eq!(status_check_due(at(2026, 2, 20, 15), &rules), at(2026, 3, 22, 15));
        let rules = PayerRules { status_check_after_days: 45, ..PayerRules::default() };
        assert_eq!(status_check_due(at(2026, 2, 20, 15), &rules), at(2026, 4, 6, 15));
    }

    #[test]
    fn timely_filing_warns_thirty_days_before_the_limit() {
        let rules = PayerRules { timely_filing_days: 90, ..PayerRules::default() };
        assert_eq!(timely_filing_limit(date(2026, 1, 10), &rules), date(2026, 4, 10));
        assert_eq!(timely_filing_due(date(2026, 1, 10), &rules), at(2026, 3, 11, 0));
        // A window shorter than the warning: chased from the date of service.
        let rules = PayerRules { timely_filing_days: 20, ..PayerRules::default() };
        assert_eq!(timely_filing_due(date(2026, 1, 10), &rules), at(2026, 1, 10, 0));
    }

    #[test]
    fn appeal_reminders_fall_before_the_deadline_and_escalate_after_it() {
        let deadline = date(2026, 7, 1);
        let planned = appeal_reminders(deadline, at(2026, 1, 1, 9));
        let offsets: Vec<i32> = planned.iter().map(|r| r.offset_days).collect();
        assert_eq!(offsets, vec![-30, -14, -3, 1]);
        assert_eq!(planned[0].due_at, at(2026, 6, 1, 0));
        assert_eq!(planned[1].due_at, at(2026, 6, 17, 0));
        assert_eq!(planned[2].due_at, at(2026, 6, 28, 0));
        assert_eq!(planned[3].due_at, at(2026, 7, 2, 0));
        assert!(planned[3].is_escalation() && !planned[2].is_escalation());
    }

    #[test]
    fn reminders_already_past_are_left_out_but_the_escalation_stays() {
        let deadline = date(2026, 7, 1);
        // 10 days left: only the 3-day reminder and the escalation remain.
        let offsets: Vec<i32> = appeal_reminders(deadline, at(2026, 6, 21, 12)).iter().map(|r| r.offset_days).collect();
        assert_eq!(offsets, vec![-3, 1]);
        // On the day of a reminder it is still planned (it fires at once).
        let offsets: Vec<i32> = appeal_reminders(deadline, at(2026, 6, 17, 23)).iter().map(|r| r.offset_days).collect();
        assert_eq!(offsets, vec![-14, -3, 1]);
        // Long past: the escalation alone, due already.
        let late = appeal_reminders(deadline, at(2026, 9, 1, 0));
        assert_eq!(late.len(), 1);
        assert!(late[0].due_at < at(2026, 9, 1, 0));
    }

    #[test]
    fn closed_follow_ups_take_no_change() {
        use FollowUpStatus::*;
        let snooze = FollowUpChange::Snooze(at(2030, 1, 1, 0));
        assert_eq!(next_status(Fired, &FollowUpChange::Complete), Ok(Completed));
        assert_eq!(next_status(Scheduled, &FollowUpChange::Complete), Ok(Completed));
        assert_eq!(next_status(Fired, &snooze), Ok(Scheduled));
        assert_eq!(next_status(Fired, &FollowUpChange::Reassign(None)), Ok(Fired));
        for closed in [Completed, Cancelled] {
            for change in [FollowUpChange::Complete, snooze.clone(), FollowUpChange::Reassign(Some("kim".into()))] {
                assert_eq!(next_status(closed, &change), Err(FollowUpError::Closed(closed.as_str())));
            }
        }
    }

    #[test]
    fn snooze_dates_are_read_in_utc() {
        let now = at(2026, 11, 27, 12);
        assert_eq!(parse_until("2026-12-01", now), Ok(at(2026, 12, 1, 0)));
        assert_eq!(parse_until("2026-12-01T09:00:00-05:00", now), Ok(at(2026, 12, 1, 14)));
        assert!(parse_until("2026-11-27", now).unwrap_err().contains("future"));
        assert!(parse_until("2026-11-27T11:59:59Z", now).unwrap_err().contains("future"));
        assert!(parse_until("2040-01-01", now).unwrap_err().contains("3650"));
        assert!(parse_until("next tuesday", now).unwrap_err().contains("RFC 3339"));
        assert!(parse_until("2026-12-1", now).is_err());
    }

    #[test]
    fn kinds_and_statuses_round_trip() {
        for k in FollowUpKind::ALL {
            assert_eq!(FollowUpKind::parse(k.as_str()), Some(k));
        }
        for s in FollowUpStatus::ALL {
            assert_eq!(FollowUpStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(FollowUpKind::PatientOutreach.target(), ContactKind::Patient);
        assert_eq!(FollowUpKind::StatusCheck.target(), ContactKind::Payer);
    }

    proptest! {
        #[test]
        fn parse_until_never_panics_and_only_accepts_the_future(text in ".{0,40}", secs in 0i64..4_000_000_000) {
            let now = Utc.timestamp_opt(secs, 0).unwrap();
            if let Ok(until) = parse_until(&text, now) {
                prop_assert!(until > now);
            }
        }

        #[test]
        fn reminders_are_in_order_and_end_with_the_escalation(days in 0i64..3_000_000, hour in 0u32..24, ahead in -400i64..400) {
            let now = start_of(NaiveDate::from_num_days_from_ce_opt(700_000 + days as i32 % 100_000).unwrap())
                + chrono::Duration::hours(hour.into());
            let deadline = now.date_naive() + chrono::Duration::days(ahead);
            let planned = appeal_reminders(deadline, now);
            prop_assert!(planned.last().is_some_and(|r| r.is_escalation()));
            prop_assert!(planned.windows(2).all(|w| w[0].due_at < w[1].due_at));
            prop_assert!(planned.iter().filter(|r| !r.is_escalation()).all(|r| r.due_at.date_naive() >= now.date_naive()));
        }
    }
}
