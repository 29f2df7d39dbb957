//! Where a claim stands after the payer's answers: status, amount paid and amount the patient
//! owes, derived from every claim payment (CLP loop) matched to it, in the order received.

use crate::ClaimStatus;

/// CLP02 of a reversal: it takes back an earlier payment, with every amount negated.
pub const REVERSAL: &str = "22";
/// CLP02 of a claim the payer denied outright.
pub const DENIED: &str = "4";

/// Whether an adjustment (group, reason) is money the payer refused, as opposed to the
/// ordinary arithmetic of a paid claim: the contractual write-off (CO-45), sequestration
/// (CO-253), the patient's deductible, coinsurance and copay (PR-1/2/3), another payer's
/// share (OA-23) and capitation (24, any group).
///
/// The worker's classification keys on the same rule; a reason it has never heard of is a
/// denial until someone decides otherwise.
pub fn is_denial(group: &str, reason: &str) -> bool {
    !matches!((group, reason), ("CO", "45") | ("CO", "253") | ("PR", "1" | "2" | "3") | ("OA", "23") | (_, "24"))
}

/// Whether a claim payment leaves the patient a balance to be told about and reminded of: a
/// patient share (CLP05) above zero, on anything but a reversal, whose share is a refund of
/// an earlier one.
pub fn leaves_patient_balance(status_code: &str, patient_responsibility_cents: i64) -> bool {
    patient_responsibility_cents > 0 && status_code != REVERSAL
}

/// Whether the patient still owes anything on a claim as it stands: once its shares sum to
/// nothing, or its latest payment was reversed, the balance reminders have no more to ask.
pub fn patient_owes(claim: ClaimStatus, patient_responsibility_cents: i64) -> bool {
    patient_responsibility_cents > 0 && claim != ClaimStatus::Reversed
}

/// What one claim payment contributes, in cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppliedPayment<'a> {
    /// CLP02.
    pub status_code: &'a str,
    pub paid_cents: i64,
    pub patient_responsibility_cents: i64,
    /// Σ of the claim's and lines' adjustments that `is_denial`.
    pub denied_cents: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settlement {
    pub status: ClaimStatus,
    pub paid_cents: i64,
    pub patient_responsibility_cents: i64,
}

/// Amounts are the sums over every payment (a reversal carries negated amounts, so it undoes
/// the payment it reverses); the status comes from the latest payment:
/// - none: `submitted`;
/// - a reversal: `reversed`;
/// - CLP02 = 4, or nothing paid by the payer nor owed by the patient with money denied: `denied`;
/// - some money denied otherwise: `partially_paid`;
/// - everything accounted for without a denial (paid, contractual, patient share): `paid`.
pub fn settle(payments: &[AppliedPayment<'_>]) -> Settlement {
    let paid_cents = payments.iter().map(|p| p.paid_cents).sum();
    let patient_responsibility_cents = payments.iter().map(|p| p.patient_responsibility_cents).sum();
    let status = match payments.last() {
        None => ClaimStatus::Submitted,
        Some(last) if last.status_code == REVERSAL => ClaimStatus::Reversed,
        Some(last) if last.status_code == DENIED => ClaimStatus::Denied,
        Some(last) if last.denied_cents > 0 && last.paid_cents <= 0 && last.patient_responsibility_cents <= 0 => {
            ClaimStatus::Denied
        }
        Some(last) if last.denied_cents > 0 => ClaimStatus::PartiallyPaid,
        Some(_) => ClaimStatus::Paid,
    };
    Settlement { status, paid_cents, patient_responsibility_cents }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payment(status_code: &str, paid: i64, pr: i64, denied: i64) -> AppliedPayment<'_> {
        AppliedPayment { status_code, paid_cents: paid, patient_responsibility_cents: pr, denied_cents: denied }
    }

    #[test]
    fn a_balance_is_a_positive_patient_share_outside_reversals() {
        assert!(leaves_patient_balance("1", 4_000));
        assert!(!leaves_patient_balance("1", 0));
        assert!(!leaves_patient_balance(REVERSAL, 4_000));
        assert!(!leaves_patient_balance(REVERSAL, -4_000));
        assert!(patient_owes(ClaimStatus::PartiallyPaid, 1));
        assert!(!patient_owes(ClaimStatus::Paid, 0));
        assert!(!patient_owes(ClaimStatus::Reversed, 4_000));
    }

    #[test]
    fn ordinary_write_offs_and_patient_shares_are_not_denials() {
        for (group, reason) in
            [("CO", "45"), ("CO", "253"), ("PR", "1"), ("PR", "2"), ("PR", "3"), ("OA", "23"), ("CO", "24")]
        {
            assert!(!is_denial(group, reason), "{group}-{reason}");
        }
        for (group, reason) in [("CO", "29"), ("PR", "96"), ("CO", "16"), ("PI", "45"), ("OA", "18"), ("CO", "A2")] {
            assert!(is_denial(group, reason), "{group}-{reason}");
        }
    }

    #[test]
    fn no_payment_leaves_the_claim_submitted() {
        assert_eq!(
            settle(&[]),
            Settlement { status: ClaimStatus::Submitted, paid_cents: 0, patient_responsibility_cents: 0 }
        );
    }

    #[test]
    fn status_follows_the_latest_payment_and_amounts_the_sum() {
        let paid = payment("1", 8000, 2000, 0);
        assert_eq!(settle(&[paid]).status, ClaimStatus::Paid);
        assert_eq!(settle(&[payment("1", 5000, 0, 3000)]).status, ClaimStatus::PartiallyPaid);
        assert_eq!(settle(&[payment("1", 0, 0, 3000)]).status, ClaimStatus::Denied);
        assert_eq!(settle(&[payment("4", 0, 0, 3000)]).status, ClaimStatus::Denied);
        // Deductible only: the payer paid nothing, but nothing was denied either.
        assert_eq!(settle(&[payment("1", 0, 10000, 0)]).status, ClaimStatus::Paid);

        let reversed = settle(&[paid, payment(REVERSAL, -8000, -2000, 0)]);
        assert_eq!(
            reversed,
            Settlement { status: ClaimStatus::Reversed, paid_cents: 0, patient_responsibility_cents: 0 }
        );

        let corrected = settle(&[paid, payment(REVERSAL, -8000, -2000, 0), payment("1", 9000, 1000, 0)]);
        assert_eq!(
            corrected,
            Settlement { status: ClaimStatus::Paid, paid_cents: 9000, patient_responsibility_cents: 1000 }
        );
    }
}
