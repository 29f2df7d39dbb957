//! The envelopes every X12 file shares, read the same way for each transaction kind:
//! ISA/IEA interchanges holding GS/GE functional groups holding ST/SE transaction sets, with
//! their counts and control numbers checked. Any envelope error refuses the whole file.

use super::error::EdiError;
use super::segments::{Delimiters, Segment, SegmentReader};

/// A segment reader that knows what a file ending early was expected to hold.
pub(super) struct Cursor<'a> {
    pub(super) reader: SegmentReader<'a>,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(input: &'a [u8]) -> Self {
        Self { reader: SegmentReader::new(input) }
    }

    #[inline]
    pub(super) fn next(&mut self) -> Result<Option<Segment<'a>>, EdiError> {
        match self.reader.next_segment() {
            Some(Ok(seg)) => Ok(Some(seg)),
            Some(Err(e)) => Err(*e),
            None => Ok(None),
        }
    }

    /// The next segment, which must exist; `expected` says what the file ended without.
    #[inline]
    pub(super) fn require(&mut self, expected: &str) -> Result<Segment<'a>, Box<EdiError>> {
        match self.reader.next_segment() {
            Some(result) => result,
            None => Err(ended(self.reader.next_index(), expected)),
        }
    }

    pub(super) fn delimiters(&self) -> Delimiters {
        self.reader.delimiters().expect("set by the ISA that was read first")
    }
}

#[cold]
fn ended(index: usize, expected: &str) -> Box<EdiError> {
    Box::new(EdiError::new(index, "", None, format!("the file ends where {expected} was expected")))
}

/// Where a transaction set sits: its interchange and functional group.
#[derive(Debug, Clone, Copy)]
pub(super) struct Envelope<'a> {
    pub isa: Segment<'a>,
    pub gs: Segment<'a>,
    /// ISA13.
    pub interchange: &'a str,
    /// GS06.
    pub group: &'a str,
}

/// What kind of functional group a reader takes.
pub(super) struct GroupKind {
    /// GS01: HP for 835s, HC for 837s, FA for 999s.
    pub functional_id: &'static str,
    pub description: &'static str,
}

/// Reads every interchange of the file; `transaction` reads one set from its ST up to and
/// including its SE (which it must check with `check_trailer`).
pub(super) fn read_interchanges<'a, T>(
    cursor: &mut Cursor<'a>,
    kind: &GroupKind,
    mut transaction: impl FnMut(&mut Cursor<'a>, Segment<'a>, &Envelope<'a>) -> Result<T, EdiError>,
) -> Result<Vec<T>, EdiError> {
    let mut out = Vec::new();
    while let Some(isa) = cursor.next()? {
        if isa.id != "ISA" {
            return Err(isa.error(None, "expected ISA: every interchange starts with one"));
        }
        let control = isa.get(13).trim();
        if control.len() != 9 || !control.bytes().all(|b| b.is_ascii_digit()) {
            return Err(isa.error(Some(13), "the interchange control number must be 9 digits"));
        }
        let mut groups = 0usize;
        loop {
            let seg = cursor.require("GS or IEA")?;
            match seg.id {
                "GS" => {
                    groups += 1;
                    read_group(cursor, kind, isa, seg, control, &mut transaction, &mut out)?;
                }
                "IEA" => {
                    check_count(&seg, 1, groups, "functional groups (GS)")?;
                    if seg.get(2).trim() != control {
                        return Err(seg.error(Some(2), format!("must repeat the ISA13 control number {control}")));
                    }
                    break;
                }
                _ => return Err(seg.error(None, "expected GS or IEA inside an interchange")),
            }
        }
    }
    Ok(out)
}

fn read_group<'a, T>(
    cursor: &mut Cursor<'a>,
    kind: &GroupKind,
    isa: Segment<'a>,
    gs: Segment<'a>,
    interchange: &'a str,
    transaction: &mut impl FnMut(&mut Cursor<'a>, Segment<'a>, &Envelope<'a>) -> Result<T, EdiError>,
    out: &mut Vec<T>,
) -> Result<(), EdiError> {
    if gs.get(1) != kind.functional_id {
        return Err(gs.error(
            Some(1),
            format!("the functional identifier must be {} ({})", kind.functional_id, kind.description),
        ));
    }
    let control = gs.required(6, "the group control number")?;
    let envelope = Envelope { isa, gs, interchange, group: control };
    let mut sets = 0usize;
    loop {
        let seg = cursor.require("ST or GE")?;
        match seg.id {
            "ST" => {
                sets += 1;
                out.push(transaction(cursor, seg, &envelope)?);
            }
            "GE" => {
                check_count(&seg, 1, sets, "transaction sets (ST)")?;
                if seg.get(2) != control {
                    return Err(seg.error(Some(2), format!("must repeat the GS06 control number {control}")));
                }
                return Ok(());
            }
            _ => return Err(seg.error(None, "expected ST or GE inside a functional group")),
        }
    }
}

pub(super) fn check_count(seg: &Segment<'_>, element: usize, actual: usize, what: &str) -> Result<(), EdiError> {
    match seg.get(element).parse::<usize>() {
        Ok(n) if n == actual => Ok(()),
        Ok(n) => Err(seg.error(Some(element), format!("says {n} {what}, but there are {actual}"))),
        Err(_) => Err(seg.error(Some(element), format!("must be the number of {what}"))),
    }
}

/// Checks an SE: its count of segments from ST to SE (`count`, both included) and its
/// repeat of ST02.
pub(super) fn check_trailer(se: &Segment<'_>, count: usize, control: &str) -> Result<(), EdiError> {
    check_count(se, 1, count, "segments from ST to SE")?;
    if se.get(2) != control {
        return Err(se.error(Some(2), format!("must repeat the ST02 control number {control}")));
    }
    Ok(())
}

/// An interchange id qualifier (ISA05, ISA07) to write: the one given if it is two letters or
/// digits, else `ZZ` (mutually defined).
pub(super) fn id_qualifier(q: &str) -> &str {
    if q.len() == 2 && q.bytes().all(|b| b.is_ascii_alphanumeric()) { q } else { "ZZ" }
}

/// Envelope text to write (ids, control numbers, versions): letters, digits, spaces, `-` and
/// `.` only, so no delimiter can appear, cut to `max`; `UNKNOWN` when nothing is left.
pub(super) fn id_text(text: &str, max: usize) -> String {
    let kept: String = text.chars().filter(|c| c.is_ascii_alphanumeric() || " -.".contains(*c)).take(max).collect();
    if kept.trim().is_empty() { "UNKNOWN".chars().take(max).collect() } else { kept.trim().to_owned() }
}
