//! The 837 reader: envelopes strictly (any fault refuses the file), then each transaction
//! set's hierarchy (HL) and loops, collecting faults where they belong (the set's header, a
//! billing provider, subscriber or patient loop, or one claim) so that one bad claim never
//! sinks the others.

use std::collections::HashMap;

use super::super::envelope::{Cursor, Envelope, GroupKind, check_trailer, read_interchanges};
use super::super::error::{EdiError, Fault};
use super::super::segments::{Segment, tag};
use super::loops::{Builder, LoopId, Tree};
use super::{Claim, ClaimFile, Context, Format, Level, TransactionSet};

/// The most claims one file may hold, and segments one claim: beyond them the file is refused
/// rather than held in memory (a claim of the guide's 50 or 999 lines runs to a few thousand).
pub const MAX_CLAIMS: usize = 100_000;
pub const MAX_CLAIM_SEGMENTS: usize = 20_000;
/// The most segments room is made for before reading (64 MB).
const RESERVED_SEGMENTS: usize = 1 << 20;

/// Reads an 837P or 837I file. Envelope faults (ISA/IEA, GS/GE, ST/SE, their counts and
/// control numbers, a set of another kind) are an `Err`; everything else is recorded on the
/// set, loop or claim it concerns.
pub fn parse_837(input: &[u8]) -> Result<ClaimFile<'_>, EdiError> {
    let mut cursor = Cursor::new(input);
    let kind = GroupKind { functional_id: "HC", description: "health care claim" };
    let mut claims = 0usize;
    // The loops of every set, in one tree the sets share.
    let mut tree = Tree::default();
    let mut sets = read_interchanges(&mut cursor, &kind, |cursor, st, envelope| {
        if tree.is_empty() {
            // Sized once for the whole file rather than grown (and copied) as it is read; a
            // file of a million segments or more (or of empty ones) grows past that.
            tree.reserve(cursor.reader.segments_left().min(RESERVED_SEGMENTS));
        }
        let set = read_set(cursor, st, envelope, &mut tree)?;
        claims += set.claims.len();
        if claims > MAX_CLAIMS {
            return Err(st.error(None, format!("the file holds more than {MAX_CLAIMS} claims; send it in parts")));
        }
        Ok(set)
    })?;
    let Some(first) = sets.first() else {
        return Err(EdiError::new(1, "", None, "the file holds no 837 transaction"));
    };
    let format = first.format;
    let tree = std::sync::Arc::new(tree);
    for set in &mut sets {
        set.tree = std::sync::Arc::clone(&tree);
    }
    if let Some(other) = sets.iter().find(|s| s.format != format) {
        return Err(EdiError::new(
            other.st_index,
            "ST",
            Some(3),
            format!(
                "a file holds either 837P or 837I transactions; this one mixes {} and {}",
                format.name(),
                other.format.name()
            ),
        ));
    }
    Ok(ClaimFile { format, delimiters: cursor.delimiters(), sets })
}

/// The unit of loops being read.
enum Open {
    Header,
    Context(usize),
    Claim(usize),
}

fn read_set<'a>(
    cursor: &mut Cursor<'a>,
    st: Segment<'a>,
    envelope: &Envelope<'a>,
    tree: &mut Tree<'a>,
) -> Result<TransactionSet<'a>, EdiError> {
    if st.get(1) != "837" {
        return Err(st.error(Some(1), "only 837 transaction sets are accepted here"));
    }
    let control = st.required(2, "the transaction set control number")?;
    let version = if st.get(3).is_empty() { envelope.gs.get(8) } else { st.get(3) };
    let format = Format::of_version(version).ok_or_else(|| {
        st.error(
            Some(3),
            format!(
                "{version:?} is not an implementation this service reads: 005010X222A1 (837P) or 005010X223A2 (837I)"
            ),
        )
    })?;
    let mut set = TransactionSet {
        format,
        interchange_control_number: envelope.interchange,
        group_control_number: envelope.group,
        transaction_control_number: control,
        interchange_sender: (envelope.isa.get(5), envelope.isa.get(6).trim_end()),
        interchange_receiver: (envelope.isa.get(7), envelope.isa.get(8).trim_end()),
        usage: envelope.isa.get(15),
        group_version: envelope.gs.get(8),
        sender_id: envelope.gs.get(2),
        receiver_id: envelope.gs.get(3),
        st_index: st.index,
        segment_count: 0,
        tree: Default::default(),
        header: LoopId::default(),
        loops: (LoopId::default(), LoopId::default()),
        contexts: Vec::new(),
        claims: Vec::new(),
        errors: Vec::new(),
    };
    let mut loops = Builder::new(format);
    set.header = loops.open(tree, "header", None);
    let mut open = Open::Header;
    let mut count = 1usize;
    let mut hl_ids = HashMap::new();
    loop {
        let seg = cursor.require("SE")?;
        count += 1;
        match seg.tag {
            tag::SE => {
                check_trailer(&seg, count, control)?;
                loops.finish(tree);
                break;
            }
            tag::ISA | tag::IEA | tag::GS | tag::GE | tag::ST => {
                return Err(seg.error(None, format!("the transaction {control} ends without an SE segment")));
            }
            tag::BHT if count == 2 => {
                loops.push(tree, seg);
            }
            _ if count == 2 => {
                set.errors.push(seg.error(None, "BHT must be the first segment after ST").fault(Fault::MissingSegment));
                loops.push(tree, seg);
            }
            tag::HL => {
                let index = open_context(&mut set, &mut hl_ids, seg);
                set.contexts[index].loop_ = loops.open(tree, set.contexts[index].level.loop_id(), Some(seg));
                open = Open::Context(index);
            }
            tag::CLM => {
                let context = set.contexts.len().checked_sub(1).filter(|&c| set.contexts[c].level != Level::Billing);
                let claim_loop = loops.open(tree, "2300", Some(seg));
                let mut claim = Claim { context, claim: claim_loop, number: seg.get(1), errors: Vec::new() };
                if context.is_none() {
                    claim.errors.push(
                        seg.error(None, "a claim (CLM) must follow a subscriber (HL*22) or patient (HL*23) loop")
                            .fault(Fault::UnexpectedSegment),
                    );
                }
                set.claims.push(claim);
                open = Open::Claim(set.claims.len() - 1);
            }
            _ => {
                if matches!(open, Open::Claim(_)) && loops.len() >= MAX_CLAIM_SEGMENTS {
                    return Err(seg.error(None, format!("a claim has more than {MAX_CLAIM_SEGMENTS} segments")));
                }
                if !loops.push(tree, seg) {
                    let fault = unplaced(&seg, loops.current(tree));
                    match open {
                        Open::Header => set.errors.push(fault),
                        Open::Context(i) => set.contexts[i].errors.push(fault),
                        Open::Claim(i) => set.claims[i].errors.push(fault),
                    }
                }
            }
        }
    }
    set.loops = (set.header, tree.next_id());
    set.segment_count = count;
    Ok(set)
}

/// Why a segment fits nowhere it stands.
fn unplaced(seg: &Segment<'_>, within: &str) -> EdiError {
    if super::KNOWN_SEGMENTS.contains(&seg.id) {
        let what = if seg.id == "NM1" { format!("NM1*{}", seg.get(1)) } else { seg.id.to_owned() };
        seg.error(None, format!("{what} does not belong here (in or after loop {within})"))
            .fault(Fault::UnexpectedSegment)
    } else {
        seg.error(None, format!("segment {} is not part of an 837", seg.id)).fault(Fault::UnknownSegment)
    }
}

/// Starts the 2000 loop an HL opens, checking the hierarchy: HL01 counts up from 1, HL02
/// names the parent (a billing provider for a subscriber, a subscriber for a patient).
fn open_context<'a>(set: &mut TransactionSet<'a>, ids: &mut HashMap<&'a str, usize>, hl: Segment<'a>) -> usize {
    let mut errors = Vec::new();
    let level = match hl.get(3) {
        "20" => Level::Billing,
        "22" => Level::Subscriber,
        "23" => Level::Patient,
        other => {
            errors.push(hl.error(Some(3), format!("{other:?} is not a level of an 837: 20, 22 or 23")));
            Level::Subscriber
        }
    };
    let expected = set.contexts.len() + 1;
    if hl.get(1).parse::<usize>().ok() != Some(expected) || hl.get(1).starts_with('0') {
        errors.push(hl.error(Some(1), format!("must be {expected}: HL ids count up from 1 in each transaction")));
    }
    let parent_id = hl.get(2);
    // HL ids count up from 1 (checked above), so an id names its context by position; the
    // id is compared too, for a file whose ids do not count up.
    let parent = parent_id
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_sub(1))
        .filter(|&i| set.contexts.get(i).is_some_and(|c| c.hl_id == parent_id))
        .or_else(|| ids.get(parent_id).copied());
    let wanted = match level {
        Level::Billing => None,
        Level::Subscriber => Some(Level::Billing),
        Level::Patient => Some(Level::Subscriber),
    };
    match (wanted, parent) {
        (None, None) if !parent_id.is_empty() => {
            errors.push(hl.error(Some(2), format!("names parent {parent_id:?}, which no earlier HL has")));
        }
        (None, _) => {}
        (Some(want), Some(p)) if set.contexts[p].level == want => {}
        (Some(want), _) => errors
            .push(hl.error(Some(2), format!("must name the HL of its {} loop; {parent_id:?} does not", want.name()))),
    }
    // The loop (with the HL itself, written afresh with ids renumbered, kept for positions and
    // errors) is opened by the caller.
    set.contexts.push(Context { level, hl_id: hl.get(1), parent, hl, loop_: LoopId::default(), errors });
    // Ids that count up are found by position; only the others need the map. The first HL of
    // an id keeps it: a repeated id is already a fault of its own HL01.
    if hl.get(1).parse::<usize>().ok() != Some(expected) {
        ids.entry(hl.get(1)).or_insert(set.contexts.len() - 1);
    }
    set.contexts.len() - 1
}
