//! National Provider Identifier.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NpiError {
    #[error("must be exactly 10 digits")]
    Format,
    #[error("check digit does not match (Luhn with the 80840 prefix)")]
    CheckDigit,
}

/// A 10-digit NPI whose check digit is valid.
///
/// The NPI check digit is the Luhn check digit of the 9 leading digits prefixed with the
/// card-issuer id `80840` (CMS, "Requirements for NPI check digit"). Checking it catches
/// most transposed or mistyped numbers before a payer rejects the claim for it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Npi(String);

impl Npi {
    pub fn parse(value: &str) -> Result<Self, NpiError> {
        let bytes = value.as_bytes();
        if bytes.len() != 10 || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(NpiError::Format);
        }
        let digits: Vec<u32> = bytes.iter().map(|b| u32::from(b - b'0')).collect();
        if luhn_check_digit(&digits[..9]) != digits[9] {
            return Err(NpiError::CheckDigit);
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Npi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Luhn check digit of `80840` followed by `body`.
fn luhn_check_digit(body: &[u32]) -> u32 {
    let prefixed = [8, 0, 8, 4, 0].iter().chain(body.iter());
    let digits: Vec<u32> = prefixed.copied().collect();
    // Double every second digit counting from the right, the rightmost included,
    // because the check digit will be appended to the right.
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 0 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    (10 - sum % 10) % 10
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_cms_example_and_known_valid_numbers() {
        // 1234567893 is the example in the CMS check-digit paper.
        assert!(Npi::parse("1234567893").is_ok());
        assert!(Npi::parse("1245319599").is_ok());
    }

    #[test]
    fn rejects_a_wrong_check_digit() {
        assert_eq!(Npi::parse("1234567890"), Err(NpiError::CheckDigit));
        assert_eq!(Npi::parse("1234567894"), Err(NpiError::CheckDigit));
    }

    #[test]
    fn rejects_bad_format() {
        for bad in ["", "123456789", "12345678930", "12345678a3", " 1234567893", "１２３"] {
            assert_eq!(Npi::parse(bad), Err(NpiError::Format), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn exactly_one_check_digit_fits_every_body(body in proptest::collection::vec(0u32..10, 9)) {
            let stem: String = body.iter().map(|d| char::from_digit(*d, 10).unwrap()).collect();
            let valid: Vec<u32> = (0..10)
                .filter(|c| Npi::parse(&format!("{stem}{c}")).is_ok())
                .collect();
            prop_assert_eq!(valid.len(), 1);
        }

        #[test]
        fn swapping_two_adjacent_distinct_digits_is_detected(
            body in proptest::collection::vec(0u32..10, 9), at in 0usize..8
        ) {
            prop_assume!(body[at] != body[at + 1]);
            // 0 and 9 swap to the same Luhn sum: the one transposition Luhn cannot see.
            prop_assume!(!matches!((body[at], body[at + 1]), (0, 9) | (9, 0)));
            let check = luhn_check_digit(&body);
            let mut swapped = body.clone();
            swapped.swap(at, at + 1);
            let text: String = swapped.iter().chain(std::iter::once(&check))
                .map(|d| char::from_digit(*d, 10).unwrap()).collect();
            prop_assert!(Npi::parse(&text).is_err());
        }
    }
}
