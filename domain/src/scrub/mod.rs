//! The claim scrubber: the edits a payer's front door would make, made before the claim goes.
//! Pure and fast: the code sets come in (`CodeSets`, loaded and cached by the service), the
//! edits go out, each naming its code, severity, field, message, and the set and version that
//! made it.

pub mod icd10cm;
pub mod ncci;
pub mod ncci_files;
pub mod places;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::claim::ClaimDraft;
use crate::x12::claim837::ClaimFields;
use icd10cm::{Found, ICD10_FROM, Icd10CmYears, fiscal_year_of};
use ncci::{Billed, MueSet, PtpSet};
use places::Place;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Refuses the claim (unless the caller asked to be warned only).
    Error,
    Warning,
}

/// The code set, and its version, behind an edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub set: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edit {
    pub code: String,
    pub severity: Severity,
    /// Where in the claim body: `diagnosis_codes[0]`, `lines[1].procedure_code`, …
    pub field: String,
    pub message: String,
    pub source: Source,
}

impl Edit {
    fn new(code: &str, severity: Severity, field: String, message: String, set: &str, version: &str) -> Self {
        Self {
            code: code.to_owned(),
            severity,
            field,
            message,
            source: Source { set: set.to_owned(), version: version.to_owned() },
        }
    }
}

/// HCPCS Level II codes and when each is in force (CMS's quarterly file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HcpcsSet {
    pub version: String,
    /// Code → (in force from, terminated on; `None` while in force).
    codes: HashMap<String, (NaiveDate, Option<NaiveDate>)>,
}

impl HcpcsSet {
    pub fn new(
        version: impl Into<String>,
        codes: impl IntoIterator<Item = (String, NaiveDate, Option<NaiveDate>)>,
    ) -> Self {
        Self { version: version.into(), codes: codes.into_iter().map(|(c, from, to)| (c, (from, to))).collect() }
    }

    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// `Ok` when in force on `on`; else when it is (from, terminated), or `None` if unknown.
    fn in_force(&self, code: &str, on: NaiveDate) -> Result<(), Option<(NaiveDate, Option<NaiveDate>)>> {
        match self.codes.get(code) {
            Some(&(from, to)) if from <= on && to.is_none_or(|to| on < to) => Ok(()),
            Some(&span) => Err(Some(span)),
            None => Err(None),
        }
    }
}

/// Every set the scrubber consults. ICD-10-CM is always there (shipped); the others are
/// whatever was imported.
#[derive(Debug, Clone, Default)]
pub struct CodeSets {
    pub icd10cm: Icd10CmYears,
    pub hcpcs: Option<Arc<HcpcsSet>>,
    pub ptp: Option<Arc<PtpSet>>,
    pub mue: Option<Arc<MueSet>>,
}

impl CodeSets {
    pub fn shipped() -> Self {
        Self { icd10cm: Icd10CmYears::shipped(), ..Self::default() }
    }
}

/// A service line as the scrubber reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScrubLine<'a> {
    pub procedure_code: Option<&'a str>,
    pub modifiers: Vec<&'a str>,
    pub units: Decimal,
    pub service_date: NaiveDate,
    pub place_of_service: Option<&'a str>,
    /// 1-based, into the claim's diagnoses.
    pub diagnosis_pointers: &'a [u8],
}

/// A claim as the scrubber reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScrubClaim<'a> {
    pub service_date: NaiveDate,
    /// An institutional claim's statement period, which holds every line's date.
    pub statement_period: Option<(NaiveDate, NaiveDate)>,
    /// ICD-10-CM codes (ICD-9 ones for services before 2015-10-01 are not checked here).
    pub diagnoses: Vec<&'a str>,
    pub place_of_service: Option<&'a str>,
    pub lines: Vec<ScrubLine<'a>>,
}

impl<'a> ScrubClaim<'a> {
    /// The scrubber's view of a parsed claim and its 837 fields, if it has them.
    pub fn of(draft: &'a ClaimDraft, fields: Option<&'a ClaimFields>) -> Self {
        let lines = draft
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let extra = fields.and_then(|f| f.lines.get(i));
                ScrubLine {
                    procedure_code: l.procedure_code.as_ref().map(|c| c.as_str()),
                    modifiers: l.modifiers.iter().map(|m| m.as_str()).collect(),
                    units: l.units,
                    service_date: l.service_date,
                    place_of_service: extra.and_then(|e| e.place_of_service.as_deref()),
                    diagnosis_pointers: extra.map_or(&[][..], |e| &e.diagnosis_pointers),
                }
            })
            .collect();
        Self {
            service_date: draft.service_date,
            statement_period: fields.and_then(|f| f.statement_period),
            diagnoses: draft.diagnosis_codes.iter().map(|d| d.as_str()).collect(),
            place_of_service: fields.and_then(|f| f.place_of_service.as_deref()),
            lines,
        }
    }

    /// The dates each diagnosis is coded for: those of the lines pointing at it, or, when no
    /// line points anywhere, of every line and the claim.
    fn dates_of_diagnoses(&self) -> Vec<Vec<NaiveDate>> {
        let mut dates = vec![Vec::new(); self.diagnoses.len()];
        let pointed = self.lines.iter().any(|l| !l.diagnosis_pointers.is_empty());
        for (d, out) in dates.iter_mut().enumerate() {
            if pointed {
                let n = (d + 1) as u8;
                out.extend(self.lines.iter().filter(|l| l.diagnosis_pointers.contains(&n)).map(|l| l.service_date));
            } else {
                out.extend(self.lines.iter().map(|l| l.service_date));
            }
            if out.is_empty() {
                out.push(self.service_date);
            }
        }
        dates
    }
}

/// Every edit of `claim` against `sets`, errors and warnings, in the claim's order.
pub fn scrub(claim: &ScrubClaim<'_>, sets: &CodeSets) -> Vec<Edit> {
    let mut edits = Vec::new();
    diagnoses(claim, &sets.icd10cm, &mut edits);
    procedures(claim, sets.hcpcs.as_deref(), &mut edits);
    places_of_service(claim, &mut edits);
    consistency(claim, &mut edits);
    if let Some(ptp) = sets.ptp.as_deref().filter(|s| !s.is_empty()) {
        pairs(claim, ptp, &mut edits);
    }
    if let Some(mue) = sets.mue.as_deref().filter(|s| !s.is_empty()) {
        units(claim, mue, &mut edits);
    }
    edits
}

fn diagnoses(claim: &ScrubClaim<'_>, years: &Icd10CmYears, edits: &mut Vec<Edit>) {
    let mut warned: Vec<i32> = Vec::new();
    for (d, dates) in claim.dates_of_diagnoses().into_iter().enumerate() {
        let code = claim.diagnoses[d];
        let mut fiscal: Vec<i32> = dates.into_iter().filter(|date| *date >= ICD10_FROM).map(fiscal_year_of).collect();
        fiscal.sort_unstable();
        fiscal.dedup();
        for year in fiscal {
            let Some((set, exact)) = years.for_year(year) else { continue };
            let field = format!("diagnosis_codes[{d}]");
            if !exact && !warned.contains(&year) {
                warned.push(year);
                edits.push(Edit::new(
                    "ICD10_YEAR_NOT_LOADED",
                    Severity::Warning,
                    "diagnosis_codes".into(),
                    format!(
                        "no ICD-10-CM code set is loaded for FY{year}: its dates of service were checked against FY{}, the nearest; import FY{year} with `overturn codes import icd10cm FILE --fiscal-year {year}`",
                        set.fiscal_year
                    ),
                    "icd10cm",
                    &set.version,
                ));
            }
            match set.find(code) {
                Found::Billable => {}
                Found::Header => {
                    let leaves = set.billable_under(code, 3);
                    edits.push(Edit::new(
                        "ICD10_NOT_BILLABLE",
                        Severity::Error,
                        field,
                        format!(
                            "{code} is a header in FY{}, not billable: code it to the most specific level{}",
                            set.fiscal_year,
                            if leaves.is_empty() { String::new() } else { format!(", such as {}", leaves.join(", ")) }
                        ),
                        "icd10cm",
                        &set.version,
                    ));
                }
                Found::Absent => {
                    let elsewhere: Vec<i32> =
                        years.years().filter(|s| s.find(code) != Found::Absent).map(|s| s.fiscal_year).collect();
                    let (kind, message) = match (elsewhere.first(), elsewhere.last()) {
                        (_, Some(&last)) if last < set.fiscal_year => (
                            "ICD10_DELETED",
                            format!("{code} was deleted: it is valid through FY{last}, not in FY{}", set.fiscal_year),
                        ),
                        (Some(&first), _) if first > set.fiscal_year => (
                            "ICD10_NOT_YET_VALID",
                            format!("{code} is valid from FY{first}, not yet in FY{}", set.fiscal_year),
                        ),
                        _ => ("ICD10_UNKNOWN", format!("{code} is not an ICD-10-CM code in FY{}", set.fiscal_year)),
                    };
                    // Checked against another year's set, absence may only mean the code is new.
                    let severity = if exact { Severity::Error } else { Severity::Warning };
                    edits.push(Edit::new(kind, severity, field, message, "icd10cm", &set.version));
                }
            }
        }
    }
}

fn procedures(claim: &ScrubClaim<'_>, hcpcs: Option<&HcpcsSet>, edits: &mut Vec<Edit>) {
    let Some(set) = hcpcs.filter(|s| !s.is_empty()) else { return };
    for (i, line) in claim.lines.iter().enumerate() {
        // CPT (numeric) is licensed: its format was checked when the claim was parsed.
        let Some(code) = line.procedure_code.filter(|c| c.starts_with(|c: char| c.is_ascii_uppercase())) else {
            continue;
        };
        let message = match set.in_force(code, line.service_date) {
            Ok(()) => continue,
            Err(None) => format!("{code} is not a HCPCS Level II code"),
            Err(Some((from, _))) if line.service_date < from => {
                format!("{code} is in force from {from}, after the date of service {}", line.service_date)
            }
            Err(Some((_, to))) => format!(
                "{code} was terminated{}, before the date of service {}",
                to.map(|t| format!(" on {t}")).unwrap_or_default(),
                line.service_date
            ),
        };
        edits.push(Edit::new(
            "HCPCS_NOT_IN_FORCE",
            Severity::Error,
            format!("lines[{i}].procedure_code"),
            message,
            "hcpcs",
            &set.version,
        ));
    }
}

fn places_of_service(claim: &ScrubClaim<'_>, edits: &mut Vec<Edit>) {
    let check = |code: &str, on: NaiveDate, field: String, edits: &mut Vec<Edit>| {
        let message = match places::place(code, on) {
            Place::Known(_) => return,
            Place::NotYet(from) => {
                format!("place of service {code} is in use from {from}, after the date of service {on}")
            }
            Place::Unassigned => format!("{code} is not an assigned place of service code"),
        };
        edits.push(Edit::new("POS_INVALID", Severity::Error, field, message, "pos", places::VERSION));
    };
    if let Some(code) = claim.place_of_service {
        check(code, claim.service_date, "place_of_service".into(), edits);
    }
    for (i, line) in claim.lines.iter().enumerate() {
        if let Some(code) = line.place_of_service {
            check(code, line.service_date, format!("lines[{i}].place_of_service"), edits);
        }
    }
}

/// The version the claim's own consistency edits name.
pub const CONSISTENCY_VERSION: &str = "overturn 1";

fn consistency(claim: &ScrubClaim<'_>, edits: &mut Vec<Edit>) {
    let mut push = |code: &str, severity, field: String, message: String| {
        edits.push(Edit::new(code, severity, field, message, "claim", CONSISTENCY_VERSION));
    };
    for (i, line) in claim.lines.iter().enumerate() {
        for (k, &p) in line.diagnosis_pointers.iter().enumerate() {
            if p == 0 || usize::from(p) > claim.diagnoses.len() {
                push(
                    "POINTER_WITHOUT_DIAGNOSIS",
                    Severity::Error,
                    format!("lines[{i}].diagnosis_pointers[{k}]"),
                    format!("points at diagnosis {p}, but the claim has {}", claim.diagnoses.len()),
                );
            }
        }
        match claim.statement_period {
            Some((from, to)) if line.service_date < from || line.service_date > to => push(
                "LINE_DATE_OUTSIDE_CLAIM",
                Severity::Error,
                format!("lines[{i}].service_date"),
                format!("{} is outside the statement period {from} to {to}", line.service_date),
            ),
            None if line.service_date < claim.service_date => push(
                "LINE_DATE_OUTSIDE_CLAIM",
                Severity::Warning,
                format!("lines[{i}].service_date"),
                format!("{} is before the claim's date of service {}", line.service_date, claim.service_date),
            ),
            _ => {}
        }
        for (k, m) in line.modifiers.iter().enumerate() {
            let field = format!("lines[{i}].modifiers[{k}]");
            if line.modifiers[..k].contains(m) {
                push("MODIFIER_REPEATED", Severity::Error, field, format!("{m} is already on this line"));
            } else if line.procedure_code.is_none() {
                push("MODIFIER_WITHOUT_CODE", Severity::Error, field, format!("{m} modifies no procedure code"));
            } else if line.procedure_code.is_some_and(|c| c.ends_with('F')) && !matches!(*m, "1P" | "2P" | "3P" | "8P")
            {
                push(
                    "MODIFIER_NOT_FOR_CODE",
                    Severity::Error,
                    field,
                    format!("{m} cannot modify a CPT category II code: only 1P, 2P, 3P and 8P can"),
                );
            }
        }
    }
}

fn billed<'a>(claim: &'a ScrubClaim<'a>) -> Vec<Billed<'a>> {
    claim
        .lines
        .iter()
        .enumerate()
        .filter_map(|(index, l)| {
            let code = l.procedure_code?;
            Some(Billed {
                index,
                code,
                packed: ncci::pack(code)?,
                modifiers: &l.modifiers,
                units: l.units,
                date: l.service_date,
            })
        })
        .collect()
}

fn pairs(claim: &ScrubClaim<'_>, set: &PtpSet, edits: &mut Vec<Edit>) {
    let lines = billed(claim);
    for hit in ncci::pair_hits(set, &lines) {
        let (c1, c2) = (claim.lines[hit.column1_line].procedure_code, claim.lines[hit.column2_line].procedure_code);
        let (c1, c2) = (c1.unwrap_or_default(), c2.unwrap_or_default());
        let why = if hit.indicator == 0 {
            "never billed together on one date (modifier indicator 0)".to_owned()
        } else {
            "billed together on one date without a modifier that shows distinct services (59, XE, XP, XS, XU, 25, …)"
                .to_owned()
        };
        edits.push(Edit::new(
            "NCCI_PTP",
            Severity::Error,
            format!("lines[{}].procedure_code", hit.column2_line),
            format!("{c2} is a column 2 code of {c1} (line {}): {why}", hit.column1_line + 1),
            "ncci_ptp",
            &set.version,
        ));
    }
}

fn units(claim: &ScrubClaim<'_>, set: &MueSet, edits: &mut Vec<Edit>) {
    let lines = billed(claim);
    for hit in ncci::units_hits(set, &lines) {
        let code = claim.lines[hit.line].procedure_code.unwrap_or_default();
        let per = if hit.indicator == 1 { "on one line" } else { "on one date of service" };
        edits.push(Edit::new(
            "MUE_UNITS",
            Severity::Error,
            format!("lines[{}].units", hit.line),
            format!("{} units of {code} {per}: the medically unlikely edit allows {}", hit.billed, hit.limit),
            "mue",
            &set.version,
        ));
    }
}
