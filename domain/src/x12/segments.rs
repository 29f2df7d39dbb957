//! Delimiters from the ISA header, and a streaming reader of segments.

use super::error::EdiError;
use super::window;

/// The separators an interchange declares in its ISA segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiters {
    pub element: u8,
    pub component: u8,
    /// ISA11 in 005010; `None` when ISA11 is the old "U" standards identifier.
    pub repetition: Option<u8>,
    pub segment: u8,
}

/// ISA is fixed width: 106 characters, its 4th the element separator, its 105th (ISA16) the
/// component separator and its 106th the segment terminator.
pub const ISA_LEN: usize = 106;

impl Delimiters {
    /// Reads the delimiters of the ISA starting at `at`.
    pub fn from_isa(input: &[u8], at: usize, segment_index: usize) -> Result<Self, EdiError> {
        let err = |m: &str| EdiError::new(segment_index, "ISA", None, m);
        let isa = input
            .get(at..at + ISA_LEN)
            .ok_or_else(|| err("the ISA segment must be 106 characters long; the file ends before that"))?;
        if &isa[..3] != b"ISA" {
            return Err(err("an interchange must start with an ISA segment"));
        }
        let element = isa[3];
        let component = isa[104];
        let segment = isa[105];
        // ISA's elements are fixed width; the element separator must sit between each of them.
        let separator_positions = [3, 6, 17, 20, 31, 34, 50, 53, 69, 76, 81, 83, 89, 99, 101, 103];
        if let Some(p) = separator_positions.iter().find(|&&p| isa[p] != element) {
            let position = separator_positions.iter().position(|q| q == p).unwrap_or(0);
            return Err(EdiError::new(
                segment_index,
                "ISA",
                Some(position.max(1)),
                "ISA elements must have their fixed widths (is the segment padded to 106 characters?)",
            ));
        }
        let distinct = [element, component, segment];
        if !distinct.iter().all(u8::is_ascii) {
            return Err(err("delimiters must be ASCII characters"));
        }
        if element.is_ascii_alphanumeric() || component.is_ascii_alphanumeric() || segment.is_ascii_alphanumeric() {
            return Err(err("delimiters must not be letters or digits"));
        }
        if distinct[0] == distinct[1] || distinct[0] == distinct[2] || distinct[1] == distinct[2] {
            return Err(err("the element, component and segment delimiters must differ"));
        }
        let rep = isa[82];
        let repetition =
            if rep == b'U' || rep.is_ascii_alphanumeric() || distinct.contains(&rep) { None } else { Some(rep) };
        Ok(Self { element, component, repetition, segment })
    }
}

/// Separators whose positions a segment keeps: enough for every element an 835 or 837
/// reader asks for of nearly every segment; later ones are found by scanning on demand.
const INDEXED: usize = 16;

/// One segment, borrowed from the input: its id, the text of its elements, and where its
/// first separators stand, found in the one pass over it that found its end. No allocation
/// per segment: a large file has millions of them, and each is copied as it is read, so it
/// is kept small (64 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    /// 1-based position in the file.
    pub index: usize,
    pub id: &'a str,
    /// The id as a number (`tag::of`): one integer comparison instead of a string compare.
    pub tag: u32,
    /// Everything after the id's element separator ("" for a segment with no elements).
    elements: &'a str,
    /// Where the first `count` separators of `elements` stand: each found within the first
    /// `covered` bytes, so below 64.
    ends: [u8; INDEXED],
    count: u8,
    /// How many bytes of `elements` were searched for `ends`: all of them, but for the rare
    /// segment longer than a window.
    covered: u8,
    separator: u8,
    /// The component separator, for composite elements (`component`).
    component: u8,
}

// Copied once for every segment read and kept for every segment of an 837's loops.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Segment<'static>>() == 64);

/// The longest segment accepted: 835 segments run to a few hundred characters.
pub const MAX_LEN: usize = u16::MAX as usize;

impl<'a> Segment<'a> {
    /// `marks` has bit `i` set when `elements[i]` is a separator, for `i < covered`.
    #[inline]
    fn new(index: usize, id: &'a str, elements: &'a str, marks: (u64, usize), separator: u8, component: u8) -> Self {
        let covered = marks.1.min(elements.len());
        let mut marks = marks.0 & window::below(covered);
        let mut ends = [0u8; INDEXED];
        let mut count = 0;
        while marks != 0 && count < INDEXED {
            ends[count] = marks.trailing_zeros() as u8;
            marks &= marks - 1;
            count += 1;
        }
        Self {
            index,
            id,
            tag: tag::of(id),
            elements,
            ends,
            count: count as u8,
            covered: covered as u8,
            separator,
            component,
        }
    }

    fn of_elements(index: usize, id: &'a str, elements: &'a str, separator: u8, component: u8) -> Self {
        let (separators, _) = window::masks(elements.as_bytes(), 0, separator, separator);
        Self::new(index, id, elements, (separators, window::WIDTH), separator, component)
    }

    /// Whether `ends` holds every separator of the segment.
    #[inline]
    fn indexed_whole(&self) -> bool {
        usize::from(self.covered) == self.elements.len() && usize::from(self.count) < INDEXED
    }

    /// One segment's text (`CLM*A1*100~` without its terminator), as stored and read back:
    /// `None` when it is not a segment or is too long.
    pub fn from_text(index: usize, text: &'a str, delimiters: Delimiters) -> Option<Self> {
        let (id, elements) = match text.as_bytes().iter().take(4).position(|&b| b == delimiters.element) {
            Some(at) => (&text[..at], &text[at + 1..]),
            None => (text, ""),
        };
        let id_ok = !id.is_empty() && id.len() <= 3 && id.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        (id_ok && elements.len() <= MAX_LEN)
            .then(|| Self::of_elements(index, id, elements, delimiters.element, delimiters.component))
    }

    /// Everything after the id and its separator, as read.
    pub fn elements_text(&self) -> &'a str {
        self.elements
    }

    /// How many elements the segment has, trailing empty ones included.
    pub fn element_count(&self) -> usize {
        if self.elements.is_empty() {
            0
        } else if self.indexed_whole() {
            usize::from(self.count) + 1
        } else {
            memchr::memchr_iter(self.separator, self.elements.as_bytes()).count() + 1
        }
    }

    pub fn element_separator(&self) -> u8 {
        self.separator
    }

    pub fn component_separator(&self) -> u8 {
        self.component
    }

    /// Component `k` (1-based) of element `n`, or "" when absent.
    pub fn component(&self, n: usize, k: usize) -> &'a str {
        self.components(n).nth(k.wrapping_sub(1)).unwrap_or("")
    }

    /// The components of element `n` (one, the element itself, when it is not composite).
    pub fn components(&self, n: usize) -> impl Iterator<Item = &'a str> + use<'a> {
        let element = self.get(n);
        let separator = self.component as char;
        element.split(separator).take(if element.is_empty() { 0 } else { usize::MAX })
    }

    /// Element `n` (1-based), or "" when absent.
    #[inline(always)]
    pub fn get(&self, n: usize) -> &'a str {
        let count = usize::from(self.count);
        if n == 0 {
            return "";
        }
        let start = match n {
            1 => 0,
            _ if n - 2 < count => usize::from(self.ends[n - 2]) + 1,
            _ if self.indexed_whole() => return "",
            _ => return self.get_beyond(n),
        };
        let end = if n - 1 < count {
            usize::from(self.ends[n - 1])
        } else if self.indexed_whole() {
            self.elements.len()
        } else {
            return self.get_beyond(n);
        };
        &self.elements[start..end]
    }

    /// Element `n` of a segment whose separators were not all indexed: scanned for from the
    /// last one that was.
    #[cold]
    fn get_beyond(&self, n: usize) -> &'a str {
        let count = usize::from(self.count);
        let bytes = self.elements.as_bytes();
        let mut start = if count == 0 { 0 } else { usize::from(self.ends[count - 1]) + 1 };
        // `start` begins element `count + 1`.
        for _ in count + 1..n {
            match memchr::memchr(self.separator, &bytes[start..]) {
                Some(at) => start += at + 1,
                None => return "",
            }
        }
        let end = memchr::memchr(self.separator, &bytes[start..]).map_or(bytes.len(), |at| start + at);
        &self.elements[start..end]
    }

    pub fn error(&self, element: Option<usize>, message: impl Into<String>) -> EdiError {
        EdiError::new(self.index, self.id, element, message)
    }

    /// Element `n`, which must be present.
    pub fn required(&self, n: usize, what: &str) -> Result<&'a str, EdiError> {
        let value = self.get(n);
        if value.is_empty() {
            Err(self.error(Some(n), format!("{what} is required")).fault(super::error::Fault::Missing))
        } else {
            Ok(value)
        }
    }
}

/// Segment ids as numbers: one integer comparison per arm instead of a string compare,
/// for the millions of segments of a large file.
pub(super) mod tag {
    pub const fn of_bytes(id: &[u8]) -> u32 {
        let mut n = 0u32;
        let mut i = 0;
        while i < id.len() && i < 3 {
            n = (n << 8) | id[i] as u32;
            i += 1;
        }
        n
    }

    pub fn of(id: &str) -> u32 {
        of_bytes(id.as_bytes())
    }

    pub const AMT: u32 = of_bytes(b"AMT");
    pub const BPR: u32 = of_bytes(b"BPR");
    pub const CAS: u32 = of_bytes(b"CAS");
    pub const CLP: u32 = of_bytes(b"CLP");
    pub const CUR: u32 = of_bytes(b"CUR");
    pub const DTM: u32 = of_bytes(b"DTM");
    pub const GE: u32 = of_bytes(b"GE");
    pub const GS: u32 = of_bytes(b"GS");
    pub const IEA: u32 = of_bytes(b"IEA");
    pub const ISA: u32 = of_bytes(b"ISA");
    pub const LQ: u32 = of_bytes(b"LQ");
    pub const LX: u32 = of_bytes(b"LX");
    pub const MIA: u32 = of_bytes(b"MIA");
    pub const MOA: u32 = of_bytes(b"MOA");
    pub const N1: u32 = of_bytes(b"N1");
    pub const N3: u32 = of_bytes(b"N3");
    pub const N4: u32 = of_bytes(b"N4");
    pub const NM1: u32 = of_bytes(b"NM1");
    pub const PER: u32 = of_bytes(b"PER");
    pub const PLB: u32 = of_bytes(b"PLB");
    pub const QTY: u32 = of_bytes(b"QTY");
    pub const RDM: u32 = of_bytes(b"RDM");
    pub const REF: u32 = of_bytes(b"REF");
    pub const SE: u32 = of_bytes(b"SE");
    pub const ST: u32 = of_bytes(b"ST");
    pub const SVC: u32 = of_bytes(b"SVC");
    pub const TRN: u32 = of_bytes(b"TRN");
    pub const TS2: u32 = of_bytes(b"TS2");
    pub const TS3: u32 = of_bytes(b"TS3");
    pub const BHT: u32 = of_bytes(b"BHT");
    pub const CL1: u32 = of_bytes(b"CL1");
    pub const CLM: u32 = of_bytes(b"CLM");
    pub const CN1: u32 = of_bytes(b"CN1");
    pub const CR1: u32 = of_bytes(b"CR1");
    pub const CR2: u32 = of_bytes(b"CR2");
    pub const CR3: u32 = of_bytes(b"CR3");
    pub const CR6: u32 = of_bytes(b"CR6");
    pub const CRC: u32 = of_bytes(b"CRC");
    pub const CTP: u32 = of_bytes(b"CTP");
    pub const DMG: u32 = of_bytes(b"DMG");
    pub const DTP: u32 = of_bytes(b"DTP");
    pub const FRM: u32 = of_bytes(b"FRM");
    pub const HCP: u32 = of_bytes(b"HCP");
    pub const HI: u32 = of_bytes(b"HI");
    pub const HL: u32 = of_bytes(b"HL");
    pub const K3: u32 = of_bytes(b"K3");
    pub const LIN: u32 = of_bytes(b"LIN");
    pub const MEA: u32 = of_bytes(b"MEA");
    pub const N2: u32 = of_bytes(b"N2");
    pub const NTE: u32 = of_bytes(b"NTE");
    pub const OI: u32 = of_bytes(b"OI");
    pub const PAT: u32 = of_bytes(b"PAT");
    pub const PRV: u32 = of_bytes(b"PRV");
    pub const PS1: u32 = of_bytes(b"PS1");
    pub const PWK: u32 = of_bytes(b"PWK");
    pub const SBR: u32 = of_bytes(b"SBR");
    pub const SV1: u32 = of_bytes(b"SV1");
    pub const SV2: u32 = of_bytes(b"SV2");
    pub const SV5: u32 = of_bytes(b"SV5");
    pub const SVD: u32 = of_bytes(b"SVD");
}

/// Reads segments one at a time; a new ISA anywhere switches to the delimiters it declares.
pub struct SegmentReader<'a> {
    input: &'a [u8],
    /// The input up to its first byte that is not UTF-8 (all of it, normally): checked once,
    /// at memory speed, instead of segment by segment.
    text: &'a str,
    pos: usize,
    index: usize,
    delimiters: Option<Delimiters>,
}

impl<'a> SegmentReader<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        // The SIMD check answers only yes or no; the standard one finds where a bad file stops
        // being text, which only a bad file needs.
        let valid = match simdutf8::basic::from_utf8(input) {
            Ok(_) => input.len(),
            Err(_) => std::str::from_utf8(input).map_or_else(|e| e.valid_up_to(), str::len),
        };
        // The prefix up to `valid_up_to` is UTF-8 by definition.
        let text = std::str::from_utf8(&input[..valid]).unwrap_or_default();
        Self { input, text, pos: 0, index: 0, delimiters: None }
    }

    pub fn delimiters(&self) -> Option<Delimiters> {
        self.delimiters
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.input.len().saturating_sub(self.pos)
    }

    /// At most how many segments are left to read: the segment terminators ahead, counted
    /// at memory speed, to size what holds them once rather than grow it.
    pub fn segments_left(&self) -> usize {
        match (self.delimiters, self.input.get(self.pos..)) {
            (Some(d), Some(rest)) => memchr::memchr_iter(d.segment, rest).count() + 1,
            _ => 0,
        }
    }

    /// Index the next segment will get, for errors about a missing one.
    pub fn next_index(&self) -> usize {
        self.index + 1
    }

    fn skip_whitespace(&mut self) {
        while self.pos < self.input.len() && matches!(self.input[self.pos], b'\r' | b'\n' | b' ' | b'\t') {
            self.pos += 1;
        }
        // A UTF-8 byte-order mark before the first ISA.
        if self.pos == 0 && self.input.starts_with(&[0xEF, 0xBB, 0xBF]) {
            self.pos = 3;
            self.skip_whitespace();
        }
    }

    /// Inlined into its callers: a segment returned through a call costs a copy of it that
    /// stalls on the stores that wrote it, for every segment of the file.
    #[inline(always)]
    pub fn next_segment(&mut self) -> Option<Result<Segment<'a>, Box<EdiError>>> {
        self.skip_whitespace();
        if self.pos >= self.input.len() {
            return None;
        }
        self.index += 1;
        if self.input[self.pos..].starts_with(b"ISA") {
            match Delimiters::from_isa(self.input, self.pos, self.index) {
                Ok(d) => self.delimiters = Some(d),
                Err(e) => return Some(Err(Box::new(e))),
            }
        }
        let Some(delimiters) = self.delimiters else {
            return Some(Err(Box::new(EdiError::new(self.index, "", None, "the file must start with an ISA segment"))));
        };
        // One window finds where a segment of up to 64 bytes ends and where its elements do.
        let start = self.pos;
        let (separators, terminators) = window::masks(self.input, start, delimiters.element, delimiters.segment);
        let stop = if terminators != 0 {
            start + terminators.trailing_zeros() as usize
        } else {
            let from = (start + window::WIDTH).min(self.input.len());
            memchr::memchr(delimiters.segment, &self.input[from..]).map_or(self.input.len(), |at| from + at)
        };
        self.pos = (stop + 1).min(self.input.len());
        let Some(text) = self.text.get(start..stop) else {
            return Some(Err(Box::new(EdiError::new(self.index, "", None, "the segment is not valid text (UTF-8)"))));
        };
        let mut len = text.len();
        while len > 0 && matches!(text.as_bytes()[len - 1], b'\r' | b'\n') {
            len -= 1;
        }
        // Both are ASCII, so these are character boundaries.
        let text = &text[..len];
        let separator = delimiters.element;
        let first = separators.trailing_zeros() as usize;
        let (id, elements) = if first < 4 && first < len { (&text[..first], &text[first + 1..]) } else { (text, "") };
        if elements.len() > MAX_LEN {
            return Some(Err(Box::new(EdiError::new(
                self.index,
                id,
                None,
                format!("the segment is longer than {MAX_LEN} characters"),
            ))));
        }
        if id.is_empty() || id.len() > 3 || !id.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
            return Some(Err(Box::new(EdiError::new(
                self.index,
                id,
                None,
                "a segment must start with an id of 2 or 3 capital letters or digits",
            ))));
        }
        // The window's bits from the first element on.
        let skip = id.len() + 1;
        let marks = if elements.is_empty() { (0, 0) } else { (separators >> skip, window::WIDTH - skip) };
        Some(Ok(Segment::new(self.index, id, elements, marks, separator, delimiters.component)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn get_agrees_with_a_plain_split(elements in prop::collection::vec("[A-Z0-9 ]{0,4}", 0..40), n in 0usize..45) {
            let text = elements.join("*");
            let segment = Segment::of_elements(1, "XX", &text, b'*', b':');
            let expected = if n == 0 || text.is_empty() { "" } else { text.split('*').nth(n - 1).unwrap_or("") };
            prop_assert_eq!(segment.get(n), expected);
        }

        /// Segments as the reader finds them (in one window or past it, with or without line
        /// breaks, the last one of the file or not) give the elements a plain split gives.
        #[test]
        fn the_reader_agrees_with_a_plain_split(
            segments in prop::collection::vec(prop::collection::vec("[A-Z0-9 :]{0,9}", 1..30), 1..6),
            breaks in any::<bool>(),
        ) {
            const ISA: &str = "ISA*00*          *00*          *ZZ*A              *ZZ*B              *250115*1200*^*00501*000000101*0*P*:~";
            let texts: Vec<String> = segments.iter().map(|e| format!("N{}*{}", e.len() % 10, e.join("*"))).collect();
            let line = if breaks { "\r\n" } else { "" };
            let file = format!("{ISA}{line}{}", texts.iter().map(|t| format!("{t}~{line}")).collect::<String>());
            let mut reader = SegmentReader::new(file.as_bytes());
            reader.next_segment().expect("the ISA").expect("a valid ISA");
            for (text, elements) in texts.iter().zip(&segments) {
                let seg = reader.next_segment().expect("a segment").expect("a valid segment");
                prop_assert_eq!(seg.id, &text[..2]);
                // A segment with nothing after its id's separator has no elements.
                let count = if elements.concat().is_empty() && elements.len() == 1 { 0 } else { elements.len() };
                prop_assert_eq!(seg.element_count(), count);
                for n in 0..elements.len() + 3 {
                    let expected = if n == 0 { "" } else { elements.get(n - 1).map_or("", String::as_str) };
                    prop_assert_eq!(seg.get(n), expected, "element {} of {}", n, text);
                }
            }
            prop_assert!(reader.next_segment().is_none());
        }
    }
}
