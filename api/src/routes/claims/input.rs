//! The body of `POST /v1/claims`, and its parsing into a `ClaimDraft`.

use chrono::{DateTime, Utc};
use overturn_domain::claim::{MAX_DIAGNOSIS_CODES, MAX_LINES, MAX_MODIFIERS, parse_units, past_date};
use overturn_domain::codes::RevenueCode;
use overturn_domain::{
    ClaimDraft, ClaimLineDraft, ClaimNumber, DiagnosisCode, FieldError, FrequencyCode, LineControlNumber, MemberId,
    Modifier, Money, Npi, PartyName, PayerId, PersonName, ProcedureCode,
};
use rust_decimal::Decimal;
use serde::Deserialize;
use utoipa::ToSchema;

use super::fields::{
    self, AddressBody, AdmissionBody, NdcBody, PeriodBody, ProvidersBody, ReceiverBody, Sent, SubmitterBody,
    SubscriberBody,
};
use crate::json::{Errors, parse_date};
use overturn_domain::x12::claim837::ClaimFields;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClaimRequest {
    /// The patient control number sent as CLM01 on the 837 (echoed as CLP01 on the 835). Unique.
    #[schema(example = "CLM-1001", min_length = 1, max_length = 38, pattern = r"^[ -)+-9;-=?-\[\]_-{}]+$")]
    pub claim_number: String,
    pub payer: PayerInput,
    pub patient: PatientInput,
    pub provider: ProviderInput,
    /// First date of service, `YYYY-MM-DD`.
    #[schema(format = Date, example = "2024-12-02", pattern = r"^(19|20)[0-9]{2}-[0-9]{2}-[0-9]{2}$")]
    pub service_date: String,
    /// When the claim went to the payer (RFC 3339); defaults to now.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub submitted_at: Option<String>,
    /// `1` original (default), `7` replacement, `8` void.
    #[schema(example = "1", pattern = "^[178]$")]
    pub frequency_code: Option<String>,
    /// The payer's claim control number (CLP07) of the claim a replacement or void replaces.
    pub payer_claim_control_number: Option<String>,
    /// ICD-10-CM codes, with or without the dot; 1 to 12.
    #[schema(example = json!(["E11.9"]), min_items = 1, max_items = 12)]
    pub diagnosis_codes: Vec<String>,
    /// 1 to 50 service lines.
    #[schema(min_items = 1, max_items = 50)]
    pub lines: Vec<LineInput>,
    // What an 837 carries beyond the above: optional, kept and shown on the claim, and what
    // `GET /v1/claims/{id}/837` needs to write it (it names what is missing).
    pub submitter: Option<SubmitterBody>,
    pub receiver: Option<ReceiverBody>,
    /// The pay-to address (loop 2010AB), when payments go elsewhere than the billing provider.
    pub pay_to: Option<PayToBody>,
    /// The subscriber, when the patient is not (then `patient.relationship` says who the patient is).
    pub subscriber: Option<SubscriberBody>,
    /// Professional claims: the place of service code (CLM05-1), `11` office, `21` inpatient hospital, …
    #[schema(example = "11", pattern = "^[0-9]{2}$")]
    pub place_of_service: Option<String>,
    /// Institutional claims: the facility type code (the type of bill's first two digits, CLM05-1).
    /// Institutional fields make the claim an 837I.
    #[schema(example = "13", pattern = "^[0-9]{2}$")]
    pub facility_type: Option<String>,
    /// Institutional claims: admission data.
    pub admission: Option<AdmissionBody>,
    /// Institutional claims: the statement's first and last days (by default the lines' dates).
    pub statement_period: Option<PeriodBody>,
    /// The payer's prior authorization number (REF*G1).
    #[schema(min_length = 1, max_length = 50)]
    pub prior_authorization: Option<String>,
    /// The referral number (REF*9F).
    #[schema(min_length = 1, max_length = 50)]
    pub referral_number: Option<String>,
    /// The claim's providers besides the billing provider, by role.
    pub providers: Option<ProvidersBody>,
}

/// The pay-to provider's address.
#[derive(Debug, Clone, Deserialize, serde::Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayToBody {
    pub address: AddressBody,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayerInput {
    #[schema(example = "60054", min_length = 1, max_length = 80)]
    pub id: String,
    #[schema(example = "ACME HEALTH PLAN", min_length = 1, max_length = 60)]
    pub name: String,
    /// This payer's place in the order of payment (SBR01): `P` primary (default), `S` secondary, `T` tertiary, …
    #[schema(example = "P", pattern = "^[PSTABCDEFGHU]$")]
    pub responsibility: Option<String>,
    /// The claim filing indicator (SBR09): `CI` commercial, `MB` Medicare Part B, `MC` Medicaid, `BL` Blue Cross, …
    #[schema(example = "CI", min_length = 2, max_length = 2)]
    pub claim_filing_indicator: Option<String>,
    /// The subscriber's group or policy number (SBR03).
    #[schema(max_length = 50)]
    pub group_number: Option<String>,
    /// The group's name (SBR04).
    #[schema(max_length = 60)]
    pub group_name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatientInput {
    #[schema(example = "MEM1001", min_length = 1, max_length = 80)]
    pub member_id: String,
    #[schema(example = "Jane", min_length = 1, max_length = 60)]
    pub first_name: String,
    #[schema(example = "Doe", min_length = 1, max_length = 60)]
    pub last_name: String,
    #[schema(format = Date, example = "1980-04-12", pattern = r"^(19|20)[0-9]{2}-[0-9]{2}-[0-9]{2}$")]
    pub date_of_birth: String,
    /// `F`, `M` or `U`.
    #[schema(pattern = "^[FMU]$")]
    pub gender: Option<String>,
    pub address: Option<AddressBody>,
    /// The patient's relationship to the subscriber: `18` self (the default without a
    /// `subscriber`), `01` spouse, `19` child, `20` employee, `21` unknown, `39` organ donor,
    /// `40` cadaver donor, `53` life partner, `G8` other.
    #[schema(example = "18", pattern = "^(18|01|19|20|21|39|40|53|G8)$")]
    pub relationship: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderInput {
    /// 10-digit NPI; the check digit is verified.
    #[schema(example = "1234567893", pattern = "^[0-9]{10}$")]
    pub npi: String,
    #[schema(example = "SMITH FAMILY CLINIC", min_length = 1, max_length = 60)]
    pub name: String,
    /// The billing provider's employer identification number (REF*EI): 9 digits, a dash allowed.
    #[schema(example = "06-1234567", pattern = "^[0-9]{2}-?[0-9]{7}$")]
    pub tax_id: Option<String>,
    /// The billing provider's taxonomy code (PRV*BI).
    #[schema(example = "207Q00000X", pattern = "^[0-9A-Z]{9}X$")]
    pub taxonomy: Option<String>,
    pub address: Option<AddressBody>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineInput {
    /// CPT or HCPCS Level II code; an institutional line with a `revenue_code` may go without.
    #[schema(example = "99213", pattern = "^([0-9]{4}[0-9FTU]|[A-HJ-MP-V][0-9]{4})$")]
    pub procedure_code: Option<String>,
    /// Up to four two-character modifiers.
    #[serde(default)]
    #[schema(example = json!(["25"]), max_items = 4)]
    pub modifiers: Vec<String>,
    /// Units of service: a positive number (default 1), or a decimal string for fractions.
    #[schema(value_type = Option<f64>, example = 1)]
    pub units: Option<serde_json::Value>,
    /// Decimal string with at most two places.
    #[schema(example = "180.00", pattern = r"^[0-9]{1,12}(\.[0-9]{1,2})?$")]
    pub charge: String,
    /// Defaults to the claim's `service_date`.
    #[schema(format = Date)]
    pub service_date: Option<String>,
    /// The line item control number sent as REF*6R on the 837; payers echo it on the 835,
    /// which lets a payment find its claim when the claim number was mangled.
    #[schema(example = "CLM-1001-1", min_length = 1, max_length = 50)]
    pub line_control_number: Option<String>,
    /// Professional lines: the line's place of service, when not the claim's (SV105).
    #[schema(pattern = "^[0-9]{2}$")]
    pub place_of_service: Option<String>,
    /// Professional lines: 1 to 4 positions (1-based) in `diagnosis_codes` (SV107); by default 1.
    #[schema(max_items = 4)]
    pub diagnosis_pointers: Option<Vec<u8>>,
    /// Institutional lines: the revenue code (SV201), needed on each.
    #[schema(example = "0450", pattern = "^[0-9]{4}$")]
    pub revenue_code: Option<String>,
    /// A drug: its NDC, quantity and unit.
    pub ndc: Option<NdcBody>,
}

fn parse_units_value(value: Option<&serde_json::Value>) -> Result<Decimal, &'static str> {
    let text = match value {
        None => return Ok(Decimal::ONE),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(_) => return Err("must be a number"),
    };
    let units: Decimal = text.parse().map_err(|_| "must be a number")?;
    parse_units(units)
}

/// A claim request parsed: the draft, when it went to the payer, and its 837 fields.
pub struct Parsed {
    pub draft: ClaimDraft,
    pub submitted_at: DateTime<Utc>,
    pub fields: ClaimFields,
}

pub fn parse(request: CreateClaimRequest, now: DateTime<Utc>) -> Result<Parsed, Vec<FieldError>> {
    let mut e = Errors(Vec::new());
    let claim_number = e.take("claim_number", ClaimNumber::parse(&request.claim_number));
    let payer_id = e.take("payer.id", PayerId::parse(&request.payer.id));
    let payer_name = e.take("payer.name", PartyName::parse(request.payer.name.trim()));
    let member_id = e.take("patient.member_id", MemberId::parse(&request.patient.member_id));
    let first_name = e.take("patient.first_name", PersonName::parse(request.patient.first_name.trim()));
    let last_name = e.take("patient.last_name", PersonName::parse(request.patient.last_name.trim()));
    let today = now.date_naive();
    let date_of_birth =
        e.take("patient.date_of_birth", parse_date(&request.patient.date_of_birth).and_then(|d| past_date(d, today)));
    let npi = e.take("provider.npi", Npi::parse(&request.provider.npi));
    let provider_name = e.take("provider.name", PartyName::parse(request.provider.name.trim()));
    let service_date = e.take("service_date", parse_date(&request.service_date).and_then(|d| past_date(d, today)));
    let submitted_at = match request.submitted_at.as_deref() {
        None => Some(now),
        Some(text) => e.take(
            "submitted_at",
            DateTime::parse_from_rfc3339(text)
                .map(|t| chrono::SubsecRound::trunc_subsecs(t.with_timezone(&Utc), 6))
                .map_err(|_| "must be an RFC 3339 timestamp such as 2025-01-15T12:00:00Z")
                .and_then(|t| if t > now { Err("must not be in the future") } else { Ok(t) }),
        ),
    };
    let frequency_code =
        e.take("frequency_code", FrequencyCode::parse(request.frequency_code.as_deref().unwrap_or("1")));
    let payer_claim_control_number = match request.payer_claim_control_number.as_deref() {
        None | Some("") => Some(None),
        Some(text) => e.take("payer_claim_control_number", PayerId::parse(text)).map(Some),
    };

    if request.diagnosis_codes.is_empty() || request.diagnosis_codes.len() > MAX_DIAGNOSIS_CODES {
        e.0.push(FieldError::new("diagnosis_codes", format!("must hold 1 to {MAX_DIAGNOSIS_CODES} codes")));
    }
    let diagnosis_codes: Vec<Option<DiagnosisCode>> = request
        .diagnosis_codes
        .iter()
        .enumerate()
        .map(|(i, code)| e.take(format!("diagnosis_codes[{i}]"), DiagnosisCode::parse(code)))
        .collect();

    if request.lines.is_empty() || request.lines.len() > MAX_LINES {
        e.0.push(FieldError::new("lines", format!("must hold 1 to {MAX_LINES} service lines")));
    }
    let lines = parse_lines(&mut e, &request.lines, service_date, "lines");
    let sent = Sent {
        submitter: request.submitter.as_ref(),
        receiver: request.receiver.as_ref(),
        provider: &request.provider,
        pay_to: request.pay_to.as_ref().map(|p| &p.address),
        payer: &request.payer,
        patient: &request.patient,
        subscriber: request.subscriber.as_ref(),
        place_of_service: request.place_of_service.as_deref(),
        facility_type: request.facility_type.as_deref(),
        admission: request.admission.as_ref(),
        statement_period: request.statement_period.as_ref(),
        prior_authorization: request.prior_authorization.as_deref(),
        referral_number: request.referral_number.as_deref(),
        providers: request.providers.as_ref(),
        lines: &request.lines,
        diagnosis_count: request.diagnosis_codes.len(),
        service_date,
    };
    let fields = fields::parse(&mut e, &sent, today);

    if !e.0.is_empty() {
        return Err(e.0);
    }
    // Every field parsed: the unwraps below cannot fail, but stay graceful rather than panic.
    let built = (|| {
        Some(ClaimDraft {
            claim_number: claim_number?,
            payer_id: payer_id?,
            payer_name: payer_name?,
            patient_member_id: member_id?,
            patient_first_name: first_name?,
            patient_last_name: last_name?,
            patient_date_of_birth: date_of_birth?,
            provider_npi: npi?,
            provider_name: provider_name?,
            service_date: service_date?,
            frequency_code: frequency_code?,
            payer_claim_control_number: payer_claim_control_number?,
            diagnosis_codes: diagnosis_codes.into_iter().collect::<Option<Vec<_>>>()?,
            lines: lines.into_iter().collect::<Option<Vec<_>>>()?,
        })
    })();
    let draft = built.ok_or_else(|| vec![FieldError::new("body", "could not be read")])?;
    let cross_field = draft.check(today);
    if !cross_field.is_empty() {
        return Err(cross_field);
    }
    Ok(Parsed { draft, submitted_at: submitted_at.unwrap_or(now), fields })
}

/// Each line parsed (`None` where a field is wrong, named in `e` as `{field}[i].…`); a line
/// without a date takes `default_date`.
pub(crate) fn parse_lines(
    e: &mut Errors,
    lines: &[LineInput],
    default_date: Option<chrono::NaiveDate>,
    field: &str,
) -> Vec<Option<ClaimLineDraft>> {
    let mut out = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let at = |name: &str| format!("{field}[{i}].{name}");
        let procedure_code = match (line.procedure_code.as_deref(), line.revenue_code.as_deref()) {
            (Some(code), _) => e.take(at("procedure_code"), ProcedureCode::parse(code)).map(Some),
            (None, Some(_)) => Some(None),
            (None, None) => {
                e.0.push(FieldError::new(
                    at("procedure_code"),
                    "is required (an institutional line may send a revenue_code instead)",
                ));
                None
            }
        };
        let revenue_code = match line.revenue_code.as_deref() {
            None => Some(None),
            Some(code) => RevenueCode::parse(code).ok().map(Some).or(Some(None)),
        };
        if line.procedure_code.is_none() && line.revenue_code.is_some() && !line.modifiers.is_empty() {
            e.0.push(FieldError::new(at("modifiers"), "modify a procedure_code: send one with them"));
        }
        if line.modifiers.len() > MAX_MODIFIERS {
            e.0.push(FieldError::new(at("modifiers"), format!("must hold at most {MAX_MODIFIERS} modifiers")));
        }
        let modifiers: Vec<Option<Modifier>> = line
            .modifiers
            .iter()
            .enumerate()
            .map(|(j, m)| e.take(format!("{field}[{i}].modifiers[{j}]"), Modifier::parse(m)))
            .collect();
        let units = e.take(at("units"), parse_units_value(line.units.as_ref()));
        let charge = e.take(at("charge"), Money::parse(&line.charge));
        let line_date = match line.service_date.as_deref() {
            None => default_date,
            Some(text) => e.take(at("service_date"), parse_date(text)),
        };
        let control = match line.line_control_number.as_deref() {
            None => Some(None),
            Some(text) => e.take(at("line_control_number"), LineControlNumber::parse(text)).map(Some),
        };
        out.push((|| {
            Some(ClaimLineDraft {
                procedure_code: procedure_code?,
                revenue_code: revenue_code?,
                modifiers: modifiers.into_iter().collect::<Option<Vec<_>>>()?,
                units: units?,
                charge: charge?,
                service_date: line_date?,
                line_control_number: control?,
            })
        })());
    }
    out
}
