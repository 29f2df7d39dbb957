//! The 999 reader: for each functional group acknowledged (AK1), each transaction set's
//! verdict (AK2 … IK5) with its segment and element errors (IK3, IK4), and the group's (AK9).

use super::super::envelope::{Cursor, GroupKind, check_trailer, read_interchanges};
use super::super::error::{EdiError, Fault};
use super::super::segments::{Segment, tag};
use super::{ElementFault, GroupResponse, SegmentFault, SetResponse};

const AK1: u32 = tag::of_bytes(b"AK1");
const AK2: u32 = tag::of_bytes(b"AK2");
const IK3: u32 = tag::of_bytes(b"IK3");
const IK4: u32 = tag::of_bytes(b"IK4");
const IK5: u32 = tag::of_bytes(b"IK5");
const AK9: u32 = tag::of_bytes(b"AK9");
const CTX: u32 = tag::of_bytes(b"CTX");

/// The most sets one 999 answers for, and errors one set reports: a group of a clearinghouse
/// holds at most a few thousand sets, and the guide stops reporting errors well before this.
pub const MAX_SETS: usize = 100_000;
pub const MAX_SEGMENT_ERRORS: usize = 1_000;

pub(super) fn read(input: &[u8]) -> Result<Vec<GroupResponse<'_>>, EdiError> {
    let mut cursor = Cursor::new(input);
    let kind = GroupKind { functional_id: "FA", description: "functional acknowledgment" };
    let mut sets = 0usize;
    let groups = read_interchanges(&mut cursor, &kind, |cursor, st, _| {
        let group = read_set(cursor, st)?;
        sets += group.sets.len();
        if sets > MAX_SETS {
            return Err(st.error(None, format!("the file answers for more than {MAX_SETS} transaction sets")));
        }
        Ok(group)
    })?;
    if groups.is_empty() {
        return Err(EdiError::new(1, "", None, "the file holds no 999 transaction"));
    }
    Ok(groups)
}

fn one_of<'a>(seg: &Segment<'a>, n: usize, allowed: &[&str], what: &str) -> Result<&'a str, EdiError> {
    let value = seg.required(n, what)?;
    if allowed.contains(&value) {
        Ok(value)
    } else {
        Err(seg.error(Some(n), format!("{value:?} is not {what}: one of {}", allowed.join(", "))))
    }
}

fn count(seg: &Segment<'_>, n: usize, what: &str) -> Result<u32, EdiError> {
    let text = seg.get(n);
    if text.is_empty() || text.len() > 6 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(seg.error(Some(n), format!("{text:?} is not {what} (a count of up to 6 digits)")));
    }
    Ok(text.parse().expect("checked digits"))
}

fn out_of_place(seg: &Segment<'_>, expected: &str) -> EdiError {
    seg.error(None, format!("{} is out of place here; expected {expected}", seg.id)).fault(Fault::UnexpectedSegment)
}

fn read_set<'a>(cursor: &mut Cursor<'a>, st: Segment<'a>) -> Result<GroupResponse<'a>, EdiError> {
    if st.get(1) != "999" {
        return Err(st.error(Some(1), "only 999 transaction sets are accepted in an FA group"));
    }
    let control = st.required(2, "the transaction set control number")?;
    let ak1 = cursor.require("AK1")?;
    if ak1.tag != AK1 {
        return Err(out_of_place(&ak1, "AK1 after ST"));
    }
    let functional_id = ak1.required(1, "the functional identifier acknowledged")?;
    let group_control_number = ak1.required(2, "the group control number acknowledged")?;
    let mut sets: Vec<SetResponse<'a>> = Vec::new();
    let mut faults: Vec<SegmentFault<'a>> = Vec::new();
    let mut elements: Vec<ElementFault<'a>> = Vec::new();
    let mut set_codes: Vec<&'a str> = Vec::new();
    // Ranges are u32: the file's size bounds every count far below that.
    let at = |n: usize| n as u32;
    // The AK2 loop being read, until its IK5.
    let mut open: Option<SetResponse<'a>> = None;
    let mut segments = 2usize;
    let mut totals: Option<(&'a str, u32, u32, u32)> = None;
    loop {
        let seg = cursor.require("SE")?;
        segments += 1;
        match seg.tag {
            AK2 => {
                if open.is_some() {
                    return Err(out_of_place(&seg, "IK5 closing the AK2 before it"));
                }
                if totals.is_some() {
                    return Err(out_of_place(&seg, "SE after AK9"));
                }
                let start = at(faults.len());
                open = Some(SetResponse {
                    set_id: seg.required(1, "the transaction set identifier")?,
                    control_number: seg.required(2, "the transaction set control number acknowledged")?,
                    code: "",
                    set_errors: (0, 0),
                    errors: (start, start),
                });
            }
            IK3 => {
                let Some(set) = open.as_mut() else { return Err(out_of_place(&seg, "AK2 before IK3")) };
                if (set.errors.1 - set.errors.0) as usize >= MAX_SEGMENT_ERRORS {
                    return Err(seg.error(None, format!("a set reports at most {MAX_SEGMENT_ERRORS} segment errors")));
                }
                let position = count(&seg, 2, "the segment position")?;
                let start = at(elements.len());
                faults.push(SegmentFault {
                    segment_id: seg.required(1, "the segment id in error")?,
                    position,
                    loop_id: seg.get(3),
                    code: seg.required(4, "the segment syntax error code")?,
                    claim_number: None,
                    elements: (start, start),
                });
                set.errors.1 = at(faults.len());
            }
            CTX => {
                // A context names the claim (CTX*CLM01:number) or the segment; only the first is
                // kept, on the segment error it follows.
                let fault = open.as_ref().filter(|s| s.errors.1 > s.errors.0).and_then(|_| faults.last_mut());
                let Some(fault) = fault else { return Err(out_of_place(&seg, "IK3 before CTX")) };
                let separator = char::from(seg.component_separator());
                if let Some(("CLM01", rest)) = seg.get(1).split_once(separator) {
                    let number = rest.split(separator).next().unwrap_or("");
                    if !number.is_empty() {
                        fault.claim_number = Some(number);
                    }
                }
            }
            IK4 => {
                let fault = open.as_ref().filter(|s| s.errors.1 > s.errors.0).and_then(|_| faults.last_mut());
                let Some(fault) = fault else { return Err(out_of_place(&seg, "IK3 before IK4")) };
                let position = seg.component(1, 1);
                let position =
                    if position.is_empty() || position.len() > 3 || !position.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(seg.error(Some(1), format!("{position:?} is not an element position")));
                    } else {
                        position.parse().expect("checked digits")
                    };
                if fault.elements.1 - fault.elements.0 >= 99 {
                    return Err(seg.error(None, "a segment error names at most 99 elements"));
                }
                let value = seg.get(4);
                elements.push(ElementFault {
                    position,
                    code: seg.required(3, "the element syntax error code")?,
                    value: (!value.is_empty()).then_some(value),
                });
                fault.elements.1 = at(elements.len());
            }
            IK5 => {
                let Some(mut set) = open.take() else { return Err(out_of_place(&seg, "AK2 before IK5")) };
                set.code = match seg.get(1) {
                    code @ ("A" | "E" | "M" | "R" | "W" | "X") => code,
                    _ => one_of(&seg, 1, &["A", "E", "M", "R", "W", "X"], "a transaction set acknowledgment code")?,
                };
                let start = at(set_codes.len());
                set_codes.extend((2..=6).map(|n| seg.get(n)).filter(|c| !c.is_empty()));
                set.set_errors = (start, at(set_codes.len()));
                sets.push(set);
            }
            AK9 => {
                if open.is_some() {
                    return Err(out_of_place(&seg, "IK5 closing the AK2 before it"));
                }
                if totals.is_some() {
                    return Err(out_of_place(&seg, "SE after AK9"));
                }
                let code = one_of(&seg, 1, &["A", "E", "M", "P", "R", "W", "X"], "a group acknowledgment code")?;
                let included = count(&seg, 2, "the number of sets included")?;
                let received = count(&seg, 3, "the number of sets received")?;
                let accepted = count(&seg, 4, "the number of sets accepted")?;
                if accepted > received {
                    return Err(seg.error(Some(4), format!("{accepted} sets accepted of {received} received")));
                }
                totals = Some((code, included, received, accepted));
            }
            tag::SE => {
                if open.is_some() {
                    return Err(seg.error(None, "the AK2 loop before SE has no IK5").fault(Fault::MissingSegment));
                }
                let Some((code, included, received, accepted)) = totals else {
                    return Err(seg.error(None, "a 999 ends with AK9 before SE").fault(Fault::MissingSegment));
                };
                check_trailer(&seg, segments, control)?;
                return Ok(GroupResponse {
                    functional_id,
                    group_control_number,
                    code,
                    included,
                    received,
                    accepted,
                    sets,
                    faults,
                    elements,
                    set_codes,
                });
            }
            tag::ISA | tag::IEA | tag::GS | tag::GE | tag::ST => {
                return Err(seg.error(None, format!("the transaction {control} ends without an SE segment")));
            }
            _ => {
                return Err(seg
                    .error(None, format!("{} is not a segment of a 999", seg.id))
                    .fault(Fault::UnknownSegment));
            }
        }
    }
}
