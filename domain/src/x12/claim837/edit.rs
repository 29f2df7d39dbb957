//! Changing a stored claim's loops for a correction: its frequency (CLM05-3), its number
//! (CLM01), the payer's claim control number of the claim it replaces (REF*F8), and, when the
//! correction changes them, its place of service (CLM05-1), diagnoses (HI) and service lines
//! (2400: SV1 or SV2, with each line's place of service, diagnosis pointers and drug, 2410).
//! Everything else the claim came with stays as it was.

use chrono::NaiveDate;

use super::{Format, LineFields, StoredClaim, StoredLoop};
use crate::claim::ClaimLineDraft;
use crate::codes::DiagnosisCode;

/// What a correction changes.
#[derive(Debug, Clone, Copy)]
pub struct Edits<'e> {
    /// CLM05-3: 7 (replacement) or 8 (void).
    pub frequency: &'e str,
    pub claim_number: Option<&'e str>,
    /// REF*F8; empty for a claim sent again as an original (frequency 1), which has none.
    pub payer_claim_control_number: &'e str,
    pub diagnoses: Option<&'e [DiagnosisCode]>,
    pub lines: Option<&'e [ClaimLineDraft]>,
    /// With `lines`, each line's place of service (SV105), diagnosis pointers (SV107) and drug
    /// (2410 LIN/CTP), where sent; what a line does not send it keeps from the line it replaces.
    pub line_fields: Option<&'e [LineFields]>,
    /// CLM05-1 of a professional claim.
    pub place_of_service: Option<&'e str>,
    /// The claim's date of service: ICD-10-CM qualifiers from 2015-10-01, ICD-9-CM before.
    pub service_date: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("the stored claim cannot be read")]
    Unreadable,
    #[error("{0:?} holds a delimiter of the claim's file; it cannot be written into it")]
    Delimiter(String),
    #[error("line {} of an institutional claim needs its revenue_code", .0 + 1)]
    RevenueCodeMissing(usize),
    #[error("line {} of a professional claim cannot carry a revenue_code", .0 + 1)]
    RevenueCodeOnProfessional(usize),
    #[error("{0} is for professional claims; this claim is institutional (837I)")]
    ProfessionalOnly(&'static str),
}

struct Text {
    element: char,
    component: char,
}

impl Text {
    fn split(&self, segment: &str) -> Vec<String> {
        segment.split(self.element).map(str::to_owned).collect()
    }

    fn join(&self, elements: &[String]) -> String {
        let mut out = elements.join(&self.element.to_string());
        while out.ends_with(self.element) {
            out.pop();
        }
        out
    }

    fn check(&self, value: &str, all: &str) -> Result<(), EditError> {
        if value.chars().any(|c| all.contains(c)) { Err(EditError::Delimiter(value.to_owned())) } else { Ok(()) }
    }
}

/// The claim as the correction makes it.
pub fn edit(stored: &StoredClaim, edits: &Edits<'_>) -> Result<StoredClaim, EditError> {
    let d = stored.delimiters().ok_or(EditError::Unreadable)?;
    let t = Text { element: d.element as char, component: d.component as char };
    let delimiters: String = [Some(d.element), Some(d.component), d.repetition, Some(d.segment)]
        .iter()
        .flatten()
        .map(|&b| b as char)
        .collect();
    let mut out = stored.clone();
    let claim = &mut out.claim;
    let e = t.element;

    // CLM01 and CLM05-3.
    let clm = claim.segments.first_mut().ok_or(EditError::Unreadable)?;
    let mut elements = t.split(clm);
    if elements.len() < 6 || elements[0] != "CLM" {
        return Err(EditError::Unreadable);
    }
    if let Some(number) = edits.claim_number {
        t.check(number, &delimiters)?;
        elements[1] = number.to_owned();
    }
    // CLM02 is the sum of the lines' charges.
    if let Some(lines) = edits.lines {
        let total = lines.iter().try_fold(crate::Money::ZERO, |sum, l| sum.checked_add(l.charge));
        elements[2] = total.map(|t| t.to_string()).ok_or(EditError::Unreadable)?;
    }
    let institutional = stored.format() == Some(Format::Institutional);
    let mut composite: Vec<String> = elements[5].split(t.component).map(str::to_owned).collect();
    composite.resize(composite.len().max(3), String::new());
    composite[2] = edits.frequency.to_owned();
    if let Some(place) = edits.place_of_service {
        if institutional {
            return Err(EditError::ProfessionalOnly("place_of_service"));
        }
        t.check(place, &delimiters)?;
        composite[0] = place.to_owned();
    }
    elements[5] = composite.join(&t.component.to_string());
    *clm = t.join(&elements);

    // REF*F8, in place or after the segments the guide puts before the 2300 REFs; none for a
    // claim sent again as an original (the payer never assigned it a number).
    let f8_prefix = format!("REF{e}F8{e}");
    let f8 = format!("REF{e}F8{e}{}", edits.payer_claim_control_number);
    if edits.payer_claim_control_number.is_empty() {
        claim.segments.retain(|s| !s.starts_with(&f8_prefix));
    } else {
        t.check(edits.payer_claim_control_number, &delimiters)?;
    }
    match claim.segments.iter().position(|s| s.starts_with(&f8_prefix)) {
        _ if edits.payer_claim_control_number.is_empty() => {}
        Some(at) => claim.segments[at] = f8,
        None => {
            // The guide orders the 2300 REFs 4N, F5, EW, 9F, G1, then F8.
            let before = ["CLM", "DTP", "CL1", "PWK", "CN1", "AMT"];
            let earlier_ref = |s: &String| {
                segment_is(s, "REF", e)
                    && s.split(e).nth(1).is_some_and(|q| ["4N", "F5", "EW", "9F", "G1"].contains(&q))
            };
            let at = claim
                .segments
                .iter()
                .rposition(|s| before.iter().any(|id| segment_is(s, id, e)) || earlier_ref(s))
                .map_or(1, |i| i + 1);
            claim.segments.insert(at, f8);
        }
    }

    if let Some(codes) = edits.diagnoses {
        let icd10 = edits.service_date >= super::project::ICD10_FROM;
        let (principal, other) = if icd10 { ("ABK", "ABF") } else { ("BK", "BF") };
        let c = t.component;
        let coded: Vec<String> = codes
            .iter()
            .enumerate()
            .map(|(i, code)| format!("{}{c}{}", if i == 0 { principal } else { other }, code.undotted()))
            .collect();
        let is_diagnosis_hi = |s: &String| {
            segment_is(s, "HI", e)
                && s.split(e)
                    .nth(1)
                    .and_then(|el| el.split(c).next())
                    .is_some_and(|q| ["ABK", "BK", "ABF", "BF"].contains(&q))
        };
        let first = claim.segments.iter().position(is_diagnosis_hi);
        claim.segments.retain(|s| !is_diagnosis_hi(s));
        let at = first.unwrap_or(claim.segments.len());
        // Twelve codes to an HI segment.
        let his: Vec<String> = coded.chunks(12).map(|chunk| format!("HI{e}{}", chunk.join(&e.to_string()))).collect();
        for (k, hi) in his.into_iter().enumerate() {
            claim.segments.insert(at + k, hi);
        }
    }

    // New diagnoses and the lines as they were: each line keeps the pointers still in range,
    // or points at the principal diagnosis.
    if let (Some(codes), None) = (edits.diagnoses, edits.lines) {
        let c = t.component;
        for line in claim.children.iter_mut().filter(|l| l.id == "2400") {
            let Some(sv1) = line.segments.iter_mut().find(|s| segment_is(s, "SV1", e)) else { continue };
            let mut elements = t.split(sv1);
            let Some(pointers) = elements.get_mut(7) else { continue };
            let kept: Vec<&str> = pointers
                .split(c)
                .filter(|p| p.parse::<usize>().is_ok_and(|p| (1..=codes.len()).contains(&p)))
                .collect();
            *pointers = if kept.is_empty() { "1".to_owned() } else { kept.join(&c.to_string()) };
            *sv1 = t.join(&elements);
        }
    }

    if let Some(lines) = edits.lines {
        let no_fields = LineFields::default();
        let fields = |i: usize| edits.line_fields.and_then(|f| f.get(i)).unwrap_or(&no_fields);
        for (i, line) in lines.iter().enumerate() {
            match (institutional, line.revenue_code.is_some()) {
                (true, false) => return Err(EditError::RevenueCodeMissing(i)),
                (false, true) => return Err(EditError::RevenueCodeOnProfessional(i)),
                _ => {}
            }
            let f = fields(i);
            if institutional && f.place_of_service.is_some() {
                return Err(EditError::ProfessionalOnly("a line's place_of_service"));
            }
            if institutional && !f.diagnosis_pointers.is_empty() {
                return Err(EditError::ProfessionalOnly("diagnosis_pointers"));
            }
            for value in f.place_of_service.iter().chain(f.ndc.iter().flat_map(|n| [&n.code].into_iter())) {
                t.check(value, &delimiters)?;
            }
        }
        let diagnosis_count = edits.diagnoses.map(<[DiagnosisCode]>::len);
        let old: Vec<StoredLoop> = claim.children.iter().filter(|l| l.id == "2400").cloned().collect();
        claim.children.retain(|l| l.id != "2400");
        let c = t.component;
        for (i, line) in lines.iter().enumerate() {
            let mut procedure = match &line.procedure_code {
                Some(code) => format!("HC{c}{code}"),
                None => String::new(),
            };
            // Modifiers modify a procedure code; a revenue-code-only line has neither.
            for m in line.modifiers.iter().filter(|_| line.procedure_code.is_some()) {
                procedure.push(c);
                procedure.push_str(m.as_str());
            }
            let f = fields(i);
            let old_sv1 = old.get(i).and_then(|l| l.segments.iter().find(|s| segment_is(s, "SV1", e)));
            let old_element = |n: usize| old_sv1.and_then(|sv1| sv1.split(e).nth(n)).unwrap_or_default();
            let service = if institutional {
                let revenue = line.revenue_code.as_ref().map(|r| r.as_str()).unwrap_or_default();
                format!("SV2{e}{revenue}{e}{procedure}{e}{}{e}UN{e}{}", line.charge, line.units.normalize())
            } else {
                // The pointers sent; else the line's as they were, if still in range; else the
                // principal.
                let sent: Vec<String> = f.diagnosis_pointers.iter().map(u8::to_string).collect();
                let pointers = Some(sent.join(&c.to_string()))
                    .filter(|p| !p.is_empty())
                    .or_else(|| {
                        Some(old_element(7))
                            .filter(|p| {
                                let n = diagnosis_count.unwrap_or(12);
                                !p.is_empty()
                                    && p.split(c).all(|x| x.parse::<usize>().is_ok_and(|x| (1..=n).contains(&x)))
                            })
                            .map(str::to_owned)
                    })
                    .unwrap_or_else(|| "1".to_owned());
                let place = f.place_of_service.as_deref().unwrap_or(old_element(5));
                format!(
                    "SV1{e}{procedure}{e}{}{e}UN{e}{}{e}{place}{e}{e}{pointers}",
                    line.charge,
                    line.units.normalize()
                )
            };
            let mut segments = vec![
                format!("LX{e}{}", i + 1),
                service,
                format!("DTP{e}472{e}D8{e}{}", line.service_date.format("%Y%m%d")),
            ];
            if let Some(lcn) = &line.line_control_number {
                t.check(lcn.as_str(), &delimiters)?;
                segments.push(format!("REF{e}6R{e}{}", lcn.as_str()));
            }
            // The drug sent; else the one the line it replaces had.
            let children = match &f.ndc {
                Some(ndc) => vec![StoredLoop {
                    id: "2410".into(),
                    segments: vec![
                        format!("LIN{e}{e}N4{e}{}", ndc.code),
                        format!(
                            "CTP{e}{e}{e}{e}{}{e}{}",
                            ndc.quantity.as_deref().unwrap_or("1"),
                            ndc.unit.as_deref().unwrap_or("UN")
                        ),
                    ],
                    children: Vec::new(),
                }],
                None => old
                    .get(i)
                    .map(|l| l.children.iter().filter(|c| c.id == "2410").cloned().collect())
                    .unwrap_or_default(),
            };
            claim.children.push(StoredLoop { id: "2400".into(), segments, children });
        }
    }
    Ok(out)
}

fn segment_is(segment: &str, id: &str, element: char) -> bool {
    segment.strip_prefix(id).is_some_and(|rest| rest.is_empty() || rest.starts_with(element))
}
