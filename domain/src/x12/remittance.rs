//! The typed content of an 835, borrowing its text from the input: a file of a hundred
//! thousand claims would otherwise cost a million small allocations.

use std::ops::Range;

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
    /// TRN03: the originating company of the trace number (a `1` and the payer's tax id, by
    /// the guide); with TRN02 the natural key of a payment. See `originator` and `payer_key`.
    pub trace_payer_id: &'a str,
    /// DTM*405.
    pub production_date: Option<NaiveDate>,
    pub payer: Party<'a>,
    pub payee: Party<'a>,
    pub claims: Vec<ClaimPayment<'a>>,
    /// Every service line of every claim, in file order; a claim names its own by range.
    pub lines: Vec<ServiceLine<'a>>,
    /// Every CAS triplet (claim and line level), in file order.
    pub adjustments: Vec<Adjustment<'a>>,
    /// Every remark code (MOA, MIA, LQ*HE), in file order.
    pub remark_codes: Vec<&'a str>,
    pub provider_adjustments: Vec<ProviderAdjustment<'a>>,
    pub warnings: Vec<Warning>,
}

/// One flat array per kind rather than vectors inside every claim: a file of a hundred
/// thousand claims is three allocations, not half a million.
impl<'a> Transaction<'a> {
    /// The payer this payment answers for: the key of payer rules, of the worklist's
    /// `payer_id` and of analytics. See [`payer_key`].
    pub fn payer_key(&self) -> &'a str {
        payer_key(self.payer.id, self.trace_payer_id)
    }

    /// Who issued the trace number: with it, what makes a payment the same payment again.
    /// See [`originator`].
    pub fn originator(&self) -> &'a str {
        originator(self.trace_payer_id, self.payer.id)
    }

    pub fn lines_of(&self, claim: &ClaimPayment<'a>) -> &[ServiceLine<'a>] {
        &self.lines[range(&claim.lines)]
    }

    /// The claim-level adjustments (CAS in the 2100 loop).
    pub fn claim_adjustments(&self, claim: &ClaimPayment<'a>) -> &[Adjustment<'a>] {
        &self.adjustments[range(&claim.adjustments)]
    }

    pub fn line_adjustments(&self, line: &ServiceLine<'a>) -> &[Adjustment<'a>] {
        &self.adjustments[range(&line.adjustments)]
    }

    /// MOA and MIA remark codes of a claim.
    pub fn claim_remarks(&self, claim: &ClaimPayment<'a>) -> &[&'a str] {
        &self.remark_codes[range(&claim.remark_codes)]
    }

    /// LQ*HE remark codes of a line.
    pub fn line_remarks(&self, line: &ServiceLine<'a>) -> &[&'a str] {
        &self.remark_codes[range(&line.remark_codes)]
    }
}

/// The payer of a payment, from the payer loop's identifier (N1*PR N104) first, then TRN03.
///
/// N104 is the payer id the claim was billed to (the 837's 2010BB NM109), so it is the key
/// claims, payer rules and denials already share. TRN03 identifies whoever originated the
/// funds transfer (by the guide a `1` and a tax id, sometimes a bank or a clearinghouse): it
/// names the payer only for payers that leave N104 out, and then it is the best there is.
pub fn payer_key<'a>(payer_loop_id: &'a str, trn03: &'a str) -> &'a str {
    let payer_loop_id = payer_loop_id.trim();
    if payer_loop_id.is_empty() { trn03.trim() } else { payer_loop_id }
}

/// The originator of a trace number: TRN03, or the payer loop's identifier when TRN03 is
/// absent. TRN02 is unique only within its originator, so (originator, TRN02) is what makes
/// a payment received twice recognisable; it is not the payer key.
pub fn originator<'a>(trn03: &'a str, payer_loop_id: &'a str) -> &'a str {
    let trn03 = trn03.trim();
    if trn03.is_empty() { payer_loop_id.trim() } else { trn03 }
}

fn range(r: &Range<u32>) -> Range<usize> {
    r.start as usize..r.end as usize
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
    /// Claim-level adjustments: see `Transaction::claim_adjustments`.
    pub adjustments: Range<u32>,
    /// MOA and MIA remark codes: see `Transaction::claim_remarks`.
    pub remark_codes: Range<u32>,
    /// See `Transaction::lines_of`.
    pub lines: Range<u32>,
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
#[derive(Debug, Clone)]
pub struct Procedure<'a> {
    /// HC (CPT/HCPCS), AD, ER, IV, N4, NU, …
    pub qualifier: &'a str,
    pub code: &'a str,
    /// The composite's components after the code, as written ("25:59"): split when asked,
    /// which keeps a service line small (a large file has hundreds of thousands).
    modifiers: &'a str,
    separator: u8,
}

impl<'a> Procedure<'a> {
    /// `modifiers` holds the modifiers separated by `separator`.
    pub fn new(qualifier: &'a str, code: &'a str, modifiers: &'a str, separator: u8) -> Self {
        Self { qualifier, code, modifiers, separator }
    }

    /// Up to four modifiers, in order.
    pub fn modifiers(&self) -> impl Iterator<Item = &'a str> + Clone + use<'a> {
        let (modifiers, separator) = (self.modifiers, self.separator as char);
        modifiers.split(separator).filter(|m| !m.is_empty()).take(4)
    }
}

/// The same procedure whatever separator its file used.
impl PartialEq for Procedure<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.qualifier == other.qualifier && self.code == other.code && self.modifiers().eq(other.modifiers())
    }
}

impl Eq for Procedure<'_> {}

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
    /// See `Transaction::line_adjustments`.
    pub adjustments: Range<u32>,
    /// LQ*HE: see `Transaction::line_remarks`.
    pub remark_codes: Range<u32>,
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

#[cfg(test)]
mod key_tests {
    use super::*;

    #[test]
    fn the_payer_is_the_payer_loops_id_and_trn03_only_without_one() {
        assert_eq!(payer_key("87726", "1411289245"), "87726");
        assert_eq!(payer_key(" ", "1411289245"), "1411289245");
        assert_eq!(payer_key("", ""), "");
    }

    #[test]
    fn the_originator_of_a_trace_is_trn03_and_the_payer_loops_id_only_without_one() {
        assert_eq!(originator("1411289245", "87726"), "1411289245");
        assert_eq!(originator("", "87726"), "87726");
    }
}
