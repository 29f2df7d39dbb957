//! The JSON form of a payer response, for payers and portals without EDI: one payment (one
//! 835 transaction) per document, with the same fields, the same checks and the same
//! balancing as the X12 file. It is read into the 835 model, so everything after parsing is
//! shared with EDI.

use chrono::NaiveDate;
use overturn_domain::identifiers::check_x12_text;
use overturn_domain::x12;
use overturn_domain::x12::{
    Adjustment, ClaimPayment, Party, Payment, Procedure, ProviderAdjustment, ServiceLine, Transaction,
};
use overturn_domain::{ClaimNumber, FieldError, LineControlNumber, Money, Npi, PartyName, PayerId, TraceNumber};
use rust_decimal::Decimal;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::json::{Errors, parse_date};

/// Claims in one JSON document; larger remittances come as X12 files.
pub const MAX_CLAIMS: usize = 100_000;

/// A payer response: one payment and the claims it pays.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemittanceRequest {
    pub payer: RemittancePayer,
    pub payee: RemittancePayee,
    pub payment: PaymentInput,
    /// The date the payer produced the advice (DTM*405): appeal windows count from it.
    #[schema(format = Date, example = "2026-11-20", pattern = r"^(19|20)[0-9]{2}-[0-9]{2}-[0-9]{2}$")]
    pub production_date: Option<String>,
    #[serde(default)]
    pub claims: Vec<ClaimPaymentInput>,
    /// Adjustments to the whole payment (PLB): a positive amount reduces it.
    #[serde(default)]
    pub provider_adjustments: Vec<ProviderAdjustmentInput>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemittancePayer {
    /// The payer's identifier (TRN03 on an 835): with `payment.trace_number`, what makes a payment unique.
    #[schema(
        example = "1999999999",
        min_length = 1,
        max_length = 80,
        pattern = r"^[A-Za-z0-9.,/#&'()_+=@!$%;?-]([A-Za-z0-9 .,/#&'()_+=@!$%;?-]*[A-Za-z0-9.,/#&'()_+=@!$%;?-])?$"
    )]
    pub id: String,
    #[schema(
        example = "ACME HEALTH PLAN",
        min_length = 1,
        max_length = 60,
        pattern = r"^[A-Za-z0-9.,/#&'()_+=@!$%;?-]([A-Za-z0-9 .,/#&'()_+=@!$%;?-]*[A-Za-z0-9.,/#&'()_+=@!$%;?-])?$"
    )]
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemittancePayee {
    #[schema(
        example = "RIVERSIDE CLINIC",
        min_length = 1,
        max_length = 60,
        pattern = r"^[A-Za-z0-9.,/#&'()_+=@!$%;?-]([A-Za-z0-9 .,/#&'()_+=@!$%;?-]*[A-Za-z0-9.,/#&'()_+=@!$%;?-])?$"
    )]
    pub name: String,
    /// The payee's NPI (check digit verified).
    #[schema(example = "1234567893", pattern = "^[0-9]{10}$")]
    pub npi: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentInput {
    /// The total paid (BPR02), a decimal string with at most two places.
    #[schema(example = "1250.00", pattern = r"^[0-9]{1,12}(\.[0-9]{1,2})?$")]
    pub amount: String,
    /// `ACH`, `CHK` (check), `NON` (no payment), `BOP` or `FWT`.
    #[schema(example = "ACH", pattern = "^(ACH|CHK|NON|BOP|FWT)$")]
    pub method: String,
    /// `C` (credit, the default) or `D` (debit: the payer takes money back).
    #[schema(example = "C", pattern = "^(C|D)$")]
    pub credit_debit: Option<String>,
    /// BPR01: `I` payment with advice (the default), `H` advice only, `C` payment only, …
    #[schema(example = "I", pattern = "^(I|H|C|D|P|U|X)$")]
    pub handling_code: Option<String>,
    /// The check or EFT effective date (BPR16).
    #[schema(format = Date, example = "2026-11-21", pattern = r"^(19|20)[0-9]{2}-[0-9]{2}-[0-9]{2}$")]
    pub date: Option<String>,
    /// The check or EFT trace number (TRN02).
    #[schema(
        example = "EFT0001234",
        min_length = 1,
        max_length = 50,
        pattern = r"^[A-Za-z0-9.,/#&'()_+=@!$%;?-]([A-Za-z0-9 .,/#&'()_+=@!$%;?-]*[A-Za-z0-9.,/#&'()_+=@!$%;?-])?$"
    )]
    pub trace_number: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimPaymentInput {
    /// The claim number the provider sent (CLP01).
    #[schema(
        example = "CLM-1001",
        min_length = 1,
        max_length = 38,
        pattern = r"^[A-Za-z0-9.,/#&'()_+=@!$%;?-]([A-Za-z0-9 .,/#&'()_+=@!$%;?-]*[A-Za-z0-9.,/#&'()_+=@!$%;?-])?$"
    )]
    pub claim_number: String,
    /// CLP02: `1`/`2`/`3` processed as primary/secondary/tertiary, `4` denied, `19`/`20`/`21`
    /// processed and forwarded, `22` reversal of a previous payment, `23` not our claim,
    /// `25` predetermination only.
    #[schema(example = "1", pattern = "^(1|2|3|4|19|20|21|22|23|25)$")]
    pub status_code: String,
    #[schema(example = "200.00", pattern = r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$")]
    pub charge: String,
    #[schema(example = "120.00", pattern = r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$")]
    pub paid: String,
    /// Default `0.00`.
    #[schema(example = "30.00", pattern = r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$")]
    pub patient_responsibility: Option<String>,
    /// The payer's own claim number (CLP07).
    #[schema(
        example = "PCN0001",
        min_length = 1,
        max_length = 80,
        pattern = r"^[A-Za-z0-9.,/#&'()_+=@!$%;?-]([A-Za-z0-9 .,/#&'()_+=@!$%;?-]*[A-Za-z0-9.,/#&'()_+=@!$%;?-])?$"
    )]
    pub payer_claim_control_number: Option<String>,
    /// CLP09, default `1`.
    #[schema(example = "1", pattern = "^[0-9]$")]
    pub frequency_code: Option<String>,
    /// CLP06 (e.g. `MC` Medicare Part B, `CI` commercial).
    #[schema(example = "CI", pattern = "^[A-Za-z0-9]{0,2}$")]
    pub filing_indicator: Option<String>,
    pub patient: Option<PatientRef>,
    #[serde(default)]
    pub adjustments: Vec<AdjustmentInput>,
    /// Claim-level remark codes (MOA/MIA).
    #[serde(default)]
    #[schema(example = json!(["MA130"]))]
    pub remark_codes: Vec<String>,
    #[serde(default)]
    pub lines: Vec<LinePaymentInput>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatientRef {
    #[schema(
        example = "MEM1001",
        min_length = 1,
        max_length = 80,
        pattern = r"^[A-Za-z0-9.,/#&'()_+=@!$%;?-]([A-Za-z0-9 .,/#&'()_+=@!$%;?-]*[A-Za-z0-9.,/#&'()_+=@!$%;?-])?$"
    )]
    pub member_id: Option<String>,
    #[schema(
        example = "Jane",
        min_length = 1,
        max_length = 35,
        pattern = r"^[A-Za-z0-9.,/#&'()_+=@!$%;?-]([A-Za-z0-9 .,/#&'()_+=@!$%;?-]*[A-Za-z0-9.,/#&'()_+=@!$%;?-])?$"
    )]
    pub first_name: Option<String>,
    #[schema(
        example = "Doe",
        min_length = 1,
        max_length = 60,
        pattern = r"^[A-Za-z0-9.,/#&'()_+=@!$%;?-]([A-Za-z0-9 .,/#&'()_+=@!$%;?-]*[A-Za-z0-9.,/#&'()_+=@!$%;?-])?$"
    )]
    pub last_name: Option<String>,
}

/// One CAS adjustment: group, reason, amount (negative amounts undo an earlier adjustment).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentInput {
    /// `CO`, `PR`, `OA` or `PI`.
    #[schema(example = "CO", pattern = "^(CO|PR|OA|PI)$")]
    pub group_code: String,
    /// A claim adjustment reason code (CARC).
    #[schema(example = "45", pattern = "^([0-9]{1,3}|[A-Z]{1,2}[0-9]{1,3})$")]
    pub reason_code: String,
    #[schema(example = "50.00", pattern = r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$")]
    pub amount: String,
    /// Units adjusted, as a decimal string.
    #[schema(pattern = r"^[0-9]{1,9}(\.[0-9]{1,4})?$")]
    pub quantity: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinePaymentInput {
    /// Qualifier of `procedure_code`: `HC` (CPT/HCPCS, the default), `NU` (revenue code), `N4` (NDC), …
    #[schema(example = "HC", pattern = "^[A-Z0-9]{2}$")]
    pub procedure_qualifier: Option<String>,
    #[schema(
        example = "99213",
        min_length = 1,
        max_length = 48,
        pattern = r"^[A-Za-z0-9.,/#&'()_+=@!$%;?-]([A-Za-z0-9 .,/#&'()_+=@!$%;?-]*[A-Za-z0-9.,/#&'()_+=@!$%;?-])?$"
    )]
    pub procedure_code: String,
    #[serde(default)]
    #[schema(example = json!(["25"]), max_items = 4)]
    pub modifiers: Vec<String>,
    /// `modifiers` as an 835 composite writes them ("25:59"), for the shared model.
    #[serde(skip)]
    #[schema(ignore)]
    pub joined_modifiers: String,
    #[schema(example = "180.00", pattern = r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$")]
    pub charge: String,
    #[schema(example = "100.00", pattern = r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$")]
    pub paid: String,
    /// The allowed amount (AMT*B6).
    #[schema(pattern = r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$")]
    pub allowed: Option<String>,
    #[schema(example = "1", pattern = r"^[0-9]{1,9}(\.[0-9]{1,4})?$")]
    pub units: Option<String>,
    #[schema(format = Date, pattern = r"^(19|20)[0-9]{2}-[0-9]{2}-[0-9]{2}$")]
    pub service_date: Option<String>,
    /// The line control number the provider sent (REF*6R).
    #[schema(
        min_length = 1,
        max_length = 50,
        pattern = r"^[A-Za-z0-9.,/#&'()_+=@!$%;?-]([A-Za-z0-9 .,/#&'()_+=@!$%;?-]*[A-Za-z0-9.,/#&'()_+=@!$%;?-])?$"
    )]
    pub line_control_number: Option<String>,
    #[serde(default)]
    pub adjustments: Vec<AdjustmentInput>,
    /// Line remark codes (LQ*HE).
    #[serde(default)]
    pub remark_codes: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderAdjustmentInput {
    /// PLB03-1: `L6` interest, `WO` overpayment recovery, `CS` adjustment, `72` authorized return, …
    #[schema(example = "WO", pattern = "^[A-Z0-9]{1,5}$")]
    pub reason_code: String,
    /// PLB03-2: usually the payer claim number the adjustment concerns.
    #[schema(
        min_length = 1,
        max_length = 50,
        pattern = r"^[A-Za-z0-9.,/#&'()_+=@!$%;?-]([A-Za-z0-9 .,/#&'()_+=@!$%;?-]*[A-Za-z0-9.,/#&'()_+=@!$%;?-])?$"
    )]
    pub reference: Option<String>,
    /// Positive reduces the payment, negative increases it.
    #[schema(example = "25.00", pattern = r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$")]
    pub amount: String,
    pub provider_id: Option<String>,
    #[schema(format = Date, pattern = r"^(19|20)[0-9]{2}-[0-9]{2}-[0-9]{2}$")]
    pub fiscal_period_date: Option<String>,
}

const STATUS_CODES: [&str; 10] = ["1", "2", "3", "4", "19", "20", "21", "22", "23", "25"];

fn one_of<'a>(value: &'a str, allowed: &[&str]) -> Result<&'a str, String> {
    if allowed.contains(&value) { Ok(value) } else { Err(format!("must be one of {}", allowed.join(", "))) }
}

/// CARC ids are one to three digits or a letter and digits (`45`, `B7`, `P12`); RARC ids are
/// one or two letters and digits (`M51`, `MA130`, `N386`).
fn code<'a>(value: &'a str, what: &'static str) -> Result<&'a str, String> {
    let ok = (1..=5).contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && (what.contains("provider") || value.bytes().any(|b| b.is_ascii_digit()));
    if ok { Ok(value) } else { Err(format!("is not a {what}: letters and digits, e.g. {}", example(what))) }
}

fn example(what: &str) -> &'static str {
    if what.contains("remark") {
        "\"M51\" or \"MA130\""
    } else if what.contains("provider") {
        "\"L6\" or \"WO\""
    } else {
        "\"45\" or \"B7\""
    }
}

fn signed(text: &str) -> Result<Money, String> {
    Money::parse_signed(text).map_err(|e| e.to_string())
}

fn decimal(text: &str) -> Result<Decimal, String> {
    text.parse::<Decimal>().map_err(|_| "must be a decimal number as a string, e.g. \"1\" or \"1.5\"".to_owned())
}

/// Free text that will sit in an X12 element: printable, no delimiters.
fn x12_text(value: &str, max: usize) -> Result<&str, String> {
    check_x12_text(value, max).map(|_| value).map_err(|e| e.to_string())
}

fn read_adjustments<'a>(
    e: &mut Errors,
    adjustments: &mut Vec<Adjustment<'a>>,
    path: &str,
    list: &'a [AdjustmentInput],
) -> std::ops::Range<u32> {
    let start = adjustments.len() as u32;
    if list.len() > x12::MAX_ADJUSTMENTS {
        e.0.push(FieldError::new(path, format!("must hold at most {} adjustments", x12::MAX_ADJUSTMENTS)));
        return start..start;
    }
    for (k, a) in list.iter().enumerate() {
        let group = e.take(format!("{path}[{k}].group_code"), one_of(&a.group_code, &["CO", "PR", "OA", "PI"]));
        let reason = e.take(format!("{path}[{k}].reason_code"), code(&a.reason_code, "claim adjustment reason code"));
        let amount = e.take(format!("{path}[{k}].amount"), signed(&a.amount));
        let quantity = match &a.quantity {
            Some(q) => e.take(format!("{path}[{k}].quantity"), decimal(q)).map(Some),
            None => Some(None),
        };
        if let (Some(group), Some(reason), Some(amount), Some(quantity)) = (group, reason, amount, quantity) {
            adjustments.push(Adjustment { group, reason, amount, quantity });
        }
    }
    start..adjustments.len() as u32
}

fn read_remarks<'a>(
    e: &mut Errors,
    remark_codes: &mut Vec<&'a str>,
    path: &str,
    list: &'a [String],
) -> std::ops::Range<u32> {
    let start = remark_codes.len() as u32;
    if list.len() > x12::MAX_LINE_REMARKS {
        e.0.push(FieldError::new(path, format!("must hold at most {} remark codes", x12::MAX_LINE_REMARKS)));
        return start..start;
    }
    for (k, c) in list.iter().enumerate() {
        if let Some(c) = e.take(format!("{path}[{k}]"), code(c, "remittance advice remark code")) {
            remark_codes.push(c);
        }
    }
    start..remark_codes.len() as u32
}

/// Fills what `to_transaction` borrows but the document does not hold as such.
pub fn prepare(r: &mut RemittanceRequest) {
    for line in r.claims.iter_mut().flat_map(|c| c.lines.iter_mut()) {
        line.joined_modifiers = line.modifiers.join(":");
    }
}

/// Builds the 835 transaction the document describes, or every field that is wrong. The
/// second value maps each `segment_index` of the model to the JSON path it came from, so
/// balancing errors name fields too.
pub fn to_transaction(r: &RemittanceRequest) -> Result<(Transaction<'_>, Vec<String>), Vec<FieldError>> {
    let mut reading = Reading::default();
    let payment = reading.payment(r);
    if r.claims.len() > MAX_CLAIMS {
        reading.e.0.push(FieldError::new("claims", format!("must hold at most {MAX_CLAIMS} claims; send an X12 file")));
    }
    for (i, c) in r.claims.iter().enumerate() {
        reading.claim(i, c);
    }
    let provider_adjustments = reading.provider_adjustments(r);
    let Reading { e, paths, claims, lines, adjustments, remark_codes } = reading;
    if !e.0.is_empty() {
        return Err(e.0);
    }
    let Some((payment, production_date)) = payment else {
        return Err(vec![FieldError::new("payment", "could not be read")]);
    };
    let tx = Transaction {
        interchange_control_number: "",
        group_control_number: "",
        transaction_control_number: "",
        payment,
        trace_number: &r.payment.trace_number,
        trace_payer_id: &r.payer.id,
        production_date,
        payer: Party { name: &r.payer.name, id_qualifier: "PI", id: &r.payer.id },
        payee: Party {
            name: &r.payee.name,
            id_qualifier: if r.payee.npi.is_some() { "XX" } else { "" },
            id: r.payee.npi.as_deref().unwrap_or(""),
        },
        claims,
        lines,
        adjustments,
        remark_codes,
        provider_adjustments,
        warnings: Vec::new(),
    };
    Ok((tx, paths))
}

/// The document as read so far: every field error, and the model's flat arrays.
struct Reading<'a> {
    e: Errors,
    /// Index 0 is unused; 1 is the payment, for the transaction-level balance.
    paths: Vec<String>,
    claims: Vec<ClaimPayment<'a>>,
    lines: Vec<ServiceLine<'a>>,
    adjustments: Vec<Adjustment<'a>>,
    remark_codes: Vec<&'a str>,
}

impl Default for Reading<'_> {
    fn default() -> Self {
        Self {
            e: Errors(Vec::new()),
            paths: vec![String::new(), "payment.amount".to_owned()],
            claims: Vec::new(),
            lines: Vec::new(),
            adjustments: Vec::new(),
            remark_codes: Vec::new(),
        }
    }
}

impl<'a> Reading<'a> {
    /// The parties, the payment (BPR) and the production date; `None` if any is wrong.
    fn payment(&mut self, r: &'a RemittanceRequest) -> Option<(Payment<'a>, Option<NaiveDate>)> {
        let e = &mut self.e;
        e.take("payer.id", PayerId::parse(&r.payer.id));
        e.take("payer.name", PartyName::parse(&r.payer.name));
        e.take("payee.name", PartyName::parse(&r.payee.name));
        if let Some(npi) = &r.payee.npi {
            e.take("payee.npi", Npi::parse(npi));
        }
        let amount = e.take("payment.amount", Money::parse(&r.payment.amount));
        let method = e.take("payment.method", one_of(&r.payment.method, &["ACH", "CHK", "NON", "BOP", "FWT"]));
        let credit_debit =
            e.take("payment.credit_debit", one_of(r.payment.credit_debit.as_deref().unwrap_or("C"), &["C", "D"]));
        let handling = e.take(
            "payment.handling_code",
            one_of(r.payment.handling_code.as_deref().unwrap_or("I"), &["I", "H", "C", "D", "P", "U", "X"]),
        );
        let payment_date = match &r.payment.date {
            Some(d) => e.take("payment.date", parse_date(d)),
            None => None,
        };
        e.take("payment.trace_number", TraceNumber::parse(&r.payment.trace_number));
        let production_date = match &r.production_date {
            Some(d) => e.take("production_date", parse_date(d)),
            None => None,
        };
        let (amount, method, credit_debit, handling_code) = (amount?, method?, credit_debit?, handling?);
        Some((Payment { handling_code, amount, credit_debit, method, effective_date: payment_date }, production_date))
    }

    /// One claim payment (CLP) with its adjustments, remarks and lines.
    fn claim(&mut self, i: usize, c: &'a ClaimPaymentInput) {
        let at = |field: &str| format!("claims[{i}].{field}");
        let e = &mut self.e;
        let claim_number =
            e.take(at("claim_number"), ClaimNumber::parse(&c.claim_number)).map(|_| c.claim_number.as_str());
        let status_code = e.take(at("status_code"), one_of(&c.status_code, &STATUS_CODES));
        let charge = e.take(at("charge"), signed(&c.charge));
        let paid = e.take(at("paid"), signed(&c.paid));
        let patient_responsibility =
            e.take(at("patient_responsibility"), signed(c.patient_responsibility.as_deref().unwrap_or("0")));
        if let Some(p) = &c.payer_claim_control_number {
            e.take(at("payer_claim_control_number"), PayerId::parse(p));
        }
        let frequency = c.frequency_code.as_deref().unwrap_or("1");
        if !(frequency.len() == 1 && frequency.bytes().all(|b| b.is_ascii_digit())) {
            e.0.push(FieldError::new(at("frequency_code"), "must be one digit: 1 original, 7 replacement, 8 void"));
        }
        let filing = c.filing_indicator.as_deref().unwrap_or("");
        if filing.len() > 2 || !filing.bytes().all(|b| b.is_ascii_alphanumeric()) {
            e.0.push(FieldError::new(at("filing_indicator"), "must be a claim filing indicator code such as MB or CI"));
        }
        let patient = c.patient.as_ref();
        for (field, value, max) in [
            ("patient.member_id", patient.and_then(|p| p.member_id.as_deref()), 80),
            ("patient.first_name", patient.and_then(|p| p.first_name.as_deref()), 35),
            ("patient.last_name", patient.and_then(|p| p.last_name.as_deref()), 60),
        ] {
            if let Some(v) = value {
                e.take(at(field), x12_text(v, max));
            }
        }
        let claim_adjustments = read_adjustments(e, &mut self.adjustments, &at("adjustments"), &c.adjustments);
        let claim_remarks = read_remarks(e, &mut self.remark_codes, &at("remark_codes"), &c.remark_codes);
        let first_line = self.lines.len() as u32;
        if c.lines.len() > x12::MAX_LINES {
            self.e.0.push(FieldError::new(at("lines"), format!("must hold at most {} service lines", x12::MAX_LINES)));
        } else {
            for (j, l) in c.lines.iter().enumerate() {
                self.line(i, j, l);
            }
        }
        if let (Some(claim_number), Some(status_code), Some(charge), Some(paid), Some(patient_responsibility)) =
            (claim_number, status_code, charge, paid, patient_responsibility)
        {
            self.paths.push(format!("claims[{i}]"));
            self.claims.push(ClaimPayment {
                claim_number,
                status_code,
                charge,
                paid,
                patient_responsibility,
                filing_indicator: filing,
                payer_claim_control_number: c.payer_claim_control_number.as_deref().unwrap_or(""),
                facility_code: "",
                frequency_code: frequency,
                patient_last_name: patient.and_then(|p| p.last_name.as_deref()).unwrap_or(""),
                patient_first_name: patient.and_then(|p| p.first_name.as_deref()).unwrap_or(""),
                patient_member_id: patient.and_then(|p| p.member_id.as_deref()).unwrap_or(""),
                adjustments: claim_adjustments,
                remark_codes: claim_remarks,
                lines: first_line..self.lines.len() as u32,
                segment_index: self.paths.len() - 1,
            });
        }
    }

    /// One service line (SVC) of claim `i`.
    fn line(&mut self, i: usize, j: usize, l: &'a LinePaymentInput) {
        let at = |field: &str| format!("claims[{i}].lines[{j}].{field}");
        let e = &mut self.e;
        let qualifier = l.procedure_qualifier.as_deref().unwrap_or("HC");
        if !(qualifier.len() == 2 && qualifier.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())) {
            e.0.push(FieldError::new(at("procedure_qualifier"), "must be a product/service id qualifier such as HC"));
        }
        let procedure_code = e.take(at("procedure_code"), x12_text(&l.procedure_code, 48));
        if l.modifiers.len() > 4 {
            e.0.push(FieldError::new(at("modifiers"), "must hold at most 4 modifiers"));
        }
        for (k, m) in l.modifiers.iter().enumerate() {
            if !(m.len() == 2 && m.bytes().all(|b| b.is_ascii_alphanumeric())) {
                e.0.push(FieldError::new(format!("{}[{k}]", at("modifiers")), "must be two letters or digits"));
            }
        }
        let charge = e.take(at("charge"), signed(&l.charge));
        let paid = e.take(at("paid"), signed(&l.paid));
        let allowed = match &l.allowed {
            Some(a) => e.take(at("allowed"), signed(a)).map(Some),
            None => Some(None),
        };
        let units = match &l.units {
            Some(u) => e.take(at("units"), decimal(u)).map(Some),
            None => Some(None),
        };
        let service_date = match &l.service_date {
            Some(d) => e.take(at("service_date"), parse_date(d)),
            None => None,
        };
        let control = match &l.line_control_number {
            Some(n) => e.take(at("line_control_number"), LineControlNumber::parse(n)).map(|_| Some(n.as_str())),
            None => Some(None),
        };
        let line_adjustments = read_adjustments(e, &mut self.adjustments, &at("adjustments"), &l.adjustments);
        let line_remarks = read_remarks(e, &mut self.remark_codes, &at("remark_codes"), &l.remark_codes);
        if let (Some(code), Some(charge), Some(paid), Some(allowed), Some(units), Some(control)) =
            (procedure_code, charge, paid, allowed, units, control)
        {
            self.paths.push(format!("claims[{i}].lines[{j}]"));
            self.lines.push(ServiceLine {
                procedure: Procedure::new(qualifier, code, &l.joined_modifiers, b':'),
                charge,
                paid,
                units,
                original_procedure: None,
                service_date,
                line_control_number: control,
                allowed,
                adjustments: line_adjustments,
                remark_codes: line_remarks,
                segment_index: self.paths.len() - 1,
            });
        }
    }

    /// The PLB adjustments.
    fn provider_adjustments(&mut self, r: &'a RemittanceRequest) -> Vec<ProviderAdjustment<'a>> {
        let mut out = Vec::with_capacity(r.provider_adjustments.len());
        for (k, p) in r.provider_adjustments.iter().enumerate() {
            let at = |field: &str| format!("provider_adjustments[{k}].{field}");
            let e = &mut self.e;
            let reason = e.take(at("reason_code"), code(&p.reason_code, "provider adjustment reason code"));
            let amount = e.take(at("amount"), signed(&p.amount));
            let period = match &p.fiscal_period_date {
                Some(d) => e.take(at("fiscal_period_date"), parse_date(d)).map(Some),
                None => Some(None),
            };
            if let Some(reference) = &p.reference {
                e.take(at("reference"), x12_text(reference, 50));
            }
            if let (Some(reason_code), Some(amount), Some(fiscal_period_date)) = (reason, amount, period) {
                out.push(ProviderAdjustment {
                    provider_id: p.provider_id.as_deref().unwrap_or(""),
                    fiscal_period_date,
                    reason_code,
                    reference: p.reference.as_deref().unwrap_or(""),
                    amount,
                });
            }
        }
        out
    }
}
