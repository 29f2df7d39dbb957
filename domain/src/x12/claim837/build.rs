//! A JSON claim as the loops of an 837: an 837P, or an 837I when it carries institutional
//! fields. Built once, when the claim is stored, so that a JSON claim is written back, corrected
//! and exported by the same code as a claim that came in a file.

use chrono::NaiveDate;

use super::fields::{Address, ClaimFields, NamedProvider, ProviderRole};
use super::{Format, StoredClaim, StoredLoop};
use crate::claim::{ClaimDraft, FieldError};

/// The delimiters of the text built here: JSON fields never hold them (`check_x12_text`).
const DELIMITERS: &str = "*:^~";

struct Loops {
    id: &'static str,
    segments: Vec<String>,
    children: Vec<StoredLoop>,
}

impl Loops {
    fn new(id: &'static str) -> Self {
        Self { id, segments: Vec::new(), children: Vec::new() }
    }

    /// A segment from its elements, trailing empty ones dropped.
    fn seg(&mut self, elements: &[&str]) -> &mut Self {
        self.segments.push(segment(elements));
        self
    }

    fn address(&mut self, a: &Address) -> &mut Self {
        self.seg(&["N3", &a.line1, a.line2.as_deref().unwrap_or("")]);
        self.seg(&["N4", &a.city, a.state.as_deref().unwrap_or(""), a.postal_code.as_deref().unwrap_or("")])
    }

    fn child(&mut self, l: Loops) -> &mut Self {
        self.children.push(l.done());
        self
    }

    fn done(self) -> StoredLoop {
        StoredLoop { id: self.id.to_owned(), segments: self.segments, children: self.children }
    }
}

fn segment(elements: &[&str]) -> String {
    let used = elements.iter().rposition(|e| !e.is_empty()).map_or(0, |i| i + 1);
    elements[..used].join("*")
}

fn d8(date: NaiveDate) -> String {
    date.format("%Y%m%d").to_string()
}

/// What an 837 needs that a claim without any 837 fields lacks.
pub fn lacking_without_fields() -> Vec<FieldError> {
    missing(&[], &ClaimFields::default(), Format::Professional)
}

/// What an 837 needs that the claim lacks, named by the JSON fields that would carry it;
/// `revenue` says which of the claim's lines have a revenue code.
fn missing(revenue: &[bool], f: &ClaimFields, format: Format) -> Vec<FieldError> {
    let mut out = Vec::new();
    let mut need = |present: bool, field: &str, what: &str| {
        if !present {
            out.push(FieldError::new(field, format!("is needed to write the claim as an 837: {what}")));
        }
    };
    need(f.submitter.is_some(), "submitter", "the submitter's name, id and contact (loop 1000A)");
    let contact = f.submitter.as_ref().is_some_and(|s| s.phone.is_some() || s.email.is_some());
    need(f.submitter.is_none() || contact, "submitter.phone", "a phone number or email of the submitter (PER)");
    need(f.receiver.is_some(), "receiver", "the receiver's name and id (loop 1000B)");
    need(f.provider_address.is_some(), "provider.address", "the billing provider's address (N3, N4)");
    need(f.provider_tax_id.is_some(), "provider.tax_id", "the billing provider's tax id (REF*EI)");
    need(f.claim_filing_indicator.is_some(), "payer.claim_filing_indicator", "the claim filing indicator (SBR09)");
    need(f.patient_address.is_some(), "patient.address", "the patient's address (N3, N4)");
    if let Some(facility) = f.provider(ProviderRole::ServiceFacility) {
        need(facility.address.is_some(), "providers.service_facility.address", "the service facility's address");
    }
    match format {
        Format::Professional => {
            need(f.place_of_service.is_some(), "place_of_service", "the place of service (CLM05-1)");
        }
        Format::Institutional => {
            need(f.facility_type.is_some(), "facility_type", "the facility type code (CLM05-1)");
            let status = f.admission.as_ref().is_some_and(|a| a.patient_status.is_some());
            need(status, "admission.patient_status", "the patient status code (CL103)");
            need(
                f.provider(ProviderRole::Attending).is_some(),
                "providers.attending",
                "the attending provider (loop 2310A)",
            );
            for (i, &has) in revenue.iter().enumerate() {
                need(has, &format!("lines[{i}].revenue_code"), "each institutional line's revenue code (SV201)");
            }
        }
    }
    out
}

/// The claim's loops. A claim without all an 837 needs is built as far as it goes, and its
/// `lacking` names what is missing: such a claim keeps its fields but is not written out.
pub fn build(draft: &ClaimDraft, f: &ClaimFields) -> StoredClaim {
    let format = if f.institutional() { Format::Institutional } else { Format::Professional };
    let total = draft.total_charge().map(|t| t.to_string()).unwrap_or_default();

    let mut header = Loops::new("header");
    if let Some(submitter) = &f.submitter {
        let mut l = Loops::new("1000A");
        l.seg(&["NM1", "41", "2", &submitter.name, "", "", "", "", "46", &submitter.id]);
        let mut per = vec!["PER", "IC", submitter.contact_name.as_deref().unwrap_or(&submitter.name)];
        for (q, v) in [("TE", &submitter.phone), ("EM", &submitter.email)] {
            if let Some(v) = v {
                per.extend([q, v.as_str()]);
            }
        }
        l.seg(&per);
        header.child(l);
    }
    if let Some(r) = &f.receiver {
        let mut l = Loops::new("1000B");
        l.seg(&["NM1", "40", "2", &r.name, "", "", "", "", "46", &r.id]);
        header.child(l);
    }

    let mut billing = Loops::new("2000A");
    billing.seg(&["HL", "1", "", "20", "1"]);
    if let Some(t) = &f.provider_taxonomy {
        billing.seg(&["PRV", "BI", "PXC", t]);
    }
    let mut l = Loops::new("2010AA");
    l.seg(&["NM1", "85", "2", draft.provider_name.as_str(), "", "", "", "", "XX", draft.provider_npi.as_str()]);
    if let Some(a) = &f.provider_address {
        l.address(a);
    }
    if let Some(tax_id) = &f.provider_tax_id {
        l.seg(&["REF", "EI", tax_id]);
    }
    billing.child(l);
    if let Some(a) = &f.pay_to_address {
        let mut l = Loops::new("2010AB");
        l.seg(&["NM1", "87", "2"]).address(a);
        billing.child(l);
    }

    let dependent = f.subscriber.as_ref();
    let mut subscriber = Loops::new("2000B");
    subscriber.seg(&["HL", "2", "1", "22", if dependent.is_some() { "1" } else { "0" }]);
    subscriber.seg(&[
        "SBR",
        f.payer_responsibility.as_deref().unwrap_or("P"),
        if dependent.is_some() { "" } else { "18" },
        f.group_number.as_deref().unwrap_or(""),
        f.group_name.as_deref().unwrap_or(""),
        "",
        "",
        "",
        "",
        f.claim_filing_indicator.as_deref().unwrap_or(""),
    ]);
    let mut l = Loops::new("2010BA");
    let dob = d8(draft.patient_date_of_birth);
    match dependent {
        None => {
            l.seg(&[
                "NM1",
                "IL",
                "1",
                draft.patient_last_name.as_str(),
                draft.patient_first_name.as_str(),
                "",
                "",
                "",
                "MI",
                draft.patient_member_id.as_str(),
            ]);
            if let Some(a) = &f.patient_address {
                l.address(a);
            }
            l.seg(&["DMG", "D8", &dob, f.patient_gender.as_deref().unwrap_or("U")]);
        }
        Some(s) => {
            let member = s.member_id.as_deref().unwrap_or(draft.patient_member_id.as_str());
            l.seg(&["NM1", "IL", "1", &s.last_name, s.first_name.as_deref().unwrap_or(""), "", "", "", "MI", member]);
            if let Some(a) = &s.address {
                l.address(a);
            }
            if let Some(born) = s.date_of_birth {
                l.seg(&["DMG", "D8", &d8(born), s.gender.as_deref().unwrap_or("U")]);
            }
        }
    }
    subscriber.child(l);
    let mut l = Loops::new("2010BB");
    l.seg(&["NM1", "PR", "2", draft.payer_name.as_str(), "", "", "", "", "PI", draft.payer_id.as_str()]);
    subscriber.child(l);

    let patient = dependent.map(|_| {
        let mut patient = Loops::new("2000C");
        patient.seg(&["HL", "3", "2", "23", "0"]).seg(&["PAT", f.relationship.as_deref().unwrap_or("G8")]);
        let mut l = Loops::new("2010CA");
        l.seg(&["NM1", "QC", "1", draft.patient_last_name.as_str(), draft.patient_first_name.as_str()]);
        if let Some(a) = &f.patient_address {
            l.address(a);
        }
        l.seg(&["DMG", "D8", &dob, f.patient_gender.as_deref().unwrap_or("U")]);
        patient.child(l);
        patient.done()
    });

    let claim = claim_loop(draft, f, format, &total);
    StoredClaim {
        format: format.name().to_owned(),
        delimiters: DELIMITERS.to_owned(),
        header: header.done(),
        billing: billing.done(),
        subscriber: subscriber.done(),
        patient,
        claim: claim.done(),
        lacking: {
            let revenue: Vec<bool> = (0..draft.lines.len())
                .map(|i| {
                    f.lines.get(i).is_some_and(|l| l.revenue_code.is_some()) || draft.lines[i].revenue_code.is_some()
                })
                .collect();
            missing(&revenue, f, format)
        },
    }
}

fn claim_loop(draft: &ClaimDraft, f: &ClaimFields, format: Format, total: &str) -> Loops {
    let professional = format == Format::Professional;
    let mut claim = Loops::new("2300");
    let frequency = draft.frequency_code.code();
    let facility = if professional {
        format!("{}:B:{frequency}", f.place_of_service.as_deref().unwrap_or(""))
    } else {
        format!("{}:A:{frequency}", f.facility_type.as_deref().unwrap_or(""))
    };
    let signature = if professional { "Y" } else { "" };
    claim.seg(&["CLM", draft.claim_number.as_str(), total, "", "", &facility, signature, "A", "Y", "Y"]);
    if !professional {
        // Without its own, the statement covers the claim's dates of service.
        let last = draft.lines.iter().map(|l| l.service_date).max().unwrap_or(draft.service_date);
        let (from, to) = f.statement_period.unwrap_or((draft.service_date, last.max(draft.service_date)));
        claim.seg(&["DTP", "434", "RD8", &format!("{}-{}", d8(from), d8(to))]);
        let admission = f.admission.clone().unwrap_or_default();
        if let Some(date) = admission.date {
            match &admission.hour {
                Some(h) => claim.seg(&["DTP", "435", "DT", &format!("{}{h}", d8(date))]),
                None => claim.seg(&["DTP", "435", "D8", &d8(date)]),
            };
        }
        claim.seg(&[
            "CL1",
            admission.type_code.as_deref().unwrap_or(""),
            admission.source_code.as_deref().unwrap_or(""),
            admission.patient_status.as_deref().unwrap_or(""),
        ]);
    }
    if let Some(r) = &f.referral_number {
        claim.seg(&["REF", "9F", r]);
    }
    if let Some(a) = &f.prior_authorization {
        claim.seg(&["REF", "G1", a]);
    }
    if let Some(pccn) = &draft.payer_claim_control_number {
        claim.seg(&["REF", "F8", pccn.as_str()]);
    }
    let codes: Vec<String> = draft.diagnosis_codes.iter().map(|c| c.undotted()).collect();
    let admitting = f.diagnoses.iter().find(|d| d.qualifier == "ABJ").map(|d| d.code.clone());
    if professional {
        let mut hi: Vec<String> = vec!["HI".into()];
        for (i, code) in codes.iter().enumerate() {
            hi.push(format!("{}:{code}", if i == 0 { "ABK" } else { "ABF" }));
        }
        claim.seg(&hi.iter().map(String::as_str).collect::<Vec<_>>());
    } else {
        if let Some(principal) = codes.first() {
            claim.seg(&["HI", &format!("ABK:{principal}")]);
        }
        if let Some(code) = admitting {
            claim.seg(&["HI", &format!("ABJ:{code}")]);
        }
        let others: Vec<String> = codes.iter().skip(1).map(|c| format!("ABF:{c}")).collect();
        if !others.is_empty() {
            let mut hi = vec!["HI"];
            hi.extend(others.iter().map(String::as_str));
            claim.seg(&hi);
        }
    }
    // The guide's order of the 2310 loops, which differs between the formats.
    let order: &[ProviderRole] = if professional {
        &[ProviderRole::Referring, ProviderRole::Rendering, ProviderRole::ServiceFacility, ProviderRole::Supervising]
    } else {
        &[
            ProviderRole::Attending,
            ProviderRole::Operating,
            ProviderRole::OtherOperating,
            ProviderRole::Rendering,
            ProviderRole::ServiceFacility,
            ProviderRole::Referring,
        ]
    };
    let ids = ["2310A", "2310B", "2310C", "2310D", "2310E", "2310F"];
    for (role, id) in order.iter().zip(ids) {
        if let Some(p) = f.provider(*role) {
            claim.child(provider_loop(id, *role, p, professional));
        }
    }
    for (i, line) in draft.lines.iter().enumerate() {
        let extra = f.lines.get(i).cloned().unwrap_or_default();
        let mut l = Loops::new("2400");
        let n = (i + 1).to_string();
        l.seg(&["LX", &n]);
        let mut procedure = line.procedure_code.as_ref().map(|p| format!("HC:{p}")).unwrap_or_default();
        for m in line.modifiers.iter().filter(|_| line.procedure_code.is_some()) {
            procedure.push(':');
            procedure.push_str(m.as_str());
        }
        let charge = line.charge.to_string();
        let units = line.units.normalize().to_string();
        if professional {
            let pointers: Vec<String> = if extra.diagnosis_pointers.is_empty() {
                vec!["1".into()]
            } else {
                extra.diagnosis_pointers.iter().map(u8::to_string).collect()
            };
            let pos = extra.place_of_service.as_deref().unwrap_or("");
            l.seg(&["SV1", &procedure, &charge, "UN", &units, pos, "", &pointers.join(":")]);
        } else {
            let revenue = extra
                .revenue_code
                .clone()
                .or_else(|| line.revenue_code.as_ref().map(|r| r.as_str().to_owned()))
                .unwrap_or_default();
            l.seg(&["SV2", &revenue, &procedure, &charge, "UN", &units]);
        }
        l.seg(&["DTP", "472", "D8", &d8(line.service_date)]);
        if let Some(ctl) = &line.line_control_number {
            l.seg(&["REF", "6R", ctl.as_str()]);
        }
        if let Some(ndc) = &extra.ndc {
            let mut drug = Loops::new("2410");
            drug.seg(&["LIN", "", "N4", &ndc.code]);
            drug.seg(&["CTP", "", "", "", ndc.quantity.as_deref().unwrap_or("1"), ndc.unit.as_deref().unwrap_or("UN")]);
            l.child(drug);
        }
        claim.child(l);
    }
    claim
}

fn provider_loop(id: &'static str, role: ProviderRole, p: &NamedProvider, professional: bool) -> Loops {
    let mut l = Loops::new(id);
    // The facility is an organization; a rendering provider may be a group; the others are people.
    let person = match role {
        ProviderRole::ServiceFacility => false,
        ProviderRole::Rendering => p.first_name.is_some(),
        _ => true,
    };
    let (qualifier, npi) = match &p.npi {
        Some(npi) => ("XX", npi.as_str()),
        None => ("", ""),
    };
    l.seg(&[
        "NM1",
        role.code(),
        if person { "1" } else { "2" },
        &p.name,
        p.first_name.as_deref().unwrap_or(""),
        "",
        "",
        "",
        qualifier,
        npi,
    ]);
    // Only the rendering (837P) and attending, operating and rendering (837I) loops carry a
    // taxonomy: PRV01 names the role.
    let prv = match (role, professional) {
        (ProviderRole::Rendering, true) => Some("PE"),
        (ProviderRole::Attending, false) => Some("AT"),
        _ => None,
    };
    if let (Some(code), Some(t)) = (prv, &p.taxonomy) {
        l.seg(&["PRV", code, "PXC", t]);
    }
    if let Some(a) = &p.address {
        l.address(a);
    }
    l
}
