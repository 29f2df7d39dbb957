use std::sync::Arc;

use chrono::NaiveDate;
use proptest::prelude::*;
use rust_decimal::Decimal;

use super::ncci::{MueSet, PtpEdit, PtpSet};
use super::*;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn line<'a>(code: &'a str, date: NaiveDate, pointers: &'a [u8]) -> ScrubLine<'a> {
    ScrubLine {
        procedure_code: Some(code),
        modifiers: Vec::new(),
        units: Decimal::ONE,
        service_date: date,
        place_of_service: None,
        diagnosis_pointers: pointers,
    }
}

fn claim<'a>(diagnoses: &[&'a str], lines: Vec<ScrubLine<'a>>) -> ScrubClaim<'a> {
    ScrubClaim {
        service_date: lines.first().map_or(day(2026, 3, 2), |l| l.service_date),
        statement_period: None,
        diagnoses: diagnoses.to_vec(),
        place_of_service: Some("11"),
        lines,
    }
}

fn codes(edits: &[Edit]) -> Vec<(&str, &str, Severity)> {
    edits.iter().map(|e| (e.code.as_str(), e.field.as_str(), e.severity)).collect()
}

#[test]
fn a_clean_claim_has_no_edits() {
    let c =
        claim(&["E11.9", "I10"], vec![line("99213", day(2026, 3, 2), &[1, 2]), line("36415", day(2026, 3, 2), &[1])]);
    assert_eq!(scrub(&c, &CodeSets::shipped()), []);
}

#[test]
fn headers_unknown_deleted_and_new_codes_are_named_by_fiscal_year() {
    // E11 is a header; E11.99 exists in no year; QA0.0101 is new in FY2026.
    let c = claim(&["E11", "E11.99", "QA0.0101"], vec![line("99213", day(2025, 9, 30), &[1, 2, 3])]);
    let edits = scrub(&c, &CodeSets::shipped());
    assert_eq!(
        codes(&edits),
        [
            ("ICD10_NOT_BILLABLE", "diagnosis_codes[0]", Severity::Error),
            ("ICD10_UNKNOWN", "diagnosis_codes[1]", Severity::Error),
            ("ICD10_NOT_YET_VALID", "diagnosis_codes[2]", Severity::Error),
        ]
    );
    assert!(edits[0].message.contains("such as E11.00"), "{}", edits[0].message);
    assert_eq!(
        edits[0].source,
        Source { set: "icd10cm".into(), version: "FY2025 (April 2025 release, shipped)".into() }
    );
    assert!(edits[2].message.contains("valid from FY2026"), "{}", edits[2].message);
    // The day after, FY2026: the new code is billable.
    let c = claim(&["QA0.0101"], vec![line("99213", day(2025, 10, 1), &[1])]);
    assert_eq!(scrub(&c, &CodeSets::shipped()), []);
}

#[test]
fn a_code_deleted_since_is_named_as_deleted() {
    let years = icd10cm::Icd10CmYears::default()
        .with(Arc::new(icd10cm::Icd10Cm::new(2025, "a", [("E119", true), ("E1165", true)]).unwrap()))
        .with(Arc::new(icd10cm::Icd10Cm::new(2026, "b", [("E119", true)]).unwrap()));
    let sets = CodeSets { icd10cm: years, ..CodeSets::default() };
    let c = claim(&["E11.65"], vec![line("99213", day(2026, 3, 2), &[1])]);
    let edits = scrub(&c, &sets);
    assert_eq!(codes(&edits), [("ICD10_DELETED", "diagnosis_codes[0]", Severity::Error)]);
    assert!(edits[0].message.contains("valid through FY2025"), "{}", edits[0].message);
}

#[test]
fn a_year_not_loaded_falls_back_with_a_warning_and_never_refuses_for_absence() {
    // FY2027 (from 2026-10-01) is not shipped: checked against FY2026.
    let c = claim(&["E11.9", "Z99.999", "E11"], vec![line("99213", day(2026, 11, 2), &[1, 2, 3])]);
    let edits = scrub(&c, &CodeSets::shipped());
    assert_eq!(
        codes(&edits),
        [
            ("ICD10_YEAR_NOT_LOADED", "diagnosis_codes", Severity::Warning),
            ("ICD10_UNKNOWN", "diagnosis_codes[1]", Severity::Warning),
            ("ICD10_NOT_BILLABLE", "diagnosis_codes[2]", Severity::Error),
        ]
    );
    assert!(edits[0].message.contains("FY2027") && edits[0].message.contains("FY2026"), "{}", edits[0].message);
}

#[test]
fn each_diagnosis_is_checked_in_the_years_of_the_lines_that_point_at_it() {
    // QA0.0101 points only from a FY2026 line: fine; the FY2025 line points at E11.9.
    let c = claim(
        &["E11.9", "QA0.0101"],
        vec![line("99213", day(2025, 9, 29), &[1]), line("99213", day(2025, 10, 6), &[2])],
    );
    assert_eq!(scrub(&c, &CodeSets::shipped()), []);
    // Before ICD-10, nothing is checked against ICD-10-CM.
    let c = claim(&["250.00"], vec![line("99213", day(2015, 9, 30), &[1])]);
    assert!(scrub(&c, &CodeSets::shipped()).iter().all(|e| e.source.set != "icd10cm"));
}

#[test]
fn pointers_dates_modifiers_and_places_are_checked() {
    let mut c = claim(&["E11.9"], vec![line("99213", day(2026, 3, 2), &[1, 2]), line("0001F", day(2026, 3, 1), &[1])]);
    c.lines[0].modifiers = vec!["25", "25"];
    c.lines[1].modifiers = vec!["59"];
    c.lines[1].place_of_service = Some("35");
    c.place_of_service = Some("27");
    c.service_date = day(2023, 9, 30);
    c.lines[0].service_date = day(2023, 9, 30);
    c.lines[1].service_date = day(2023, 9, 29);
    let edits = scrub(&c, &CodeSets::shipped());
    let found: Vec<(&str, &str)> = edits.iter().map(|e| (e.code.as_str(), e.field.as_str())).collect();
    for expected in [
        ("POS_INVALID", "place_of_service"),
        ("POS_INVALID", "lines[1].place_of_service"),
        ("POINTER_WITHOUT_DIAGNOSIS", "lines[0].diagnosis_pointers[1]"),
        ("MODIFIER_REPEATED", "lines[0].modifiers[1]"),
        ("LINE_DATE_OUTSIDE_CLAIM", "lines[1].service_date"),
        ("MODIFIER_NOT_FOR_CODE", "lines[1].modifiers[0]"),
    ] {
        assert!(found.contains(&expected), "{expected:?} in {found:?}");
    }
    // An institutional statement period holds its lines' dates: outside it is an error.
    let mut c = claim(&["E11.9"], vec![line("99213", day(2026, 3, 2), &[1])]);
    c.statement_period = Some((day(2026, 3, 3), day(2026, 3, 5)));
    assert_eq!(
        codes(&scrub(&c, &CodeSets::shipped())),
        [("LINE_DATE_OUTSIDE_CLAIM", "lines[0].service_date", Severity::Error)]
    );
}

#[test]
fn ncci_pairs_mue_units_and_hcpcs_dates_refuse_lines() {
    let ptp = PtpSet::new(
        "2026Q1",
        [PtpEdit {
            column1: "80053".into(),
            column2: "82947".into(),
            effective: day(2020, 1, 1),
            deleted: None,
            indicator: 0,
        }],
    )
    .unwrap();
    let mue = MueSet::new("2026Q1", [("99213", 1, 2)]).unwrap();
    let hcpcs = HcpcsSet::new("2026 January", [("J1885".to_owned(), day(2000, 1, 1), Some(day(2026, 1, 1)))]);
    let sets = CodeSets {
        ptp: Some(Arc::new(ptp)),
        mue: Some(Arc::new(mue)),
        hcpcs: Some(Arc::new(hcpcs)),
        ..CodeSets::shipped()
    };
    let d = day(2026, 3, 2);
    let mut c = claim(
        &["E11.9"],
        vec![line("80053", d, &[1]), line("82947", d, &[1]), line("99213", d, &[1]), line("J1885", d, &[1])],
    );
    c.lines[2].units = Decimal::from(5);
    let edits = scrub(&c, &sets);
    assert_eq!(
        codes(&edits),
        [
            ("HCPCS_NOT_IN_FORCE", "lines[3].procedure_code", Severity::Error),
            ("NCCI_PTP", "lines[1].procedure_code", Severity::Error),
            ("MUE_UNITS", "lines[2].units", Severity::Error),
        ]
    );
    assert!(edits[1].message.contains("82947 is a column 2 code of 80053 (line 1)"), "{}", edits[1].message);
    assert_eq!(edits[1].source, Source { set: "ncci_ptp".into(), version: "2026Q1".into() });
    assert!(edits[2].message.contains("5 units of 99213"), "{}", edits[2].message);
    assert!(edits[0].message.contains("terminated on 2026-01-01"), "{}", edits[0].message);
}

proptest! {
    /// Whatever the codes, dates, pointers and modifiers, the scrubber answers with edits
    /// whose fields name a part of the claim, never a panic.
    #[test]
    fn any_claim_is_scrubbed_without_panicking(
        diagnoses in proptest::collection::vec("[A-Z][0-9A-Z]{2}[0-9A-Z]{0,4}", 0..14),
        lines in proptest::collection::vec(
            ("[0-9A-Z]{5}", proptest::collection::vec("[0-9A-Z]{2}", 0..5), 1u32..1000, 0i64..4000, proptest::collection::vec(0u8..15, 0..5), proptest::option::of("[0-9]{2}")),
            0..8
        ),
    ) {
        let start = day(2015, 1, 1);
        type Line = (String, Vec<String>, u32, NaiveDate, Vec<u8>, Option<String>);
        let built: Vec<Line> = lines
            .into_iter()
            .map(|(code, mods, units, offset, pointers, pos)| (code, mods, units, start + chrono::Duration::days(offset), pointers, pos))
            .collect();
        let claim = ScrubClaim {
            service_date: built.first().map_or(start, |l| l.3),
            statement_period: None,
            diagnoses: diagnoses.iter().map(String::as_str).collect(),
            place_of_service: None,
            lines: built
                .iter()
                .map(|(code, mods, units, date, pointers, pos)| ScrubLine {
                    procedure_code: Some(code.as_str()),
                    modifiers: mods.iter().map(String::as_str).collect(),
                    units: Decimal::from(*units),
                    service_date: *date,
                    place_of_service: pos.as_deref(),
                    diagnosis_pointers: pointers,
                })
                .collect(),
        };
        let sets = CodeSets { mue: Some(Arc::new(MueSet::new("t", [("99213", 1, 1)]).unwrap())), ..CodeSets::shipped() };
        for edit in scrub(&claim, &sets) {
            prop_assert!(
                edit.field == "diagnosis_codes" || edit.field.starts_with("diagnosis_codes[") || edit.field.starts_with("lines[") || edit.field == "place_of_service",
                "{edit:?}"
            );
            prop_assert!(!edit.message.is_empty());
        }
    }
}
