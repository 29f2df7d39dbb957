use proptest::prelude::*;

use super::*;
use crate::x12::EdiError;

const CA: &str = include_str!("../../../testdata/acks-basic.277ca");
const STATUS: &str = include_str!("../../../testdata/status-basic.277");
const NINE: &str = include_str!("../../../testdata/claims-basic-accepted.999");

fn status_file(text: &str) -> StatusFile<'_> {
    match read_acknowledgment(text.as_bytes()) {
        Ok(AckFile::Status(f)) => f,
        other => panic!("{other:?}"),
    }
}

fn error_of(text: &str) -> EdiError {
    read_acknowledgment(text.as_bytes()).expect_err("refused")
}

#[test]
fn a_277ca_reads_claim_by_claim() {
    let file = status_file(CA);
    assert_eq!((file.kind, file.transaction_count, file.claims.len()), (AckKind::ClaimAcknowledgment, 1, 3));
    let summary: Vec<_> = file
        .claims
        .iter()
        .map(|c| {
            let codes: Vec<_> = file.statuses_of(c).iter().map(|s| (s.category, s.code, s.entity, s.line)).collect();
            (c.trace, c.member_id, c.payer_claim_number, AckOutcome::of_statuses(file.statuses_of(c)), codes)
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "CLM05000000",
                Some("M05000000"),
                Some("PAYER20261121A"),
                AckOutcome::Accepted,
                vec![("A2", "20", Some("PR"), 0)]
            ),
            (
                "CLM05000001",
                Some("M05000001"),
                None,
                AckOutcome::Rejected,
                vec![("A7", "562", Some("85"), 0), ("A7", "128", Some("85"), 0)]
            ),
            (
                "CLM05000002",
                Some("M05000002"),
                None,
                AckOutcome::Rejected,
                vec![("A3", "33", Some("IL"), 0), ("A3", "454", None, 1)]
            ),
        ]
    );
    let rejected = &file.claims[1];
    assert_eq!(rejected.message, Some("NPI DOES NOT MATCH"));
    assert_eq!(rejected.charge.map(|m| m.cents()), Some(12_500));
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
    assert_eq!(file.claims[2].service_dates, Some((day, day)));
    assert_eq!(file.claims[0].effective_date, chrono::NaiveDate::from_ymd_opt(2026, 11, 21));
}

#[test]
fn a_277_reads_each_answer_under_its_subscriber() {
    let file = status_file(STATUS);
    assert_eq!(file.kind, AckKind::ClaimStatus);
    let got: Vec<_> = file
        .claims
        .iter()
        .map(|c| {
            (
                c.trace,
                c.patient_control_number,
                c.member_id,
                AckOutcome::of_statuses(file.statuses_of(c)),
                c.paid.map(|m| m.cents()),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("INQ0001", Some("CLM05000000"), Some("M05000000"), AckOutcome::Finalized, Some(9_600)),
            ("INQ0002", Some("CLM05000001"), Some("M05000001"), AckOutcome::Pending, None),
            // A dependent's claim is filed under the subscriber's member id.
            ("INQ0003", Some("CLM05000002"), Some("M05000002"), AckOutcome::Finalized, Some(0)),
        ]
    );
}

#[test]
fn a_999_reads_each_sets_verdict() {
    let groups = match read_acknowledgment(NINE.as_bytes()).unwrap() {
        AckFile::Implementation(g) => g,
        other => panic!("{other:?}"),
    };
    assert_eq!(groups.len(), 1);
    let g = &groups[0];
    assert_eq!((g.functional_id, g.group_control_number, g.code, g.received, g.accepted), ("HC", "5", "A", 1, 1));
    assert_eq!(g.sets.len(), 1);
    assert_eq!((g.sets[0].set_id, g.sets[0].control_number, g.sets[0].code), ("837", "0001", "A"));
    assert!(!g.sets[0].rejected() && !g.rejected());
}

/// The 999s this service writes for claim files read back to the same verdicts.
#[test]
fn the_999s_this_service_writes_read_back() {
    use crate::x12::ack999::{AckControl, acknowledge};
    use crate::x12::claim837::{parse_837, project};
    let sample = include_str!("../../../testdata/claims-basic.837");
    // One claim with a bad procedure code (accepted with errors), then every claim bad (rejected).
    for (text, set_code, group_code) in [
        (sample.to_owned(), "A", "A"),
        (sample.replacen("SV1*HC:93000*", "SV1*HC:9300*", 1), "E", "E"),
        (sample.replace("*XX*1234567893~", "*XX*1234567890~"), "R", "R"),
    ] {
        let file = parse_837(text.as_bytes()).unwrap();
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let projected: Vec<_> = file.sets.iter().map(|s| project(s, today)).collect();
        let at = chrono::Utc::now();
        let written = acknowledge(&file, &projected, AckControl { number: 77, at });
        let AckFile::Implementation(groups) = read_acknowledgment(written.as_bytes()).unwrap() else { panic!() };
        let set = &groups[0].sets[0];
        assert_eq!((set.code, groups[0].code), (set_code, group_code), "{written}");
        assert_eq!((groups[0].group_control_number, set.control_number), ("5", "0001"));
        if set_code == "E" {
            let errors = groups[0].errors_of(set);
            assert_eq!(errors.len(), 1);
            let e = &errors[0];
            assert_eq!((e.segment_id, e.loop_id, e.claim_number), ("SV1", "2400", Some("CLM05000000")));
            assert_eq!(groups[0].elements_of(e)[0].position, 1);
        }
    }
}

#[test]
fn faults_name_the_segment_and_element() {
    let e = error_of(&CA.replace("STC*A7:562:85", "STC*A7:X62:85"));
    assert_eq!((e.segment_id.as_str(), e.element), ("STC", Some(1)));
    assert!(e.message.contains("claim status code"), "{}", e.message);
    let e = error_of(&CA.replace("*20261121*U*210.00", "*20261321*U*210.00"));
    assert_eq!((e.segment_id.as_str(), e.element), ("STC", Some(2)));
    let e = error_of(&CA.replace("DTP*472*RD8*20261102-20261102", "DTP*472*RD8*20261103-20261102"));
    assert_eq!((e.segment_id.as_str(), e.element), ("DTP", Some(3)));
    let e = error_of(&CA.replace("GS*HN*", "GS*HP*"));
    assert_eq!((e.segment_id.as_str(), e.element), ("GS", Some(1)));
    let e = error_of(&CA.replace("*005010X214~", "*005010X299~"));
    assert_eq!((e.segment_id.as_str(), e.element), ("GS", Some(8)));
    let e = error_of(&CA.replace("HL*6*3*PT", "HL*6*3*XX"));
    assert_eq!((e.segment_id.as_str(), e.element), ("HL", Some(3)));
    let e = error_of(&STATUS.replace("STC*P2:46*20261212**125.00", "STC*P2:46*20261212**12.345"));
    assert_eq!((e.segment_id.as_str(), e.element), ("STC", Some(4)));
    let e = error_of(&NINE.replace("IK5*A", "IK5*Q"));
    assert_eq!((e.segment_id.as_str(), e.element), ("IK5", Some(1)));
    let e = error_of(&NINE.replace("AK9*A*1*1*1", "AK9*A*1*1*2"));
    assert_eq!((e.segment_id.as_str(), e.element), ("AK9", Some(4)));
    let e = error_of(&NINE.replace("IK5*A~\n", ""));
    assert!(e.message.contains("IK5") || e.segment_id == "SE", "{e}");
}

#[test]
fn a_claim_loop_without_its_status_is_refused() {
    // Remove the claim's STC and fix the count, so that only the loop is at fault.
    let text = CA.replace("STC*A2:20:PR*20261121*WQ*120.00~\n", "").replace("SE*45*0001", "SE*44*0001");
    let e = error_of(&text);
    assert_eq!(e.segment_id, "TRN", "{e}");
    assert!(e.message.contains("CLM05000000") && e.message.contains("no STC"), "{e}");
}

#[test]
fn the_category_list_agrees_with_the_outcomes() {
    use crate::code_sets::CodeList;
    for info in CodeList::StatusCategory.all() {
        assert_eq!(AckOutcome::of_category(info.code).as_str(), info.category, "{}", info.code);
    }
    for info in CodeList::Status.all() {
        assert!(CodeList::Status.is_well_formed(info.code), "{}", info.code);
        assert!(["registration", "coding", "billing", "entity"].contains(&info.category), "{}", info.code);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn truncated_files_are_refused_never_panic(cut in 0usize..3_000, which in 0usize..3) {
        let text = [CA, STATUS, NINE][which];
        let cut = cut.min(text.len());
        if cut < text.len() && text.is_char_boundary(cut) {
            prop_assert!(read_acknowledgment(&text.as_bytes()[..cut]).is_err());
        }
    }

    #[test]
    fn mutated_files_never_panic(
        which in 0usize..3,
        edits in prop::collection::vec((0usize..3_000, any::<u8>()), 1..8),
    ) {
        let mut bytes = [CA, STATUS, NINE][which].as_bytes().to_vec();
        for (at, b) in edits {
            let at = at % bytes.len();
            bytes[at] = b;
        }
        let _ = read_acknowledgment(&bytes);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = read_acknowledgment(&bytes);
    }

    /// Any delimiters the ISA declares read the same.
    #[test]
    fn declared_delimiters_read_the_same(which in 0usize..3, newlines in any::<bool>()) {
        let text = [CA, STATUS, NINE][which];
        let swapped: String = text
            .chars()
            .map(|c| match c { '*' => '|', ':' => '>', '~' => '\'', other => other })
            .filter(|c| newlines || *c != '\n')
            .collect();
        let a = read_acknowledgment(text.as_bytes()).unwrap();
        let b = read_acknowledgment(swapped.as_bytes()).unwrap();
        prop_assert_eq!(a.kind(), b.kind());
        if let (AckFile::Status(a), AckFile::Status(b)) = (&a, &b) {
            prop_assert_eq!(&a.claims, &b.claims);
            prop_assert_eq!(a.statuses.len(), b.statuses.len());
        }
    }
}
