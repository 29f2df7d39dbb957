//! A claim's loops as stored: the text of every segment as it came (with the delimiters of
//! its file), grouped in its loops, so that the claim can be written back out whole.

use serde::{Deserialize, Serialize};

use super::super::segments::{Delimiters, Segment};
use super::{Claim, Format, Level, Loop, TransactionSet, Tree};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredLoop {
    pub id: String,
    /// Each segment's text without its terminator (`CLM*A1*100***11:B:1`).
    pub segments: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<StoredLoop>,
}

/// Everything of one claim an 837 holds: the set's header (BHT, submitter, receiver), the
/// billing provider, subscriber and patient loops above the claim, and the claim's own 2300
/// loop. The HL segments are kept for reference; a writer numbers its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredClaim {
    /// `837P` or `837I`.
    pub format: String,
    /// The element, component, repetition and segment delimiters of the text (a space when
    /// the file declared no repetition separator).
    pub delimiters: String,
    pub header: StoredLoop,
    pub billing: StoredLoop,
    pub subscriber: StoredLoop,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient: Option<StoredLoop>,
    pub claim: StoredLoop,
    /// What a claim built from JSON lacks to be written as an 837, by the JSON fields that
    /// would carry it (empty for a claim that came in a file).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lacking: Vec<crate::claim::FieldError>,
}

fn text_of(seg: &Segment<'_>) -> String {
    let elements = seg.elements_text();
    if elements.is_empty() {
        seg.id.to_owned()
    } else {
        let mut text = String::with_capacity(seg.id.len() + 1 + elements.len());
        text.push_str(seg.id);
        text.push(seg.element_separator() as char);
        text.push_str(elements);
        text
    }
}

impl StoredLoop {
    pub fn of(l: &Loop<'_, '_>) -> Self {
        Self {
            id: l.id().to_owned(),
            segments: l.segments().iter().map(text_of).collect(),
            children: l.children().map(|c| Self::of(&c)).collect(),
        }
    }

    /// The loop read back (the root of the tree); `None` if a segment's text is not a segment.
    pub fn view(&self, delimiters: Delimiters) -> Option<Tree<'_>> {
        fn add<'s>(tree: &mut Tree<'s>, l: &'s StoredLoop, delimiters: Delimiters) -> Option<()> {
            let id = super::loops::known_id(&l.id)?;
            let mut readable = true;
            let segments = l.segments.iter().enumerate().map_while(|(i, text)| {
                let segment = Segment::from_text(i + 1, text, delimiters);
                readable &= segment.is_some();
                segment
            });
            let node = tree.open(id, segments);
            if !readable {
                return None;
            }
            for c in &l.children {
                add(tree, c, delimiters)?;
            }
            tree.close(node);
            Some(())
        }
        fn count(l: &StoredLoop) -> (usize, usize) {
            l.children.iter().map(count).fold((l.segments.len(), 1), |(s, n), (cs, cn)| (s + cs, n + cn))
        }
        let mut tree = Tree::default();
        let (segments, loops) = count(self);
        tree.reserve_exact(segments, loops);
        add(&mut tree, self, delimiters)?;
        Some(tree)
    }
}

impl StoredClaim {
    /// The claim and the loops above it; `None` for a claim outside the hierarchy.
    pub fn of(set: &TransactionSet<'_>, claim: &Claim<'_>, delimiters: Delimiters) -> Option<Self> {
        let mut billing = None;
        let mut subscriber = None;
        let mut patient = None;
        for i in set.ancestry(claim) {
            let c = &set.contexts[i];
            let slot = match c.level {
                Level::Billing => &mut billing,
                Level::Subscriber => &mut subscriber,
                Level::Patient => &mut patient,
            };
            *slot = Some(StoredLoop::of(&set.loop_of(c.loop_)));
        }
        Some(Self {
            format: set.format.name().to_owned(),
            delimiters: [
                delimiters.element,
                delimiters.component,
                delimiters.repetition.unwrap_or(b' '),
                delimiters.segment,
            ]
            .iter()
            .map(|&b| b as char)
            .collect(),
            header: StoredLoop::of(&set.loop_of(set.header)),
            billing: billing?,
            subscriber: subscriber?,
            patient,
            claim: StoredLoop::of(&set.loop_of(claim.claim)),
            lacking: Vec::new(),
        })
    }

    pub fn format(&self) -> Option<Format> {
        Format::parse(&self.format)
    }

    pub fn delimiters(&self) -> Option<Delimiters> {
        let b = self.delimiters.as_bytes();
        (b.len() == 4).then(|| Delimiters {
            element: b[0],
            component: b[1],
            repetition: (b[2] != b' ').then_some(b[2]),
            segment: b[3],
        })
    }
}
