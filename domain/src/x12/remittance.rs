//! The typed content of an 835, borrowing its text from the input: a file of a hundred
//! thousand claims would otherwise cost a million small allocations.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::error::Warning;
use crate::Money;

/// Everything read from one file: its transactions (ST/SE sets) in order.
#[derive(Debug, Clone, PartialEq)]
pub struct RemittanceFile<'a> {
    pub transactions: Vec<Transaction<'a>>,
}

/// One 835 transaction set: one payment (or advice) from one payer to one payee.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction<'a> {
    /// ISA13, GS06 and ST02: where the transaction sat in the file.
    pub interchange_control_number: &'a str,
    pub group_control_number: &'a str,
    pub transaction_control_number: &'a str,
    pub payment: Payment<'a>,
    /// TRN02: the check or EFT trace number.
    pub trace_number: &'a str,
    /// TRN03: the payer's identifier (with TRN02 the natural key of a payment).
    pub trace_payer_id: &'a str,
    /// DTM*405.
    pub production_date: Option<NaiveDate>,
    pub payer: Party<'a>,
    pub payee: Party<'a>,
    pub claims: Vec<ClaimPayment<'a>>,
    pub provider_adjustments: Vec<ProviderAdjustment<'a>>,
    pub warnings: Vec<Warning>,
}

/// BPR: the money movement.
#[derive(Debug, Clone, PartialEq)]
pub struct Payment<'a> {
    /// BPR01: I payment and advice, H advice only, C payment only, …
    pub handling_code: &'a str,
    /// BPR02.
    pub amount: Money,
    /// BPR03: C credit, D debit.
    pub credit_debit: &'a str,
    /// BPR04: ACH, CHK, NON, FWT, BOP.
    pub method: &'a str,
    /// BPR16: the check issue or EFT effective date.
    pub effective_date: Option<NaiveDate>,
}

/// N1: payer (PR) or payee (PE), with the identifier that followed the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Party<'a> {
    pub name: &'a str,
    pub id_qualifier: &'a str,
    pub id: &'a str,
}

/// CLP loop: what the payer did with one claim.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimPayment<'a> {
    /// CLP01: the patient control number the provider sent as CLM01.
    pub claim_number: &'a str,
    /// CLP02: 1/2/3 processed as primary/secondary/tertiary, 4 denied, 22 reversal, …
    pub status_code: &'a str,
    pub charge: Money,
    pub paid: Money,
    pub patient_responsibility: Money,
    pub filing_indicator: &'a str,
    /// CLP07.
    pub payer_claim_control_number: &'a str,
    pub facility_code: &'a str,
    /// CLP09.
    pub frequency_code: &'a str,
    /// NM1*QC: last name, first name, member id.
    pub patient_last_name: &'a str,
    pub patient_first_name: &'a str,
    pub patient_member_id: &'a str,
    pub adjustments: Vec<Adjustment<'a>>,
    /// MOA and MIA remark codes.
    pub remark_codes: Vec<&'a str>,
    pub service_lines: Vec<ServiceLine<'a>>,
    /// The CLP segment's index, for messages about this claim.
    pub segment_index: usize,
}

/// One CAS triplet: group, reason, amount, and an optional quantity.
#[derive(Debug, Clone, PartialEq)]
pub struct Adjustment<'a> {
    /// CO, PR, OA, PI (CR in 4010 files).
    pub group: &'a str,
    pub reason: &'a str,
    pub amount: Money,
    pub quantity: Option<Decimal>,
}

/// SVC01 (and SVC06): a procedure with its qualifier and modifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Procedure<'a> {
    /// HC (CPT/HCPCS), AD, ER, IV, N4, NU, …
    pub qualifier: &'a str,
    pub code: &'a str,
    pub modifiers: Vec<&'a str>,
}

/// SVC loop: what the payer did with one billed line.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceLine<'a> {
    pub procedure: Procedure<'a>,
    pub charge: Money,
    pub paid: Money,
    pub units: Option<Decimal>,
    /// SVC06: the procedure as billed, when the payer paid another one.
    pub original_procedure: Option<Procedure<'a>>,
    /// DTM*472 (or the first date of DTM*150).
    pub service_date: Option<NaiveDate>,
    /// REF*6R: the line item control number the provider sent.
    pub line_control_number: Option<&'a str>,
    /// AMT*B6.
    pub allowed: Option<Money>,
    pub adjustments: Vec<Adjustment<'a>>,
    /// LQ*HE.
    pub remark_codes: Vec<&'a str>,
    /// The SVC segment's index, for messages about this line.
    pub segment_index: usize,
}

/// PLB: an adjustment to the whole payment (interest, recoupment, …). A positive amount
/// reduces the payment.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderAdjustment<'a> {
    pub provider_id: &'a str,
    pub fiscal_period_date: Option<NaiveDate>,
    pub reason_code: &'a str,
    pub reference: &'a str,
    pub amount: Money,
}
