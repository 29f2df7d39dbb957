//! From an 837's loops to claims: each claim's fields read and checked (codes, NPI, amounts,
//! dates, the hierarchy's parties), into a `ClaimDraft`, or the faults that refuse it, each
//! naming its segment and element. Faults of a billing provider, subscriber or patient loop
//! refuse every claim under that loop.

use chrono::NaiveDate;

use super::super::elements::{amount, ccyymmdd, date};
use super::super::error::{EdiError, Fault};
use super::super::segments::Segment;
use super::{Claim, Context, Format, Level, Loop, TransactionSet};
use crate::claim::{ClaimDraft, FrequencyCode};
use crate::codes::DiagnosisCode;
use crate::{ClaimNumber, MemberId, Money, Npi, PartyName, PayerId, PersonName};

/// ICD-10-CM replaced ICD-9-CM for services from this date.
pub const ICD10_FROM: NaiveDate = NaiveDate::from_ymd_opt(2015, 10, 1).expect("a date");
/// Service lines a claim may have: 50 on an 837P, 999 on an 837I.
pub fn max_lines(format: Format) -> usize {
    match format {
        Format::Professional => 50,
        Format::Institutional => 999,
    }
}

/// One claim of a set: its number as sent, and its draft or the faults that refuse it.
#[derive(Debug, Clone)]
pub struct Projected<'a> {
    pub claim_number: &'a str,
    pub result: Result<ClaimDraft, Vec<EdiError>>,
}

/// Reads every claim of `set`; `today` is the UTC date of receipt (dates after it are refused).
pub fn project<'a>(set: &TransactionSet<'a>, today: NaiveDate) -> Vec<Projected<'a>> {
    let parties: Vec<Party> = set.contexts.iter().map(|c| party(set, c)).collect();
    set.claims
        .iter()
        .map(|claim| {
            let mut faults: Vec<EdiError> = set.errors.clone();
            let ancestry = set.ancestry(claim);
            for &i in &ancestry {
                faults.extend(set.contexts[i].errors.iter().cloned());
                faults.extend(parties[i].faults.iter().cloned());
            }
            faults.extend(claim.errors.iter().cloned());
            let result = if claim.context.is_none() {
                Err(faults)
            } else {
                let view = Parties::of(set, &ancestry, &parties);
                match (read_claim(set, claim, &view, today), faults.is_empty()) {
                    (Ok(draft), true) => Ok(draft),
                    (Ok(_), false) => Err(faults),
                    (Err(more), _) => {
                        faults.extend(more);
                        if faults.is_empty() {
                            let clm =
                                set.loop_of(claim.claim).segments().first().expect("a claim loop starts with its CLM");
                            faults.push(
                                clm.error(None, "the claim's provider, subscriber, payer or patient could not be read"),
                            );
                        }
                        Err(faults)
                    }
                }
            };
            Projected { claim_number: claim.claim_number(), result }
        })
        .collect()
}

/// Collects faults while reading on.
#[derive(Default)]
pub(super) struct Faults(pub(super) Vec<EdiError>);

impl Faults {
    pub(super) fn take<T>(&mut self, result: Result<T, EdiError>) -> Option<T> {
        result.map_err(|e| self.0.push(e)).ok()
    }

    pub(super) fn push(&mut self, e: EdiError) {
        self.0.push(e);
    }
}

/// A required segment is absent: the fault names where it was due (`at`, the loop's first
/// segment) and what is missing.
pub(super) fn missing(at: &Segment<'_>, id: &str, what: &str) -> EdiError {
    EdiError::new(at.index, id, None, format!("{what} is missing")).fault(Fault::MissingSegment)
}

pub(super) fn checked<T, E: std::fmt::Display>(seg: &Segment<'_>, n: usize, r: Result<T, E>) -> Result<T, EdiError> {
    r.map_err(|e| seg.error(Some(n), format!("{:?} {e}", seg.get(n))))
}

/// What a 2000 loop says about the parties, read once for all its claims.
#[derive(Default)]
struct Party {
    faults: Vec<EdiError>,
    provider: Option<(Npi, PartyName)>,
    /// Member id (the subscriber's only), last and first names, birth date.
    member: Option<(Option<MemberId>, PersonName, PersonName, Option<NaiveDate>)>,
    payer: Option<(PayerId, PartyName)>,
    /// SBR02 = 18: the subscriber is the patient.
    subscriber_is_patient: bool,
}

fn party(set: &TransactionSet<'_>, context: &Context<'_>) -> Party {
    let mut f = Faults::default();
    let mut out = Party::default();
    let l = set.loop_of(context.loop_);
    let hl = &context.hl;
    match context.level {
        Level::Billing => match l.child("2010AA").and_then(|c| c.segments().first().map(|s| (c, s))) {
            None => f.push(missing(hl, "NM1", "the billing provider (NM1*85, loop 2010AA)")),
            Some((lp, nm1)) => {
                out.provider = provider(&mut f, nm1);
                for (id, what) in [
                    ("N3", "the billing provider's street address (N3)"),
                    ("N4", "the billing provider's city, state and ZIP code (N4)"),
                ] {
                    if lp.segment(id, &[]).is_none() {
                        f.push(missing(nm1, id, what));
                    }
                }
                if lp.segment("REF", &["EI", "SY"]).is_none() {
                    f.push(missing(nm1, "REF", "the billing provider's tax id (REF*EI or REF*SY)"));
                }
                if let Some(n4) = lp.segment("N4", &[]) {
                    f.take(n4.required(1, "the city").map(|_| ()));
                }
            }
        },
        Level::Subscriber => {
            match l.segment("SBR", &[]) {
                None => f.push(missing(hl, "SBR", "the subscriber information (SBR)")),
                Some(sbr) => {
                    if sbr.get(1).is_empty() {
                        f.push(sbr.error(Some(1), "the payer responsibility code is required").fault(Fault::Missing));
                    } else if !matches!(
                        sbr.get(1),
                        "P" | "S" | "T" | "A" | "B" | "C" | "D" | "E" | "F" | "G" | "H" | "U"
                    ) {
                        f.push(sbr.error(
                            Some(1),
                            format!("{:?} is not a payer responsibility code (P, S, T, A–H, U)", sbr.get(1)),
                        ));
                    }
                    match sbr.get(2) {
                        "18" => out.subscriber_is_patient = true,
                        "" => {}
                        other => f.push(sbr.error(
                            Some(2),
                            format!("{other:?} must be 18 (self) or empty (the patient loop 2000C follows)"),
                        )),
                    }
                }
            }
            match l.child("2010BA").and_then(|c| c.segments().first().map(|s| (c, s))) {
                None => f.push(missing(hl, "NM1", "the subscriber (NM1*IL, loop 2010BA)")),
                Some((lp, nm1)) => out.member = person(&mut f, &lp, nm1, out.subscriber_is_patient),
            }
            match l.child("2010BB").and_then(|c| c.segments().first()) {
                None => f.push(missing(hl, "NM1", "the payer (NM1*PR, loop 2010BB)")),
                Some(nm1) => {
                    let name = f.take(checked(
                        nm1,
                        3,
                        nm1.required(3, "the payer's name").and_then(|n| checked(nm1, 3, PartyName::parse(n))),
                    ));
                    if !matches!(nm1.get(8), "PI" | "XV") {
                        f.push(nm1.error(Some(8), "must be PI (payer id) or XV (CMS plan id)"));
                    }
                    let id = f.take(nm1.required(9, "the payer id").and_then(|v| checked(nm1, 9, PayerId::parse(v))));
                    out.payer = id.zip(name);
                }
            }
        }
        Level::Patient => {
            if l.segment("PAT", &[]).is_none_or(|p| p.get(1).is_empty()) {
                f.push(missing(hl, "PAT", "the patient's relationship to the subscriber (PAT01)"));
            }
            match l.child("2010CA").and_then(|c| c.segments().first().map(|s| (c, s))) {
                None => f.push(missing(hl, "NM1", "the patient (NM1*QC, loop 2010CA)")),
                Some((lp, nm1)) => out.member = person(&mut f, &lp, nm1, true),
            }
        }
    }
    out.faults = f.0;
    out
}

fn name_of(nm1: &Segment<'_>) -> String {
    if nm1.get(2) == "1" && !nm1.get(4).is_empty() {
        format!("{} {}", nm1.get(4), nm1.get(3))
    } else {
        nm1.get(3).to_owned()
    }
}

fn provider(f: &mut Faults, nm1: &Segment<'_>) -> Option<(Npi, PartyName)> {
    if !matches!(nm1.get(2), "1" | "2") {
        f.push(nm1.error(Some(2), "must be 1 (person) or 2 (organization)"));
    }
    let name =
        f.take(nm1.required(3, "the provider's name").and_then(|_| checked(nm1, 3, PartyName::parse(&name_of(nm1)))));
    if nm1.get(8) != "XX" {
        f.push(nm1.error(Some(8), "must be XX: providers are identified by NPI"));
    }
    let npi = f.take(nm1.required(9, "the NPI").and_then(|v| checked(nm1, 9, Npi::parse(v))));
    npi.zip(name)
}

/// A subscriber or patient: names, member id (subscribers only) and birth date (DMG, required
/// of the patient).
fn person(
    f: &mut Faults,
    lp: &Loop<'_, '_>,
    nm1: &Segment<'_>,
    is_patient: bool,
) -> Option<(Option<MemberId>, PersonName, PersonName, Option<NaiveDate>)> {
    let last = f.take(nm1.required(3, "the last name").and_then(|v| checked(nm1, 3, PersonName::parse(v))));
    let first = if nm1.get(2) == "1" {
        f.take(nm1.required(4, "the first name").and_then(|v| checked(nm1, 4, PersonName::parse(v))))
    } else {
        f.push(nm1.error(Some(2), "must be 1: a subscriber or patient is a person"));
        None
    };
    // Only the subscriber carries a member id; a patient's claims use the subscriber's.
    let member = if nm1.get(1) == "IL" {
        if !matches!(nm1.get(8), "MI" | "II") {
            f.push(nm1.error(Some(8), "must be MI (member id) or II (unique health identifier)"));
        }
        Some(f.take(nm1.required(9, "the member id").and_then(|v| checked(nm1, 9, MemberId::parse(v))))?)
    } else {
        None
    };
    let birth = match lp.segment("DMG", &[]) {
        Some(dmg) => {
            if dmg.get(1) != "D8" {
                f.push(dmg.error(Some(1), "must be D8 (a date CCYYMMDD follows)"));
            }
            if !matches!(dmg.get(3), "F" | "M" | "U") {
                f.push(dmg.error(Some(3), format!("{:?} is not a gender code: F, M or U", dmg.get(3))));
            }
            f.take(date(dmg, 2))
        }
        None if is_patient => {
            f.push(missing(nm1, "DMG", "the patient's birth date and gender (DMG)"));
            None
        }
        None => None,
    };
    Some((member, last?, first?, birth))
}

/// The parties of one claim, from the loops above it.
struct Parties<'p> {
    provider: Option<&'p (Npi, PartyName)>,
    subscriber: Option<&'p Party>,
    patient: Option<&'p Party>,
}

impl<'p> Parties<'p> {
    fn of(set: &TransactionSet<'_>, ancestry: &[usize], parties: &'p [Party]) -> Self {
        let mut out = Parties { provider: None, subscriber: None, patient: None };
        for &i in ancestry {
            match set.contexts[i].level {
                Level::Billing => out.provider = parties[i].provider.as_ref(),
                Level::Subscriber => out.subscriber = Some(&parties[i]),
                Level::Patient => out.patient = Some(&parties[i]),
            }
        }
        out
    }
}

/// A date or range element (DTP03 as DTP02 says: D8, RD8): its first day and last day.
pub(super) fn period(seg: &Segment<'_>) -> Result<(NaiveDate, NaiveDate), EdiError> {
    let text = seg.get(3);
    let bad = |m: String| seg.error(Some(3), m).fault(Fault::InvalidDate);
    match seg.get(2) {
        "D8" => date(seg, 3).map(|d| (d, d)),
        "RD8" => {
            let (from, to) =
                text.split_once('-').ok_or_else(|| bad(format!("{text:?} is not a range CCYYMMDD-CCYYMMDD")))?;
            let (from, to) = ccyymmdd(from)
                .zip(ccyymmdd(to))
                .ok_or_else(|| bad(format!("{text:?} is not a range CCYYMMDD-CCYYMMDD")))?;
            if from > to {
                return Err(bad(format!("{text:?} ends before it starts")));
            }
            Ok((from, to))
        }
        "DT" => {
            let ok = text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit());
            let day = ok
                .then(|| ccyymmdd(&text[..8]))
                .flatten()
                .ok_or_else(|| bad(format!("{text:?} is not a date and time CCYYMMDDHHMM")))?;
            Ok((day, day))
        }
        other => Err(seg.error(Some(2), format!("{other:?} is not a date format: D8, RD8 or DT"))),
    }
}

fn read_claim(
    set: &TransactionSet<'_>,
    claim: &Claim<'_>,
    parties: &Parties<'_>,
    today: NaiveDate,
) -> Result<ClaimDraft, Vec<EdiError>> {
    let mut f = Faults::default();
    let format = set.format;
    let l = &set.loop_of(claim.claim);
    let clm = l.segments().first().expect("a claim loop starts with its CLM");
    let claim_number =
        f.take(clm.required(1, "the patient control number").and_then(|v| checked(clm, 1, ClaimNumber::parse(v))));
    let total = f.take(amount(clm, 2, true));
    let (place_or_type, qualifier, frequency) = (clm.component(5, 1), clm.component(5, 2), clm.component(5, 3));
    let (want_qualifier, what) = match format {
        Format::Professional => ("B", "a place of service code"),
        Format::Institutional => ("A", "a facility type code"),
    };
    if place_or_type.len() != 2 || !place_or_type.bytes().all(|b| b.is_ascii_digit()) || qualifier != want_qualifier {
        f.push(clm.error(
            Some(5),
            format!(
                "must be {what} (two digits), {want_qualifier} and the claim frequency code, such as {}",
                if format == Format::Professional { "11:B:1" } else { "13:A:1" }
            ),
        ));
    }
    let frequency_code = f.take(checked(
        clm,
        5,
        match format {
            Format::Professional => FrequencyCode::parse(frequency),
            Format::Institutional => FrequencyCode::parse_institutional(frequency),
        },
    ));
    // Every date of the claim is read (a bad one is a fault wherever it is); the statement
    // period of an institutional claim is its service date.
    let mut statement = None;
    for dtp in l.segments_of("DTP", &[]) {
        if let Some(p) = f.take(period(dtp))
            && dtp.get(1) == "434"
        {
            statement = Some(p);
        }
    }
    if format == Format::Institutional && statement.is_none() {
        f.push(missing(clm, "DTP", "the statement period (DTP*434)"));
    }
    let payer_claim_control_number = l.segment("REF", &["F8"]).and_then(|r| {
        f.take(r.required(2, "the payer's claim control number").and_then(|v| checked(r, 2, PayerId::parse(v))))
    });

    let lines = super::lines::read_lines(format, l, statement.map(|s| s.0), &mut f);
    let service_date = match format {
        Format::Institutional => statement.map(|s| s.0),
        Format::Professional => lines.iter().filter_map(|l| l.as_ref().map(|l| l.service_date)).min(),
    };
    let diagnoses = read_diagnoses(format, l, clm, service_date, &mut f);
    let diagnosis_count = diagnoses.as_ref().map_or(0, Vec::len);
    // SV107 points at the HI codes by position.
    for lp in l.children_of("2400") {
        if let Some(sv1) = lp.segment("SV1", &[]) {
            for pointer in sv1.components(7) {
                match pointer.parse::<usize>() {
                    Ok(p) if (1..=diagnosis_count.min(12)).contains(&p) => {}
                    _ if diagnoses.is_none() => {}
                    _ => f.push(sv1.error(Some(7), format!("diagnosis pointer {pointer:?} does not point at one of the claim's {diagnosis_count} diagnosis codes"))),
                }
            }
        }
    }
    if let (Some(total), true) = (total, lines.iter().all(Option::is_some)) {
        let sum = lines.iter().flatten().try_fold(Money::ZERO, |s, l| s.checked_add(l.charge));
        if sum != Some(total) {
            let sum = sum.map_or("too large".to_owned(), |s| s.to_string());
            f.push(
                clm.error(Some(2), format!("the total charge {total} is not the sum of the lines' charges ({sum})")),
            );
        }
    }
    let member = parties.patient.and_then(|p| p.member.as_ref()).or(parties.subscriber.and_then(|s| s.member.as_ref()));
    let subscriber_member = parties.subscriber.and_then(|s| s.member.as_ref());
    let birth = member.and_then(|m| m.3);
    if parties.subscriber.is_some_and(|s| !s.subscriber_is_patient) && parties.patient.is_none() {
        f.push(missing(clm, "HL", "the patient loop (HL*23): SBR02 says the subscriber is not the patient"));
    }
    if !f.0.is_empty() {
        return Err(f.0);
    }
    let built = (|| {
        let (npi, provider_name) = parties.provider?.clone();
        let (payer_id, payer_name) = parties.subscriber?.payer.clone()?;
        let (_, last, first, _) = member?.clone();
        Some(ClaimDraft {
            claim_number: claim_number?,
            payer_id,
            payer_name,
            patient_member_id: subscriber_member?.0.clone()?,
            patient_first_name: first,
            patient_last_name: last,
            patient_date_of_birth: birth?,
            provider_npi: npi,
            provider_name,
            service_date: service_date?,
            frequency_code: frequency_code?,
            payer_claim_control_number,
            diagnosis_codes: diagnoses?,
            lines: lines.into_iter().collect::<Option<Vec<_>>>()?,
        })
    })();
    let Some(draft) = built else {
        // The parties' own faults, reported with the loops they belong to, are why.
        return Err(Vec::new());
    };
    let cross = draft.check(today);
    if cross.is_empty() {
        return Ok(draft);
    }
    Err(cross
        .into_iter()
        .map(|e| {
            let line_date = e
                .field
                .strip_prefix("lines[")
                .and_then(|r| r.split_once(']'))
                .and_then(|(i, _)| i.parse::<usize>().ok());
            let seg = line_date
                .and_then(|i| l.children_of("2400").nth(i))
                .and_then(|lp| lp.segment("DTP", &["472"]).or(lp.segments().get(1)))
                .unwrap_or(clm);
            let element = if seg.id == "DTP" { Some(3) } else { None };
            seg.error(element, format!("{} {}", e.field, e.message))
        })
        .collect())
}

/// The claim's diagnoses in HI order (principal first). ICD-10-CM codes (ABK, ABF, ABJ, APR,
/// ABN) for services from 1 October 2015, ICD-9-CM (BK, BF, BJ, PR, BN) before.
fn read_diagnoses(
    format: Format,
    l: &Loop<'_, '_>,
    clm: &Segment<'_>,
    service_date: Option<NaiveDate>,
    f: &mut Faults,
) -> Option<Vec<DiagnosisCode>> {
    let mut codes = Vec::new();
    let mut principal = false;
    let before = f.0.len();
    for hi in l.segments_of("HI", &[]) {
        for n in 1..=24 {
            let qualifier = hi.component(n, 1);
            if qualifier.is_empty() {
                continue;
            }
            let code = hi.component(n, 2);
            let (icd10, kind) = match qualifier {
                "ABK" | "BK" => (qualifier == "ABK", 'P'),
                "ABF" | "BF" => (qualifier == "ABF", 'O'),
                "ABJ" | "BJ" | "APR" | "PR" | "ABN" | "BN" if format == Format::Institutional => {
                    (qualifier.starts_with('A'), 'O')
                }
                // Other HI kinds (procedures, condition, occurrence, value codes, DRG) are kept, not read.
                _ if format == Format::Institutional => continue,
                other => {
                    f.push(hi.error(Some(n), format!("{other:?} is not a diagnosis qualifier of an 837P: ABK, ABF (ICD-10-CM) or BK, BF (ICD-9-CM)")));
                    continue;
                }
            };
            if kind == 'P' {
                if principal || n != 1 {
                    f.push(hi.error(Some(n), "the principal diagnosis (ABK or BK) comes once, first in the first HI"));
                }
                principal = true;
            }
            if code.contains('.') {
                f.push(hi.error(Some(n), format!("{code:?}: diagnosis codes are sent without the dot")));
                continue;
            }
            let parsed = if icd10 { DiagnosisCode::parse(code) } else { DiagnosisCode::parse_icd9(code) };
            let Some(parsed) = f.take(checked(
                hi,
                n,
                parsed
                    .map_err(|e| e.to_string())
                    .and_then(|c| (!code.is_empty()).then_some(c).ok_or_else(|| "is required".to_owned())),
            )) else {
                continue;
            };
            if let Some(day) = service_date {
                if icd10 && day < ICD10_FROM {
                    f.push(hi.error(Some(n), format!("{qualifier} is ICD-10-CM, which is for services from 2015-10-01; this claim's service date is {day} (use BK or BF with ICD-9-CM)")));
                } else if !icd10 && day >= ICD10_FROM {
                    f.push(hi.error(Some(n), format!("{qualifier} is ICD-9-CM, which is for services before 2015-10-01; this claim's service date is {day} (use ABK or ABF with ICD-10-CM)")));
                }
            }
            if !codes.contains(&parsed) {
                codes.push(parsed);
            }
        }
    }
    if !principal {
        f.push(missing(clm, "HI", "the principal diagnosis (HI with ABK or BK)"));
    }
    (f.0.len() == before && principal).then_some(codes)
}
