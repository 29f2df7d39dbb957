//! The 837's loops, kept whole: which segment opens which loop, and which segments each loop
//! holds, for 005010X222A1 (professional) and 005010X223A2 (institutional).
//!
//! A claim is stored as the loops it came in (its billing provider, subscriber and patient
//! loops, and its own 2300 loop with every loop under it), segment for segment, so that it can
//! be written back as it came: the segments Overturn reads into fields (CLM, HI, SV1, …) and
//! the ones it only keeps (CR1, CRC, 2320 other payers, 2430 adjudication, …) alike.

use super::super::segments::{Segment, tag};
use super::Format;

/// One loop: its id in the implementation guide, its segments in order, and its loops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loop<'a> {
    pub id: &'static str,
    pub segments: Vec<Segment<'a>>,
    pub children: Vec<Loop<'a>>,
}

impl<'a> Loop<'a> {
    pub fn new(id: &'static str) -> Self {
        Self { id, segments: Vec::new(), children: Vec::new() }
    }

    /// The first segment with this id whose first element is one of `qualifiers` (any, when
    /// `qualifiers` is empty).
    pub fn segment(&self, id: &str, qualifiers: &[&str]) -> Option<&Segment<'a>> {
        let tag = tag::of(id);
        self.segments.iter().find(|s| s.tag == tag && (qualifiers.is_empty() || qualifiers.contains(&s.get(1))))
    }

    pub fn segments_of<'s>(
        &'s self,
        id: &'s str,
        qualifiers: &'s [&'s str],
    ) -> impl Iterator<Item = &'s Segment<'a>> + 's {
        let tag = tag::of(id);
        self.segments.iter().filter(move |s| s.tag == tag && (qualifiers.is_empty() || qualifiers.contains(&s.get(1))))
    }

    pub fn child(&self, id: &str) -> Option<&Loop<'a>> {
        self.children.iter().find(|c| c.id == id)
    }

    pub fn children_of<'s>(&'s self, id: &'s str) -> impl Iterator<Item = &'s Loop<'a>> + 's {
        self.children.iter().filter(move |c| c.id == id)
    }

    /// Every segment of the loop and its loops, in the order they are written.
    pub fn walk(&self, out: &mut Vec<(Segment<'a>, &'static str)>) {
        out.extend(self.segments.iter().map(|s| (*s, self.id)));
        for child in &self.children {
            child.walk(out);
        }
    }

    pub fn segment_count(&self) -> usize {
        self.segments.len() + self.children.iter().map(Loop::segment_count).sum::<usize>()
    }
}

/// The loop a segment opens when the loop `within` (or one of its loops) is open: `None`
/// when it opens none there.
pub(super) fn opens(format: Format, within: &str, seg: &Segment<'_>) -> Option<&'static str> {
    // Most segments open no loop: only NM1, SBR, LX, LIN, SVD and LQ do.
    if !matches!(seg.tag, tag::NM1 | tag::SBR | tag::LX | tag::LIN | tag::SVD | tag::LQ) {
        return None;
    }
    let q = seg.get(1);
    let professional = format == Format::Professional;
    match (within, seg.id) {
        ("header", "NM1") => match q {
            "41" => Some("1000A"),
            "40" => Some("1000B"),
            _ => None,
        },
        ("2000A", "NM1") => match q {
            "85" => Some("2010AA"),
            "87" => Some("2010AB"),
            "PE" => Some("2010AC"),
            _ => None,
        },
        ("2000B", "NM1") => match q {
            "IL" => Some("2010BA"),
            "PR" => Some("2010BB"),
            _ => None,
        },
        ("2000C", "NM1") => (q == "QC").then_some("2010CA"),
        ("2300", "NM1") if professional => match q {
            "DN" | "P3" => Some("2310A"),
            "82" => Some("2310B"),
            "77" => Some("2310C"),
            "DQ" => Some("2310D"),
            "PW" => Some("2310E"),
            "45" => Some("2310F"),
            _ => None,
        },
        ("2300", "NM1") => match q {
            "71" => Some("2310A"),
            "72" => Some("2310B"),
            "ZZ" => Some("2310C"),
            "82" => Some("2310D"),
            "77" => Some("2310E"),
            "DN" => Some("2310F"),
            _ => None,
        },
        ("2300", "SBR") => Some("2320"),
        ("2300", "LX") => Some("2400"),
        ("2320", "NM1") => match (q, professional) {
            ("IL", _) => Some("2330A"),
            ("PR", _) => Some("2330B"),
            ("DN", true) => Some("2330C"),
            ("82", true) => Some("2330D"),
            ("77", true) => Some("2330E"),
            ("DQ", true) => Some("2330F"),
            ("85", true) => Some("2330G"),
            ("71", false) => Some("2330C"),
            ("72", false) => Some("2330D"),
            ("ZZ", false) => Some("2330E"),
            ("77", false) => Some("2330F"),
            ("82", false) => Some("2330G"),
            ("DN", false) => Some("2330H"),
            ("85", false) => Some("2330I"),
            _ => None,
        },
        ("2400", "LIN") => Some("2410"),
        ("2400", "SVD") => Some("2430"),
        ("2400", "LQ") if professional => Some("2440"),
        ("2400", "NM1") => match (q, professional) {
            ("82", true) => Some("2420A"),
            ("QB", true) => Some("2420B"),
            ("77", true) => Some("2420C"),
            ("DQ", true) => Some("2420D"),
            ("DK", true) => Some("2420E"),
            ("DN", true) => Some("2420F"),
            ("PW", true) => Some("2420G"),
            ("45", true) => Some("2420H"),
            ("72", false) => Some("2420A"),
            ("ZZ", false) => Some("2420B"),
            ("82", false) => Some("2420C"),
            ("DN", false) => Some("2420D"),
            _ => None,
        },
        _ => None,
    }
}

/// Every loop id this module knows, as the static string a `Loop` holds.
const LOOP_IDS: &[&str] = &[
    "header", "1000A", "1000B", "2000A", "2010AA", "2010AB", "2010AC", "2000B", "2010BA", "2010BB", "2000C", "2010CA",
    "2300", "2310A", "2310B", "2310C", "2310D", "2310E", "2310F", "2320", "2330A", "2330B", "2330C", "2330D", "2330E",
    "2330F", "2330G", "2330H", "2330I", "2400", "2410", "2420A", "2420B", "2420C", "2420D", "2420E", "2420F", "2420G",
    "2420H", "2430", "2440",
];

pub(super) fn known_id(id: &str) -> Option<&'static str> {
    LOOP_IDS.iter().find(|&&l| l == id).copied()
}

/// The tags of the segments the loop `id` holds (besides the one that opens it).
pub(super) fn held_by(id: &str) -> &'static [u32] {
    use tag::*;
    match id {
        "header" => &[BHT, REF],
        "1000A" => &[N2, PER],
        "1000B" => &[N2],
        "2000A" => &[PRV, CUR],
        "2010AA" => &[N3, N4, REF, PER],
        "2010AB" | "2010AC" => &[N3, N4, REF],
        "2000B" => &[SBR, PAT],
        "2010BA" | "2010CA" => &[N3, N4, DMG, REF, PER],
        "2010BB" => &[N3, N4, REF],
        "2000C" => &[PAT],
        "2300" => &[DTP, CL1, PWK, CN1, AMT, REF, K3, NTE, CR1, CR2, CR6, CRC, HI, HCP],
        "2310A" | "2310B" | "2310C" | "2310D" | "2310E" | "2310F" => &[PRV, N3, N4, REF, PER],
        "2320" => &[CAS, AMT, OI, MIA, MOA],
        "2330A" => &[N3, N4, REF],
        "2330B" => &[N3, N4, DTP, REF],
        "2330C" | "2330D" | "2330E" | "2330F" | "2330G" | "2330H" | "2330I" => &[REF],
        "2400" => &[SV1, SV2, SV5, PWK, CR1, CR3, CRC, DTP, QTY, MEA, CN1, REF, AMT, K3, NTE, PS1, HCP],
        "2410" => &[CTP, REF],
        "2420A" | "2420B" | "2420C" | "2420D" | "2420E" | "2420F" | "2420G" | "2420H" => &[PRV, N3, N4, REF, PER],
        "2430" => &[CAS, DTP, AMT],
        "2440" => &[FRM],
        _ => &[],
    }
}

/// Builds one unit of loops (the header, a 2000 loop, or a claim's 2300 loop) segment by
/// segment: a segment opens a loop under the innermost open loop where it opens one, or joins
/// the innermost open loop that holds it, closing the loops inside that one.
pub(super) struct Builder<'a> {
    format: Format,
    stack: Vec<Loop<'a>>,
    /// What each open loop holds (`held_by`), looked up once as it opens.
    held: Vec<&'static [u32]>,
}

impl<'a> Builder<'a> {
    pub(super) fn new(format: Format, root: Loop<'a>) -> Self {
        let held = vec![held_by(root.id)];
        Self { format, stack: vec![root], held }
    }

    /// Places `seg`; `false` when no open loop takes it.
    pub(super) fn push(&mut self, seg: Segment<'a>) -> bool {
        for depth in (0..self.stack.len()).rev() {
            let id = self.stack[depth].id;
            if let Some(child) = opens(self.format, id, &seg) {
                self.close_to(depth);
                let mut open = Loop::new(child);
                open.segments.push(seg);
                self.stack.push(open);
                self.held.push(held_by(child));
                return true;
            }
            if self.held[depth].contains(&seg.tag) {
                self.close_to(depth);
                self.stack[depth].segments.push(seg);
                return true;
            }
        }
        false
    }

    fn close_to(&mut self, depth: usize) {
        while self.stack.len() > depth + 1 {
            let done = self.stack.pop().expect("deeper than depth");
            self.held.pop();
            self.stack.last_mut().expect("the root stays").children.push(done);
        }
    }

    pub(super) fn finish(mut self) -> Loop<'a> {
        self.close_to(0);
        self.stack.pop().expect("the root")
    }

    /// The id of the innermost open loop (for errors).
    pub(super) fn current(&self) -> &'static str {
        self.stack.last().map_or("", |l| l.id)
    }
}
