//! The dates Overturn takes in: calendar dates a billing record can plausibly carry.
//!
//! Deadlines are computed by adding payer windows to these dates and are shown as
//! `YYYY-MM-DD`; a year 9999 production date gave a deadline in year 10000, and a year 1
//! one fired every escalation at once. Both forms of input (JSON and X12) are held to one range.

use chrono::NaiveDate;

/// The range, as error messages name it.
pub const RANGE: &str = "from 1900-01-01 to 2199-12-31";

/// Whether a date lies in `RANGE`.
pub fn plausible(date: NaiveDate) -> bool {
    let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).expect("a valid date");
    let latest = NaiveDate::from_ymd_opt(2199, 12, 31).expect("a valid date");
    (earliest..=latest).contains(&date)
}

#[cfg(test)]
mod tests {
    use super::plausible;
    use chrono::NaiveDate;

    #[test]
    fn the_range_holds_billing_dates_only() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        for ok in [d(1900, 1, 1), d(2026, 12, 7), d(2199, 12, 31)] {
            assert!(plausible(ok), "{ok}");
        }
        for bad in [d(1, 1, 1), d(1899, 12, 31), d(2200, 1, 1), d(9999, 12, 31)] {
            assert!(!plausible(bad), "{bad}");
        }
    }
}
