//! Balancing rules of the 835 (005010X221A1, section 1.10.2): every amount accounted for.

use super::error::EdiError;
use super::remittance::{Adjustment, ClaimPayment, ServiceLine, Transaction};

fn cents(adjustments: &[Adjustment<'_>]) -> i128 {
    adjustments.iter().map(|a| i128::from(a.amount.cents())).sum()
}

fn money(cents: i128) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Per line: charge − paid = Σ line CAS. Per claim: charge − paid = Σ claim CAS + Σ line CAS.
/// Per transaction: BPR02 = Σ CLP04 − Σ PLB (a debit BPR counts negative).
pub fn check(tx: &Transaction<'_>, st_index: usize) -> Result<(), EdiError> {
    for claim in &tx.claims {
        check_claim(claim, tx.lines_of(claim), &tx.adjustments)?;
    }
    check_payment(tx, st_index)
}

/// One claim and its lines; `adjustments` is the transaction's array the claim's ranges index.
/// The reader calls this as each claim ends, while its rows are still in cache.
pub fn check_claim(
    claim: &ClaimPayment<'_>,
    lines: &[ServiceLine<'_>],
    adjustments: &[Adjustment<'_>],
) -> Result<(), EdiError> {
    let slice = |r: &std::ops::Range<u32>| &adjustments[r.start as usize..r.end as usize];
    let mut line_adjustments: i128 = 0;
    for line in lines {
        let expected = i128::from(line.charge.cents()) - i128::from(line.paid.cents());
        let adjusted = cents(slice(&line.adjustments));
        if expected != adjusted {
            return Err(EdiError::new(
                line.segment_index,
                "SVC",
                None,
                format!(
                    "service line {} of claim {} does not balance: charge {} − paid {} = {}, but its adjustments total {}",
                    line.procedure.code,
                    claim.claim_number,
                    line.charge,
                    line.paid,
                    money(expected),
                    money(adjusted)
                ),
            ));
        }
        line_adjustments += adjusted;
    }
    let expected = i128::from(claim.charge.cents()) - i128::from(claim.paid.cents());
    let adjusted = cents(slice(&claim.adjustments)) + line_adjustments;
    if expected != adjusted {
        return Err(EdiError::new(
            claim.segment_index,
            "CLP",
            None,
            format!(
                "claim {} does not balance: charge {} − paid {} = {}, but claim and line adjustments total {}",
                claim.claim_number,
                claim.charge,
                claim.paid,
                money(expected),
                money(adjusted)
            ),
        ));
    }
    Ok(())
}

/// BPR02 against the claims' payments and the provider adjustments.
pub fn check_payment(tx: &Transaction<'_>, st_index: usize) -> Result<(), EdiError> {
    let paid_total: i128 = tx.claims.iter().map(|c| i128::from(c.paid.cents())).sum();
    let provider: i128 = tx.provider_adjustments.iter().map(|p| i128::from(p.amount.cents())).sum();
    let bpr = i128::from(tx.payment.amount.cents()) * if tx.payment.credit_debit == "D" { -1 } else { 1 };
    if bpr != paid_total - provider {
        return Err(EdiError::new(
            st_index + 1,
            "BPR",
            Some(2),
            format!(
                "the payment does not balance: BPR02 is {}, but claim payments {} − provider adjustments {} = {}",
                money(bpr),
                money(paid_total),
                money(provider),
                money(paid_total - provider)
            ),
        ));
    }
    Ok(())
}
