//! The 837's loops, kept whole: which segment opens which loop, and which segments each loop
//! holds, for 005010X222A1 (professional) and 005010X223A2 (institutional).
//!
//! A claim is stored as the loops it came in (its billing provider, subscriber and patient
//! loops, and its own 2300 loop with every loop under it), segment for segment, so that it can
//! be written back as it came: the segments Overturn reads into fields (CLM, HI, SV1, …) and
//! the ones it only keeps (CR1, CRC, 2320 other payers, 2430 adjudication, …) alike.

use super::super::segments::{Segment, tag};
use super::Format;

/// Every loop of one transaction set (or of one stored claim), flat: the segments in one
/// array, each loop's own segments side by side and the loops inside it after them, and the
/// loops in the order they open. A loop and everything inside it are then two ranges, and a
/// set of thousands of claims is two allocations rather than two for each of its loops.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree<'a> {
    segments: Vec<Segment<'a>>,
    nodes: Vec<Node>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Node {
    id: &'static str,
    /// The loop's own segments: `segments[start..end]`.
    start: u32,
    end: u32,
    /// The first node after the loop and the loops inside it.
    after: u32,
}

/// A loop of a `Tree`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoopId(u32);

impl<'a> Tree<'a> {
    pub fn get(&self, id: LoopId) -> Loop<'_, 'a> {
        Loop { tree: self, node: id.0 as usize }
    }

    /// The first loop (of a stored loop's tree, the loop itself).
    pub fn root(&self) -> Loop<'_, 'a> {
        Loop { tree: self, node: 0 }
    }

    fn end_of(&self, node: usize) -> usize {
        let after = self.nodes[node].after as usize;
        self.nodes.get(after).map_or(self.segments.len(), |n| n.start as usize)
    }

    /// Every segment of the tree with the id of its loop, in the order they are written.
    pub fn walk(&self) -> impl Iterator<Item = (&Segment<'a>, &'static str)> {
        self.walk_between(LoopId(0), self.next_id())
    }

    /// The segments of the loops from `first` up to `end`, with the id of their loop.
    pub fn walk_between(&self, first: LoopId, end: LoopId) -> impl Iterator<Item = (&Segment<'a>, &'static str)> {
        self.nodes[first.0 as usize..end.0 as usize]
            .iter()
            .flat_map(|n| self.segments[n.start as usize..n.end as usize].iter().map(|s| (s, n.id)))
    }

    /// Room for `segments` segments, and a loop for every few of them.
    pub(super) fn reserve(&mut self, segments: usize) {
        self.segments.reserve(segments);
        self.nodes.reserve(segments / 4);
    }

    /// Room for exactly this many segments and loops (a stored claim's, counted).
    pub(super) fn reserve_exact(&mut self, segments: usize, loops: usize) {
        self.segments.reserve_exact(segments);
        self.nodes.reserve_exact(loops);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The id the next loop opened will have.
    pub(super) fn next_id(&self) -> LoopId {
        LoopId(self.nodes.len() as u32)
    }

    /// Opens a loop holding `segments`: all of a stored loop's own, or none (the reader's
    /// `Builder` adds them as they come).
    pub(super) fn open(&mut self, id: &'static str, segments: impl IntoIterator<Item = Segment<'a>>) -> usize {
        let start = self.segments.len() as u32;
        self.segments.extend(segments);
        self.nodes.push(Node { id, start, end: self.segments.len() as u32, after: 0 });
        self.nodes.len() - 1
    }

    /// Closes a loop `open` opened, once the loops inside it are added.
    pub(super) fn close(&mut self, node: usize) {
        self.nodes[node].after = self.nodes.len() as u32;
    }
}

/// One loop: its id in the implementation guide, its segments in order, and its loops.
#[derive(Debug, Clone, Copy)]
pub struct Loop<'t, 'a> {
    tree: &'t Tree<'a>,
    node: usize,
}

impl<'t, 'a> Loop<'t, 'a> {
    pub fn id(&self) -> &'static str {
        self.tree.nodes[self.node].id
    }

    /// The loop's own segments (not those of the loops inside it).
    pub fn segments(&self) -> &'t [Segment<'a>] {
        let n = &self.tree.nodes[self.node];
        &self.tree.segments[n.start as usize..n.end as usize]
    }

    /// The loops directly inside this one, in order.
    pub fn children(&self) -> impl Iterator<Item = Loop<'t, 'a>> + use<'t, 'a> {
        let tree = self.tree;
        let after = tree.nodes[self.node].after as usize;
        let mut next = self.node + 1;
        std::iter::from_fn(move || {
            (next < after).then(|| {
                let node = next;
                next = tree.nodes[node].after as usize;
                Loop { tree, node }
            })
        })
    }

    /// The first segment with this id whose first element is one of `qualifiers` (any, when
    /// `qualifiers` is empty).
    pub fn segment(&self, id: &str, qualifiers: &[&str]) -> Option<&'t Segment<'a>> {
        let tag = tag::of(id);
        self.segments().iter().find(|s| s.tag == tag && (qualifiers.is_empty() || qualifiers.contains(&s.get(1))))
    }

    pub fn segments_of<'s>(&self, id: &'s str, qualifiers: &'s [&'s str]) -> impl Iterator<Item = &'t Segment<'a>> + 's
    where
        't: 's,
    {
        let tag = tag::of(id);
        self.segments()
            .iter()
            .filter(move |s| s.tag == tag && (qualifiers.is_empty() || qualifiers.contains(&s.get(1))))
    }

    pub fn child(&self, id: &str) -> Option<Loop<'t, 'a>> {
        self.children().find(|c| c.id() == id)
    }

    pub fn children_of<'s>(&self, id: &'s str) -> impl Iterator<Item = Loop<'t, 'a>> + 's
    where
        't: 's,
    {
        self.children().filter(move |c| c.id() == id)
    }

    /// Every segment of the loop and its loops, in the order they are written, with the id
    /// of the loop each is in.
    pub fn walk(&self) -> impl Iterator<Item = (&'t Segment<'a>, &'static str)> + use<'t, 'a> {
        let tree = self.tree;
        let after = tree.nodes[self.node].after as usize;
        tree.nodes[self.node..after]
            .iter()
            .flat_map(move |n| tree.segments[n.start as usize..n.end as usize].iter().map(move |s| (s, n.id)))
    }

    /// Every segment of the loop and its loops, in the order they are written.
    pub fn all_segments(&self) -> &'t [Segment<'a>] {
        &self.tree.segments[self.tree.nodes[self.node].start as usize..self.tree.end_of(self.node)]
    }

    pub fn segment_count(&self) -> usize {
        self.all_segments().len()
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

/// Builds the units of loops of a set (its header, each 2000 loop, each claim's 2300 loop)
/// segment by segment: a segment opens a loop under the innermost open loop where it opens
/// one, or joins the innermost open loop that holds it, closing the loops inside that one.
pub(super) struct Builder {
    format: Format,
    /// The open loops, outermost first, with what each holds (`held_by`).
    stack: Vec<(usize, &'static [u32])>,
    /// The loop of each segment of the open unit.
    owners: Vec<u32>,
    /// Where the open unit's segments begin, and whether they came in the order they are
    /// kept in (a loop's segments before the loops inside it): nearly always.
    first: usize,
    ordered: bool,
}

impl Builder {
    pub(super) fn new(format: Format) -> Self {
        Self { format, stack: Vec::with_capacity(8), owners: Vec::new(), first: 0, ordered: true }
    }

    /// Opens a unit: closes the open one, and starts a loop `id` holding `first` (the HL or
    /// CLM that opens it), if any.
    pub(super) fn open<'a>(&mut self, tree: &mut Tree<'a>, id: &'static str, first: Option<Segment<'a>>) -> LoopId {
        self.finish(tree);
        self.first = tree.segments.len();
        self.ordered = true;
        self.owners.clear();
        let node = tree.open(id, None);
        self.stack.push((node, held_by(id)));
        if let Some(seg) = first {
            self.put(tree, node, seg);
        }
        LoopId(node as u32)
    }

    fn put<'a>(&mut self, tree: &mut Tree<'a>, node: usize, seg: Segment<'a>) {
        if self.owners.last().is_some_and(|&last| node < last as usize) {
            self.ordered = false;
        }
        self.owners.push(node as u32);
        tree.segments.push(seg);
        tree.nodes[node].end = tree.segments.len() as u32;
    }

    /// Places `seg` in the open unit; `false` when no open loop takes it.
    pub(super) fn push<'a>(&mut self, tree: &mut Tree<'a>, seg: Segment<'a>) -> bool {
        for depth in (0..self.stack.len()).rev() {
            let (node, held) = self.stack[depth];
            if let Some(child) = opens(self.format, tree.nodes[node].id, &seg) {
                self.close_to(tree, depth);
                let open = tree.open(child, None);
                self.stack.push((open, held_by(child)));
                self.put(tree, open, seg);
                return true;
            }
            if held.contains(&seg.tag) {
                self.close_to(tree, depth);
                self.put(tree, node, seg);
                return true;
            }
        }
        false
    }

    fn close_to(&mut self, tree: &mut Tree<'_>, depth: usize) {
        while self.stack.len() > depth + 1 {
            let (done, _) = self.stack.pop().expect("deeper than depth");
            tree.close(done);
        }
    }

    /// How many segments the open unit holds.
    pub(super) fn len(&self) -> usize {
        self.owners.len()
    }

    /// Closes the open unit, if any; a segment that came back to a loop after the loops inside
    /// it is moved to the loop's own segments, where it is kept and written.
    pub(super) fn finish(&mut self, tree: &mut Tree<'_>) {
        if self.stack.is_empty() {
            return;
        }
        self.close_to(tree, 0);
        let (root, _) = self.stack.pop().expect("the root");
        tree.close(root);
        if !self.ordered {
            let mut moved: Vec<(u32, Segment<'_>)> =
                self.owners.iter().copied().zip(tree.segments[self.first..].iter().copied()).collect();
            moved.sort_by_key(|&(owner, _)| owner);
            let mut at = self.first;
            let mut owners = moved.iter().map(|&(o, _)| o as usize).peekable();
            for node in root..tree.nodes.len() {
                let start = at;
                while owners.next_if_eq(&node).is_some() {
                    at += 1;
                }
                tree.nodes[node].start = start as u32;
                tree.nodes[node].end = at as u32;
            }
            for (slot, (_, seg)) in tree.segments[self.first..].iter_mut().zip(moved) {
                *slot = seg;
            }
        }
    }

    /// The id of the innermost open loop (for errors).
    pub(super) fn current(&self, tree: &Tree<'_>) -> &'static str {
        self.stack.last().map_or("", |&(node, _)| tree.nodes[node].id)
    }
}
