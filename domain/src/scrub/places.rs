//! CMS place-of-service codes (the 837P's CLM05-1 and SV105): which exist, and from when. The
//! list is public (CMS, Place of Service Code Set); codes not listed are unassigned.

use chrono::NaiveDate;

/// A year, month and day.
type Ymd = (i32, u32, u32);

/// (code, name, in use from; `None` for codes older than ICD-10).
const PLACES: [(&str, &str, Option<Ymd>); 52] = [
    ("01", "pharmacy", None),
    ("02", "telehealth provided other than in the patient's home", None),
    ("03", "school", None),
    ("04", "homeless shelter", None),
    ("05", "Indian Health Service free-standing facility", None),
    ("06", "Indian Health Service provider-based facility", None),
    ("07", "tribal 638 free-standing facility", None),
    ("08", "tribal 638 provider-based facility", None),
    ("09", "prison or correctional facility", None),
    ("10", "telehealth provided in the patient's home", Some((2022, 1, 1))),
    ("11", "office", None),
    ("12", "home", None),
    ("13", "assisted living facility", None),
    ("14", "group home", None),
    ("15", "mobile unit", None),
    ("16", "temporary lodging", None),
    ("17", "walk-in retail health clinic", None),
    ("18", "place of employment (worksite)", None),
    ("19", "off-campus outpatient hospital", None),
    ("20", "urgent care facility", None),
    ("21", "inpatient hospital", None),
    ("22", "on-campus outpatient hospital", None),
    ("23", "emergency room (hospital)", None),
    ("24", "ambulatory surgical center", None),
    ("25", "birthing center", None),
    ("26", "military treatment facility", None),
    ("27", "outreach site or street", Some((2023, 10, 1))),
    ("31", "skilled nursing facility", None),
    ("32", "nursing facility", None),
    ("33", "custodial care facility", None),
    ("34", "hospice", None),
    ("41", "ambulance (land)", None),
    ("42", "ambulance (air or water)", None),
    ("49", "independent clinic", None),
    ("50", "federally qualified health center", None),
    ("51", "inpatient psychiatric facility", None),
    ("52", "psychiatric facility (partial hospitalization)", None),
    ("53", "community mental health center", None),
    ("54", "intermediate care facility for individuals with intellectual disabilities", None),
    ("55", "residential substance abuse treatment facility", None),
    ("56", "psychiatric residential treatment center", None),
    ("57", "non-residential substance abuse treatment facility", None),
    ("58", "non-residential opioid treatment facility", Some((2020, 1, 1))),
    ("60", "mass immunization center", None),
    ("61", "comprehensive inpatient rehabilitation facility", None),
    ("62", "comprehensive outpatient rehabilitation facility", None),
    ("65", "end-stage renal disease treatment facility", None),
    ("66", "Programs of All-Inclusive Care for the Elderly (PACE) center", Some((2024, 4, 1))),
    ("71", "public health clinic", None),
    ("72", "rural health clinic", None),
    ("81", "independent laboratory", None),
    ("99", "other place of service", None),
];

/// The version an edit names as its source.
pub const VERSION: &str = "CMS place of service codes, 2024";

/// What a place-of-service code is on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// In use: its name.
    Known(&'static str),
    /// Assigned later than the date: from when.
    NotYet(NaiveDate),
    Unassigned,
}

pub fn place(code: &str, on: NaiveDate) -> Place {
    match PLACES.iter().find(|p| p.0 == code) {
        None => Place::Unassigned,
        Some((_, name, from)) => match from.and_then(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d)) {
            Some(from) if on < from => Place::NotYet(from),
            _ => Place::Known(name),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_known_unassigned_or_not_yet_in_use() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(place("11", day(2024, 1, 1)), Place::Known("office"));
        assert_eq!(place("27", day(2023, 9, 30)), Place::NotYet(day(2023, 10, 1)));
        assert_eq!(place("27", day(2023, 10, 1)), Place::Known("outreach site or street"));
        for code in ["00", "28", "30", "35", "48", "59", "98", "1", "AA"] {
            assert_eq!(place(code, day(2025, 1, 1)), Place::Unassigned, "{code}");
        }
    }
}
