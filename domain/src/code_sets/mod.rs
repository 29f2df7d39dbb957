//! Claim adjustment reason codes (CARC) and remittance advice remark codes (RARC): the ids
//! payers put in CAS, MOA/MIA and LQ segments, with a category and a short description in
//! this project's own words. Likewise the claim status category and claim status codes of a
//! 277CA or 277 (STC), in `claim_status`.
//!
//! The official wording is licensed by its publishers (X12 for CARC, CMS maintains RARC), so
//! it is not shipped; `overturn codes import FILE` loads a list a user holds into the
//! database, and the API prefers those descriptions when they exist. Deactivated codes stay
//! here because old and sloppy files still carry them.
//!
//! Both lists cover every id of the published lists as of `LIST_DATE` (407 CARC and 1,216
//! RARC ids, deactivated ones included), each checked against the published meaning. The lists
//! change three times a year, so a code newer than `LIST_DATE` is still accepted everywhere; it
//! simply has no built-in description until the list here is updated or an official list is
//! imported.

pub mod import;

use std::collections::HashMap;
use std::sync::LazyLock;

/// The date of the code lists the built-in ids follow.
pub const LIST_DATE: &str = "2026-08-17";

/// CARC categories: the denial categories of the contract, plus the two kinds of ordinary
/// adjustment that are not denials.
pub const CARC_CATEGORIES: [&str; 14] = [
    "eligibility",
    "authorization",
    "coding",
    "medical_necessity",
    "timely_filing",
    "duplicate",
    "bundling",
    "missing_information",
    "coordination_of_benefits",
    "non_covered",
    "provider_eligibility",
    "other",
    // Contractual write-offs, outliers, withholds, discounts, capitation: the arithmetic of a paid claim.
    "payment_adjustment",
    // Deductible, coinsurance, copay and other amounts the patient owes.
    "patient_share",
];

/// RARC categories: `alert` (information, no action), `explanation` (why a claim was
/// adjusted), `missing_information` (what to supply or correct).
pub const RARC_CATEGORIES: [&str; 3] = ["alert", "explanation", "missing_information"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeInfo {
    pub code: &'static str,
    pub category: &'static str,
    pub description: &'static str,
    /// No longer in the current list, but still found in files.
    pub deactivated: bool,
}

fn load(text: &'static str) -> Vec<CodeInfo> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|line| {
            let mut parts = line.splitn(3, '|');
            let (code, category, description) = (parts.next()?, parts.next()?, parts.next()?);
            Some(CodeInfo { code, category, description, deactivated: description.contains("(deactivated") })
        })
        .collect()
}

static CARC: LazyLock<Vec<CodeInfo>> = LazyLock::new(|| load(include_str!("carc.txt")));
static RARC: LazyLock<Vec<CodeInfo>> = LazyLock::new(|| load(include_str!("rarc.txt")));
static STATUS_CATEGORIES: LazyLock<Vec<CodeInfo>> = LazyLock::new(|| load(include_str!("claim_status_categories.txt")));
static STATUS_CODES: LazyLock<Vec<CodeInfo>> = LazyLock::new(|| load(include_str!("claim_status_codes.txt")));
static STATUS_CATEGORY_INDEX: LazyLock<HashMap<&'static str, usize>> =
    LazyLock::new(|| STATUS_CATEGORIES.iter().enumerate().map(|(i, c)| (c.code, i)).collect());
static STATUS_CODE_INDEX: LazyLock<HashMap<&'static str, usize>> =
    LazyLock::new(|| STATUS_CODES.iter().enumerate().map(|(i, c)| (c.code, i)).collect());
static CARC_INDEX: LazyLock<HashMap<&'static str, usize>> =
    LazyLock::new(|| CARC.iter().enumerate().map(|(i, c)| (c.code, i)).collect());
static RARC_INDEX: LazyLock<HashMap<&'static str, usize>> =
    LazyLock::new(|| RARC.iter().enumerate().map(|(i, c)| (c.code, i)).collect());

/// Which list a code belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeList {
    Carc,
    Rarc,
    /// Claim status category codes (STC01-1: A7, F1, P2, …).
    StatusCategory,
    /// Claim status codes (STC01-2: 21, 562, …).
    Status,
}

impl CodeList {
    /// The list's key as stored with imported descriptions (at most four characters).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Carc => "carc",
            Self::Rarc => "rarc",
            Self::StatusCategory => "cscc",
            Self::Status => "csc",
        }
    }

    /// The names `overturn codes import --list` takes.
    pub const NAMES: &'static str = "carc, rarc, claim-status-category or claim-status";

    pub fn parse(value: &str) -> Option<Self> {
        match value.to_ascii_lowercase().as_str() {
            "carc" => Some(Self::Carc),
            "rarc" => Some(Self::Rarc),
            "claim-status-category" | "cscc" => Some(Self::StatusCategory),
            "claim-status" | "csc" => Some(Self::Status),
            _ => None,
        }
    }

    pub fn lookup(self, code: &str) -> Option<&'static CodeInfo> {
        let (list, index) = match self {
            Self::Carc => (&*CARC, &*CARC_INDEX),
            Self::Rarc => (&*RARC, &*RARC_INDEX),
            Self::StatusCategory => (&*STATUS_CATEGORIES, &*STATUS_CATEGORY_INDEX),
            Self::Status => (&*STATUS_CODES, &*STATUS_CODE_INDEX),
        };
        index.get(code).map(|&i| &list[i])
    }

    pub fn all(self) -> &'static [CodeInfo] {
        match self {
            Self::Carc => &CARC,
            Self::Rarc => &RARC,
            Self::StatusCategory => &STATUS_CATEGORIES,
            Self::Status => &STATUS_CODES,
        }
    }

    /// The form of an id in this list: CARC `45`, `B7`, `P12`; RARC `M51`, `MA130`, `N386`.
    pub fn is_well_formed(self, code: &str) -> bool {
        let b = code.as_bytes();
        match self {
            Self::Carc => {
                (1..=3).contains(&b.len()) && b.iter().all(u8::is_ascii_digit)
                    || (2..=3).contains(&b.len()) && b[0].is_ascii_uppercase() && b[1..].iter().all(u8::is_ascii_digit)
            }
            Self::Rarc => {
                let letters = b.iter().take_while(|c| c.is_ascii_uppercase()).count();
                (1..=2).contains(&letters)
                    && b.len() > letters
                    && b.len() <= letters + 4
                    && b[letters..].iter().all(u8::is_ascii_digit)
            }
            // A1, F3F, DR01.
            Self::StatusCategory => {
                (2..=4).contains(&b.len()) && b[0].is_ascii_uppercase() && b.iter().all(u8::is_ascii_alphanumeric)
            }
            Self::Status => (1..=5).contains(&b.len()) && b.iter().all(u8::is_ascii_digit),
        }
    }
}

pub fn carc(code: &str) -> Option<&'static CodeInfo> {
    CodeList::Carc.lookup(code)
}

pub fn rarc(code: &str) -> Option<&'static CodeInfo> {
    CodeList::Rarc.lookup(code)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_entry_is_well_formed_and_listed_once() {
        for list in [CodeList::Carc, CodeList::Rarc] {
            let categories: &[&str] = if list == CodeList::Carc { &CARC_CATEGORIES } else { &RARC_CATEGORIES };
            let mut seen = HashSet::new();
            for info in list.all() {
                assert!(list.is_well_formed(info.code), "{list:?} {}", info.code);
                assert!(seen.insert(info.code), "{list:?} {} twice", info.code);
                assert!(categories.contains(&info.category), "{list:?} {}: {}", info.code, info.category);
                assert!(!info.description.is_empty() && info.description.len() < 200, "{}", info.code);
            }
        }
    }

    /// Every id of the published lists: the numbered ranges have no holes except ids that were
    /// never issued, so a line lost from either file is caught here.
    #[test]
    fn the_lists_are_complete() {
        let ids = |prefix: &str, range: std::ops::RangeInclusive<u32>, width: usize| {
            range.map(move |n| format!("{prefix}{n:0width$}")).collect::<Vec<_>>()
        };
        let mut carcs = ids("", 1..=308, 0);
        for (prefix, last) in [("A", 8), ("B", 23), ("D", 23), ("P", 32), ("W", 9), ("Y", 3)] {
            carcs.extend(ids(prefix, 1..=last, 0));
        }
        carcs.push("A0".to_owned());
        for id in &carcs {
            assert!(carc(id).is_some(), "CARC {id} missing");
        }
        assert_eq!(CodeList::Carc.all().len(), carcs.len());

        let never_issued = ["N813", "N814"];
        let mut rarcs = ids("M", 1..=144, 0);
        rarcs.extend(ids("MA", 1..=134, 2));
        rarcs.extend(ids("N", 1..=940, 0).into_iter().filter(|id| !never_issued.contains(&id.as_str())));
        for id in &rarcs {
            assert!(rarc(id).is_some(), "RARC {id} missing");
        }
        assert_eq!(CodeList::Rarc.all().len(), rarcs.len());
        for id in never_issued {
            assert!(rarc(id).is_none());
        }
    }

    /// Spot checks of meanings that an earlier, hand-written list got wrong.
    #[test]
    fn meanings_follow_the_published_list() {
        assert!(carc("299").unwrap().description.contains("billing provider is not eligible"));
        assert_eq!(carc("299").unwrap().category, "provider_eligibility");
        assert!(carc("282").unwrap().description.contains("type of bill"));
        assert!(carc("291").unwrap().description.contains("dental plan"));
        assert!(carc("15").unwrap().deactivated && !carc("51").unwrap().deactivated);
        assert!(carc("D1").unwrap().deactivated && carc("W5").unwrap().deactivated);
        assert!(rarc("N245").unwrap().description.contains("Incomplete or invalid plan information"));
        assert_eq!(rarc("N432").unwrap().category, "alert");
        assert!(rarc("M118").unwrap().deactivated && !rarc("M119").unwrap().deactivated);
        // Alerts carry no action; the categories split roughly as the published list does.
        let count = |category: &str| CodeList::Rarc.all().iter().filter(|c| c.category == category).count();
        assert!(count("alert") > 150 && count("missing_information") > 400 && count("explanation") > 400);
    }

    #[test]
    fn the_contract_categories_hold() {
        let expected = [
            ("eligibility", &["26", "27", "31", "33", "140", "177"][..]),
            ("authorization", &["15", "39", "62", "197", "198", "288"]),
            ("coding", &["4", "5", "6", "7", "9", "10", "11", "146", "181", "182", "199"]),
            ("medical_necessity", &["50", "55", "56", "150", "151", "152", "167"]),
            ("timely_filing", &["29"]),
            ("duplicate", &["18"]),
            ("bundling", &["97", "234", "236"]),
            ("missing_information", &["16", "125", "226", "250", "251", "252"]),
            ("coordination_of_benefits", &["19", "20", "21", "22", "109"]),
            ("non_covered", &["35", "49", "96", "119", "149", "204"]),
            ("provider_eligibility", &["52", "185", "242", "B7"]),
            ("payment_adjustment", &["45", "253", "23", "24"]),
            ("patient_share", &["1", "2", "3"]),
        ];
        for (category, codes) in expected {
            for code in codes {
                assert_eq!(carc(code).map(|c| c.category), Some(category), "CARC {code}");
            }
        }
        assert!(carc("A2").is_some_and(|c| c.deactivated));
        assert!(!carc("45").unwrap().deactivated);
        assert_eq!(rarc("MA130").map(|c| c.category), Some("missing_information"));
    }

    #[test]
    fn code_forms() {
        for good in ["1", "45", "253", "B7", "P12", "A0"] {
            assert!(CodeList::Carc.is_well_formed(good), "{good}");
        }
        for bad in ["", "1234", "B", "b7", "BB7", "4 5"] {
            assert!(!CodeList::Carc.is_well_formed(bad), "{bad}");
        }
        for good in ["M51", "MA130", "N386", "N1"] {
            assert!(CodeList::Rarc.is_well_formed(good), "{good}");
        }
        for bad in ["", "45", "MAX1", "M", "m51", "N12345"] {
            assert!(!CodeList::Rarc.is_well_formed(bad), "{bad}");
        }
    }
}
