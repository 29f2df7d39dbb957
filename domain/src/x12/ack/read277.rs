//! The 277 reader, for both the claim acknowledgment (277CA, 005010X214) and the claim status
//! response (277, 005010X212). Both are an HL hierarchy (20 information source, 21 receiver,
//! 19 provider, then PT patient in a 277CA or 22 subscriber / 23 dependent in a 277) whose
//! lowest levels hold claim status loops: a TRN, one or more STC, REF and DTP, and service
//! lines (SVC with their own STC). Statuses said of the source, receiver or provider levels
//! (counts of claims accepted, say) are not a claim's and are passed over.

use chrono::NaiveDate;

use super::super::elements::{amount, ccyymmdd, optional_date};
use super::super::envelope::{Cursor, Envelope, GroupKind, check_trailer, read_interchanges};
use super::super::error::{EdiError, Fault};
use super::super::segments::{Segment, tag};
use super::{AckKind, ClaimStatusReport, StatusCode, StatusFile};
use crate::Money;

const STC: u32 = tag::of_bytes(b"STC");

/// The most claims one file may report on, and status composites one claim (its lines' included)
/// may carry: beyond them the file is refused rather than held.
pub const MAX_CLAIMS: usize = 200_000;
pub const MAX_STATUSES: usize = 1_000;
/// The guide's most service lines a claim may have.
const MAX_LINES: u16 = 999;

pub(super) fn read(input: &[u8], kind: AckKind) -> Result<StatusFile<'_>, EdiError> {
    let mut cursor = Cursor::new(input);
    let group = GroupKind { functional_id: "HN", description: "health care claim status notification" };
    // A claim status loop runs to a few hundred bytes.
    let estimate = (input.len() / 250).min(MAX_CLAIMS);
    let mut file = StatusFile {
        kind,
        transaction_count: 0,
        claims: Vec::with_capacity(estimate),
        statuses: Vec::with_capacity(estimate),
    };
    let sets =
        read_interchanges(&mut cursor, &group, |cursor, st, envelope| read_set(cursor, st, envelope, &mut file))?;
    file.transaction_count = sets.len();
    if sets.is_empty() {
        return Err(EdiError::new(1, "", None, "the file holds no 277 transaction"));
    }
    Ok(file)
}

/// The claim being read, until the next TRN, HL or SE closes it.
struct Open<'a> {
    report: ClaimStatusReport<'a>,
    /// The 2220 service line being read (0 until the first SVC).
    line: u16,
}

fn version(kind: AckKind) -> &'static str {
    match kind {
        AckKind::ClaimAcknowledgment => "005010X214",
        _ => "005010X212",
    }
}

fn read_set<'a>(
    cursor: &mut Cursor<'a>,
    st: Segment<'a>,
    envelope: &Envelope<'a>,
    file: &mut StatusFile<'a>,
) -> Result<(), EdiError> {
    let expected = version(file.kind);
    if !envelope.gs.get(8).starts_with(expected) {
        return Err(envelope.gs.error(
            Some(8),
            format!(
                "every group of this file must be {expected}, as its first is; this one is {:?}",
                envelope.gs.get(8)
            ),
        ));
    }
    if st.get(1) != "277" {
        return Err(st.error(Some(1), "only 277 transaction sets are accepted in an HN group"));
    }
    let control = st.required(2, "the transaction set control number")?;
    if !st.get(3).is_empty() && !st.get(3).starts_with(expected) {
        return Err(st.error(Some(3), format!("must name the group's guide {expected}, not {:?}", st.get(3))));
    }
    let mut segments = 1usize;
    // The HL level being read (HL03), and the member id of its subscriber or patient.
    let mut level: &'a str = "";
    let mut member: Option<&'a str> = None;
    let mut open: Option<Open<'a>> = None;
    loop {
        let seg = cursor.require("SE")?;
        segments += 1;
        match seg.tag {
            tag::HL => {
                close(&mut open, file)?;
                let next = seg.required(3, "the hierarchical level code")?;
                if !matches!(next, "20" | "21" | "19" | "PT" | "22" | "23") {
                    return Err(seg.error(
                        Some(3),
                        format!(
                            "{next:?} is not a level of a 277: 20 source, 21 receiver, 19 provider, PT patient, 22 \
                             subscriber or 23 dependent"
                        ),
                    ));
                }
                // A dependent is found under its subscriber, whose member id the claim was filed under.
                if next != "23" {
                    member = None;
                }
                level = next;
            }
            tag::NM1 if claim_level(level) && open.is_none() => {
                if matches!(seg.get(1), "IL" | "QC") && !seg.get(9).is_empty() && (level != "23" || member.is_none()) {
                    member = Some(seg.get(9));
                }
            }
            tag::TRN if claim_level(level) => {
                close(&mut open, file)?;
                if file.claims.len() >= MAX_CLAIMS {
                    return Err(
                        seg.error(None, format!("the file reports on more than {MAX_CLAIMS} claims; send it in parts"))
                    );
                }
                let at = file.statuses.len() as u32;
                open = Some(Open {
                    report: ClaimStatusReport {
                        segment_index: seg.index,
                        trace: seg.required(2, "the claim's trace number")?,
                        patient_control_number: None,
                        payer_claim_number: None,
                        member_id: member,
                        service_dates: None,
                        effective_date: None,
                        charge: None,
                        paid: None,
                        message: None,
                        statuses: (at, at),
                    },
                    line: 0,
                });
            }
            STC => {
                let Some(claim) = open.as_mut() else {
                    // A status of the source, receiver or provider: still checked, not kept.
                    composite(&seg, 1, 0)?;
                    continue;
                };
                let first = claim.line == 0 && claim.report.statuses.0 == claim.report.statuses.1;
                for n in [1, 10, 11] {
                    if n != 1 && seg.get(n).is_empty() {
                        continue;
                    }
                    if (claim.report.statuses.1 - claim.report.statuses.0) as usize >= MAX_STATUSES {
                        return Err(seg.error(None, format!("a claim carries at most {MAX_STATUSES} statuses")));
                    }
                    file.statuses.push(composite(&seg, n, claim.line)?);
                    claim.report.statuses.1 += 1;
                }
                if first {
                    let r = &mut claim.report;
                    r.effective_date = optional_date(&seg, 2)?;
                    r.charge = optional_amount(&seg, 4)?;
                    r.paid = optional_amount(&seg, 5)?;
                    r.message = Some(seg.get(12)).filter(|m| !m.is_empty());
                }
            }
            tag::REF => {
                if let Some(claim) = open.as_mut().filter(|c| c.line == 0) {
                    match seg.get(1) {
                        "1K" => claim.report.payer_claim_number = Some(seg.required(2, "the payer claim number")?),
                        "EJ" => {
                            claim.report.patient_control_number = Some(seg.required(2, "the patient control number")?)
                        }
                        _ => {}
                    }
                }
            }
            tag::DTP => {
                if let Some(claim) = open.as_mut().filter(|c| c.line == 0)
                    && matches!(seg.get(1), "472" | "232")
                {
                    claim.report.service_dates = Some(period(&seg)?);
                }
            }
            tag::SVC => {
                let Some(claim) = open.as_mut() else {
                    return Err(seg.error(None, "a service line (SVC) belongs in a claim's status loop, after its TRN"));
                };
                if claim.line >= MAX_LINES {
                    return Err(seg.error(None, format!("a claim has at most {MAX_LINES} service lines")));
                }
                claim.line += 1;
            }
            tag::SE => {
                close(&mut open, file)?;
                return check_trailer(&seg, segments, control);
            }
            tag::ISA | tag::IEA | tag::GS | tag::GE | tag::ST => {
                return Err(seg.error(None, format!("the transaction {control} ends without an SE segment")));
            }
            // The rest of the guides' segments (and NM1 and TRN of the upper levels) say nothing
            // a claim's status is read from.
            tag::BHT | tag::NM1 | tag::TRN | tag::PER | tag::QTY | tag::AMT | tag::DMG | tag::N3 | tag::N4 => {}
            _ => {
                return Err(seg
                    .error(None, format!("{} is not a segment of a 277", seg.id))
                    .fault(Fault::UnknownSegment));
            }
        }
    }
}

fn claim_level(level: &str) -> bool {
    matches!(level, "PT" | "22" | "23")
}

fn close<'a>(open: &mut Option<Open<'a>>, file: &mut StatusFile<'a>) -> Result<(), EdiError> {
    let Some(claim) = open.take() else { return Ok(()) };
    let statuses = &file.statuses[claim.report.statuses.0 as usize..claim.report.statuses.1 as usize];
    if !statuses.iter().any(|s| s.line == 0) {
        return Err(EdiError::new(
            claim.report.segment_index,
            "TRN",
            None,
            format!("the claim status loop of {:?} has no STC of its own", claim.report.trace),
        )
        .fault(Fault::MissingSegment));
    }
    file.claims.push(claim.report);
    Ok(())
}

/// A C043 composite: category (STCxx-1), status (-2) and entity (-3) codes.
fn composite<'a>(seg: &Segment<'a>, n: usize, line: u16) -> Result<StatusCode<'a>, EdiError> {
    let code = |k: usize, max: usize, digits: bool, what: &str| -> Result<&'a str, EdiError> {
        let value = seg.component(n, k);
        let ok = !value.is_empty()
            && value.len() <= max
            && value.bytes().all(|b| if digits { b.is_ascii_digit() } else { b.is_ascii_alphanumeric() });
        if ok { Ok(value) } else { Err(seg.error(Some(n), format!("{value:?} is not {what}"))) }
    };
    let entity = seg.component(n, 3);
    Ok(StatusCode {
        category: code(1, 4, false, "a claim status category code")?,
        code: code(2, 5, true, "a claim status code")?,
        entity: if entity.is_empty() { None } else { Some(code(3, 3, false, "an entity identifier code")?) },
        line,
    })
}

fn optional_amount(seg: &Segment<'_>, n: usize) -> Result<Option<Money>, EdiError> {
    if seg.get(n).is_empty() { Ok(None) } else { amount(seg, n, true).map(Some) }
}

/// DTP03 as one day (D8) or a range (RD8).
fn period(seg: &Segment<'_>) -> Result<(NaiveDate, NaiveDate), EdiError> {
    let text = seg.get(3);
    let bad = || {
        seg.error(Some(3), format!("{text:?} is not a date CCYYMMDD or a range CCYYMMDD-CCYYMMDD"))
            .fault(Fault::InvalidDate)
    };
    let dates = match seg.get(2) {
        "D8" => ccyymmdd(text).map(|d| (d, d)),
        "RD8" => text.split_once('-').and_then(|(a, b)| Some((ccyymmdd(a)?, ccyymmdd(b)?))),
        other => return Err(seg.error(Some(2), format!("{other:?} is not a date format: D8 or RD8"))),
    };
    let (from, to) = dates.ok_or_else(bad)?;
    if from > to || !crate::dates::plausible(from) || !crate::dates::plausible(to) {
        return Err(bad());
    }
    Ok((from, to))
}
