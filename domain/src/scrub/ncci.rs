//! NCCI procedure-to-procedure edits (practitioner) and medically unlikely edits, as CMS
//! publishes them each quarter. Both hold CPT codes (the AMA's licence): users import the
//! files; the project ships the readers and these rules, never the data.
//!
//! A PTP row pairs a column 1 code with a column 2 code billed for the same patient on the
//! same date: indicator 0 never allows the pair, 1 allows it with a modifier that shows the
//! services were distinct, 9 no longer applies. A row stops applying on its deletion date.
//! An MUE caps the units of a code on a line (adjudication indicator 1) or on a date of
//! service (2 policy, 3 clinical).

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

/// Modifiers that bypass a PTP edit with indicator 1 (NCCI policy manual, chapter I): the
/// distinct-service modifiers, anatomic ones, global-surgery ones and 91 (repeat test).
pub const BYPASS_MODIFIERS: &[&str] = &[
    "59", "XE", "XP", "XS", "XU", "24", "25", "27", "57", "58", "78", "79", "91", "E1", "E2", "E3", "E4", "FA", "F1",
    "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "LC", "LD", "LM", "LT", "RC", "RI", "RT", "TA", "T1", "T2", "T3",
    "T4", "T5", "T6", "T7", "T8", "T9",
];

/// A CPT or HCPCS code as a number below 36^5 (26 bits); `None` unless 5 letters or digits.
pub fn pack(code: &str) -> Option<u32> {
    let b = code.as_bytes();
    if b.len() != 5 {
        return None;
    }
    b.iter().try_fold(0u32, |n, c| {
        let v = match c {
            b'0'..=b'9' => c - b'0',
            b'A'..=b'Z' => c - b'A' + 10,
            _ => return None,
        };
        Some(n * 36 + u32::from(v))
    })
}

fn days(date: NaiveDate) -> i32 {
    date.num_days_from_ce()
}

/// One PTP row, 16 bytes: 1.5 million of them take 24 MB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct PtpRow {
    column1: u32,
    /// Column 2's code in the low 26 bits, the modifier indicator above.
    column2: u32,
    effective: i32,
    /// `i32::MAX` when not deleted.
    deleted: i32,
}

const CODE_BITS: u32 = 26;

/// A PTP row as read from CMS's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PtpEdit {
    pub column1: String,
    pub column2: String,
    pub effective: NaiveDate,
    pub deleted: Option<NaiveDate>,
    /// 0, 1 or 9.
    pub indicator: u8,
}

/// A quarter's PTP edits, sorted for lookup by pair.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PtpSet {
    pub version: String,
    rows: Vec<PtpRow>,
}

impl PtpSet {
    pub fn new(version: impl Into<String>, edits: impl IntoIterator<Item = PtpEdit>) -> Result<Self, String> {
        let mut rows = Vec::new();
        for e in edits {
            let code = |c: &str| pack(c).ok_or_else(|| format!("{c:?} is not a CPT or HCPCS code"));
            if !matches!(e.indicator, 0 | 1 | 9) {
                return Err(format!("modifier indicator {} is not 0, 1 or 9", e.indicator));
            }
            rows.push(PtpRow {
                column1: code(&e.column1)?,
                column2: code(&e.column2)? | (u32::from(e.indicator) << CODE_BITS),
                effective: days(e.effective),
                deleted: e.deleted.map_or(i32::MAX, days),
            });
        }
        rows.sort_unstable_by_key(|r| (r.column1, r.column2 & ((1 << CODE_BITS) - 1), r.effective));
        rows.shrink_to_fit();
        Ok(Self { version: version.into(), rows })
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The modifier indicator of the pair's row in force on `on`, if any.
    pub fn indicator(&self, column1: u32, column2: u32, on: NaiveDate) -> Option<u8> {
        let day = days(on);
        let key = |r: &PtpRow| (r.column1, r.column2 & ((1 << CODE_BITS) - 1));
        let start = self.rows.partition_point(|r| key(r) < (column1, column2));
        self.rows[start..]
            .iter()
            .take_while(|r| key(r) == (column1, column2))
            .find(|r| r.effective <= day && day < r.deleted)
            .map(|r| (r.column2 >> CODE_BITS) as u8)
    }
}

/// The stored form of a set: its rows as little-endian numbers, gzip-compressed, so that a
/// server loads 1.5 million rows as one value rather than as 1.5 million database rows.
fn compress(raw: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(raw).expect("writing to memory");
    gz.finish().expect("writing to memory")
}

fn decompress(stored: &[u8], limit: usize) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(stored)
        .take(limit as u64 + 1)
        .read_to_end(&mut raw)
        .map_err(|e| format!("the stored set is not gzip: {e}"))?;
    if raw.len() > limit {
        return Err(format!("the stored set is larger than {limit} bytes"));
    }
    Ok(raw)
}

/// The most rows a stored set may hold: CMS's practitioner PTP table has about 1.5 million.
pub const MAX_STORED_ROWS: usize = 5_000_000;

impl PtpSet {
    pub fn to_stored(&self) -> Vec<u8> {
        let mut raw = Vec::with_capacity(self.rows.len() * 16);
        for r in &self.rows {
            raw.extend_from_slice(&r.column1.to_le_bytes());
            raw.extend_from_slice(&r.column2.to_le_bytes());
            raw.extend_from_slice(&r.effective.to_le_bytes());
            raw.extend_from_slice(&r.deleted.to_le_bytes());
        }
        compress(&raw)
    }

    pub fn from_stored(version: impl Into<String>, stored: &[u8]) -> Result<Self, String> {
        let raw = decompress(stored, MAX_STORED_ROWS * 16)?;
        if raw.len() % 16 != 0 {
            return Err("the stored PTP set is cut short".into());
        }
        let word = |c: &[u8], i: usize| [c[i], c[i + 1], c[i + 2], c[i + 3]];
        let mut rows: Vec<PtpRow> = raw
            .chunks_exact(16)
            .map(|c| PtpRow {
                column1: u32::from_le_bytes(word(c, 0)),
                column2: u32::from_le_bytes(word(c, 4)),
                effective: i32::from_le_bytes(word(c, 8)),
                deleted: i32::from_le_bytes(word(c, 12)),
            })
            .collect();
        // Stored sorted, but a set is only trusted once sorted here.
        rows.sort_unstable_by_key(|r| (r.column1, r.column2 & ((1 << CODE_BITS) - 1), r.effective));
        Ok(Self { version: version.into(), rows })
    }
}

impl MueSet {
    pub fn to_stored(&self) -> Vec<u8> {
        let mut rows: Vec<(&u32, &(u32, u8))> = self.values.iter().collect();
        rows.sort_unstable();
        let mut raw = Vec::with_capacity(rows.len() * 9);
        for (code, (value, mai)) in rows {
            raw.extend_from_slice(&code.to_le_bytes());
            raw.extend_from_slice(&value.to_le_bytes());
            raw.push(*mai);
        }
        compress(&raw)
    }

    pub fn from_stored(version: impl Into<String>, stored: &[u8]) -> Result<Self, String> {
        let raw = decompress(stored, MAX_STORED_ROWS * 9)?;
        if raw.len() % 9 != 0 {
            return Err("the stored MUE set is cut short".into());
        }
        let values = raw
            .chunks_exact(9)
            .map(|c| {
                (u32::from_le_bytes([c[0], c[1], c[2], c[3]]), (u32::from_le_bytes([c[4], c[5], c[6], c[7]]), c[8]))
            })
            .collect();
        Ok(Self { version: version.into(), values })
    }
}

/// A quarter's MUEs: the most units of a code, and how they are counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MueSet {
    pub version: String,
    values: HashMap<u32, (u32, u8)>,
}

impl MueSet {
    /// From (code, MUE value, adjudication indicator 1, 2 or 3).
    pub fn new<'a>(
        version: impl Into<String>,
        rows: impl IntoIterator<Item = (&'a str, u32, u8)>,
    ) -> Result<Self, String> {
        let mut values = HashMap::new();
        for (code, value, mai) in rows {
            let key = pack(code).ok_or_else(|| format!("{code:?} is not a CPT or HCPCS code"))?;
            if !matches!(mai, 1..=3) {
                return Err(format!("adjudication indicator {mai} of {code} is not 1, 2 or 3"));
            }
            values.insert(key, (value, mai));
        }
        values.shrink_to_fit();
        Ok(Self { version: version.into(), values })
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn limit(&self, code: u32) -> Option<(u32, u8)> {
        self.values.get(&code).copied()
    }
}

/// A line as these edits read it.
#[derive(Debug, Clone, Copy)]
pub struct Billed<'a> {
    pub index: usize,
    pub code: &'a str,
    pub packed: u32,
    pub modifiers: &'a [&'a str],
    pub units: Decimal,
    pub date: NaiveDate,
}

/// A PTP hit: the column 2 line is the one not payable with the column 1 line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairHit {
    pub column1_line: usize,
    pub column2_line: usize,
    pub indicator: u8,
}

/// Every pair of lines on one date that a row in force forbids: indicator 0, or 1 without a
/// bypass modifier on either line.
pub fn pair_hits(set: &PtpSet, lines: &[Billed<'_>]) -> Vec<PairHit> {
    let mut hits = Vec::new();
    for a in lines {
        for b in lines {
            if a.index == b.index || a.date != b.date || a.packed == b.packed {
                continue;
            }
            let Some(indicator) = set.indicator(a.packed, b.packed, a.date) else { continue };
            let bypassed = || a.modifiers.iter().chain(b.modifiers).any(|m| BYPASS_MODIFIERS.contains(m));
            if indicator == 0 || (indicator == 1 && !bypassed()) {
                hits.push(PairHit { column1_line: a.index, column2_line: b.index, indicator });
            }
        }
    }
    hits
}

/// An MUE hit: the units billed and the most allowed, on one line (MAI 1) or on a date (MAI
/// 2, 3: named on the last line of that code and date).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitsHit {
    pub line: usize,
    pub billed: Decimal,
    pub limit: u32,
    pub indicator: u8,
}

pub fn units_hits(set: &MueSet, lines: &[Billed<'_>]) -> Vec<UnitsHit> {
    let mut hits = Vec::new();
    let mut per_day: Vec<(u32, NaiveDate, Decimal, usize, u32, u8)> = Vec::new();
    for l in lines {
        let Some((limit, mai)) = set.limit(l.packed) else { continue };
        if mai == 1 {
            if l.units > Decimal::from(limit) {
                hits.push(UnitsHit { line: l.index, billed: l.units, limit, indicator: mai });
            }
            continue;
        }
        match per_day.iter_mut().find(|d| d.0 == l.packed && d.1 == l.date) {
            Some(day) => {
                day.2 += l.units;
                day.3 = l.index;
            }
            None => per_day.push((l.packed, l.date, l.units, l.index, limit, mai)),
        }
    }
    for (_, _, billed, line, limit, indicator) in per_day {
        if billed > Decimal::from(limit) {
            hits.push(UnitsHit { line, billed, limit, indicator });
        }
    }
    hits.sort_by_key(|h| h.line);
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
    }

    fn edit(c1: &str, c2: &str, indicator: u8, deleted: Option<NaiveDate>) -> PtpEdit {
        PtpEdit {
            column1: c1.into(),
            column2: c2.into(),
            effective: NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
            deleted,
            indicator,
        }
    }

    fn line<'a>(index: usize, code: &'a str, modifiers: &'a [&'a str], units: i64, date: NaiveDate) -> Billed<'a> {
        Billed { index, code, packed: pack(code).unwrap(), modifiers, units: Decimal::from(units), date }
    }

    #[test]
    fn pairs_are_refused_by_indicator_modifier_date_and_deletion() {
        let set = PtpSet::new(
            "test",
            [
                edit("80053", "82947", 0, None),
                edit("99213", "36415", 1, None),
                edit("20610", "76942", 1, Some(day(10))),
                edit("11042", "97597", 9, None),
            ],
        )
        .unwrap();
        let panel = [line(0, "80053", &[], 1, day(2)), line(1, "82947", &["59"], 1, day(2))];
        assert_eq!(pair_hits(&set, &panel), [PairHit { column1_line: 0, column2_line: 1, indicator: 0 }]);
        let visit = [line(0, "99213", &[], 1, day(2)), line(1, "36415", &[], 1, day(2))];
        assert_eq!(pair_hits(&set, &visit).len(), 1);
        let distinct = [line(0, "99213", &["25"], 1, day(2)), line(1, "36415", &[], 1, day(2))];
        assert!(pair_hits(&set, &distinct).is_empty(), "a bypass modifier on either line");
        let other_day = [line(0, "99213", &[], 1, day(2)), line(1, "36415", &[], 1, day(3))];
        assert!(pair_hits(&set, &other_day).is_empty());
        let before = [line(0, "20610", &[], 1, day(9)), line(1, "76942", &[], 1, day(9))];
        let after = [line(0, "20610", &[], 1, day(10)), line(1, "76942", &[], 1, day(10))];
        assert_eq!((pair_hits(&set, &before).len(), pair_hits(&set, &after).len()), (1, 0), "deleted on the 10th");
        let gone = [line(0, "11042", &[], 1, day(2)), line(1, "97597", &[], 1, day(2))];
        assert!(pair_hits(&set, &gone).is_empty(), "indicator 9 no longer applies");
    }

    #[test]
    fn units_are_capped_per_line_or_per_day() {
        let set = MueSet::new("test", [("99213", 1, 2), ("J1885", 8, 1), ("36415", 2, 3)]).unwrap();
        let lines = [
            line(0, "99213", &[], 1, day(2)),
            line(1, "99213", &[], 1, day(2)),
            line(2, "J1885", &[], 9, day(2)),
            line(3, "J1885", &[], 8, day(2)),
            line(4, "36415", &[], 2, day(2)),
            line(5, "36415", &[], 2, day(3)),
        ];
        let hits: Vec<(usize, u32)> = units_hits(&set, &lines).iter().map(|h| (h.line, h.limit)).collect();
        assert_eq!(hits, [(1, 1), (2, 8)]);
    }

    #[test]
    fn stored_sets_read_back_the_same() {
        let ptp =
            PtpSet::new("v", [edit("80053", "82947", 0, None), edit("99213", "36415", 1, Some(day(10)))]).unwrap();
        let back = PtpSet::from_stored("v", &ptp.to_stored()).unwrap();
        assert_eq!(back, ptp);
        let mue = MueSet::new("v", [("99213", 1, 2), ("J1885", 8, 1)]).unwrap();
        assert_eq!(MueSet::from_stored("v", &mue.to_stored()).unwrap(), mue);
        assert!(PtpSet::from_stored("v", b"not gzip").is_err());
        assert!(PtpSet::from_stored("v", &compress(&[0; 17])).is_err());
    }

    #[test]
    fn codes_pack_into_26_bits() {
        assert_eq!(pack("00000"), Some(0));
        assert_eq!(pack("ZZZZZ"), Some(36u32.pow(5) - 1));
        assert!(36u32.pow(5) < 1 << CODE_BITS);
        assert_eq!(pack("9921"), None);
        assert_eq!(pack("9921a"), None);
    }
}
