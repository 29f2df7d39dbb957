//! CMS's quarterly NCCI files as users download them (the project ships none: they hold CPT):
//! the practitioner PTP table and the practitioner MUE table, tab-separated (the MUE table also
//! as CSV). Lines before the first row of codes (the notice and column titles) are skipped;
//! after it, every line must be a row, and a fault names its line.

use chrono::NaiveDate;

use super::ncci::{MAX_STORED_ROWS, PtpEdit, pack};

fn fields(line: &str) -> Vec<&str> {
    let sep = if line.contains('\t') { '\t' } else { ',' };
    line.split(sep).map(|f| f.trim().trim_matches('"').trim()).collect()
}

/// A row starts with a code; a title or notice line does not.
fn is_row(fields: &[&str]) -> bool {
    fields.first().is_some_and(|f| pack(f).is_some())
}

fn date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y%m%d").ok()
}

fn text_of(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(t) => t.to_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// The rows of a table: the lines from the first one that starts with a code, each with at
/// least `min_fields` fields (`expected` names them), read by `row`; a fault names its line.
fn read_rows<T>(
    bytes: &[u8],
    table: &str,
    min_fields: usize,
    expected: &str,
    row: impl Fn(&[&str]) -> Result<T, String>,
) -> Result<Vec<T>, String> {
    let text = text_of(bytes);
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let f = fields(line);
        if (rows.is_empty() && !is_row(&f)) || line.trim().is_empty() {
            continue;
        }
        if rows.len() >= MAX_STORED_ROWS {
            return Err(format!("more than {MAX_STORED_ROWS} rows: this is not {table}"));
        }
        if f.len() < min_fields {
            return Err(format!("line {}: expected {expected}", i + 1));
        }
        rows.push(row(&f).map_err(|e| format!("line {}: {e}", i + 1))?);
    }
    if rows.is_empty() {
        return Err(format!("the file holds no rows of {table} ({expected})"));
    }
    Ok(rows)
}

fn code_of(text: &str) -> Result<String, String> {
    pack(text).map(|_| text.to_owned()).ok_or_else(|| format!("{text:?} is not a CPT or HCPCS code"))
}

/// The practitioner PTP table: column 1, column 2, `*` when in existence before 1996,
/// effective date, deletion date (`*` for none), modifier indicator (0, 1, 9), rationale.
pub fn parse_ptp(bytes: &[u8]) -> Result<Vec<PtpEdit>, String> {
    let expected = "column 1, column 2, prior to 1996, effective date, deletion date, modifier indicator";
    read_rows(bytes, "a PTP table", 6, expected, |f| {
        let effective = date(f[3]).ok_or_else(|| format!("effective date {:?} is not YYYYMMDD", f[3]))?;
        let deleted = match f[4] {
            "*" | "" => None,
            d => Some(date(d).ok_or_else(|| format!("deletion date {d:?} is not YYYYMMDD or *"))?),
        };
        let indicator = match f[5] {
            "0" => 0,
            "1" => 1,
            "9" => 9,
            other => return Err(format!("modifier indicator {other:?} is not 0, 1 or 9")),
        };
        Ok(PtpEdit { column1: code_of(f[0])?, column2: code_of(f[1])?, effective, deleted, indicator })
    })
}

/// The practitioner MUE table: code, MUE value, adjudication indicator (its text starts with
/// 1, 2 or 3: "2 Date of Service Edit: Policy"), rationale.
pub fn parse_mue(bytes: &[u8]) -> Result<Vec<(String, u32, u8)>, String> {
    read_rows(bytes, "an MUE table", 3, "code, MUE value, adjudication indicator", |f| {
        let code = code_of(f[0])?;
        let value: u32 = f[1].parse().map_err(|_| format!("MUE value {:?} is not a whole number", f[1]))?;
        let mai = match f[2].chars().next() {
            Some(c @ '1'..='3') => c as u8 - b'0',
            _ => return Err(format!("adjudication indicator {:?} does not start with 1, 2 or 3", f[2])),
        };
        Ok((code, value, mai))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ptp_rows_follow_the_notice_and_faults_name_their_line() {
        let file = "CPT codes and descriptions only are copyright AMA\n\
                    Column 1\tColumn 2\t*=in existence prior to 1996\tEffective Date\tDeletion Date *=no data\tModifier 0=not allowed 1=allowed 9=not applicable\tPTP Edit Rationale\n\
                    80053\t82947\t*\t19960101\t*\t0\tPanel\n\
                    20610\t76942\t\t20150101\t20260101\t1\tStandards of medical / surgical practice\n";
        let rows = parse_ptp(file.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].column1.as_str(), rows[0].indicator, rows[0].deleted), ("80053", 0, None));
        assert_eq!(rows[1].deleted, NaiveDate::from_ymd_opt(2026, 1, 1));
        let bad = file.replace("\t1\tStandards", "\t5\tStandards");
        assert!(parse_ptp(bad.as_bytes()).unwrap_err().starts_with("line 4:"));
        assert!(parse_ptp(b"just a notice\n").is_err());
    }

    #[test]
    fn mue_rows_take_tabs_or_commas() {
        let tabs = "HCPCS/CPT Code\tPractitioner Services MUE Values\tMUE Adjudication Indicator\tMUE Rationale\n\
                    99213\t1\t2 Date of Service Edit: Policy\tNature of Service/Procedure\n";
        assert_eq!(parse_mue(tabs.as_bytes()).unwrap(), [("99213".to_owned(), 1, 2)]);
        let commas = "\"HCPCS/CPT Code\",\"MUE Values\",\"MAI\",\"Rationale\"\n\"J1885\",\"8\",\"1 Line Edit\",\"x\"\n";
        assert_eq!(parse_mue(commas.as_bytes()).unwrap(), [("J1885".to_owned(), 8, 1)]);
        assert!(parse_mue("99213\tmany\t2\n".as_bytes()).unwrap_err().starts_with("line 1:"));
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_are_read_or_refused_without_panicking(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let _ = parse_ptp(&bytes);
            let _ = parse_mue(&bytes);
        }
    }
}
