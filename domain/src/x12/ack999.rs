//! The 999 implementation acknowledgment (005010X231A1) of a claim file: for each functional
//! group received, one 999 transaction set; for each 837 transaction set in it, an AK2 with
//! an IK3 (and IK4) per fault, and IK5 saying whether the set was accepted (A), accepted with
//! the faulty claims left out (E), or rejected (R); AK9 sums up the group.

use std::collections::HashSet;
use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::claim837::{ClaimFile, Projected, TransactionSet};
use super::envelope::{id_qualifier, id_text};
use super::error::{EdiError, Fault};

/// What identifies one acknowledgment: its own control number (ISA13 and GS06, 1 to
/// 999,999,999) and when it was made.
#[derive(Debug, Clone, Copy)]
pub struct AckControl {
    pub number: u32,
    pub at: DateTime<Utc>,
}

/// How a transaction set fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetAck {
    Accepted,
    AcceptedWithErrors,
    Rejected,
}

impl SetAck {
    pub fn code(self) -> &'static str {
        match self {
            Self::Accepted => "A",
            Self::AcceptedWithErrors => "E",
            Self::Rejected => "R",
        }
    }
}

/// The set's verdict: rejected when its header is at fault or none of its claims can be
/// taken; accepted with errors when some can.
pub fn set_ack(set: &TransactionSet<'_>, projected: &[Projected<'_>]) -> SetAck {
    let refused = projected.iter().filter(|p| p.result.is_err()).count();
    if !set.errors.is_empty() || projected.is_empty() || refused == projected.len() {
        SetAck::Rejected
    } else if refused > 0 {
        SetAck::AcceptedWithErrors
    } else {
        SetAck::Accepted
    }
}

/// Writes the 999 for `file`, given each set's projected claims (`projected[i]` for
/// `file.sets[i]`).
pub fn acknowledge(file: &ClaimFile<'_>, projected: &[Vec<Projected<'_>>], control: AckControl) -> String {
    let first = &file.sets[0];
    let number = control.number.clamp(1, 999_999_999);
    let mut out = String::new();
    let seg = |out: &mut String, text: String| {
        out.push_str(&text);
        out.push_str("~\n");
    };
    // The acknowledgment goes back the way the file came: sender and receiver swapped.
    let (rq, rid) = first.interchange_sender;
    let (sq, sid) = first.interchange_receiver;
    let usage = if first.usage == "T" { "T" } else { "P" };
    seg(
        &mut out,
        format!(
            "ISA*00*{:10}*00*{:10}*{}*{:15}*{}*{:15}*{}*{}*^*00501*{number:09}*0*{usage}*:",
            "",
            "",
            id_qualifier(sq),
            id_text(sid, 15),
            id_qualifier(rq),
            id_text(rid, 15),
            control.at.format("%y%m%d"),
            control.at.format("%H%M"),
        ),
    );
    // One 999 per functional group received, all in one functional group of ours.
    let mut groups: Vec<(&str, &str, Vec<usize>)> = Vec::new();
    for (i, set) in file.sets.iter().enumerate() {
        let key = (set.interchange_control_number, set.group_control_number);
        match groups.iter_mut().find(|g| (g.0, g.1) == key) {
            Some(g) => g.2.push(i),
            None => groups.push((key.0, key.1, vec![i])),
        }
    }
    seg(
        &mut out,
        format!(
            "GS*FA*{}*{}*{}*{}*{number}*X*005010X231A1",
            id_text(first.receiver_id, 15),
            id_text(first.sender_id, 15),
            control.at.format("%Y%m%d"),
            control.at.format("%H%M"),
        ),
    );
    for (n, (_, group, sets)) in groups.iter().enumerate() {
        let st = format!("{:04}", n + 1);
        let start = out.len();
        let put = seg;
        put(&mut out, format!("ST*999*{st}*005010X231A1"));
        put(&mut out, format!("AK1*HC*{}*{}", id_text(group, 9), id_text(file.sets[sets[0]].group_version, 12)));
        let mut accepted = 0;
        let mut verdicts = Vec::new();
        for &i in sets {
            let set = &file.sets[i];
            let ack = set_ack(set, &projected[i]);
            verdicts.push(ack);
            if ack != SetAck::Rejected {
                accepted += 1;
            }
            put(&mut out, format!("AK2*837*{}*{}", id_text(set.transaction_control_number, 9), set.format.version()));
            let loops = set.loops_by_segment();
            let mut said = HashSet::new();
            for (fault, claim) in faults_of(set, &projected[i]) {
                if !said.insert((fault.segment_index, fault.element, fault.message.clone())) {
                    continue;
                }
                // IK303 holds at most four characters: the loop's number, without the guide's
                // letters (2010AA is 2010).
                // A segment that fits nowhere is in no loop: it stands in the one before it.
                let loop_id = (0..=fault.segment_index.saturating_sub(set.st_index))
                    .find_map(|back| loops.get(&(fault.segment_index - back)))
                    .copied()
                    .filter(|l| *l != "header")
                    .unwrap_or("");
                let loop_id = &loop_id[..loop_id.len().min(4)];
                let segment_id = if fault.segment_id.is_empty() { "SE" } else { fault.segment_id.as_str() };
                put(
                    &mut out,
                    format!(
                        "IK3*{}*{}*{}*{}",
                        id_text(segment_id, 3),
                        set.position(fault.segment_index),
                        loop_id,
                        segment_code(fault)
                    ),
                );
                if let Some(number) = claim.filter(|n| safe(n, 35)) {
                    put(&mut out, format!("CTX*CLM01:{number}"));
                }
                if let Some(element) = fault.element {
                    put(&mut out, format!("IK4*{element}**{}", element_code(fault)));
                }
            }
            match ack {
                SetAck::Accepted => put(&mut out, "IK5*A".into()),
                _ => put(&mut out, format!("IK5*{}*I5", ack.code())),
            }
        }
        let group_code = if accepted == 0 {
            "R"
        } else if accepted < sets.len() {
            "P"
        } else if verdicts.contains(&SetAck::AcceptedWithErrors) {
            "E"
        } else {
            "A"
        };
        put(&mut out, format!("AK9*{group_code}*{}*{}*{accepted}", sets.len(), sets.len()));
        let count = out[start..].matches("~\n").count();
        put(&mut out, format!("SE*{}*{st}", count + 1));
    }
    seg(&mut out, format!("GE*{}*{number}", groups.len()));
    let _ = writeln!(out, "IEA*1*{number:09}~");
    out
}

/// Every fault of a set, with the claim number it concerns when it lies in that claim's own
/// loops (a fault of a billing provider, subscriber or patient loop concerns several).
fn faults_of<'s>(set: &'s TransactionSet<'_>, projected: &'s [Projected<'_>]) -> Vec<(&'s EdiError, Option<&'s str>)> {
    let mut out: Vec<(&EdiError, Option<&str>)> = set.errors.iter().map(|e| (e, None)).collect();
    for (claim, p) in set.claims.iter().zip(projected) {
        if let Err(faults) = &p.result {
            let (first, last) = set.span(claim);
            for f in faults {
                let mine = (first..=last).contains(&f.segment_index) && !set.errors.contains(f);
                out.push((f, mine.then_some(p.claim_number)));
            }
        }
    }
    out.sort_by_key(|(f, _)| f.segment_index);
    out
}

/// IK304.
fn segment_code(fault: &EdiError) -> &'static str {
    match (fault.fault, fault.element) {
        (Fault::UnknownSegment, _) => "1",
        (Fault::UnexpectedSegment, _) => "2",
        (Fault::MissingSegment, _) => "3",
        _ => "8",
    }
}

/// IK403.
fn element_code(fault: &EdiError) -> &'static str {
    match fault.fault {
        Fault::Missing => "1",
        Fault::InvalidDate => "8",
        _ => "7",
    }
}

/// Text that cannot break our segments: printable ASCII without our delimiters.
fn safe(text: &str, max: usize) -> bool {
    !text.is_empty() && text.len() <= max && text.bytes().all(|b| (b' '..=b'~').contains(&b) && !b"*:^~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x12::claim837::{parse_837, project};

    const SAMPLE: &str = include_str!("../../testdata/claims-basic.837");

    fn ack_of(text: &str) -> String {
        let file = parse_837(text.as_bytes()).unwrap();
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let projected: Vec<_> = file.sets.iter().map(|s| project(s, today)).collect();
        let at = DateTime::parse_from_rfc3339("2026-12-07T10:11:00Z").unwrap().with_timezone(&Utc);
        acknowledge(&file, &projected, AckControl { number: 42, at })
    }

    #[test]
    fn a_clean_file_is_accepted() {
        let ack = ack_of(SAMPLE);
        let expected = include_str!("../../testdata/claims-basic-accepted.999");
        // The same acknowledgment as the sample's, but for the control numbers and time.
        let body = |t: &str| {
            t.lines()
                .filter(|l| ["AK1", "AK2", "IK5", "AK9"].iter().any(|p| l.starts_with(p)))
                .map(|l| l.trim_end_matches('~').to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            body(&ack),
            body(expected).iter().map(|l| l.replace("005010X231", "005010X231A1")).collect::<Vec<_>>()
        );
        assert!(ack.starts_with("ISA*00*          *00*          *ZZ*CLEARHOUSE     *ZZ*CLINIC9        *261207*1011*^*00501*000000042*0*P*:~"), "{ack}");
        assert!(ack.contains("SE*6*0001~"), "{ack}");
    }

    #[test]
    fn a_bad_claim_is_named_and_the_set_accepted_with_errors() {
        let bad = SAMPLE.replacen("SV1*HC:93000*", "SV1*HC:9300*", 1);
        let ack = ack_of(&bad);
        assert!(
            ack.contains("IK3*SV1*26*2400*8~\nCTX*CLM01:CLM05000000~\nIK4*1**7~\nIK5*E*I5~\nAK9*E*1*1*1~"),
            "{ack}"
        );
    }
}
