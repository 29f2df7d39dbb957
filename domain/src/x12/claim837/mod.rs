//! X12 837 claims: 005010X222A1 (837P, professional) and 005010X223A2 (837I, institutional).
//!
//! `parse_837` reads a file into its transaction sets, each a hierarchy of billing provider
//! (2000A), subscriber (2000B) and patient (2000C) loops with the claims (2300) under them,
//! every loop kept whole (`loops`). Envelope faults refuse the file; any other fault is kept
//! on the loop or claim it concerns, and `project` turns each claim into a `ClaimDraft` or
//! the faults that stop it, naming segment and element.

mod build;
#[cfg(test)]
mod build_tests;
mod edit;
mod fields;
mod lines;
mod loops;
mod project;
mod read;
mod stored;
mod write;

pub use build::{build, lacking_without_fields};
pub use edit::{EditError, Edits, edit};
pub use fields::{
    Address, Admission, ClaimFields, Diagnosis, LineFields, NamedProvider, Ndc, PARTY_ID_MAX, PARTY_NAME_MAX, Party,
    Person, ProviderRole, Submitter, check_email, check_phone, fields_of,
};
pub use loops::{Loop, LoopId, Tree};
pub use project::{Projected, project};
pub use read::{MAX_CLAIM_SEGMENTS, MAX_CLAIMS, parse_837};
pub use stored::{StoredClaim, StoredLoop};
pub use write::{CLAIMS_PER_SET, Envelope837, WriteError, write_837};

use super::error::EdiError;
use super::segments::Segment;

/// Which 837.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Professional,
    Institutional,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Self::Professional => "837P",
            Self::Institutional => "837I",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [Self::Professional, Self::Institutional].into_iter().find(|f| f.name() == name)
    }

    /// The implementation guide's version (ST03, GS08).
    pub fn version(self) -> &'static str {
        match self {
            Self::Professional => "005010X222A1",
            Self::Institutional => "005010X223A2",
        }
    }

    /// The format of a version: the HIPAA-adopted guides, and their later errata (005010X222A2,
    /// 005010X223A3), whose claims are read the same way.
    fn of_version(version: &str) -> Option<Self> {
        match version {
            "005010X222A1" | "005010X222A2" => Some(Self::Professional),
            "005010X223A2" | "005010X223A3" => Some(Self::Institutional),
            _ => None,
        }
    }
}

/// Everything read from one file.
#[derive(Debug, Clone)]
pub struct ClaimFile<'a> {
    pub format: Format,
    /// The delimiters of the file's (first) interchange.
    pub delimiters: super::Delimiters,
    pub sets: Vec<TransactionSet<'a>>,
}

impl ClaimFile<'_> {
    pub fn claim_count(&self) -> usize {
        self.sets.iter().map(|s| s.claims.len()).sum()
    }
}

/// One ST/SE transaction set.
#[derive(Debug, Clone)]
pub struct TransactionSet<'a> {
    pub format: Format,
    /// ISA13, GS06, ST02.
    pub interchange_control_number: &'a str,
    pub group_control_number: &'a str,
    pub transaction_control_number: &'a str,
    /// ISA05/ISA06 and ISA07/ISA08: the interchange's sender and receiver (qualifier, id).
    pub interchange_sender: (&'a str, &'a str),
    pub interchange_receiver: (&'a str, &'a str),
    /// ISA15: P (production) or T (test); an acknowledgment says the same.
    pub usage: &'a str,
    /// GS08.
    pub group_version: &'a str,
    /// GS02 and GS03: the application sender's and receiver's codes.
    pub sender_id: &'a str,
    pub receiver_id: &'a str,
    /// Where the ST sits in the file (1-based), and how many segments ST to SE hold.
    pub st_index: usize,
    pub segment_count: usize,
    /// The loops of the file's sets: this set's are `loops`, and the fields below name theirs.
    pub tree: std::sync::Arc<Tree<'a>>,
    /// The set's loops: from the first up to (not including) the second.
    pub loops: (LoopId, LoopId),
    /// BHT and the submitter (1000A) and receiver (1000B) loops.
    pub header: LoopId,
    /// The 2000A, 2000B and 2000C loops, in file order.
    pub contexts: Vec<Context<'a>>,
    pub claims: Vec<Claim<'a>>,
    /// Faults of the header: every claim of the set is refused with them.
    pub errors: Vec<EdiError>,
}

impl<'a> TransactionSet<'a> {
    /// The position of a segment within the set, ST being 1 (999 IK302).
    pub fn position(&self, segment_index: usize) -> usize {
        segment_index.saturating_sub(self.st_index) + 1
    }

    pub fn loop_of(&self, id: LoopId) -> Loop<'_, 'a> {
        self.tree.get(id)
    }

    /// The loop each segment of the set sits in, by the segment's index in the file.
    pub fn loops_by_segment(&self) -> std::collections::HashMap<usize, &'static str> {
        self.tree.walk_between(self.loops.0, self.loops.1).map(|(s, id)| (s.index, id)).collect()
    }

    /// The first and last segment indexes of a claim's own loops.
    pub fn span(&self, claim: &Claim<'_>) -> (usize, usize) {
        let segments = self.tree.get(claim.claim).all_segments();
        let first = segments.iter().map(|s| s.index).min().unwrap_or(0);
        let last = segments.iter().map(|s| s.index).max().unwrap_or(0);
        (first, last)
    }

    /// The chain of 2000 loops above a claim, innermost first: patient (if any), subscriber,
    /// billing provider.
    pub fn ancestry(&self, claim: &Claim<'_>) -> Vec<usize> {
        let mut out = Vec::new();
        let mut at = claim.context;
        while let Some(i) = at {
            if out.contains(&i) || out.len() > 3 {
                break;
            }
            out.push(i);
            at = self.contexts[i].parent;
        }
        out
    }
}

/// Where a 2000 loop sits in the hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Billing,
    Subscriber,
    Patient,
}

impl Level {
    pub fn loop_id(self) -> &'static str {
        match self {
            Self::Billing => "2000A",
            Self::Subscriber => "2000B",
            Self::Patient => "2000C",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Billing => "billing provider",
            Self::Subscriber => "subscriber",
            Self::Patient => "patient",
        }
    }
}

/// A 2000A, 2000B or 2000C loop: its HL, the loops under it (but not the claims), and the
/// faults found in them, which refuse every claim under it.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub level: Level,
    pub hl_id: &'a str,
    /// The index of the parent's context.
    pub parent: Option<usize>,
    pub hl: Segment<'a>,
    pub loop_: LoopId,
    pub errors: Vec<EdiError>,
}

/// One claim: its 2300 loop and the 2000 loop it sits under (`None` when misplaced).
#[derive(Debug, Clone)]
pub struct Claim<'a> {
    pub context: Option<usize>,
    pub claim: LoopId,
    /// CLM01 as sent (possibly invalid).
    pub number: &'a str,
    pub errors: Vec<EdiError>,
}

impl<'a> Claim<'a> {
    /// CLM01 as sent (possibly invalid).
    pub fn claim_number(&self) -> &'a str {
        self.number
    }
}

/// Segment ids the 837 guides define: a segment with another id is reported as unknown
/// rather than out of place.
const KNOWN_SEGMENTS: &[&str] = &[
    "AMT", "BHT", "CAS", "CL1", "CLM", "CN1", "CR1", "CR2", "CR3", "CR6", "CRC", "CTP", "CUR", "DMG", "DTP", "FRM",
    "HCP", "HI", "HL", "K3", "LIN", "LQ", "LX", "MEA", "MIA", "MOA", "N2", "N3", "N4", "NM1", "NTE", "OI", "PAT",
    "PER", "PRV", "PS1", "PWK", "QTY", "REF", "SBR", "SV1", "SV2", "SV5", "SVD",
];

#[cfg(test)]
mod tests;
