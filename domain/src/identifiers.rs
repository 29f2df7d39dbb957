//! Identifiers and names that travel on X12 claims and remittances.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {0} characters")]
    TooLong(usize),
    #[error("must not start or end with a space")]
    Padded,
    #[error("may hold only printable ASCII characters, and none of the X12 delimiters * ~ : ^ | > \\")]
    Character,
}

/// Printable ASCII without the characters that payers and clearinghouses use as X12
/// delimiters: a claim number containing one would split a segment when echoed in an 835.
pub fn check_x12_text(value: &str, max: usize) -> Result<(), IdentifierError> {
    if value.is_empty() {
        return Err(IdentifierError::Empty);
    }
    if value.chars().count() > max {
        return Err(IdentifierError::TooLong(max));
    }
    if value.trim() != value {
        return Err(IdentifierError::Padded);
    }
    let bad = |c: char| !(' '..='~').contains(&c) || "*~:^|>\\".contains(c);
    if value.chars().any(bad) {
        return Err(IdentifierError::Character);
    }
    Ok(())
}

macro_rules! x12_identifier {
    ($(#[$doc:meta])* $name:ident, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            pub const MAX_LEN: usize = $max;

            pub fn parse(value: &str) -> Result<Self, IdentifierError> {
                check_x12_text(value, $max)?;
                Ok(Self(value.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

x12_identifier!(
    /// The patient control number: sent as CLM01 on the 837 and echoed as CLP01 on the 835
    /// (1–38 characters), which is how remittances find their claim.
    ClaimNumber,
    38
);
x12_identifier!(
    /// A payer's identifier as it appears in TRN03 / N1*PR (1–80 characters).
    PayerId,
    80
);
x12_identifier!(
    /// The subscriber or patient member id on the insurance card (NM1*QC09, 1–80 characters).
    MemberId,
    80
);
x12_identifier!(
    /// The line item control number the provider sends as REF*6R on an 837 line (1–50
    /// characters); payers echo it on the 835 service line.
    LineControlNumber,
    50
);
x12_identifier!(
    /// A check or EFT trace number (TRN02, 1–50 characters): with the payer id, the natural
    /// key of a payment.
    TraceNumber,
    50
);
x12_identifier!(
    /// An organisation name (payer, provider): NM103 / N102 allow 60 characters.
    PartyName,
    60
);
x12_identifier!(
    /// A person's first or last name (NM103 last name 60, NM104 first name 35: we keep 60).
    PersonName,
    60
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn never_panics_and_accepted_values_are_kept_verbatim(s in "\\PC{0,50}") {
            if let Ok(number) = ClaimNumber::parse(&s) {
                prop_assert_eq!(number.as_str(), s.as_str());
                prop_assert!(s.len() <= 38);
            }
        }
    }

    #[test]
    fn accepts_ordinary_claim_numbers() {
        for good in ["CLM-1001", "A", "2024/11/05-0001", "PCN 44.7#2", &"9".repeat(38)] {
            assert!(ClaimNumber::parse(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn refuses_what_would_break_an_x12_segment() {
        assert_eq!(ClaimNumber::parse(""), Err(IdentifierError::Empty));
        assert_eq!(ClaimNumber::parse(&"9".repeat(39)), Err(IdentifierError::TooLong(38)));
        assert_eq!(ClaimNumber::parse(" CLM1"), Err(IdentifierError::Padded));
        for bad in ["CLM*1", "CLM~1", "CLM:1", "CLM^1", "CLM|1", "CLM>1", "CLM\\1", "CLM\n1", "CLMé"] {
            assert_eq!(ClaimNumber::parse(bad), Err(IdentifierError::Character), "{bad:?}");
        }
    }
}
