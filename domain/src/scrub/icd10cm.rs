//! ICD-10-CM by fiscal year (1 October to 30 September): which codes exist and which are
//! billable (leaves). The binary ships two years' codes and flags, compressed, decompressed on
//! first use; an imported year (the CDC's order file) stands beside or over them.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, OnceLock};

use chrono::{Datelike, NaiveDate};

/// The first date of service coded in ICD-10: before it, claims carry ICD-9-CM.
pub const ICD10_FROM: NaiveDate = match NaiveDate::from_ymd_opt(2015, 10, 1) {
    Some(d) => d,
    None => panic!("a valid date"),
};

/// The fiscal year a date of service falls in: FY2026 runs from 2025-10-01 to 2026-09-30.
pub fn fiscal_year_of(date: NaiveDate) -> i32 {
    if date.month() >= 10 { date.year() + 1 } else { date.year() }
}

/// One fiscal year's code set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Icd10Cm {
    pub fiscal_year: i32,
    /// What the set is, as an edit's source names it ("FY2026 (April 2026)", or an import's).
    pub version: String,
    /// Packed codes (`pack`) shifted left one bit, the low bit set when billable; sorted.
    codes: Vec<u64>,
}

/// Whether a code is in a year's set, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    Billable,
    Header,
    Absent,
}

/// A code without its dot, as 6 bits per character (0 for none), first character highest:
/// numbers sort as the codes do. `None` for anything that is not 1 to 7 letters or digits.
fn pack(code: &str) -> Option<u64> {
    let bytes = code.as_bytes();
    if bytes.is_empty() || bytes.len() > 7 {
        return None;
    }
    let mut n = 0u64;
    for i in 0..7 {
        let v = match bytes.get(i) {
            None => 0,
            Some(b @ b'0'..=b'9') => u64::from(b - b'0') + 1,
            Some(b @ b'A'..=b'Z') => u64::from(b - b'A') + 11,
            Some(_) => return None,
        };
        n = (n << 6) | v;
    }
    Some(n)
}

/// `E11.9` → `E119`, uppercased.
pub fn undotted(code: &str) -> String {
    code.chars().filter(|c| *c != '.').map(|c| c.to_ascii_uppercase()).collect()
}

impl Icd10Cm {
    /// A set from (code, billable) pairs, codes with or without dots; malformed codes are
    /// refused by name.
    pub fn new<'a>(
        fiscal_year: i32,
        version: impl Into<String>,
        codes: impl IntoIterator<Item = (&'a str, bool)>,
    ) -> Result<Self, String> {
        let mut packed = Vec::new();
        for (code, billable) in codes {
            let key = pack(&undotted(code)).ok_or_else(|| format!("{code:?} is not an ICD-10-CM code"))?;
            packed.push((key << 1) | u64::from(billable));
        }
        packed.sort_unstable();
        packed.dedup_by_key(|k| *k >> 1);
        Ok(Self { fiscal_year, version: version.into(), codes: packed })
    }

    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    pub fn billable_count(&self) -> usize {
        self.codes.iter().filter(|k| *k & 1 == 1).count()
    }

    pub fn find(&self, code: &str) -> Found {
        let Some(key) = pack(&undotted(code)) else { return Found::Absent };
        match self.codes.binary_search_by_key(&key, |k| k >> 1) {
            Ok(i) if self.codes[i] & 1 == 1 => Found::Billable,
            Ok(_) => Found::Header,
            Err(_) => Found::Absent,
        }
    }

    /// Up to `n` billable codes under a header, for the message that refuses the header.
    pub fn billable_under(&self, code: &str, n: usize) -> Vec<String> {
        let Some(key) = pack(&undotted(code)) else { return Vec::new() };
        let prefix = undotted(code);
        let start = self.codes.partition_point(|k| k >> 1 < key);
        self.codes[start..]
            .iter()
            .take_while(|k| unpack(*k >> 1).starts_with(&prefix))
            .filter(|k| *k & 1 == 1)
            .map(|k| dotted(&unpack(k >> 1)))
            .take(n)
            .collect()
    }
}

fn unpack(mut n: u64) -> String {
    let mut out = Vec::with_capacity(7);
    for _ in 0..7 {
        let v = (n & 63) as u8;
        n >>= 6;
        match v {
            0 => {}
            1..=10 => out.push(b'0' + v - 1),
            _ => out.push(b'A' + v - 11),
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// `E119` → `E11.9`: the form coders read.
pub fn dotted(code: &str) -> String {
    if code.len() > 3 { format!("{}.{}", &code[..3], &code[3..]) } else { code.to_owned() }
}

/// The years the binary carries: the CDC's April releases, as `data/extract_icd10cm.py`
/// wrote them from the `simple-icd-10-cm` package.
const SHIPPED: [(i32, &str, &[u8]); 2] = [
    (2025, "FY2025 (April 2025 release, shipped)", include_bytes!("data/icd10cm-fy2025.tsv.gz")),
    (2026, "FY2026 (April 2026 release, shipped)", include_bytes!("data/icd10cm-fy2026.tsv.gz")),
];

/// Reads a shipped year: gzip of `code<TAB>0|1` lines after one `#` line saying what it is.
fn load_shipped(year: i32, version: &str, gz: &[u8]) -> Icd10Cm {
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz).read_to_string(&mut text).expect("the shipped ICD-10-CM files are valid gzip");
    let pairs = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split_once('\t'))
        .map(|(code, flag)| (code, flag == "1"));
    Icd10Cm::new(year, version, pairs).expect("the shipped ICD-10-CM files hold only codes")
}

/// The shipped years, decompressed once on first use (about 1.6 MB in memory for both).
pub fn shipped() -> &'static [Arc<Icd10Cm>] {
    static SETS: OnceLock<Vec<Arc<Icd10Cm>>> = OnceLock::new();
    SETS.get_or_init(|| SHIPPED.iter().map(|(y, v, gz)| Arc::new(load_shipped(*y, v, gz))).collect())
}

/// The years a scrubber consults: the shipped ones, with imported years added or replacing.
#[derive(Debug, Clone, Default)]
pub struct Icd10CmYears {
    years: BTreeMap<i32, Arc<Icd10Cm>>,
}

impl Icd10CmYears {
    pub fn shipped() -> Self {
        Self { years: shipped().iter().map(|s| (s.fiscal_year, s.clone())).collect() }
    }

    pub fn with(mut self, set: Arc<Icd10Cm>) -> Self {
        self.years.insert(set.fiscal_year, set);
        self
    }

    pub fn years(&self) -> impl Iterator<Item = &Icd10Cm> {
        self.years.values().map(|s| s.as_ref())
    }

    /// The set of `year`, or the nearest one loaded (the later of two as near) and `false`.
    pub fn for_year(&self, year: i32) -> Option<(&Icd10Cm, bool)> {
        if let Some(set) = self.years.get(&year) {
            return Some((set, true));
        }
        self.years.values().min_by_key(|s| ((s.fiscal_year - year).abs(), -s.fiscal_year)).map(|s| (s.as_ref(), false))
    }
}

/// One line of the CDC's order file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRow {
    /// Without its dot, as the file has it.
    pub code: String,
    pub billable: bool,
    pub short_description: String,
    pub long_description: String,
}

/// The most lines an order file may hold: a year has about 98,000.
pub const MAX_ORDER_LINES: usize = 200_000;

/// Reads the CDC's order file (`icd10cm-order-YYYY.txt`), fixed width: order number (5), a
/// space, the code (7, padded), a space, 0 (header) or 1 (billable), a space, the short
/// description (60), a space, the long description. Any fault names its line.
pub fn parse_order_file(bytes: &[u8]) -> Result<Vec<OrderRow>, String> {
    // The CDC's files are ASCII; Latin-1 covers the odd accented word of older releases.
    let text: String = match std::str::from_utf8(bytes) {
        Ok(t) => t.to_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    };
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        if rows.len() >= MAX_ORDER_LINES {
            return Err(format!("more than {MAX_ORDER_LINES} codes: this is not an ICD-10-CM order file"));
        }
        let chars: Vec<char> = line.chars().collect();
        let field = |from: usize, to: usize| chars.get(from..to.min(chars.len())).map(|c| c.iter().collect::<String>());
        let order = field(0, 5).unwrap_or_default();
        if order.len() != 5 || !order.chars().all(|c| c.is_ascii_digit()) || chars.len() < 16 {
            return Err(format!(
                "line {n}: expected the order file's fixed width (5-digit order number, code, 0/1 flag, descriptions)"
            ));
        }
        let code = field(6, 13).unwrap_or_default().trim().to_owned();
        if pack(&code).is_none() || !code.starts_with(|c: char| c.is_ascii_uppercase()) || code.len() < 3 {
            return Err(format!("line {n}: {code:?} is not an ICD-10-CM code"));
        }
        let billable = match chars[14] {
            '0' => false,
            '1' => true,
            other => return Err(format!("line {n}: the header/billable flag is {other:?}, not 0 or 1")),
        };
        rows.push(OrderRow {
            code,
            billable,
            short_description: field(16, 76).unwrap_or_default().trim().to_owned(),
            long_description: field(77, chars.len()).unwrap_or_default().trim().to_owned(),
        });
    }
    if rows.is_empty() {
        return Err("the file holds no codes".into());
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fiscal_years_start_in_october() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(fiscal_year_of(d(2025, 9, 30)), 2025);
        assert_eq!(fiscal_year_of(d(2025, 10, 1)), 2026);
        assert_eq!(fiscal_year_of(d(2026, 12, 31)), 2027);
    }

    #[test]
    fn shipped_years_hold_the_published_counts() {
        let counts: Vec<(i32, usize)> = shipped().iter().map(|s| (s.fiscal_year, s.billable_count())).collect();
        // CMS's figures: 74,260 codes for FY2025 and 74,719 for FY2026.
        assert_eq!(counts, [(2025, 74_260), (2026, 74_719)]);
        let fy26 = &shipped()[1];
        assert_eq!(fy26.find("E11.9"), Found::Billable);
        assert_eq!(fy26.find("E119"), Found::Billable);
        assert_eq!(fy26.find("E11"), Found::Header);
        assert_eq!(fy26.find("E11.99"), Found::Absent);
        assert_eq!(fy26.find("QA0.0101"), Found::Billable, "FY2026's new genetic category");
        assert_eq!(shipped()[0].find("QA0.0101"), Found::Absent, "not in FY2025");
        assert_eq!(fy26.billable_under("E11.6", 3), ["E11.610", "E11.618", "E11.620"]);
    }

    #[test]
    fn packing_keeps_the_order_of_codes() {
        let mut codes = vec!["A00", "A000", "A001", "A01", "Z9989", "M1A0110", "QA0", "S72001A", "E119", "E11"];
        let mut packed: Vec<u64> = codes.iter().map(|c| pack(c).unwrap()).collect();
        codes.sort_unstable();
        packed.sort_unstable();
        assert_eq!(packed.iter().map(|p| unpack(*p)).collect::<Vec<_>>(), codes);
        assert_eq!(pack("E11.9"), None);
        assert_eq!(pack("E11999999"), None);
    }

    #[test]
    fn order_files_are_read_by_column_and_faults_name_their_line() {
        let line = |n: u32, code: &str, flag: u8, short: &str, long: &str| {
            format!("{n:05} {code:<7} {flag} {short:<60} {long}")
        };
        let long = "Cholera due to Vibrio cholerae 01, biovar cholerae";
        let file = format!(
            "{}\n{}\r\n",
            line(1, "A00", 0, "Cholera", "Cholera"),
            line(2, "A000", 1, "Cholera d/t vib cholerae", long)
        );
        let rows = parse_order_file(file.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[1].code.as_str(), rows[1].billable), ("A000", true));
        assert_eq!(rows[0].short_description, "Cholera");
        assert_eq!(rows[1].long_description, long);
        let bad = file.replace("A000    1", "A000    7");
        assert!(parse_order_file(bad.as_bytes()).unwrap_err().starts_with("line 2:"));
        assert!(parse_order_file(b"").is_err());
        assert!(parse_order_file(b"code,description\nA00,Cholera\n").unwrap_err().starts_with("line 1:"));
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_are_read_or_refused_without_panicking(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let _ = parse_order_file(&bytes);
        }

        #[test]
        fn lines_of_the_right_shape_are_read_back(code in "[A-Z][0-9A-Z]{2,6}", flag in 0u8..2, short in "[ -~]{0,60}") {
            let line = format!("00001 {code:<7} {flag} {short:<60} long words");
            let rows = parse_order_file(line.as_bytes()).unwrap();
            proptest::prop_assert_eq!(&rows[0].code, &code);
            proptest::prop_assert_eq!(rows[0].billable, flag == 1);
            proptest::prop_assert_eq!(&rows[0].short_description, short.trim());
        }
    }

    #[test]
    fn the_nearest_year_stands_in_for_one_not_loaded() {
        let years = Icd10CmYears::shipped();
        assert_eq!(years.for_year(2026).map(|(s, exact)| (s.fiscal_year, exact)), Some((2026, true)));
        assert_eq!(years.for_year(2027).map(|(s, exact)| (s.fiscal_year, exact)), Some((2026, false)));
        assert_eq!(years.for_year(2016).map(|(s, exact)| (s.fiscal_year, exact)), Some((2025, false)));
        let imported = Arc::new(Icd10Cm::new(2027, "import", [("E119", true)]).unwrap());
        let years = years.with(imported);
        assert_eq!(years.for_year(2027).map(|(s, exact)| (s.fiscal_year, exact)), Some((2027, true)));
    }
}
