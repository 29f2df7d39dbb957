//! The claim status inquiry (276, 005010X212) for one claim: the question a status check asks
//! the payer, answered by a 277. Its trace number (TRN02) comes back in the 277's TRN02, which
//! is how the answer finds its claim again.

use std::fmt::Write;

use chrono::{DateTime, NaiveDate, Utc};

use super::envelope::{id_qualifier, id_text};
use crate::Money;

/// What a 276 asks about, and between whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inquiry {
    /// TRN02: up to 50 characters, echoed by the payer's 277.
    pub trace: String,
    /// Interchange sender and receiver (qualifier, id): the submitter and the clearinghouse or payer.
    pub sender: (String, String),
    pub receiver: (String, String),
    pub payer_name: String,
    pub payer_id: String,
    /// The information receiver (2100B): the submitter, by its ETIN.
    pub submitter_name: String,
    pub submitter_id: String,
    pub provider_name: String,
    pub provider_npi: String,
    /// The subscriber (2000D), whose member id the payer knows.
    pub subscriber: Person,
    pub member_id: String,
    /// The patient when not the subscriber: a dependent (2000E), under whom the claim is asked
    /// about. `None` when the patient is the subscriber.
    pub dependent: Option<Person>,
    /// REF*EJ: the claim's patient control number (CLM01).
    pub claim_number: String,
    /// REF*1K, when the payer has assigned one.
    pub payer_claim_number: Option<String>,
    pub charge: Money,
    pub service_from: NaiveDate,
    pub service_to: NaiveDate,
}

/// A subscriber or dependent as a 276 names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub last_name: String,
    pub first_name: String,
    pub birth_date: Option<NaiveDate>,
    /// F or M; anything else is unknown.
    pub gender: String,
}

impl Person {
    /// DMG: the birth date, and the gender when known (the 276's DMG03 has only F and M).
    fn demographics(&self) -> Option<String> {
        let born = self.birth_date?.format("%Y%m%d");
        Some(match self.gender.as_str() {
            gender @ ("F" | "M") => format!("DMG*D8*{born}*{gender}"),
            _ => format!("DMG*D8*{born}"),
        })
    }
}

/// Free text for a 276 element: printable ASCII without the delimiters, trimmed to `max`, in
/// capitals as payers' systems expect; `fallback` when nothing is left.
fn text(value: &str, max: usize, fallback: &str) -> String {
    let kept: String = value
        .chars()
        .filter(|c| c.is_ascii() && !c.is_ascii_control() && !"*:^~".contains(*c))
        .take(max)
        .collect::<String>()
        .trim()
        .to_ascii_uppercase();
    if kept.is_empty() { fallback.to_owned() } else { kept }
}

/// Writes the 276 for `inquiry` under interchange and group control number `control` (1 to
/// 999,999,999), made `at`.
pub fn write_276(inquiry: &Inquiry, control: u32, at: DateTime<Utc>) -> String {
    let control = control.clamp(1, 999_999_999);
    let mut out = String::new();
    let (sq, sid) = (&inquiry.sender.0, &inquiry.sender.1);
    let (rq, rid) = (&inquiry.receiver.0, &inquiry.receiver.1);
    let _ = writeln!(
        out,
        "ISA*00*{:10}*00*{:10}*{}*{:15}*{}*{:15}*{}*{}*^*00501*{control:09}*0*P*:~",
        "",
        "",
        id_qualifier(sq),
        id_text(sid, 15),
        id_qualifier(rq),
        id_text(rid, 15),
        at.format("%y%m%d"),
        at.format("%H%M"),
    );
    let _ = writeln!(
        out,
        "GS*HR*{}*{}*{}*{}*{control}*X*005010X212~",
        id_text(sid, 15),
        id_text(rid, 15),
        at.format("%Y%m%d"),
        at.format("%H%M")
    );
    let mut body: Vec<String> = vec![
        "ST*276*0001*005010X212".into(),
        format!("BHT*0010*13*{}*{}*{}", text(&inquiry.trace, 30, "INQUIRY"), at.format("%Y%m%d"), at.format("%H%M")),
        "HL*1**20*1".into(),
        format!(
            "NM1*PR*2*{}*****PI*{}",
            text(&inquiry.payer_name, 60, "PAYER"),
            text(&inquiry.payer_id, 80, "UNKNOWN")
        ),
        "HL*2*1*21*1".into(),
        format!(
            "NM1*41*2*{}*****46*{}",
            text(&inquiry.submitter_name, 60, "SUBMITTER"),
            text(&inquiry.submitter_id, 80, "UNKNOWN")
        ),
        "HL*3*2*19*1".into(),
        format!(
            "NM1*1P*2*{}*****XX*{}",
            text(&inquiry.provider_name, 60, "PROVIDER"),
            text(&inquiry.provider_npi, 10, "")
        ),
    ];
    let subscriber = &inquiry.subscriber;
    let names = |p: &Person| (text(&p.last_name, 60, "UNKNOWN"), text(&p.first_name, 35, "UNKNOWN"));
    let (last, first) = names(subscriber);
    let member = text(&inquiry.member_id, 80, "UNKNOWN");
    match &inquiry.dependent {
        // The subscriber is the patient: the claim hangs under 2000D, with the subscriber's DMG.
        None => {
            body.push("HL*4*3*22*0".into());
            body.extend(subscriber.demographics());
            body.push(format!("NM1*IL*1*{last}*{first}****MI*{member}"));
        }
        // A dependent: 2000D names the subscriber only, and the claim hangs under 2000E, the
        // patient, whose DMG the guide requires.
        Some(patient) => {
            body.push("HL*4*3*22*1".into());
            body.push(format!("NM1*IL*1*{last}*{first}****MI*{member}"));
            body.push("HL*5*4*23".into());
            body.extend(patient.demographics());
            let (last, first) = names(patient);
            body.push(format!("NM1*QC*1*{last}*{first}"));
        }
    }
    body.push(format!("TRN*1*{}", text(&inquiry.trace, 50, "INQUIRY")));
    // A payer number left empty once its delimiters are dropped is no number.
    if let Some(number) = inquiry.payer_claim_number.as_deref().map(|n| text(n, 50, "")).filter(|n| !n.is_empty()) {
        body.push(format!("REF*1K*{number}"));
    }
    body.push(format!("REF*EJ*{}", text(&inquiry.claim_number, 50, "UNKNOWN")));
    body.push(format!("AMT*T3*{}", inquiry.charge));
    if inquiry.service_from == inquiry.service_to {
        body.push(format!("DTP*472*D8*{}", inquiry.service_from.format("%Y%m%d")));
    } else {
        body.push(format!(
            "DTP*472*RD8*{}-{}",
            inquiry.service_from.format("%Y%m%d"),
            inquiry.service_to.format("%Y%m%d")
        ));
    }
    body.push(format!("SE*{}*0001", body.len() + 1));
    for segment in body {
        out.push_str(&segment);
        out.push_str("~\n");
    }
    let _ = write!(out, "GE*1*{control}~\nIEA*1*{control:09}~\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x12::envelope::{Cursor, GroupKind, check_trailer, read_interchanges};

    fn inquiry() -> Inquiry {
        let day = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
        Inquiry {
            trace: "0192f0c43c1e7a519d9c3f1c2e4b5a6d".into(),
            sender: ("ZZ".into(), "CLINIC9".into()),
            receiver: ("ZZ".into(), "CLEARHOUSE".into()),
            payer_name: "Acme Health Plan".into(),
            payer_id: "60054".into(),
            submitter_name: "Smith Family Clinic".into(),
            submitter_id: "CLINIC9".into(),
            provider_name: "Smith Family Clinic".into(),
            provider_npi: "1234567893".into(),
            subscriber: Person {
                last_name: "Doe*A".into(),
                first_name: "Jane".into(),
                birth_date: NaiveDate::from_ymd_opt(1950, 1, 10),
                gender: "F".into(),
            },
            member_id: "M05000000".into(),
            dependent: None,
            claim_number: "CLM05000000".into(),
            payer_claim_number: Some("PAYER20261121A".into()),
            charge: Money::from_cents(12_000).unwrap(),
            service_from: day,
            service_to: day,
        }
    }

    #[test]
    fn an_inquiry_names_the_claim_and_counts_its_segments() {
        let at = DateTime::parse_from_rfc3339("2026-12-07T10:11:00Z").unwrap().with_timezone(&Utc);
        let text = write_276(&inquiry(), 42, at);
        for expected in [
            "GS*HR*CLINIC9*CLEARHOUSE*20261207*1011*42*X*005010X212~",
            "NM1*PR*2*ACME HEALTH PLAN*****PI*60054~",
            "NM1*IL*1*DOEA*JANE****MI*M05000000~",
            "TRN*1*0192F0C43C1E7A519D9C3F1C2E4B5A6D~",
            "REF*1K*PAYER20261121A~\nREF*EJ*CLM05000000~\nAMT*T3*120.00~\nDTP*472*D8*20261102~",
            "DMG*D8*19500110*F~",
        ] {
            assert!(text.contains(expected), "{expected}\n{text}");
        }
        // The envelopes and the SE count hold, read by the shared envelope reader.
        let mut cursor = Cursor::new(text.as_bytes());
        let kind = GroupKind { functional_id: "HR", description: "claim status inquiry" };
        let sets = read_interchanges(&mut cursor, &kind, |cursor, st, _| {
            let mut count = 1;
            loop {
                let seg = cursor.require("SE")?;
                count += 1;
                if seg.id == "SE" {
                    return check_trailer(&seg, count, st.get(2)).map(|_| count);
                }
            }
        })
        .unwrap();
        assert_eq!(sets, [17]);
        // A range of dates, no payer number yet, no birth date.
        let mut other = inquiry();
        other.service_to = NaiveDate::from_ymd_opt(2026, 11, 5).unwrap();
        other.payer_claim_number = None;
        other.subscriber.birth_date = None;
        let text = write_276(&other, 43, at);
        assert!(
            text.contains("DTP*472*RD8*20261102-20261105~") && !text.contains("REF*1K") && !text.contains("DMG"),
            "{text}"
        );
        // A dependent: the subscriber's level has a child and no DMG; the patient's level
        // carries the DMG, the name and the claim.
        let mut child = inquiry();
        child.dependent = Some(Person {
            last_name: "Doe".into(),
            first_name: "Sam".into(),
            birth_date: NaiveDate::from_ymd_opt(2015, 6, 1),
            gender: "X".into(),
        });
        let text = write_276(&child, 44, at);
        assert!(
            text.contains(
                "HL*4*3*22*1~\nNM1*IL*1*DOEA*JANE****MI*M05000000~\nHL*5*4*23~\nDMG*D8*20150601~\n\
                 NM1*QC*1*DOE*SAM~\nTRN*1*"
            ),
            "{text}"
        );
        assert_eq!(text.matches("DMG").count(), 1, "{text}");
    }
}
