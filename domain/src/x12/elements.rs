//! The 835's segments read into the typed model: claim payments (CLP), adjustments (CAS),
//! service lines (SVC), provider adjustments (PLB), and the amounts, decimals and dates
//! their elements hold, each refused with the segment and element that are wrong.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::error::EdiError;
use super::remittance::*;
use super::segments::Segment;
use crate::Money;

pub(super) fn claim_payment<'a>(seg: &Segment<'a>) -> Result<ClaimPayment<'a>, EdiError> {
    let status = seg.required(2, "the claim status code")?;
    if !status.bytes().all(|b| b.is_ascii_digit()) || status.len() > 2 {
        return Err(seg.error(Some(2), "must be a claim status code such as 1, 4 or 22"));
    }
    Ok(ClaimPayment {
        claim_number: seg.required(1, "the patient control number")?,
        status_code: status,
        charge: amount(seg, 3, true)?,
        paid: amount(seg, 4, true)?,
        patient_responsibility: amount(seg, 5, false)?,
        filing_indicator: seg.get(6),
        payer_claim_control_number: seg.get(7),
        facility_code: seg.get(8),
        frequency_code: seg.get(9),
        patient_last_name: "",
        patient_first_name: "",
        patient_member_id: "",
        adjustments: 0..0,
        remark_codes: 0..0,
        lines: 0..0,
        segment_index: seg.index,
    })
}

/// Appends the segment's triplets to `out`.
pub(super) fn cas<'a>(seg: &Segment<'a>, out: &mut Vec<Adjustment<'a>>) -> Result<(), EdiError> {
    let group = seg.get(1);
    if !matches!(group, "CO" | "PR" | "OA" | "PI" | "CR") {
        return Err(seg.error(Some(1), "must be a claim adjustment group code: CO, PR, OA or PI"));
    }
    let before = out.len();
    for triplet in 0..6 {
        let at = 2 + triplet * 3;
        let reason = seg.get(at);
        if reason.is_empty() {
            if !seg.get(at + 1).is_empty() {
                return Err(seg.error(Some(at), "an adjustment amount needs its reason code"));
            }
            continue;
        }
        if reason.len() > 5 || !reason.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(seg.error(Some(at), "must be a claim adjustment reason code"));
        }
        out.push(Adjustment {
            group,
            reason,
            amount: amount(seg, at + 1, true)?,
            quantity: if seg.get(at + 2).is_empty() { None } else { Some(decimal(seg, at + 2)?) },
        });
    }
    if out.len() == before {
        return Err(seg.error(Some(2), "a CAS segment needs at least one reason code and amount"));
    }
    Ok(())
}

pub(super) fn procedure<'a>(seg: &Segment<'a>, element: usize, component: char) -> Result<Procedure<'a>, EdiError> {
    let raw = seg.get(element);
    let separator = component as u8;
    let split = |s: &'a str| match memchr::memchr(separator, s.as_bytes()) {
        Some(at) => (&s[..at], &s[at + 1..]),
        None => (s, ""),
    };
    let (qualifier, rest) = split(raw);
    let (code, modifiers) = split(rest);
    if qualifier.is_empty() || code.is_empty() {
        return Err(seg.error(Some(element), "must be a composite of a qualifier and a code, such as HC:99213"));
    }
    Ok(Procedure::new(qualifier, code, modifiers, separator))
}

pub(super) fn service_line<'a>(seg: &Segment<'a>, component: char) -> Result<ServiceLine<'a>, EdiError> {
    Ok(ServiceLine {
        procedure: procedure(seg, 1, component)?,
        charge: amount(seg, 2, true)?,
        paid: amount(seg, 3, true)?,
        units: if seg.get(5).is_empty() { None } else { Some(decimal(seg, 5)?) },
        original_procedure: if seg.get(6).is_empty() { None } else { Some(procedure(seg, 6, component)?) },
        service_date: None,
        line_control_number: None,
        allowed: None,
        adjustments: 0..0,
        remark_codes: 0..0,
        segment_index: seg.index,
    })
}

pub(super) fn plb<'a>(seg: &Segment<'a>, component: char) -> Result<Vec<ProviderAdjustment<'a>>, EdiError> {
    let provider_id = seg.required(1, "the provider identifier")?;
    let fiscal_period_date = Some(date(seg, 2)?);
    let mut out = Vec::new();
    for pair in 0..6 {
        let at = 3 + pair * 2;
        let composite = seg.get(at);
        if composite.is_empty() {
            if !seg.get(at + 1).is_empty() {
                return Err(seg.error(Some(at), "an adjustment amount needs its reason code"));
            }
            continue;
        }
        let (reason_code, reference) = match composite.split_once(component) {
            Some((code, reference)) => (code, reference),
            None => (composite, ""),
        };
        out.push(ProviderAdjustment {
            provider_id,
            fiscal_period_date,
            reason_code,
            reference,
            amount: amount(seg, at + 1, true)?,
        });
    }
    if out.is_empty() {
        return Err(seg.error(Some(3), "a PLB segment needs at least one adjustment"));
    }
    Ok(out)
}

/// An X12 decimal amount ("200", "200.5", "-9.00", ".5") with at most two places.
pub(super) fn amount(seg: &Segment<'_>, element: usize, required: bool) -> Result<Money, EdiError> {
    let text = seg.get(element);
    if text.is_empty() {
        return if required { Err(seg.error(Some(element), "an amount is required")) } else { Ok(Money::ZERO) };
    }
    amount_cents(text)
        .and_then(|cents| Money::from_cents(cents).map_err(|e| e.to_string()))
        .map_err(|why| seg.error(Some(element), format!("{text:?} is not an amount: {why}")))
}

/// Integer cents straight from the text: amounts are most of an 835's numbers, and this runs
/// at memory speed where a general decimal parser does not. The usual form (up to 15 digits,
/// a point and up to two more) is read without a branch per digit; anything else, valid or
/// not, goes through `amount_cents_checked`, which says what is wrong.
#[inline]
pub(super) fn amount_cents(text: &str) -> Result<i64, String> {
    let bytes = text.as_bytes();
    let (negative, digits) = match bytes.first() {
        Some(b'-') => (true, &bytes[1..]),
        _ => (false, bytes),
    };
    let (whole, fraction) = match digits.iter().position(|&b| b == b'.') {
        Some(at) => (&digits[..at], &digits[at + 1..]),
        None => (digits, &[][..]),
    };
    if whole.len() <= 15 && fraction.len() <= 2 && !(whole.is_empty() && fraction.is_empty()) {
        let mut digits_only = true;
        let mut cents = 0i64;
        // At most 15 bytes, each read as at most 255: no overflow, even for a non-digit.
        for &b in whole {
            let d = b.wrapping_sub(b'0');
            digits_only &= d < 10;
            cents = cents * 10 + i64::from(d);
        }
        cents *= 100;
        for (&b, scale) in fraction.iter().zip([10, 1]) {
            let d = b.wrapping_sub(b'0');
            digits_only &= d < 10;
            cents += i64::from(d) * scale;
        }
        if digits_only {
            return Ok(if negative { -cents } else { cents });
        }
    }
    amount_cents_checked(text)
}

/// `amount_cents` byte by byte, naming the first thing wrong.
fn amount_cents_checked(text: &str) -> Result<i64, String> {
    let bytes = text.as_bytes();
    let (negative, digits) = match bytes.first() {
        Some(b'-') => (true, &bytes[1..]),
        _ => (false, bytes),
    };
    let mut whole: i64 = 0;
    let mut whole_digits = 0usize;
    let mut fraction: i64 = 0;
    let mut fraction_digits = 0usize;
    let mut seen_point = false;
    for &b in digits {
        match b {
            b'0'..=b'9' if !seen_point => {
                if whole_digits > 0 || b != b'0' {
                    whole_digits += 1;
                    if whole_digits > 15 {
                        return Err("is too large".into());
                    }
                }
                whole = whole * 10 + i64::from(b - b'0');
            }
            b'0'..=b'9' => {
                fraction_digits += 1;
                let d = i64::from(b - b'0');
                match fraction_digits {
                    1 => fraction += d * 10,
                    2 => fraction += d,
                    // Trailing zeros past the cents are harmless ("1.500").
                    _ if d == 0 => {}
                    _ => return Err("must have at most two decimal places".into()),
                }
            }
            b'.' if !seen_point => seen_point = true,
            _ => return Err("must be a decimal number such as 200, 200.5 or -9.00".into()),
        }
    }
    let any_digit = digits.iter().any(u8::is_ascii_digit);
    if !any_digit {
        return Err("must be a decimal number such as 200, 200.5 or -9.00".into());
    }
    let cents = whole * 100 + fraction;
    Ok(if negative { -cents } else { cents })
}

pub(super) fn decimal(seg: &Segment<'_>, element: usize) -> Result<Decimal, EdiError> {
    let text = seg.get(element);
    let ok = !text.is_empty() && text.len() <= 15 && text.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-');
    ok.then(|| text.parse::<Decimal>().ok())
        .flatten()
        .ok_or_else(|| seg.error(Some(element), format!("{text:?} is not a number")))
}

pub(super) fn date(seg: &Segment<'_>, element: usize) -> Result<NaiveDate, EdiError> {
    let text = seg.get(element);
    let bad = |message: String| seg.error(Some(element), message).fault(super::error::Fault::InvalidDate);
    let date = ccyymmdd(text).ok_or_else(|| bad(format!("{text:?} is not a date CCYYMMDD")))?;
    if !crate::dates::plausible(date) {
        return Err(bad(format!("{text:?} is not a plausible date ({})", crate::dates::RANGE)));
    }
    Ok(date)
}

pub(super) fn ccyymmdd(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| b[range].iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    (b.len() == 8 && b.iter().all(u8::is_ascii_digit))
        .then(|| NaiveDate::from_ymd_opt(digits(0..4) as i32, digits(4..6), digits(6..8)))
        .flatten()
}

pub(super) fn optional_date(seg: &Segment<'_>, element: usize) -> Result<Option<NaiveDate>, EdiError> {
    if seg.get(element).is_empty() { Ok(None) } else { date(seg, element).map(Some) }
}

#[cfg(test)]
mod amount_tests {
    use super::amount_cents;
    use proptest::prelude::*;

    #[test]
    fn x12_amount_forms() {
        for (text, cents) in [
            ("200", 20_000),
            ("200.5", 20_050),
            ("-9.00", -900),
            (".5", 50),
            ("-.05", -5),
            ("0", 0),
            ("12.340", 1_234),
            ("7.", 700),
        ] {
            assert_eq!(amount_cents(text), Ok(cents), "{text}");
        }
        for bad in ["", "-", ".", "1.234", "1,00", "1e3", "+5", "--1", "1.2.3", " 1", "9999999999999999"] {
            assert!(amount_cents(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        /// The fast path and the byte-by-byte reader agree on every text of amount-like bytes.
        #[test]
        fn the_fast_path_agrees_with_the_checked_one(
            text in prop_oneof!["-?[0-9.,+a -]{0,20}", "-?[0-9]{0,17}([.][0-9]{0,4})?"],
        ) {
            prop_assert_eq!(amount_cents(&text), super::amount_cents_checked(&text));
        }

        #[test]
        fn agrees_with_the_general_money_parser(cents in -99_999_999_999_999i64..=99_999_999_999_999) {
            let text = crate::Money::from_cents(cents).unwrap().to_string();
            prop_assert_eq!(amount_cents(&text), Ok(cents));
        }
    }
}
