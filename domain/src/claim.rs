//! A claim as submitted (the 837's content that matters for denial work).

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::codes::RevenueCode;
use crate::{
    ClaimNumber, DiagnosisCode, LineControlNumber, MemberId, Modifier, Money, Npi, PartyName, PayerId, PersonName,
    ProcedureCode,
};

/// One problem with one field of a request, named by its JSON path (`lines[0].charge`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// CLM05-3, the claim frequency type code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrequencyCode {
    Original,
    Replacement,
    Void,
    /// One of the institutional claim's other frequency codes (the third digit of the type of
    /// bill: interim bills 2–4, late charges 5, hospice and home health notices A–Q, …).
    Institutional(&'static str),
}

/// Institutional frequency codes besides 1, 7 and 8 (NUBC type of bill, third position).
const INSTITUTIONAL_FREQUENCIES: [&str; 20] =
    ["0", "2", "3", "4", "5", "6", "9", "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "M", "Q"];

impl FrequencyCode {
    pub fn parse(value: &str) -> Result<Self, &'static str> {
        match value {
            "1" => Ok(Self::Original),
            "7" => Ok(Self::Replacement),
            "8" => Ok(Self::Void),
            _ => Err("must be \"1\" (original), \"7\" (replacement) or \"8\" (void)"),
        }
    }

    /// As an 837I may carry it: 1, 7, 8 or another type-of-bill frequency.
    pub fn parse_institutional(value: &str) -> Result<Self, &'static str> {
        Self::parse(value).or_else(|_| {
            INSTITUTIONAL_FREQUENCIES
                .iter()
                .find(|&&c| c == value)
                .map(|&c| Self::Institutional(c))
                .ok_or("must be a claim frequency code: 1 (original), 7 (replacement), 8 (void) or, on an institutional claim, another type-of-bill frequency (0, 2–6, 9, A–Q)")
        })
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Original => "1",
            Self::Replacement => "7",
            Self::Void => "8",
            Self::Institutional(code) => code,
        }
    }

    /// Replacement and void claims must name the payer's claim they replace (CLP07 of the 835).
    pub fn needs_original_reference(self) -> bool {
        matches!(self, Self::Replacement | Self::Void)
    }
}

/// Where a claim stands with its payer, derived from the remittances received for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimStatus {
    Submitted,
    Paid,
    PartiallyPaid,
    Denied,
    Reversed,
    /// Returned at the front door (999, 277CA): the payer never adjudicated it. A payment
    /// that comes later settles it as any claim.
    Rejected,
}

impl ClaimStatus {
    pub const ALL: [ClaimStatus; 6] =
        [Self::Submitted, Self::Paid, Self::PartiallyPaid, Self::Denied, Self::Reversed, Self::Rejected];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Paid => "paid",
            Self::PartiallyPaid => "partially_paid",
            Self::Denied => "denied",
            Self::Reversed => "reversed",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

/// A service line of a claim, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimLineDraft {
    /// Always on a professional line; an institutional line may carry only a revenue code.
    pub procedure_code: Option<ProcedureCode>,
    pub revenue_code: Option<RevenueCode>,
    pub modifiers: Vec<Modifier>,
    pub units: Decimal,
    pub charge: Money,
    pub service_date: NaiveDate,
    pub line_control_number: Option<LineControlNumber>,
}

/// A claim whose every field has been parsed; `check` adds the rules that span fields.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimDraft {
    pub claim_number: ClaimNumber,
    pub payer_id: PayerId,
    pub payer_name: PartyName,
    pub patient_member_id: MemberId,
    pub patient_first_name: PersonName,
    pub patient_last_name: PersonName,
    pub patient_date_of_birth: NaiveDate,
    pub provider_npi: Npi,
    pub provider_name: PartyName,
    pub service_date: NaiveDate,
    pub frequency_code: FrequencyCode,
    pub payer_claim_control_number: Option<PayerId>,
    pub diagnosis_codes: Vec<DiagnosisCode>,
    pub lines: Vec<ClaimLineDraft>,
}

/// Limits of the 837P (005010X222A1): 12 diagnosis pointers, 50 service lines, 4 modifiers.
pub const MAX_DIAGNOSIS_CODES: usize = 12;
pub const MAX_LINES: usize = 50;
pub const MAX_MODIFIERS: usize = 4;

/// Units are quantities, not money, but a payer rejects a line billed with 0 or absurd units.
pub fn parse_units(value: Decimal) -> Result<Decimal, &'static str> {
    if value <= Decimal::ZERO {
        return Err("must be greater than zero");
    }
    if value > Decimal::new(99_999, 0) {
        return Err("must not exceed 99999");
    }
    if value.normalize().scale() > 3 {
        return Err("must have at most three decimal places");
    }
    Ok(value.normalize())
}

/// Birth and service dates lie in the past: a claim is billed after the service.
pub fn past_date(date: NaiveDate, today: NaiveDate) -> Result<NaiveDate, &'static str> {
    if date > today { Err("must not be in the future") } else { Ok(date) }
}

impl ClaimDraft {
    /// Sum of line charges; `None` only if it would exceed what `Money` can hold.
    pub fn total_charge(&self) -> Option<Money> {
        self.lines
            .iter()
            .try_fold(Money::ZERO, |sum, line| sum.checked_add(line.charge))
            .and_then(|sum| Money::from_cents(sum.cents()).ok())
    }

    /// Rules across fields, and the dates a client could not have known were wrong one by
    /// one. `today` is the UTC date the claim is received.
    pub fn check(&self, today: NaiveDate) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.service_date < self.patient_date_of_birth {
            errors.push(FieldError::new("service_date", "must not be before the patient's date of birth"));
        }
        for (i, line) in self.lines.iter().enumerate() {
            for (field, date) in [("service_date", line.service_date)] {
                if past_date(date, today).is_err() {
                    errors.push(FieldError::new(format!("lines[{i}].{field}"), "must not be in the future"));
                }
            }
            if line.service_date < self.patient_date_of_birth {
                errors.push(FieldError::new(
                    format!("lines[{i}].service_date"),
                    "must not be before the patient's date of birth",
                ));
            }
        }
        let mut control_numbers = std::collections::HashSet::new();
        for (i, line) in self.lines.iter().enumerate() {
            if let Some(number) = &line.line_control_number
                && !control_numbers.insert(number.as_str())
            {
                errors.push(FieldError::new(
                    format!("lines[{i}].line_control_number"),
                    "repeats another line's: each line's control number must be unique within the claim",
                ));
            }
        }
        if self.frequency_code.needs_original_reference() && self.payer_claim_control_number.is_none() {
            errors.push(FieldError::new(
                "payer_claim_control_number",
                "is required for a replacement (7) or void (8) claim: the payer's claim control number (CLP07) of the claim it replaces",
            ));
        }
        if self.total_charge().is_none() {
            errors.push(FieldError::new("lines", "the sum of line charges is too large"));
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> ClaimDraft {
        let date = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        ClaimDraft {
            claim_number: ClaimNumber::parse("CLM-1").unwrap(),
            payer_id: PayerId::parse("60054").unwrap(),
            payer_name: PartyName::parse("ACME").unwrap(),
            patient_member_id: MemberId::parse("MEM1").unwrap(),
            patient_first_name: PersonName::parse("Jane").unwrap(),
            patient_last_name: PersonName::parse("Doe").unwrap(),
            patient_date_of_birth: date("1980-01-01"),
            provider_npi: Npi::parse("1234567893").unwrap(),
            provider_name: PartyName::parse("Clinic").unwrap(),
            service_date: date("2024-12-02"),
            frequency_code: FrequencyCode::Original,
            payer_claim_control_number: None,
            diagnosis_codes: vec![DiagnosisCode::parse("E11.9").unwrap()],
            lines: vec![
                ClaimLineDraft {
                    procedure_code: Some(ProcedureCode::parse("99213").unwrap()),
                    revenue_code: None,
                    modifiers: vec![],
                    units: Decimal::ONE,
                    charge: Money::parse("180").unwrap(),
                    service_date: date("2024-12-02"),
                    line_control_number: None,
                },
                ClaimLineDraft {
                    procedure_code: Some(ProcedureCode::parse("36415").unwrap()),
                    revenue_code: None,
                    modifiers: vec![],
                    units: Decimal::ONE,
                    charge: Money::parse("20.55").unwrap(),
                    service_date: date("2024-12-02"),
                    line_control_number: None,
                },
            ],
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 1, 15).unwrap()
    }

    #[test]
    fn total_charge_is_the_exact_sum_of_lines() {
        assert_eq!(draft().total_charge().unwrap().to_string(), "200.55");
        assert!(draft().check(today()).is_empty());
    }

    #[test]
    fn future_and_pre_birth_dates_are_named() {
        let mut claim = draft();
        claim.service_date = NaiveDate::from_ymd_opt(1979, 2, 1).unwrap();
        claim.lines[0].service_date = NaiveDate::from_ymd_opt(2025, 2, 1).unwrap();
        claim.lines[1].service_date = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        let fields: Vec<String> = claim.check(today()).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["service_date", "lines[0].service_date", "lines[1].service_date"]);
        assert!(past_date(today(), today()).is_ok());
        assert!(past_date(today().succ_opt().unwrap(), today()).is_err());
    }

    #[test]
    fn replacement_needs_the_payer_claim_number() {
        let mut claim = draft();
        claim.frequency_code = FrequencyCode::Replacement;
        assert_eq!(claim.check(today())[0].field, "payer_claim_control_number");
        claim.payer_claim_control_number = Some(PayerId::parse("PCN1").unwrap());
        assert!(claim.check(today()).is_empty());
    }

    #[test]
    fn units_must_be_positive_and_reasonable() {
        assert_eq!(parse_units(Decimal::new(15, 1)).unwrap(), Decimal::new(15, 1));
        assert!(parse_units(Decimal::ZERO).is_err());
        assert!(parse_units(Decimal::new(-1, 0)).is_err());
        assert!(parse_units(Decimal::new(100_000, 0)).is_err());
        assert!(parse_units(Decimal::new(1_0001, 4)).is_err());
    }

    #[test]
    fn status_names_round_trip() {
        for status in ClaimStatus::ALL {
            assert_eq!(ClaimStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(ClaimStatus::parse("Paid"), None);
    }
}
