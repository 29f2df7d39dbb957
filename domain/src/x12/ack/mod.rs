//! Acknowledgments read back from clearinghouses and payers: the 999 implementation
//! acknowledgment (005010X231A1) of a claim file, the 277CA claim acknowledgment (005010X214)
//! and the 277 claim status response (005010X212). They share the 835 and 837 scanner and
//! envelope checks; an envelope fault, or a fault in a segment this reader relies on, refuses
//! the file whole (nothing of a half-read acknowledgment is applied).

mod read277;
mod read999;
#[cfg(test)]
mod tests;

use chrono::NaiveDate;

use super::envelope::Cursor;
use super::error::EdiError;
use crate::Money;

pub use read277::{MAX_CLAIMS, MAX_STATUSES};

/// Which acknowledgment a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckKind {
    /// 005010X231A1: the file's syntax, transaction set by transaction set.
    Implementation,
    /// 005010X214: claim by claim, accepted into adjudication or rejected.
    ClaimAcknowledgment,
    /// 005010X212: the answer to a claim status inquiry (276).
    ClaimStatus,
}

impl AckKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Implementation => "999",
            Self::ClaimAcknowledgment => "277CA",
            Self::ClaimStatus => "277",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Implementation, Self::ClaimAcknowledgment, Self::ClaimStatus].into_iter().find(|k| k.as_str() == text)
    }
}

/// A whole acknowledgment file.
#[derive(Debug, Clone, PartialEq)]
pub enum AckFile<'a> {
    Implementation(Vec<GroupResponse<'a>>),
    Status(StatusFile<'a>),
}

impl AckFile<'_> {
    pub fn kind(&self) -> AckKind {
        match self {
            Self::Implementation(_) => AckKind::Implementation,
            Self::Status(f) => f.kind,
        }
    }

    /// How many transaction sets (ST) the file holds.
    pub fn transaction_count(&self) -> usize {
        match self {
            Self::Implementation(groups) => groups.len(),
            Self::Status(f) => f.transaction_count,
        }
    }
}

/// One 999 transaction set: the answer for one functional group of the file acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupResponse<'a> {
    /// AK101: the functional identifier of the group acknowledged (HC for claims).
    pub functional_id: &'a str,
    /// AK102: that group's control number (its GS06).
    pub group_control_number: &'a str,
    /// AK901: A accepted, E accepted with errors, P partially accepted, R rejected (M, W, X:
    /// rejected for security reasons).
    pub code: &'a str,
    /// AK902, AK903, AK904: sets included, received, accepted.
    pub included: u32,
    pub received: u32,
    pub accepted: u32,
    pub sets: Vec<SetResponse<'a>>,
    /// Every set's segment errors, IK5 codes and element errors, each set and error naming its
    /// range: three arrays for the group rather than three per set, since a 999 can answer
    /// for tens of thousands of sets.
    pub faults: Vec<SegmentFault<'a>>,
    pub elements: Vec<ElementFault<'a>>,
    pub set_codes: Vec<&'a str>,
}

impl<'a> GroupResponse<'a> {
    /// Whether the group was refused whole.
    pub fn rejected(&self) -> bool {
        rejected_code(self.code)
    }

    /// The set's segment errors (IK3 loops).
    pub fn errors_of(&self, set: &SetResponse<'a>) -> &[SegmentFault<'a>] {
        &self.faults[set.errors.0 as usize..set.errors.1 as usize]
    }

    /// The set's own error codes (IK502–IK506).
    pub fn set_errors_of(&self, set: &SetResponse<'a>) -> &[&'a str] {
        &self.set_codes[set.set_errors.0 as usize..set.set_errors.1 as usize]
    }

    /// A segment error's element errors (IK4).
    pub fn elements_of(&self, fault: &SegmentFault<'a>) -> &[ElementFault<'a>] {
        &self.elements[fault.elements.0 as usize..fault.elements.1 as usize]
    }
}

/// One AK2 loop: the verdict on one transaction set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetResponse<'a> {
    /// AK201 (837).
    pub set_id: &'a str,
    /// AK202: the set's ST02.
    pub control_number: &'a str,
    /// IK501: A, E, M, R, W or X.
    pub code: &'a str,
    /// IK502–IK506: the set's own error codes, a range of the group's `set_codes`.
    pub set_errors: (u32, u32),
    /// Its segment errors, a range of the group's `faults`.
    pub errors: (u32, u32),
}

impl SetResponse<'_> {
    pub fn rejected(&self) -> bool {
        rejected_code(self.code)
    }
}

/// R, M, W and X all refuse (M, W and X for reasons of message authentication or encryption).
fn rejected_code(code: &str) -> bool {
    matches!(code, "R" | "M" | "W" | "X")
}

/// An IK3 loop: a segment in error, with its element errors (IK4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentFault<'a> {
    pub segment_id: &'a str,
    /// IK302: the segment's position in the set (ST is 1).
    pub position: u32,
    /// IK303: the loop it is in.
    pub loop_id: &'a str,
    /// IK304.
    pub code: &'a str,
    /// The claim it concerns (a CTX*CLM01 context), when named.
    pub claim_number: Option<&'a str>,
    /// Its element errors, a range of the group's `elements`.
    pub elements: (u32, u32),
}

/// An IK4: an element in error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementFault<'a> {
    /// IK401-1.
    pub position: u32,
    /// IK403.
    pub code: &'a str,
    /// IK404: the bad value, when the sender copied it.
    pub value: Option<&'a str>,
}

/// A 277CA or 277: claims and what the payer or clearinghouse says about each.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusFile<'a> {
    pub kind: AckKind,
    pub transaction_count: usize,
    pub claims: Vec<ClaimStatusReport<'a>>,
    /// Every status composite of the file, claims' and lines' together; a claim names its
    /// range (one array rather than one per claim: a 277CA may hold tens of thousands).
    pub statuses: Vec<StatusCode<'a>>,
}

impl<'a> StatusFile<'a> {
    pub fn statuses_of(&self, claim: &ClaimStatusReport<'a>) -> &[StatusCode<'a>] {
        &self.statuses[claim.statuses.0 as usize..claim.statuses.1 as usize]
    }
}

/// One claim status loop (2200D, or 2200E under a dependent in a 277).
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimStatusReport<'a> {
    /// 1-based index of its TRN in the file.
    pub segment_index: usize,
    /// TRN02: in a 277CA the claim's patient control number (CLM01); in a 277 the trace number
    /// of the inquiry (276) it answers.
    pub trace: &'a str,
    /// REF*EJ (277): the patient control number.
    pub patient_control_number: Option<&'a str>,
    /// REF*1K: the payer's claim control number.
    pub payer_claim_number: Option<&'a str>,
    /// NM109 of the subscriber or patient the claim is under.
    pub member_id: Option<&'a str>,
    /// DTP*472 (or 2200's service period): first and last day.
    pub service_dates: Option<(NaiveDate, NaiveDate)>,
    /// STC02 of the first STC.
    pub effective_date: Option<NaiveDate>,
    /// STC04: the total claim charge as the payer has it.
    pub charge: Option<Money>,
    /// STC05 (277): the amount paid.
    pub paid: Option<Money>,
    /// STC12 (277CA): the free-form message.
    pub message: Option<&'a str>,
    /// `[start, end)` into `StatusFile::statuses`.
    pub statuses: (u32, u32),
}

/// One STC composite (C043): category, status and entity codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusCode<'a> {
    pub category: &'a str,
    pub code: &'a str,
    /// The entity the status concerns (85 billing provider, IL subscriber, …), when named.
    pub entity: Option<&'a str>,
    /// 0 for the claim, else the 1-based service line (2220) it was said of.
    pub line: u16,
}

/// What a claim's statuses come to, worst first: a rejection outweighs everything, a final
/// answer outweighs a pending one, and an acknowledgment is the least news.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AckOutcome {
    Accepted,
    Pending,
    Finalized,
    Rejected,
}

impl AckOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Pending => "pending",
            Self::Finalized => "finalized",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Accepted, Self::Pending, Self::Finalized, Self::Rejected].into_iter().find(|o| o.as_str() == text)
    }

    /// What one claim status category code means. A0–A2 and A5: received, forwarded or taken
    /// into adjudication (DR01, DR02, DR08 likewise for encounters). A3, A4, A6–A8, E0, E3, E4
    /// (and DR03–DR07): returned for correction (E0 is an error in
    /// the request itself, E3/E4 a correction the receiver requires). F*: adjudicated. The rest
    /// (P*, R* requests for information, E1/E2 the holder's system is down, D0 nothing found,
    /// and any category not yet known) leaves the claim pending.
    pub fn of_category(category: &str) -> Self {
        match category {
            "A0" | "A1" | "A2" | "A5" | "DR01" | "DR02" | "DR08" => Self::Accepted,
            "A3" | "A4" | "A6" | "A7" | "A8" | "E0" | "E3" | "E4" => Self::Rejected,
            "DR03" | "DR04" | "DR05" | "DR06" | "DR07" => Self::Rejected,
            c if c.starts_with('F') => Self::Finalized,
            _ => Self::Pending,
        }
    }

    /// The outcome of a claim with these statuses: the worst of them.
    pub fn of_statuses(statuses: &[StatusCode<'_>]) -> Self {
        statuses.iter().map(|s| Self::of_category(s.category)).max().unwrap_or(Self::Pending)
    }
}

/// Reads a 999, 277CA or 277 file. Which one it is comes from its first functional group (FA
/// for a 999, HN for a 277 of either kind, told apart by the version, GS08); a file mixing
/// kinds is refused.
pub fn read_acknowledgment(input: &[u8]) -> Result<AckFile<'_>, EdiError> {
    match first_group(input)? {
        ("FA", _) => read999::read(input).map(AckFile::Implementation),
        ("HN", version) => {
            let kind = if version.starts_with("005010X214") {
                AckKind::ClaimAcknowledgment
            } else if version.starts_with("005010X212") {
                AckKind::ClaimStatus
            } else {
                return Err(EdiError::new(
                    2,
                    "GS",
                    Some(8),
                    format!(
                        "{version:?} is not a 277 this service reads: 005010X214 (claim acknowledgment) or 005010X212 \
                         (claim status response)"
                    ),
                ));
            };
            read277::read(input, kind).map(AckFile::Status)
        }
        (other, _) => Err(EdiError::new(
            2,
            "GS",
            Some(1),
            format!(
                "the functional identifier {other:?} is not an acknowledgment: FA (999) or HN (277CA, 277) is read here"
            ),
        )),
    }
}

/// GS01 and GS08 of the file's first functional group.
fn first_group(input: &[u8]) -> Result<(&str, &str), EdiError> {
    let mut cursor = Cursor::new(input);
    let isa = cursor.require("ISA")?;
    if isa.id != "ISA" {
        return Err(isa.error(None, "expected ISA: every interchange starts with one"));
    }
    let gs = cursor.require("GS")?;
    if gs.id != "GS" {
        return Err(gs.error(None, "expected GS after the ISA"));
    }
    Ok((gs.get(1), gs.get(8)))
}
