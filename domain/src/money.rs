//! Money: exact decimals with two places, stored as integer cents.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("must be a decimal string such as \"1450.00\"")]
    Format,
    #[error("must have at most two decimal places")]
    TooPrecise,
    #[error("must not be negative")]
    Negative,
    #[error("must not exceed 999999999999.99")]
    TooLarge,
}

/// An amount of US dollars with exactly two decimal places.
///
/// Kept as integer cents: SQLite has no exact decimal type (sea-orm reads decimals there
/// through `f64`), and cents add up exactly on both backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

/// Upper bound on any single amount, 999,999,999,999.99: a payment (BPR02) for a whole
/// clearinghouse file can run to hundreds of millions. Sums of many amounts can pass what an
/// `i64` of cents holds, so they are done in `i128` or with `checked_add`.
const MAX_CENTS: i64 = 99_999_999_999_999;

impl Money {
    pub const ZERO: Money = Money(0);

    /// Parses a signed decimal string ("200", "200.5", "-9.00").
    pub fn parse_signed(text: &str) -> Result<Self, MoneyError> {
        let trimmed = text.trim();
        let valid_chars = !trimmed.is_empty()
            && trimmed.chars().enumerate().all(|(i, c)| c.is_ascii_digit() || c == '.' || (i == 0 && c == '-'));
        if !valid_chars || trimmed == "-" || trimmed.starts_with('.') || trimmed.ends_with('.') {
            return Err(MoneyError::Format);
        }
        let value = Decimal::from_str(trimmed).map_err(|_| MoneyError::Format)?;
        let normalized = value.normalize();
        if normalized.scale() > 2 {
            return Err(MoneyError::TooPrecise);
        }
        let cents = (normalized * Decimal::ONE_HUNDRED).trunc().try_into().map_err(|_| MoneyError::TooLarge)?;
        Self::from_cents(cents)
    }

    /// Parses an amount that may not be negative (a charge, a payment).
    pub fn parse(text: &str) -> Result<Self, MoneyError> {
        let money = Self::parse_signed(text)?;
        if money.0 < 0 {
            return Err(MoneyError::Negative);
        }
        Ok(money)
    }

    pub fn from_cents(cents: i64) -> Result<Self, MoneyError> {
        if cents.abs() > MAX_CENTS {
            return Err(MoneyError::TooLarge);
        }
        Ok(Self(cents))
    }

    pub fn cents(self) -> i64 {
        self.0
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0, 2)
    }

    /// Adds without overflow; sums of in-range amounts stay exact far beyond any real file.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_decimal())
    }
}

impl serde::Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_common_forms_exactly() {
        assert_eq!(Money::parse("1450.00").unwrap().cents(), 145_000);
        assert_eq!(Money::parse("200").unwrap().cents(), 20_000);
        assert_eq!(Money::parse("200.5").unwrap().cents(), 20_050);
        assert_eq!(Money::parse("0.10").unwrap().cents(), 10);
        assert_eq!(Money::parse("12.300").unwrap().cents(), 1_230);
        assert_eq!(Money::parse_signed("-9.00").unwrap().cents(), -900);
    }

    #[test]
    fn formats_with_two_places() {
        assert_eq!(Money::parse("1450").unwrap().to_string(), "1450.00");
        assert_eq!(Money::parse("0.5").unwrap().to_string(), "0.50");
        assert_eq!(Money::parse_signed("-4.25").unwrap().to_string(), "-4.25");
    }

    #[test]
    fn rejects_what_is_not_an_amount() {
        assert_eq!(Money::parse("12.345"), Err(MoneyError::TooPrecise));
        assert_eq!(Money::parse("-1"), Err(MoneyError::Negative));
        assert_eq!(Money::parse("1000000000000.00"), Err(MoneyError::TooLarge));
        assert_eq!(Money::parse("999999999999.99").unwrap().cents(), 99_999_999_999_999);
        for bad in ["", "abc", "1e3", "1,000.00", "--1", "1.", ".5", "+5", "NaN", " ", "1 000"] {
            assert_eq!(Money::parse(bad), Err(MoneyError::Format), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn display_then_parse_round_trips(cents in -MAX_CENTS..=MAX_CENTS) {
            let money = Money::from_cents(cents).unwrap();
            prop_assert_eq!(Money::parse_signed(&money.to_string()).unwrap(), money);
        }

        #[test]
        fn never_panics_on_any_text(text in "\\PC{0,40}") {
            let _ = Money::parse_signed(&text);
        }
    }
}
