//! The fields of an 837 claim beyond those every claim has (`ClaimDraft`): the parties' addresses
//! and ids, coverage, place of service or facility type, qualified diagnoses, admission data,
//! authorizations, the claim's providers and each line's extra data. Read from a claim's
//! stored loops (`fields_of`), and what a JSON claim carries to be written as an 837 (`build`).

use chrono::NaiveDate;

use super::super::segments::Segment;
use super::{Format, Loop, StoredClaim, Tree};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub state: Option<String>,
    pub postal_code: Option<String>,
}

/// The submitter (1000A): who sends the file, and whom the receiver calls about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Submitter {
    pub name: String,
    pub id: String,
    pub contact_name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// A named party with an id: the receiver (1000B).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Party {
    pub name: String,
    pub id: String,
}

/// The longest name (NM103) and id (NM109) of a submitter or receiver, and of a contact's
/// name (PER02).
pub const PARTY_NAME_MAX: usize = 60;
pub const PARTY_ID_MAX: usize = 80;

/// A submitter's phone number (PER, TE): 10 to 15 digits. The same rule for a claim's own
/// submitter and for the practice's configured one.
pub fn check_phone(value: &str) -> Result<(), String> {
    if (10..=15).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err("must be 10 to 15 digits".into())
    }
}

/// A submitter's email (PER, EM): text an 837 can carry, with an `@`.
pub fn check_email(value: &str) -> Result<(), String> {
    crate::identifiers::check_x12_text(value, 256).map_err(|e| e.to_string())?;
    if value.contains('@') { Ok(()) } else { Err("must be an email address".into()) }
}

/// The subscriber (2010BA) when the patient is someone else.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    pub member_id: Option<String>,
    pub last_name: String,
    pub first_name: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub gender: Option<String>,
    pub address: Option<Address>,
}

/// The roles of a claim's providers (2310 loops), and their NM101 codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProviderRole {
    Referring,
    Rendering,
    Supervising,
    Attending,
    Operating,
    OtherOperating,
    ServiceFacility,
}

impl ProviderRole {
    pub const ALL: [ProviderRole; 7] = [
        Self::Referring,
        Self::Rendering,
        Self::Supervising,
        Self::Attending,
        Self::Operating,
        Self::OtherOperating,
        Self::ServiceFacility,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Referring => "referring",
            Self::Rendering => "rendering",
            Self::Supervising => "supervising",
            Self::Attending => "attending",
            Self::Operating => "operating",
            Self::OtherOperating => "other_operating",
            Self::ServiceFacility => "service_facility",
        }
    }

    /// NM101 of the role's loop.
    pub fn code(self) -> &'static str {
        match self {
            Self::Referring => "DN",
            Self::Rendering => "82",
            Self::Supervising => "DQ",
            Self::Attending => "71",
            Self::Operating => "72",
            Self::OtherOperating => "ZZ",
            Self::ServiceFacility => "77",
        }
    }

    fn of_code(code: &str) -> Option<Self> {
        match code {
            "DN" | "P3" => Some(Self::Referring),
            _ => Self::ALL.into_iter().find(|r| r.code() == code),
        }
    }

    /// Whether the role has its loop on a claim of this format.
    pub fn fits(self, format: Format) -> bool {
        match self {
            Self::Supervising => format == Format::Professional,
            Self::Attending | Self::Operating | Self::OtherOperating => format == Format::Institutional,
            _ => true,
        }
    }
}

/// A provider of the claim: a person (first and last name) or an organization (name only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamedProvider {
    pub npi: Option<String>,
    /// The last name of a person, the name of an organization.
    pub name: String,
    /// Only for a person.
    pub first_name: Option<String>,
    pub taxonomy: Option<String>,
    /// Only for a service facility.
    pub address: Option<Address>,
}

/// A diagnosis as the 837 qualifies it: `ABK` principal, `ABF` other, `ABJ` admitting, `APR`
/// patient's reason for visit, `ABN` external cause (`BK`, `BF`, … for ICD-9-CM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    pub code: String,
    pub qualifier: String,
}

/// Institutional admission data: DTP*435, CL1.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Admission {
    pub date: Option<NaiveDate>,
    /// `HHMM`.
    pub hour: Option<String>,
    /// CL101 (priority: 1 emergency, 2 urgent, 3 elective, …).
    pub type_code: Option<String>,
    /// CL102 (point of origin).
    pub source_code: Option<String>,
    /// CL103 (discharge status).
    pub patient_status: Option<String>,
}

/// A drug's National Drug Code, quantity and unit (LIN*N4, CTP).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ndc {
    pub code: String,
    pub quantity: Option<String>,
    /// `F2` international unit, `GR` gram, `ME` milligram, `ML` millilitre, `UN` unit.
    pub unit: Option<String>,
}

/// A service line's fields beyond those every line has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineFields {
    pub place_of_service: Option<String>,
    /// 1-based positions in the claim's diagnosis codes (SV107), up to four.
    pub diagnosis_pointers: Vec<u8>,
    pub revenue_code: Option<String>,
    pub ndc: Option<Ndc>,
}

impl LineFields {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimFields {
    pub submitter: Option<Submitter>,
    pub receiver: Option<Party>,
    pub provider_tax_id: Option<String>,
    pub provider_taxonomy: Option<String>,
    pub provider_address: Option<Address>,
    pub pay_to_address: Option<Address>,
    pub patient_gender: Option<String>,
    pub patient_address: Option<Address>,
    /// The patient's relationship to the subscriber (SBR02 `18` self, or PAT01).
    pub relationship: Option<String>,
    /// Set when the patient is not the subscriber.
    pub subscriber: Option<Person>,
    /// SBR01: `P` primary, `S` secondary, `T` tertiary, …
    pub payer_responsibility: Option<String>,
    /// SBR09: `CI` commercial, `MB` Medicare Part B, `MC` Medicaid, …
    pub claim_filing_indicator: Option<String>,
    pub group_number: Option<String>,
    pub group_name: Option<String>,
    /// 837P: CLM05-1 with qualifier `B`.
    pub place_of_service: Option<String>,
    /// 837I: CLM05-1 with qualifier `A`.
    pub facility_type: Option<String>,
    pub diagnoses: Vec<Diagnosis>,
    pub admission: Option<Admission>,
    /// DTP*434, the statement's first and last days.
    pub statement_period: Option<(NaiveDate, NaiveDate)>,
    pub prior_authorization: Option<String>,
    pub referral_number: Option<String>,
    pub providers: Vec<(ProviderRole, NamedProvider)>,
    /// One per service line, in order.
    pub lines: Vec<LineFields>,
}

impl ClaimFields {
    /// Whether the claim carries anything that only an 837I holds.
    pub fn institutional(&self) -> bool {
        self.facility_type.is_some()
            || self.admission.is_some()
            || self.statement_period.is_some()
            || self.lines.iter().any(|l| l.revenue_code.is_some())
            || self.providers.iter().any(|(r, _)| !r.fits(Format::Professional))
    }

    pub fn provider(&self, role: ProviderRole) -> Option<&NamedProvider> {
        self.providers.iter().find(|(r, _)| *r == role).map(|(_, p)| p)
    }
}

fn some(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

fn address_of(l: &Loop<'_, '_>) -> Option<Address> {
    let n3 = l.segment("N3", &[])?;
    let n4 = l.segment("N4", &[]);
    Some(Address {
        line1: n3.get(1).to_owned(),
        line2: some(n3.get(2)),
        city: n4.map(|s| s.get(1).to_owned()).unwrap_or_default(),
        state: n4.and_then(|s| some(s.get(2))),
        postal_code: n4.and_then(|s| some(s.get(3))),
    })
}

fn d8(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y%m%d").ok()
}

/// DMG02 and DMG03.
fn demographics(l: &Loop<'_, '_>) -> (Option<NaiveDate>, Option<String>) {
    let dmg = l.segment("DMG", &["D8"]);
    (dmg.and_then(|s| d8(s.get(2))), dmg.and_then(|s| some(s.get(3))))
}

fn communication(per: &Segment<'_>, qualifier: &str) -> Option<String> {
    [3, 5, 7].into_iter().find(|&n| per.get(n) == qualifier).and_then(|n| some(per.get(n + 1)))
}

fn named_provider(l: &Loop<'_, '_>) -> Option<NamedProvider> {
    let nm1 = l.segments().first()?;
    let person = nm1.get(2) == "1";
    Some(NamedProvider {
        npi: (nm1.get(8) == "XX").then(|| nm1.get(9).to_owned()),
        name: nm1.get(3).to_owned(),
        first_name: if person { some(nm1.get(4)) } else { None },
        taxonomy: l.segment("PRV", &[]).filter(|p| p.get(2) == "PXC").and_then(|p| some(p.get(3))),
        address: address_of(l),
    })
}

const DIAGNOSIS_QUALIFIERS: [&str; 10] = ["ABK", "ABF", "ABJ", "APR", "ABN", "BK", "BF", "BJ", "PR", "BN"];

/// The fields of a stored claim, read from its loops; `None` if they cannot be read.
pub fn fields_of(stored: &StoredClaim) -> Option<ClaimFields> {
    let d = stored.delimiters()?;
    let header = stored.header.view(d)?;
    let header = header.root();
    let billing = stored.billing.view(d)?;
    let billing = billing.root();
    let subscriber = stored.subscriber.view(d)?;
    let subscriber = subscriber.root();
    let patient = match &stored.patient {
        Some(p) => Some(p.view(d)?),
        None => None,
    };
    let patient = patient.as_ref().map(Tree::root);
    let claim = stored.claim.view(d)?;
    let claim = claim.root();
    let mut f = ClaimFields::default();

    if let Some(l) = header.child("1000A") {
        let nm1 = l.segments().first()?;
        let per = l.segment("PER", &[]);
        f.submitter = Some(Submitter {
            name: nm1.get(3).to_owned(),
            id: nm1.get(9).to_owned(),
            contact_name: per.and_then(|p| some(p.get(2))),
            phone: per.and_then(|p| communication(p, "TE")),
            email: per.and_then(|p| communication(p, "EM")),
        });
    }
    if let Some(nm1) = header.child("1000B").and_then(|l| l.segments().first()) {
        f.receiver = Some(Party { name: nm1.get(3).to_owned(), id: nm1.get(9).to_owned() });
    }

    f.provider_taxonomy = billing.segment("PRV", &["BI"]).and_then(|p| some(p.get(3)));
    if let Some(l) = billing.child("2010AA") {
        f.provider_address = address_of(&l);
        f.provider_tax_id = l.segment("REF", &["EI", "SY"]).and_then(|r| some(r.get(2)));
    }
    f.pay_to_address = billing.child("2010AB").and_then(|l| address_of(&l));

    let sbr = subscriber.segment("SBR", &[]);
    f.payer_responsibility = sbr.and_then(|s| some(s.get(1)));
    f.group_number = sbr.and_then(|s| some(s.get(3)));
    f.group_name = sbr.and_then(|s| some(s.get(4)));
    f.claim_filing_indicator = sbr.and_then(|s| some(s.get(9)));
    let insured = subscriber.child("2010BA");
    match (&patient, insured) {
        (Some(p), _) => {
            f.relationship = p.segment("PAT", &[]).and_then(|s| some(s.get(1)));
            if let Some(l) = p.child("2010CA") {
                f.patient_address = address_of(&l);
                f.patient_gender = demographics(&l).1;
            }
            if let Some(l) = insured {
                let nm1 = l.segments().first()?;
                let (date_of_birth, gender) = demographics(&l);
                f.subscriber = Some(Person {
                    member_id: some(nm1.get(9)),
                    last_name: nm1.get(3).to_owned(),
                    first_name: some(nm1.get(4)),
                    date_of_birth,
                    gender,
                    address: address_of(&l),
                });
            }
        }
        (None, Some(l)) => {
            f.relationship = sbr.and_then(|s| some(s.get(2)));
            f.patient_address = address_of(&l);
            f.patient_gender = demographics(&l).1;
        }
        (None, None) => {}
    }

    let format = stored.format()?;
    if let Some(clm) = claim.segment("CLM", &[]) {
        let facility = some(clm.component(5, 1));
        match format {
            Format::Professional => f.place_of_service = facility,
            Format::Institutional => f.facility_type = facility,
        }
    }
    f.prior_authorization = claim.segment("REF", &["G1"]).and_then(|r| some(r.get(2)));
    f.referral_number = claim.segment("REF", &["9F"]).and_then(|r| some(r.get(2)));
    for hi in claim.segments_of("HI", &[]) {
        for n in 1..=hi.element_count() {
            let qualifier = hi.component(n, 1);
            if DIAGNOSIS_QUALIFIERS.contains(&qualifier) && !hi.component(n, 2).is_empty() {
                f.diagnoses.push(Diagnosis { code: hi.component(n, 2).to_owned(), qualifier: qualifier.to_owned() });
            }
        }
    }
    let cl1 = claim.segment("CL1", &[]);
    let admitted = claim.segment("DTP", &["435"]);
    if cl1.is_some() || admitted.is_some() {
        let when = admitted.map(|s| s.get(3)).unwrap_or_default();
        f.admission = Some(Admission {
            date: d8(when.get(..8).unwrap_or_default()),
            hour: when.get(8..12).and_then(some),
            type_code: cl1.and_then(|s| some(s.get(1))),
            source_code: cl1.and_then(|s| some(s.get(2))),
            patient_status: cl1.and_then(|s| some(s.get(3))),
        });
    }
    f.statement_period = claim.segment("DTP", &["434"]).and_then(|s| {
        let (from, to) = s.get(3).split_once('-')?;
        Some((d8(from)?, d8(to)?))
    });
    for l in claim.children().filter(|c| c.id().starts_with("2310")) {
        let Some(role) = l.segments().first().and_then(|nm1| ProviderRole::of_code(nm1.get(1))) else {
            continue;
        };
        if let Some(p) = named_provider(&l) {
            f.providers.push((role, p));
        }
    }
    for line in claim.children_of("2400") {
        let mut out = LineFields::default();
        if let Some(sv1) = line.segment("SV1", &[]) {
            out.place_of_service = some(sv1.get(5));
            out.diagnosis_pointers = sv1.components(7).filter_map(|p| p.parse().ok()).collect();
        }
        if let Some(sv2) = line.segment("SV2", &[]) {
            out.revenue_code = some(sv2.get(1));
        }
        if let Some(l) = line.child("2410") {
            let ctp = l.segment("CTP", &[]);
            out.ndc = l.segments().first().filter(|lin| lin.get(2) == "N4").map(|lin| Ndc {
                code: lin.get(3).to_owned(),
                quantity: ctp.and_then(|c| some(c.get(4))),
                unit: ctp.and_then(|c| some(c.component(5, 1))),
            });
        }
        f.lines.push(out);
    }
    Some(f)
}
