//! The claim fields an 837 carries beyond those every claim has: one shape for what a client
//! sends on `POST /v1/claims` and what the claim shows, parsed into `ClaimFields` and shown
//! from them.

use chrono::NaiveDate;
use overturn_domain::codes::RevenueCode;
use overturn_domain::identifiers::check_x12_text;
use overturn_domain::x12::claim837::{
    Address, Admission, ClaimFields, Diagnosis, LineFields, NamedProvider, Ndc, PARTY_ID_MAX, PARTY_NAME_MAX, Party,
    Person, ProviderRole, Submitter, check_email, check_phone,
};
use overturn_domain::{DiagnosisCode, FieldError, Npi};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::json::{Errors, parse_date};

/// A US postal address (N3, N4).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressBody {
    #[schema(example = "100 MAIN ST", min_length = 1, max_length = 55)]
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 55)]
    pub line2: Option<String>,
    #[schema(example = "HARTFORD", min_length = 1, max_length = 30)]
    pub city: String,
    /// Two-letter state code.
    #[schema(example = "CT", pattern = "^[A-Z]{2}$")]
    pub state: Option<String>,
    /// ZIP code: 5 or 9 digits.
    #[schema(example = "061031234", pattern = "^[0-9]{5}([0-9]{4})?$")]
    pub postal_code: Option<String>,
}

/// Who sends the claim file (loop 1000A), and whom the receiver calls about it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitterBody {
    #[schema(example = "SMITH FAMILY CLINIC", min_length = 1, max_length = 60)]
    pub name: String,
    /// The submitter's id with the receiver (its ETIN).
    #[schema(example = "SUB123", min_length = 1, max_length = 80)]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 60)]
    pub contact_name: Option<String>,
    /// Digits only, 10 to 15; a phone or an email is needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "8605551212", pattern = "^[0-9]{10,15}$")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 256)]
    pub email: Option<String>,
}

/// Who receives the claim file (loop 1000B): a clearinghouse or the payer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiverBody {
    #[schema(example = "CLEARINGHOUSE", min_length = 1, max_length = 60)]
    pub name: String,
    #[schema(example = "CLEAR1", min_length = 1, max_length = 80)]
    pub id: String,
}

/// The subscriber, when the patient is someone else (a spouse, a child).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriberBody {
    /// By default the patient's `member_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 80)]
    pub member_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 35)]
    pub first_name: Option<String>,
    #[schema(min_length = 1, max_length = 60)]
    pub last_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = Date)]
    pub date_of_birth: Option<String>,
    /// `F`, `M` or `U`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[FMU]$")]
    pub gender: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<AddressBody>,
}

/// A provider of the claim besides the billing provider: a person (`first_name` set) or an
/// organization (a group rendering provider, a service facility).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderRefBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9]{10}$")]
    pub npi: Option<String>,
    /// A person's last name, or the organization's name.
    #[schema(min_length = 1, max_length = 60)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 35)]
    pub first_name: Option<String>,
    /// Health care provider taxonomy code (rendering on 837P, attending on 837I).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "207Q00000X", pattern = "^[0-9A-Z]{9}X$")]
    pub taxonomy: Option<String>,
    /// The service facility's address (needed for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<AddressBody>,
}

/// The claim's providers by role (loops 2310): professional claims have referring, rendering,
/// supervising and service facility; institutional ones attending, operating, other operating,
/// rendering, referring and service facility.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProvidersBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referring: Option<ProviderRefBody>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rendering: Option<ProviderRefBody>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervising: Option<ProviderRefBody>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attending: Option<ProviderRefBody>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operating: Option<ProviderRefBody>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_operating: Option<ProviderRefBody>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_facility: Option<ProviderRefBody>,
}

impl ProvidersBody {
    pub fn slot(&mut self, role: ProviderRole) -> &mut Option<ProviderRefBody> {
        match role {
            ProviderRole::Referring => &mut self.referring,
            ProviderRole::Rendering => &mut self.rendering,
            ProviderRole::Supervising => &mut self.supervising,
            ProviderRole::Attending => &mut self.attending,
            ProviderRole::Operating => &mut self.operating,
            ProviderRole::OtherOperating => &mut self.other_operating,
            ProviderRole::ServiceFacility => &mut self.service_facility,
        }
    }
}

/// Institutional admission data (DTP*435, CL1) and the admitting diagnosis (HI*ABJ).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdmissionBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = Date)]
    pub date: Option<String>,
    /// `HHMM`, 24-hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "0930", pattern = "^([01][0-9]|2[0-3])[0-5][0-9]$")]
    pub hour: Option<String>,
    /// CL101, the priority of the admission (1 emergency, 2 urgent, 3 elective, 4 newborn, 5 trauma, 9 unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[1-59]$")]
    pub type_code: Option<String>,
    /// CL102, the point of origin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9A-Z]$")]
    pub source_code: Option<String>,
    /// CL103, the patient's discharge status (`01` home, …); needed on an 837I.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "01", pattern = "^[0-9]{2}$")]
    pub patient_status: Option<String>,
    /// The admitting diagnosis (ICD-10-CM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnosis_code: Option<String>,
}

/// An institutional statement's first and last days (DTP*434); `from` is the claim's `service_date`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PeriodBody {
    #[schema(format = Date)]
    pub from: String,
    #[schema(format = Date)]
    pub to: String,
}

/// A drug on a line (LIN*N4, CTP).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NdcBody {
    /// The 11-digit National Drug Code (5-4-2), dashes allowed.
    #[schema(example = "00409000101", pattern = "^[0-9]{5}-?[0-9]{4}-?[0-9]{2}$")]
    pub code: String,
    /// Decimal string, default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "2.5")]
    pub quantity: Option<String>,
    /// `F2` international unit, `GR` gram, `ME` milligram, `ML` millilitre, `UN` unit (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^(F2|GR|ME|ML|UN)$")]
    pub unit: Option<String>,
}

/// A diagnosis as the 837 qualifies it: `ABK` principal, `ABF` other, `ABJ` admitting, `APR`
/// reason for visit, `ABN` external cause (`BK`, `BF`, … for ICD-9-CM), without the dot.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DiagnosisShown {
    pub code: String,
    pub qualifier: String,
}

const RELATIONSHIPS: [&str; 9] = ["18", "01", "19", "20", "21", "39", "40", "53", "G8"];
const RESPONSIBILITIES: [&str; 12] = ["P", "S", "T", "A", "B", "C", "D", "E", "F", "G", "H", "U"];
const FILING_INDICATORS: [&str; 23] = [
    "11", "12", "13", "14", "15", "16", "17", "AM", "BL", "CH", "CI", "DS", "FI", "HM", "LM", "MA", "MB", "MC", "OF",
    "TV", "VA", "WC", "ZZ",
];

fn text(max: usize) -> impl Fn(&str) -> Result<String, String> {
    move |v: &str| check_x12_text(v, max).map(|()| v.to_owned()).map_err(|e| e.to_string())
}

fn one_of<'a>(values: &'a [&'a str], what: &'a str) -> impl Fn(&str) -> Result<String, String> + 'a {
    move |v: &str| {
        if values.contains(&v) { Ok(v.to_owned()) } else { Err(format!("must be {what}: {}", values.join(", "))) }
    }
}

pub(super) fn digits(min: usize, max: usize) -> impl Fn(&str) -> Result<String, String> {
    move |v: &str| {
        if (min..=max).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit()) {
            Ok(v.to_owned())
        } else if min == max {
            Err(format!("must be {min} digits"))
        } else {
            Err(format!("must be {min} to {max} digits"))
        }
    }
}

/// An optional field parsed: `None` when absent, or when wrong (then named in `e`).
fn opt<T>(e: &mut Errors, field: String, value: Option<&str>, parse: impl Fn(&str) -> Result<T, String>) -> Option<T> {
    value.and_then(|v| e.take(field, parse(v)))
}

fn req<T>(e: &mut Errors, field: String, value: &str, parse: impl Fn(&str) -> Result<T, String>) -> T
where
    T: Default,
{
    e.take(field, parse(value)).unwrap_or_default()
}

fn address(e: &mut Errors, at: &str, a: Option<&AddressBody>) -> Option<Address> {
    let a = a?;
    let state = |v: &str| {
        if v.len() == 2 && v.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(v.to_owned())
        } else {
            Err("must be a two-letter state code".to_owned())
        }
    };
    let zip = |v: &str| {
        if (v.len() == 5 || v.len() == 9) && v.bytes().all(|b| b.is_ascii_digit()) {
            Ok(v.to_owned())
        } else {
            Err("must be a ZIP code of 5 or 9 digits".to_owned())
        }
    };
    let out = Address {
        line1: req(e, format!("{at}.line1"), &a.line1, text(55)),
        line2: opt(e, format!("{at}.line2"), a.line2.as_deref(), text(55)),
        city: req(e, format!("{at}.city"), &a.city, text(30)),
        state: opt(e, format!("{at}.state"), a.state.as_deref(), state),
        postal_code: opt(e, format!("{at}.postal_code"), a.postal_code.as_deref(), zip),
    };
    for (name, present) in [("state", out.state.is_some()), ("postal_code", out.postal_code.is_some())] {
        if !present && e.0.iter().all(|x| x.field != format!("{at}.{name}")) {
            e.0.push(FieldError::new(format!("{at}.{name}"), "is required for a US address"));
        }
    }
    Some(out)
}

fn date_field(e: &mut Errors, field: String, value: Option<&str>, today: NaiveDate) -> Option<NaiveDate> {
    opt(e, field, value, |v| {
        parse_date(v)
            .map_err(str::to_owned)
            .and_then(|d| overturn_domain::claim::past_date(d, today).map_err(str::to_owned))
    })
}

fn taxonomy(v: &str) -> Result<String, String> {
    let b = v.as_bytes();
    if b.len() == 10 && b[..9].iter().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()) && b[9] == b'X' {
        Ok(v.to_owned())
    } else {
        Err("must be a 10-character provider taxonomy code ending in X, such as 207Q00000X".to_owned())
    }
}

fn npi(v: &str) -> Result<String, String> {
    Npi::parse(v).map(|n| n.as_str().to_owned()).map_err(|e| e.to_string())
}

/// What the fields of a request hold besides today's claim: the parts of `CreateClaimRequest`
/// and its lines that carry them.
pub struct Sent<'a> {
    pub submitter: Option<&'a SubmitterBody>,
    pub receiver: Option<&'a ReceiverBody>,
    pub provider: &'a super::ProviderInput,
    pub pay_to: Option<&'a AddressBody>,
    pub payer: &'a super::PayerInput,
    pub patient: &'a super::PatientInput,
    pub subscriber: Option<&'a SubscriberBody>,
    pub place_of_service: Option<&'a str>,
    pub facility_type: Option<&'a str>,
    pub admission: Option<&'a AdmissionBody>,
    pub statement_period: Option<&'a PeriodBody>,
    pub prior_authorization: Option<&'a str>,
    pub referral_number: Option<&'a str>,
    pub providers: Option<&'a ProvidersBody>,
    pub lines: &'a [super::LineInput],
    pub diagnosis_count: usize,
    pub service_date: Option<NaiveDate>,
}

pub fn parse(e: &mut Errors, s: &Sent<'_>, today: NaiveDate) -> ClaimFields {
    let mut f = ClaimFields::default();
    if let Some(sub) = s.submitter {
        f.submitter = Some(Submitter {
            name: req(e, "submitter.name".into(), &sub.name, text(PARTY_NAME_MAX)),
            id: req(e, "submitter.id".into(), &sub.id, text(PARTY_ID_MAX)),
            contact_name: opt(e, "submitter.contact_name".into(), sub.contact_name.as_deref(), text(PARTY_NAME_MAX)),
            phone: opt(e, "submitter.phone".into(), sub.phone.as_deref(), |v| check_phone(v).map(|()| v.to_owned())),
            email: opt(e, "submitter.email".into(), sub.email.as_deref(), |v| check_email(v).map(|()| v.to_owned())),
        });
    }
    if let Some(r) = s.receiver {
        f.receiver = Some(Party {
            name: req(e, "receiver.name".into(), &r.name, text(PARTY_NAME_MAX)),
            id: req(e, "receiver.id".into(), &r.id, text(PARTY_ID_MAX)),
        });
    }
    f.provider_tax_id =
        opt(e, "provider.tax_id".into(), s.provider.tax_id.as_deref(), |v| digits(9, 9)(&v.replace('-', "")));
    f.provider_taxonomy = opt(e, "provider.taxonomy".into(), s.provider.taxonomy.as_deref(), taxonomy);
    f.provider_address = address(e, "provider.address", s.provider.address.as_ref());
    f.pay_to_address = address(e, "pay_to.address", s.pay_to);
    f.payer_responsibility = opt(
        e,
        "payer.responsibility".into(),
        s.payer.responsibility.as_deref(),
        one_of(&RESPONSIBILITIES, "an SBR01 code"),
    );
    f.claim_filing_indicator = opt(
        e,
        "payer.claim_filing_indicator".into(),
        s.payer.claim_filing_indicator.as_deref(),
        one_of(&FILING_INDICATORS, "a claim filing indicator code"),
    );
    f.group_number = opt(e, "payer.group_number".into(), s.payer.group_number.as_deref(), text(50));
    f.group_name = opt(e, "payer.group_name".into(), s.payer.group_name.as_deref(), text(60));
    let gender = one_of(&["F", "M", "U"], "a gender code");
    f.patient_gender = opt(e, "patient.gender".into(), s.patient.gender.as_deref(), &gender);
    f.patient_address = address(e, "patient.address", s.patient.address.as_ref());
    f.relationship = opt(
        e,
        "patient.relationship".into(),
        s.patient.relationship.as_deref(),
        one_of(&RELATIONSHIPS, "a relationship code"),
    );
    match (s.subscriber, f.relationship.as_deref()) {
        (Some(_), Some("18")) => {
            e.0.push(FieldError::new("patient.relationship", "must not be 18 (self) when the claim names a subscriber"))
        }
        (None, Some(r)) if r != "18" => {
            e.0.push(FieldError::new("subscriber", "is required when the patient is not the subscriber"))
        }
        _ => {}
    }
    if let Some(sub) = s.subscriber {
        f.subscriber = Some(Person {
            member_id: opt(e, "subscriber.member_id".into(), sub.member_id.as_deref(), text(80)),
            last_name: req(e, "subscriber.last_name".into(), &sub.last_name, text(60)),
            first_name: opt(e, "subscriber.first_name".into(), sub.first_name.as_deref(), text(35)),
            date_of_birth: date_field(e, "subscriber.date_of_birth".into(), sub.date_of_birth.as_deref(), today),
            gender: opt(e, "subscriber.gender".into(), sub.gender.as_deref(), &gender),
            address: address(e, "subscriber.address", sub.address.as_ref()),
        });
        if f.relationship.is_none() {
            e.0.push(FieldError::new("patient.relationship", "is required when the claim names a subscriber"));
        }
    }
    f.place_of_service = opt(e, "place_of_service".into(), s.place_of_service, digits(2, 2));
    f.facility_type = opt(e, "facility_type".into(), s.facility_type, digits(2, 2));
    if let Some(a) = s.admission {
        let admitting = opt(e, "admission.diagnosis_code".into(), a.diagnosis_code.as_deref(), |v| {
            DiagnosisCode::parse(v).map_err(|x| x.to_string())
        });
        f.diagnoses.extend(admitting.map(|c| Diagnosis { code: c.undotted(), qualifier: "ABJ".into() }));
        let hour = |v: &str| match (
            v.len(),
            v.get(..2).and_then(|h| h.parse::<u8>().ok()),
            v.get(2..).and_then(|m| m.parse::<u8>().ok()),
        ) {
            (4, Some(h), Some(m)) if h < 24 && m < 60 => Ok(v.to_owned()),
            _ => Err("must be HHMM, 24-hour".to_owned()),
        };
        f.admission = Some(Admission {
            date: date_field(e, "admission.date".into(), a.date.as_deref(), today),
            hour: opt(e, "admission.hour".into(), a.hour.as_deref(), hour),
            type_code: opt(
                e,
                "admission.type_code".into(),
                a.type_code.as_deref(),
                one_of(&["1", "2", "3", "4", "5", "9"], "an admission type code"),
            ),
            source_code: opt(e, "admission.source_code".into(), a.source_code.as_deref(), |v| {
                if v.len() == 1 && v.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()) {
                    Ok(v.to_owned())
                } else {
                    Err("must be one character".to_owned())
                }
            }),
            patient_status: opt(e, "admission.patient_status".into(), a.patient_status.as_deref(), digits(2, 2)),
        });
        if f.admission == Some(Admission::default()) && f.diagnoses.is_empty() {
            f.admission = None;
        }
    }
    if let Some(p) = s.statement_period {
        let from = date_field(e, "statement_period.from".into(), Some(&p.from), today);
        let to = date_field(e, "statement_period.to".into(), Some(&p.to), today);
        if let (Some(from), Some(to)) = (from, to) {
            if to < from {
                e.0.push(FieldError::new("statement_period.to", "must not be before statement_period.from"));
            } else if s.service_date.is_some_and(|d| d != from) {
                e.0.push(FieldError::new(
                    "statement_period.from",
                    "must be the claim's service_date (an institutional claim's first day)",
                ));
            }
            f.statement_period = Some((from, to));
        }
    }
    f.prior_authorization = opt(e, "prior_authorization".into(), s.prior_authorization, text(50));
    f.referral_number = opt(e, "referral_number".into(), s.referral_number, text(50));
    if let Some(providers) = s.providers {
        let mut providers = providers.clone();
        for role in ProviderRole::ALL {
            let Some(p) = providers.slot(role).take() else { continue };
            let at = format!("providers.{}", role.name());
            let named = NamedProvider {
                npi: opt(e, format!("{at}.npi"), p.npi.as_deref(), npi),
                name: req(e, format!("{at}.name"), &p.name, text(60)),
                first_name: opt(e, format!("{at}.first_name"), p.first_name.as_deref(), text(35)),
                taxonomy: opt(e, format!("{at}.taxonomy"), p.taxonomy.as_deref(), taxonomy),
                address: address(e, &format!("{at}.address"), p.address.as_ref()),
            };
            f.providers.push((role, named));
        }
    }
    if f.facility_type.is_some() && f.place_of_service.is_some() {
        e.0.push(FieldError::new(
            "facility_type",
            "is for institutional claims; place_of_service for professional ones: send one",
        ));
    }
    f.lines = s.lines.iter().enumerate().map(|(i, l)| line(e, i, l, s.diagnosis_count)).collect();
    if f.lines.iter().all(LineFields::is_empty) {
        f.lines.clear();
    }
    if f.subscriber.is_none() && f.relationship.is_none() && f != ClaimFields::default() {
        // A claim that carries 837 fields and no subscriber is the subscriber's own.
        f.relationship = Some("18".into());
    }
    if f.institutional()
        && (f.place_of_service.is_some()
            || f.lines.iter().any(|l| !l.diagnosis_pointers.is_empty() || l.place_of_service.is_some()))
    {
        e.0.push(FieldError::new("place_of_service", "professional fields (place of service, diagnosis pointers) and institutional ones (facility type, admission, revenue codes) do not mix on one claim"));
    }
    f
}

pub(super) fn line(e: &mut Errors, i: usize, l: &super::LineInput, diagnosis_count: usize) -> LineFields {
    let at = |name: &str| format!("lines[{i}].{name}");
    let mut out = LineFields {
        place_of_service: opt(e, at("place_of_service"), l.place_of_service.as_deref(), digits(2, 2)),
        revenue_code: opt(e, at("revenue_code"), l.revenue_code.as_deref(), |v| {
            RevenueCode::parse(v).map(|r| r.as_str().to_owned()).map_err(|x| x.to_string())
        }),
        ..Default::default()
    };
    if let Some(pointers) = &l.diagnosis_pointers {
        if pointers.is_empty() || pointers.len() > 4 {
            e.0.push(FieldError::new(at("diagnosis_pointers"), "must hold 1 to 4 pointers"));
        }
        for (k, &p) in pointers.iter().enumerate() {
            if p == 0 || usize::from(p) > diagnosis_count {
                e.0.push(FieldError::new(
                    format!("lines[{i}].diagnosis_pointers[{k}]"),
                    format!(
                        "must point at one of the claim's {diagnosis_count} diagnosis codes (1 to {diagnosis_count})"
                    ),
                ));
            }
        }
        out.diagnosis_pointers = pointers.clone();
    }
    if let Some(n) = &l.ndc {
        let code = n.code.replace('-', "");
        let code_ok = code.len() == 11 && code.bytes().all(|b| b.is_ascii_digit());
        if !code_ok {
            e.0.push(FieldError::new(at("ndc.code"), "must be an 11-digit National Drug Code (5-4-2)"));
        }
        let quantity = opt(e, at("ndc.quantity"), n.quantity.as_deref(), |v| {
            v.parse::<Decimal>()
                .map_err(|_| "must be a decimal number".to_owned())
                .and_then(|q| overturn_domain::claim::parse_units(q).map_err(str::to_owned))
                .map(|q| q.to_string())
        });
        let unit = opt(e, at("ndc.unit"), n.unit.as_deref(), one_of(&["F2", "GR", "ME", "ML", "UN"], "a unit code"));
        out.ndc = Some(Ndc { code, quantity: quantity.or(Some("1".into())), unit: unit.or(Some("UN".into())) });
    }
    out
}
