//! Code formats: ICD-10-CM diagnoses, CPT/HCPCS procedures and their modifiers.
//!
//! These are format checks, not catalogue look-ups: the code sets are licensed and change
//! every year, and a well-formed code the payer does not know is still worth submitting.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error(
        "is not an ICD-10-CM code: a letter, two letters or digits, then up to four letters or digits after an optional dot (e.g. \"E11.9\")"
    )]
    Diagnosis,
    #[error(
        "is not a CPT or HCPCS code: five digits (CPT), four digits and F, T or U (CPT category II, III, PLA), or a letter and four digits (HCPCS Level II)"
    )]
    Procedure,
    #[error("is not a procedure modifier: two letters or digits (e.g. \"25\", \"GP\")")]
    Modifier,
    #[error(
        "is not an ICD-9-CM code: three digits and up to two more, V and two digits and up to two more, or E and three digits and up to one more (e.g. \"250.00\", \"V70.0\")"
    )]
    Icd9,
    #[error("is not a revenue code: four digits (e.g. \"0450\")")]
    Revenue,
}

/// A revenue code (NUBC), which names the department or service of an institutional claim's
/// line (SV201).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RevenueCode(String);

impl RevenueCode {
    pub fn parse(value: &str) -> Result<Self, CodeError> {
        let v = value.trim();
        if v.len() == 4 && v.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(v.to_owned()))
        } else {
            Err(CodeError::Revenue)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An ICD-10-CM diagnosis code, kept in its dotted form ("E11.9").
///
/// Clients send it with or without the dot (837 files carry it without); the dotted form is
/// what coders read, so that is what the API returns.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DiagnosisCode(String);

impl DiagnosisCode {
    pub fn parse(value: &str) -> Result<Self, CodeError> {
        let upper = value.trim().to_ascii_uppercase();
        // Byte slicing below is only sound on ASCII.
        if !upper.is_ascii() {
            return Err(CodeError::Diagnosis);
        }
        let (category, etiology) = match upper.split_once('.') {
            Some((cat, rest)) if !rest.is_empty() => (cat.to_owned(), rest.to_owned()),
            Some(_) => return Err(CodeError::Diagnosis),
            None if upper.len() > 3 => (upper[..3].to_owned(), upper[3..].to_owned()),
            None => (upper.clone(), String::new()),
        };
        let c = category.as_bytes();
        let ok = c.len() == 3
            && c[0].is_ascii_uppercase()
            // A digit almost always; FY2026 opened QA0, the first category with a letter here.
            && c[1].is_ascii_alphanumeric()
            && c[2].is_ascii_alphanumeric()
            && etiology.len() <= 4
            && etiology.bytes().all(|b| b.is_ascii_alphanumeric());
        if !ok {
            return Err(CodeError::Diagnosis);
        }
        if etiology.is_empty() { Ok(Self(category)) } else { Ok(Self(format!("{category}.{etiology}"))) }
    }

    /// An ICD-9-CM code, as claims for services before 1 October 2015 carry (qualifiers BK,
    /// BF on the 837), kept dotted ("250.00", "V70.0", "E888.9").
    pub fn parse_icd9(value: &str) -> Result<Self, CodeError> {
        let upper = value.trim().to_ascii_uppercase();
        let plain: String = upper.chars().filter(|&c| c != '.').collect();
        let b = plain.as_bytes();
        if upper.matches('.').count() > 1 || !plain.is_ascii() || b.is_empty() {
            return Err(CodeError::Icd9);
        }
        let (category, extra) = match b[0] {
            b'E' => (4, 1),
            b'V' => (3, 2),
            b'0'..=b'9' => (3, 2),
            _ => return Err(CodeError::Icd9),
        };
        let ok = b.len() >= category && b.len() <= category + extra && b[1..].iter().all(u8::is_ascii_digit);
        // A dot, when sent, must sit right after the category.
        let dot_ok = upper.find('.').is_none_or(|at| at == category && upper.len() > at + 1);
        if !ok || !dot_ok {
            return Err(CodeError::Icd9);
        }
        if b.len() == category {
            Ok(Self(plain))
        } else {
            Ok(Self(format!("{}.{}", &plain[..category], &plain[category..])))
        }
    }

    /// The code as an 837 carries it: without the dot.
    pub fn undotted(&self) -> String {
        self.0.replace('.', "")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A CPT (categories I, II, III and PLA) or HCPCS Level II procedure code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProcedureCode(String);

impl ProcedureCode {
    pub fn parse(value: &str) -> Result<Self, CodeError> {
        let upper = value.trim().to_ascii_uppercase();
        let b = upper.as_bytes();
        let ok = b.len() == 5
            && ((b[..4].iter().all(u8::is_ascii_digit)
                && (b[4].is_ascii_digit() || matches!(b[4], b'F' | b'T' | b'U')))
                // HCPCS Level II sections run A through V; there is no I, N, O or W section.
                || (matches!(b[0], b'A'..=b'H' | b'J'..=b'M' | b'P'..=b'V')
                    && b[1..].iter().all(u8::is_ascii_digit)));
        if ok { Ok(Self(upper)) } else { Err(CodeError::Procedure) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A two-character procedure modifier (CPT "25", HCPCS "GP").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Modifier(String);

impl Modifier {
    pub fn parse(value: &str) -> Result<Self, CodeError> {
        let upper = value.trim().to_ascii_uppercase();
        if upper.len() == 2 && upper.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(Self(upper))
        } else {
            Err(CodeError::Modifier)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! display_as_str {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}
display_as_str!(DiagnosisCode, ProcedureCode, Modifier);

#[cfg(test)]
mod icd9_tests {
    use super::*;

    #[test]
    fn icd9_forms() {
        for (sent, kept) in [
            ("25000", "250.00"),
            ("250.00", "250.00"),
            ("V700", "V70.0"),
            ("E8889", "E888.9"),
            ("486", "486"),
            ("4019", "401.9"),
            ("v22", "V22"),
        ] {
            assert_eq!(DiagnosisCode::parse_icd9(sent).map(|c| c.0), Ok(kept.to_owned()), "{sent}");
        }
        for bad in ["", "25", "250000", "E11.9", "V7", "2.5000", "250..0", "25O00", "E88899", "X250"] {
            assert!(DiagnosisCode::parse_icd9(bad).is_err(), "{bad}");
        }
        assert_eq!(DiagnosisCode::parse("E11.9").unwrap().undotted(), "E119");
        assert!(RevenueCode::parse("0450").is_ok());
        assert!(RevenueCode::parse("450").is_err() && RevenueCode::parse("04500").is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn diagnosis_codes_normalise_to_the_dotted_form() {
        assert_eq!(DiagnosisCode::parse("E119").unwrap().as_str(), "E11.9");
        assert_eq!(DiagnosisCode::parse("e11.9").unwrap().as_str(), "E11.9");
        assert_eq!(DiagnosisCode::parse("I10").unwrap().as_str(), "I10");
        assert_eq!(DiagnosisCode::parse("S72.001A").unwrap().as_str(), "S72.001A");
        assert_eq!(DiagnosisCode::parse("M1A.0110").unwrap().as_str(), "M1A.0110");
        assert_eq!(DiagnosisCode::parse("U071").unwrap().as_str(), "U07.1");
        // FY2026's genetic disorders: a letter in the category's second place.
        assert_eq!(DiagnosisCode::parse("QA00101").unwrap().as_str(), "QA0.0101");
    }

    #[test]
    fn malformed_diagnosis_codes_are_refused() {
        for bad in ["", "E1", "11.9", "E.119", "E11.", "E11.12345", "E11-9", "E11.9 X", "1A0.1", "E1.19"] {
            assert_eq!(DiagnosisCode::parse(bad), Err(CodeError::Diagnosis), "{bad:?}");
        }
    }

    #[test]
    fn procedure_codes_of_every_family_parse() {
        for good in ["99213", "0001F", "0042T", "0001U", "J1885", "g0439", "A0425", "V2020"] {
            assert!(ProcedureCode::parse(good).is_ok(), "{good}");
        }
        assert_eq!(ProcedureCode::parse("g0439").unwrap().as_str(), "G0439");
    }

    #[test]
    fn malformed_procedure_codes_are_refused() {
        for bad in ["", "9921", "992134", "9921X", "I1234", "N1234", "W1234", "JJ885", "99-13"] {
            assert_eq!(ProcedureCode::parse(bad), Err(CodeError::Procedure), "{bad:?}");
        }
    }

    #[test]
    fn modifiers_are_two_alphanumerics() {
        assert_eq!(Modifier::parse("gp").unwrap().as_str(), "GP");
        assert!(Modifier::parse("25").is_ok());
        for bad in ["", "2", "255", "2-", "G "] {
            assert_eq!(Modifier::parse(bad), Err(CodeError::Modifier), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn parsed_diagnosis_codes_are_a_fixed_point(s in "[A-Za-z][0-9A-Za-z][0-9A-Za-z]\\.?[0-9A-Za-z]{0,4}") {
            if let Ok(code) = DiagnosisCode::parse(&s) {
                prop_assert_eq!(DiagnosisCode::parse(code.as_str()).unwrap(), code);
            }
        }

        #[test]
        fn parsers_never_panic(s in "\\PC{0,12}") {
            let _ = DiagnosisCode::parse(&s);
            let _ = ProcedureCode::parse(&s);
            let _ = Modifier::parse(&s);
        }
    }
}
