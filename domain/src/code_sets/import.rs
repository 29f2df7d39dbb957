//! Reads an official CARC or RARC list, as CSV, for `overturn codes import`.
//!
//! The publishers' downloads differ in layout, so columns are found by their header: one
//! whose name contains "code", one containing "desc", and optionally one containing "stop"
//! or "deactivat" (a date or any text marks the code deactivated). Any row that cannot be
//! read refuses the whole file, naming its line: a half-imported list would mislead.

use super::CodeList;

/// The longest description kept; official texts run to a few hundred characters.
pub const MAX_DESCRIPTION: usize = 4000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedCode {
    pub code: String,
    pub description: String,
    /// The stop date or note, when the list marks the code deactivated.
    pub stopped: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("the file is empty")]
    Empty,
    #[error("the header row needs a column named like \"code\" and one like \"description\" (found: {0})")]
    Header(String),
    #[error("{}", .0.join("; "))]
    Rows(Vec<String>),
}

pub fn parse_csv(input: &[u8], list: CodeList) -> Result<Vec<ImportedCode>, ImportError> {
    let input = input.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(input);
    let mut reader = csv::ReaderBuilder::new().flexible(true).has_headers(true).from_reader(input);
    let headers = match reader.headers() {
        Ok(h) if !(h.is_empty() || h.len() == 1 && h[0].trim().is_empty()) => h.clone(),
        Ok(_) => return Err(ImportError::Empty),
        Err(e) => return Err(ImportError::Header(e.to_string())),
    };
    let find = |needles: &[&str]| {
        headers.iter().position(|h| {
            let h = h.to_ascii_lowercase();
            needles.iter().any(|n| h.contains(n))
        })
    };
    let (Some(code_at), Some(description_at)) = (find(&["code"]), find(&["desc"])) else {
        return Err(ImportError::Header(headers.iter().collect::<Vec<_>>().join(", ")));
    };
    let stop_at = find(&["stop", "deactivat"]);

    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(format!("line {line}: {e}"));
                continue;
            }
        };
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let code = record.get(code_at).unwrap_or("").trim().to_ascii_uppercase();
        let description = record.get(description_at).unwrap_or("").trim();
        if !list.is_well_formed(&code) {
            errors.push(format!("line {line}: {code:?} is not a {} code", list.as_str().to_uppercase()));
        } else if description.is_empty() {
            errors.push(format!("line {line}: code {code} has no description"));
        } else if description.chars().count() > MAX_DESCRIPTION {
            errors.push(format!("line {line}: the description of {code} is longer than {MAX_DESCRIPTION} characters"));
        } else if !seen.insert(code.clone()) {
            errors.push(format!("line {line}: code {code} appears twice"));
        } else {
            let stopped = stop_at.and_then(|at| record.get(at)).map(str::trim).filter(|s| !s.is_empty());
            rows.push(ImportedCode { code, description: description.to_owned(), stopped: stopped.map(str::to_owned) });
        }
        if errors.len() >= 10 {
            errors.push("…".to_owned());
            break;
        }
    }
    if !errors.is_empty() {
        return Err(ImportError::Rows(errors));
    }
    if rows.is_empty() {
        return Err(ImportError::Empty);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn reads_columns_by_header_with_quotes_and_stop_dates() {
        let csv = "\u{feff}Code,Start Date,Description,Stop Date\n45,1995-01-01,\"Charge exceeds fee schedule, per contract\",\nA2,1995-01-01,Contractual adjustment,2007-01-01\n\n";
        let rows = parse_csv(csv.as_bytes(), CodeList::Carc).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].description, "Charge exceeds fee schedule, per contract");
        assert_eq!(rows[0].stopped, None);
        assert_eq!(rows[1].stopped.as_deref(), Some("2007-01-01"));
    }

    #[test]
    fn refuses_the_whole_file_naming_lines() {
        let csv = "code,description\n45,ok\nMA130,not a CARC\n16,\n45,again\n";
        let ImportError::Rows(errors) = parse_csv(csv.as_bytes(), CodeList::Carc).unwrap_err() else { panic!() };
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(
            errors[0].starts_with("line 3:") && errors[1].starts_with("line 4:") && errors[2].starts_with("line 5:")
        );
        assert!(matches!(parse_csv(b"id,text\n45,x\n", CodeList::Carc), Err(ImportError::Header(_))));
        assert_eq!(parse_csv(b"", CodeList::Carc), Err(ImportError::Empty));
        assert_eq!(parse_csv(b"code,description\n", CodeList::Rarc), Err(ImportError::Empty));
    }

    proptest! {
        #[test]
        fn never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse_csv(&bytes, CodeList::Carc);
            let _ = parse_csv(&bytes, CodeList::Rarc);
        }

        #[test]
        fn what_is_written_is_read_back(codes in prop::collection::btree_map("N[0-9]{1,3}", "[ -~]{1,60}", 1..20)) {
            let mut writer = csv::Writer::from_writer(Vec::new());
            writer.write_record(["Code", "Description"]).unwrap();
            for (code, text) in &codes {
                writer.write_record([code, text]).unwrap();
            }
            let bytes = writer.into_inner().unwrap();
            let wanted: Vec<_> = codes.iter().filter(|(_, t)| !t.trim().is_empty()).collect();
            match parse_csv(&bytes, CodeList::Rarc) {
                Ok(rows) => {
                    prop_assert_eq!(rows.len(), wanted.len());
                    for (row, (code, text)) in rows.iter().zip(wanted) {
                        prop_assert_eq!(&row.code, code);
                        prop_assert_eq!(&row.description, text.trim());
                    }
                }
                Err(_) => prop_assert!(codes.values().any(|t| t.trim().is_empty())),
            }
        }
    }
}
