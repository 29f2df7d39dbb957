//! The 837 writer: stored claims back out as a file, each with every loop it came with, under a
//! fresh envelope (ISA/GS/ST, BHT) and hierarchy (HL numbered anew; claims of one billing
//! provider and subscriber share their loops). Delimiters are `* : ^ ~` unless the claims'
//! text holds one of them, then another set that it does not hold.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::super::envelope::{id_qualifier, id_text};
use super::super::segments::{Delimiters, Segment};
use super::{Loop, StoredClaim, Tree};

/// Claims per transaction set: the guides ask for at most 5,000.
pub const CLAIMS_PER_SET: usize = 5_000;

/// Who sends the file to whom, and its control number.
#[derive(Debug, Clone)]
pub struct Envelope837 {
    /// ISA05/ISA06 and ISA07/ISA08 (qualifier, id).
    pub sender: (String, String),
    pub receiver: (String, String),
    /// GS02 and GS03.
    pub application_sender: String,
    pub application_receiver: String,
    /// ISA13 and GS06, 1 to 999,999,999.
    pub control_number: u32,
    pub at: DateTime<Utc>,
    /// ISA15: `P` production or `T` test.
    pub test: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    #[error("no claims to write")]
    Empty,
    #[error("a file holds claims of one format; these mix 837P and 837I")]
    MixedFormats,
    #[error("the stored loops of claim {0} cannot be read")]
    Unreadable(usize),
}

/// The candidate delimiter sets (element, component, repetition, segment), in preference order.
const DELIMITER_SETS: [[u8; 4]; 4] = [*b"*:^~", *b"|>^~", *b"|>{\x1c", *b"\x1d\x1f\x1e\x1c"];

struct Viewed<'a> {
    billing: Tree<'a>,
    subscriber: Tree<'a>,
    patient: Option<Tree<'a>>,
    claim: Tree<'a>,
    header: Tree<'a>,
    delimiters: Delimiters,
}

/// Writes `claims` as one 837 file.
pub fn write_837(claims: &[StoredClaim], envelope: &Envelope837) -> Result<String, WriteError> {
    let format = claims.first().and_then(StoredClaim::format).ok_or(WriteError::Empty)?;
    if claims.iter().any(|c| c.format() != Some(format)) {
        return Err(WriteError::MixedFormats);
    }
    let viewed = claims
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let d = c.delimiters().ok_or(WriteError::Unreadable(i))?;
            let view = |l| view_of(l, d, i);
            Ok(Viewed {
                billing: view(&c.billing)?,
                subscriber: view(&c.subscriber)?,
                patient: c.patient.as_ref().map(|p| view_of(p, d, i)).transpose()?,
                claim: view(&c.claim)?,
                header: view(&c.header)?,
                delimiters: d,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let out_delimiters = choose_delimiters(claims);
    let mut w = Writer { out: String::new(), d: out_delimiters, count: 0 };
    let control = envelope.control_number.clamp(1, 999_999_999);
    let pad = |s: &str, n: usize| format!("{:n$}", id_text(s, n));
    w.raw(&[
        "ISA",
        "00",
        "          ",
        "00",
        "          ",
        id_qualifier(&envelope.sender.0),
        &pad(&envelope.sender.1, 15),
        id_qualifier(&envelope.receiver.0),
        &pad(&envelope.receiver.1, 15),
        &envelope.at.format("%y%m%d").to_string(),
        &envelope.at.format("%H%M").to_string(),
        &(w.d[2] as char).to_string(),
        "00501",
        &format!("{control:09}"),
        "0",
        if envelope.test { "T" } else { "P" },
        &(w.d[1] as char).to_string(),
    ]);
    w.raw(&[
        "GS",
        "HC",
        &id_text(&envelope.application_sender, 15),
        &id_text(&envelope.application_receiver, 15),
        &envelope.at.format("%Y%m%d").to_string(),
        &envelope.at.format("%H%M").to_string(),
        &control.to_string(),
        "X",
        format.version(),
    ]);
    let sets: Vec<&[Viewed<'_>]> = viewed.chunks(CLAIMS_PER_SET).collect();
    for (n, set) in sets.iter().enumerate() {
        let st = format!("{:04}", n + 1);
        w.count = 0;
        w.raw(&["ST", "837", &st, format.version()]);
        let reference = format!("{control}{st}");
        w.raw(&[
            "BHT",
            "0019",
            "00",
            &reference,
            &envelope.at.format("%Y%m%d").to_string(),
            &envelope.at.format("%H%M").to_string(),
            "CH",
        ]);
        // The submitter and receiver are those of the first claim.
        let first = &set[0];
        for id in ["1000A", "1000B"] {
            if let Some(l) = first.header.root().child(id) {
                w.walk(&l, first.delimiters, false);
            }
        }
        let mut hl = 0usize;
        let mut billing_key = None;
        let mut subscriber_key = None;
        let mut patient_key = None;
        let (mut billing_hl, mut subscriber_hl) = (0, 0);
        for c in set.iter() {
            let bk = key(&c.billing.root());
            if billing_key.as_ref() != Some(&bk) {
                hl += 1;
                billing_hl = hl;
                w.raw(&["HL", &hl.to_string(), "", "20", "1"]);
                w.walk(&c.billing.root(), c.delimiters, true);
                billing_key = Some(bk);
                subscriber_key = None;
            }
            // Claims of the subscriber as patient, and those of dependents, go under separate
            // subscriber loops: HL04 says whether patient loops follow.
            let sk = (key(&c.subscriber.root()), c.patient.is_some());
            if subscriber_key.as_ref() != Some(&sk) {
                hl += 1;
                subscriber_hl = hl;
                let children = if c.patient.is_some() { "1" } else { "0" };
                w.raw(&["HL", &hl.to_string(), &billing_hl.to_string(), "22", children]);
                w.walk(&c.subscriber.root(), c.delimiters, true);
                subscriber_key = Some(sk);
                patient_key = None;
            }
            if let Some(patient) = &c.patient {
                let pk = key(&patient.root());
                if patient_key.as_ref() != Some(&pk) {
                    hl += 1;
                    w.raw(&["HL", &hl.to_string(), &subscriber_hl.to_string(), "23", "0"]);
                    w.walk(&patient.root(), c.delimiters, true);
                    patient_key = Some(pk);
                }
            }
            w.walk(&c.claim.root(), c.delimiters, false);
        }
        let count = w.count + 1;
        w.raw(&["SE", &count.to_string(), &st]);
    }
    w.raw(&["GE", &sets.len().to_string(), &control.to_string()]);
    w.raw(&["IEA", "1", &format!("{control:09}")]);
    Ok(w.out)
}

fn view_of(l: &super::StoredLoop, d: Delimiters, claim: usize) -> Result<Tree<'_>, WriteError> {
    l.view(d).ok_or(WriteError::Unreadable(claim))
}

/// What makes two claims' loops the same loop: their segments' text, HL left out.
fn key(l: &Loop<'_, '_>) -> String {
    l.walk().filter(|(s, _)| s.id != "HL").map(|(s, _)| format!("{}\u{1}{}\u{2}", s.id, s.elements_text())).collect()
}

struct Writer {
    out: String,
    d: [u8; 4],
    count: usize,
}

impl Writer {
    fn raw(&mut self, elements: &[&str]) {
        let mut line = elements.join(&(self.d[0] as char).to_string());
        while line.ends_with(self.d[0] as char) && !line.starts_with("ISA") {
            line.pop();
        }
        self.out.push_str(&line);
        self.out.push(self.d[3] as char);
        if self.d[3] != b'\n' {
            self.out.push('\n');
        }
        self.count += 1;
    }

    /// Writes a loop's segments (without its HL when `skip_hl`) and its loops, re-delimited.
    fn walk(&mut self, l: &Loop<'_, '_>, from: Delimiters, skip_hl: bool) {
        for seg in l.all_segments() {
            if skip_hl && seg.id == "HL" {
                continue;
            }
            self.segment(seg, from);
        }
    }

    fn segment(&mut self, seg: &Segment<'_>, from: Delimiters) {
        let mut text = String::with_capacity(seg.id.len() + seg.elements_text().len() + 1);
        text.push_str(seg.id);
        for n in 1..=seg.element_count() {
            text.push(self.d[0] as char);
            let element = seg.get(n);
            for (k, component) in element.split(from.component as char).enumerate() {
                if k > 0 {
                    text.push(self.d[1] as char);
                }
                match from.repetition {
                    Some(r) => {
                        let _ = write!(text, "{}", component.replace(r as char, &(self.d[2] as char).to_string()));
                    }
                    None => text.push_str(component),
                }
            }
        }
        self.out.push_str(&text);
        self.out.push(self.d[3] as char);
        if self.d[3] != b'\n' {
            self.out.push('\n');
        }
        self.count += 1;
    }
}

/// The first delimiter set none of the claims' data holds.
fn choose_delimiters(claims: &[StoredClaim]) -> [u8; 4] {
    let mut seen = [false; 256];
    for c in claims {
        let own = c.delimiters.as_bytes();
        let mut mark = |l: &super::StoredLoop| {
            fn all(l: &super::StoredLoop, f: &mut dyn FnMut(&str)) {
                l.segments.iter().for_each(|s| f(s));
                l.children.iter().for_each(|c| all(c, f));
            }
            all(l, &mut |s: &str| {
                for b in s.bytes().filter(|b| !own.contains(b)) {
                    seen[b as usize] = true;
                }
            });
        };
        mark(&c.header);
        mark(&c.billing);
        mark(&c.subscriber);
        if let Some(p) = &c.patient {
            mark(p);
        }
        mark(&c.claim);
    }
    DELIMITER_SETS.into_iter().find(|set| set.iter().all(|&b| !seen[b as usize])).unwrap_or(DELIMITER_SETS[3])
}
