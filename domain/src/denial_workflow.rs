//! How a denial is worked: its statuses and the actions that move it between them.
//!
//! ```text
//! open ──start──▶ in_progress ──appeal──▶ appealed ───resolve──▶ overturned | upheld
//!   │                  │ └──resubmit──▶ resubmitted ─resolve──▶ overturned | upheld
//!   └── appeal / resubmit / resolve directly (the payer may reprocess on its own)
//! any open status ──write_off──▶ written_off
//! ```
//! `assign` and `note` change no status; only `note` is allowed once a denial is closed
//! (overturned, upheld or written off): an upheld appeal that goes further is a new piece of
//! work, not a reopening of history.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DenialStatus {
    Open,
    InProgress,
    Appealed,
    Resubmitted,
    Overturned,
    Upheld,
    WrittenOff,
}

impl DenialStatus {
    pub const ALL: [DenialStatus; 7] = [
        Self::Open,
        Self::InProgress,
        Self::Appealed,
        Self::Resubmitted,
        Self::Overturned,
        Self::Upheld,
        Self::WrittenOff,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::InProgress => "in_progress",
            Self::Appealed => "appealed",
            Self::Resubmitted => "resubmitted",
            Self::Overturned => "overturned",
            Self::Upheld => "upheld",
            Self::WrittenOff => "written_off",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    pub fn is_closed(self) -> bool {
        matches!(self, Self::Overturned | Self::Upheld | Self::WrittenOff)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Overturned,
    Upheld,
}

/// What a person does to a denial (the body of `POST /v1/denials/{id}/actions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DenialAction {
    /// `None` unassigns.
    Assign(Option<String>),
    Start,
    Appeal,
    Resubmit,
    Resolve {
        outcome: Outcome,
        recovered_cents: i64,
    },
    WriteOff,
    Note,
}

impl DenialAction {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Assign(_) => "assign",
            Self::Start => "start",
            Self::Appeal => "appeal",
            Self::Resubmit => "resubmit",
            Self::Resolve { .. } => "resolve",
            Self::WriteOff => "write_off",
            Self::Note => "note",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a denial that is {} cannot take the action {action}", from.as_str())]
pub struct IllegalTransition {
    pub from: DenialStatus,
    pub action: &'static str,
}

/// The status after `action`, or why it is not allowed from `from`.
pub fn next_status(from: DenialStatus, action: &DenialAction) -> Result<DenialStatus, IllegalTransition> {
    use DenialStatus::*;
    let illegal = || IllegalTransition { from, action: action.name() };
    if from.is_closed() {
        return if matches!(action, DenialAction::Note) { Ok(from) } else { Err(illegal()) };
    }
    match action {
        DenialAction::Note | DenialAction::Assign(_) => Ok(from),
        DenialAction::Start if from == Open => Ok(InProgress),
        DenialAction::Appeal if matches!(from, Open | InProgress) => Ok(Appealed),
        DenialAction::Resubmit if matches!(from, Open | InProgress) => Ok(Resubmitted),
        DenialAction::Resolve { outcome: Outcome::Overturned, .. } => Ok(Overturned),
        DenialAction::Resolve { outcome: Outcome::Upheld, .. } => Ok(Upheld),
        DenialAction::WriteOff => Ok(WrittenOff),
        _ => Err(illegal()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DenialStatus::*;

    fn resolve(outcome: Outcome) -> DenialAction {
        DenialAction::Resolve { outcome, recovered_cents: 0 }
    }

    #[test]
    fn the_usual_paths() {
        assert_eq!(next_status(Open, &DenialAction::Start), Ok(InProgress));
        assert_eq!(next_status(InProgress, &DenialAction::Appeal), Ok(Appealed));
        assert_eq!(next_status(Appealed, &resolve(Outcome::Overturned)), Ok(Overturned));
        assert_eq!(next_status(InProgress, &DenialAction::Resubmit), Ok(Resubmitted));
        assert_eq!(next_status(Resubmitted, &resolve(Outcome::Upheld)), Ok(Upheld));
        assert_eq!(next_status(Open, &DenialAction::WriteOff), Ok(WrittenOff));
        assert_eq!(next_status(Appealed, &DenialAction::Assign(Some("kim".into()))), Ok(Appealed));
    }

    #[test]
    fn closed_denials_take_only_notes() {
        for closed in [Overturned, Upheld, WrittenOff] {
            assert_eq!(next_status(closed, &DenialAction::Note), Ok(closed));
            for action in [
                DenialAction::Start,
                DenialAction::Appeal,
                DenialAction::Resubmit,
                DenialAction::WriteOff,
                DenialAction::Assign(None),
                resolve(Outcome::Overturned),
            ] {
                assert_eq!(
                    next_status(closed, &action),
                    Err(IllegalTransition { from: closed, action: action.name() })
                );
            }
        }
    }

    #[test]
    fn no_going_back() {
        assert!(next_status(InProgress, &DenialAction::Start).is_err());
        assert!(next_status(Appealed, &DenialAction::Start).is_err());
        assert!(next_status(Appealed, &DenialAction::Resubmit).is_err());
        assert!(next_status(Resubmitted, &DenialAction::Appeal).is_err());
    }

    #[test]
    fn statuses_round_trip() {
        for s in DenialStatus::ALL {
            assert_eq!(DenialStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(DenialStatus::parse("closed"), None);
    }
}
