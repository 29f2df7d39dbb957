//! The typed content of an 835.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::error::Warning;
use crate::Money;

/// Everything read from one file: its transactions (ST/SE sets) in order.
#[derive(Debug, Clone, PartialEq)]
pub struct RemittanceFile {
    pub transactions: Vec<Transaction>,
}

/// One 835 transaction set: one payment (or advice) from one payer to one payee.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    /// ISA13, GS06 and ST02: where the transaction sat in the file.
    pub interchange_control_number: String,
    pub group_control_number: String,
    pub transaction_control_number: String,
    pub payment: Payment,
    /// TRN02: the check or EFT trace number.
    pub trace_number: String,
    /// TRN03: the payer's identifier (with TRN02 the natural key of a payment).
    pub trace_payer_id: String,
    /// DTM*405.
    pub production_date: Option<NaiveDate>,
    pub payer: Party,
    pub payee: Party,
    pub claims: Vec<ClaimPayment>,
    pub provider_adjustments: Vec<ProviderAdjustment>,
    pub warnings: Vec<Warning>,
}

/// BPR: the money movement.
#[derive(Debug, Clone, PartialEq)]
pub struct Payment {
    /// BPR01: I payment and advice, H advice only, C payment only, …
    pub handling_code: String,
    /// BPR02.
    pub amount: Money,
    /// BPR03: C credit, D debit.
    pub credit_debit: String,
    /// BPR04: ACH, CHK, NON, FWT, BOP.
    pub method: String,
    /// BPR16: the check issue or EFT effective date.
    pub effective_date: Option<NaiveDate>,
}

/// N1: payer (PR) or payee (PE), with the identifier that followed the name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Party {
    pub name: String,
    pub id_qualifier: String,
    pub id: String,
}

/// CLP loop: what the payer did with one claim.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimPayment {
    /// CLP01: the patient control number the provider sent as CLM01.
    pub claim_number: String,
    /// CLP02: 1/2/3 processed as primary/secondary/tertiary, 4 denied, 22 reversal, …
    pub status_code: String,
    pub charge: Money,
    pub paid: Money,
    pub patient_responsibility: Money,
    pub filing_indicator: String,
    /// CLP07.
    pub payer_claim_control_number: String,
    pub facility_code: String,
    /// CLP09.
    pub frequency_code: String,
    /// NM1*QC: last name, first name, member id.
    pub patient_last_name: String,
    pub patient_first_name: String,
    pub patient_member_id: String,
    pub adjustments: Vec<Adjustment>,
    /// MOA and MIA remark codes.
    pub remark_codes: Vec<String>,
    pub service_lines: Vec<ServiceLine>,
    /// The CLP segment's index, for messages about this claim.
    pub segment_index: usize,
}

/// One CAS triplet: group, reason, amount, and an optional quantity.
#[derive(Debug, Clone, PartialEq)]
pub struct Adjustment {
    /// CO, PR, OA, PI (CR in 4010 files).
    pub group: String,
    pub reason: String,
    pub amount: Money,
    pub quantity: Option<Decimal>,
}

/// SVC01 (and SVC06): a procedure with its qualifier and modifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Procedure {
    /// HC (CPT/HCPCS), AD, ER, IV, N4, NU, …
    pub qualifier: String,
    pub code: String,
    pub modifiers: Vec<String>,
}

/// SVC loop: what the payer did with one billed line.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceLine {
    pub procedure: Procedure,
    pub charge: Money,
    pub paid: Money,
    pub units: Option<Decimal>,
    /// SVC06: the procedure as billed, when the payer paid another one.
    pub original_procedure: Option<Procedure>,
    /// DTM*472 (or the first date of DTM*150).
    pub service_date: Option<NaiveDate>,
    /// REF*6R: the line item control number the provider sent.
    pub line_control_number: Option<String>,
    /// AMT*B6.
    pub allowed: Option<Money>,
    pub adjustments: Vec<Adjustment>,
    /// LQ*HE.
    pub remark_codes: Vec<String>,
    /// The SVC segment's index, for messages about this line.
    pub segment_index: usize,
}

/// PLB: an adjustment to the whole payment (interest, recoupment, …). A positive amount
/// reduces the payment.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderAdjustment {
    pub provider_id: String,
    pub fiscal_period_date: Option<NaiveDate>,
    pub reason_code: String,
    pub reference: String,
    pub amount: Money,
}
