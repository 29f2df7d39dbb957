use chrono::NaiveDate;

use super::*;
use crate::x12::Fault;

const SAMPLE: &str = include_str!("../../../testdata/claims-basic.837");

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()
}

#[test]
fn reads_the_sample_file() {
    let file = parse_837(SAMPLE.as_bytes()).unwrap();
    assert_eq!(file.format, Format::Professional);
    assert_eq!(file.claim_count(), 3);
    let set = &file.sets[0];
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    let drafts = project(set, today());
    let first = drafts[0].result.as_ref().unwrap();
    assert_eq!(first.claim_number.as_str(), "CLM05000000");
    assert_eq!(first.payer_id.as_str(), "60054");
    assert_eq!(first.patient_member_id.as_str(), "M05000000");
    assert_eq!(first.patient_last_name.as_str(), "DOEA");
    assert_eq!(first.provider_npi.as_str(), "1234567893");
    assert_eq!(first.lines.len(), 3);
    assert_eq!(first.total_charge().unwrap().to_string(), "120.00");
    assert_eq!(first.diagnosis_codes.iter().map(|d| d.as_str()).collect::<Vec<_>>(), ["E11.9", "F41.9"]);
    assert_eq!(first.lines[2].procedure_code.as_ref().unwrap().as_str(), "J1885");
    assert_eq!(first.lines[0].line_control_number.as_ref().unwrap().as_str(), "CLM05000000L1");
    assert!(drafts.iter().all(|d| d.result.is_ok()));
    // The loops are kept whole.
    let claim = set.loop_of(set.claims[0].claim);
    assert_eq!(claim.children_of("2400").count(), 3);
    assert_eq!(set.loop_of(set.contexts[0].loop_).child("2010AA").unwrap().segments().len(), 4);
}

/// The sample with one change, its SE count kept right (unless the change is to the SE).
fn with(from: &str, to: &str) -> String {
    assert!(SAMPLE.contains(from), "{from}");
    let changed = SAMPLE.replacen(from, to, 1);
    if from.starts_with("SE*") {
        return changed;
    }
    let segments: Vec<&str> = changed.split('~').map(str::trim).collect();
    let st = segments.iter().position(|s| s.starts_with("ST*")).unwrap();
    let se = segments.iter().position(|s| s.starts_with("SE*")).unwrap();
    changed.replace(segments[se], &format!("SE*{}*0001", se - st + 1))
}

fn faults_of(text: &str) -> Vec<Vec<EdiError>> {
    let file = parse_837(text.as_bytes()).unwrap();
    project(&file.sets[0], today()).into_iter().map(|p| p.result.err().unwrap_or_default()).collect()
}

#[test]
fn a_bad_claim_is_refused_alone_and_named() {
    // A bad procedure code on the first claim's second line.
    let faults = faults_of(&with("SV1*HC:93000*", "SV1*HC:9300*"));
    assert_eq!(faults[0].len(), 1, "{:?}", faults[0]);
    let f = &faults[0][0];
    assert_eq!((f.segment_id.as_str(), f.element), ("SV1", Some(1)));
    assert!(f.message.contains("9300"), "{}", f.message);
    assert!(faults[1].is_empty() && faults[2].is_empty());
}

#[test]
fn the_total_must_be_the_sum_of_the_lines() {
    let faults = faults_of(&with("CLM*CLM05000001*125.00", "CLM*CLM05000001*126.00"));
    assert_eq!((faults[1][0].segment_id.as_str(), faults[1][0].element), ("CLM", Some(2)));
    assert!(faults[0].is_empty());
}

#[test]
fn a_subscriber_fault_refuses_only_its_claims() {
    let faults = faults_of(&with("NM1*IL*1*DOEB*JANE****MI*M05000001~", "NM1*IL*1*DOEB*JANE****MI*~"));
    assert!(faults[0].is_empty() && faults[2].is_empty());
    assert_eq!(
        (faults[1][0].segment_id.as_str(), faults[1][0].element, faults[1][0].fault),
        ("NM1", Some(9), Fault::Missing)
    );
}

#[test]
fn a_billing_provider_fault_refuses_every_claim_under_it() {
    let faults = faults_of(&with("XX*1234567893", "XX*1234567890"));
    assert!(faults.iter().all(|f| f.iter().any(|e| e.segment_id == "NM1" && e.element == Some(9))), "{faults:?}");
}

#[test]
fn icd9_only_before_october_2015() {
    let faults = faults_of(&with("HI*ABK:E119*ABF:F419", "HI*BK:25000*BF:4019"));
    assert!(faults[0].iter().any(|e| e.segment_id == "HI" && e.message.contains("ICD-9-CM")), "{:?}", faults[0]);
    let old = with("HI*ABK:E119*ABF:F419", "HI*BK:25000*BF:4019")
        .replace("DTP*472*D8*20261102~\nREF*6R*CLM05000000L", "DTP*472*D8*20060102~\nREF*6R*CLM05000000L");
    let file = parse_837(old.as_bytes()).unwrap();
    let drafts = project(&file.sets[0], today());
    let draft = drafts[0].result.as_ref().unwrap();
    assert_eq!(draft.diagnosis_codes.iter().map(|d| d.as_str()).collect::<Vec<_>>(), ["250.00", "401.9"]);
    assert_eq!(draft.service_date, NaiveDate::from_ymd_opt(2006, 1, 2).unwrap());
    // ICD-10 for a 2006 service is refused.
    let faults = faults_of(&SAMPLE.replacen("DTP*472*D8*20261102", "DTP*472*D8*20060102", 1));
    assert!(faults[0].iter().any(|e| e.message.contains("ICD-10-CM, which is for services from")), "{:?}", faults[0]);
}

#[test]
fn envelope_faults_refuse_the_file() {
    for (from, to, segment) in [
        ("SE*63*0001", "SE*62*0001", "SE"),
        ("GE*1*5", "GE*2*5", "GE"),
        ("IEA*1*000000005", "IEA*1*000000006", "IEA"),
        ("ST*837*0001*005010X222A1", "ST*837*0001*005010X221A1", "ST"),
        ("GS*HC*", "GS*HP*", "GS"),
    ] {
        let err = parse_837(with(from, to).as_bytes()).unwrap_err();
        assert_eq!(err.segment_id, segment, "{from}: {err}");
    }
}

#[test]
fn a_misplaced_or_unknown_segment_is_the_claims_fault() {
    let faults = faults_of(&with("LX*2~", "ZZZ*1~\nLX*2~"));
    assert!(faults[0].iter().any(|e| e.segment_id == "ZZZ" && e.fault == Fault::UnknownSegment), "{:?}", faults[0]);
    let faults = faults_of(&with("LX*2~", "BHT*0019~\nLX*2~"));
    assert!(faults[0].iter().any(|e| e.segment_id == "BHT" && e.fault == Fault::UnexpectedSegment), "{:?}", faults[0]);
    assert!(faults[1].is_empty());
}

#[test]
fn any_delimiters_the_isa_declares() {
    let other = SAMPLE.replace('*', "|").replace(':', ">").replace('~', "\n").replace("|^|", "|{|");
    let file = parse_837(other.as_bytes()).unwrap();
    let drafts = project(&file.sets[0], today());
    assert!(drafts.iter().all(|d| d.result.is_ok()), "{:?}", drafts[0].result);
    assert_eq!(drafts[0].result.as_ref().unwrap().lines[0].procedure_code.as_ref().unwrap().as_str(), "80053");
}

#[test]
fn a_claim_is_stored_whole_and_read_back_the_same() {
    let other = SAMPLE.replace('*', "|").replace(':', ">").replace('~', "\n");
    for text in [SAMPLE.to_owned(), other] {
        let file = parse_837(text.as_bytes()).unwrap();
        let set = &file.sets[0];
        for claim in &set.claims {
            let stored = StoredClaim::of(set, claim, file.delimiters).unwrap();
            let json = serde_json::to_string(&stored).unwrap();
            let back: StoredClaim = serde_json::from_str(&json).unwrap();
            assert_eq!(back, stored);
            let d = back.delimiters().unwrap();
            assert_eq!(d, file.delimiters);
            let view = back.claim.view(d).unwrap();
            let texts = |l: &Loop<'_, '_>| {
                l.walk().map(|(s, id)| format!("{id} {} {}", s.id, s.elements_text())).collect::<Vec<_>>()
            };
            assert_eq!(texts(&view.root()), texts(&set.loop_of(claim.claim)));
            assert_eq!(
                back.subscriber.view(d).unwrap().root().child("2010BA").unwrap().segments()[0].get(9),
                set.loop_of(set.contexts[1 + set.claims.iter().position(|c| std::ptr::eq(c, claim)).unwrap()].loop_)
                    .child("2010BA")
                    .unwrap()
                    .segments()[0]
                    .get(9)
            );
        }
    }
}

const INSTITUTIONAL: &str = include_str!("../../../testdata/claims-institutional.837");

#[test]
fn reads_an_institutional_claim_with_a_patient_loop() {
    let file = parse_837(INSTITUTIONAL.as_bytes()).unwrap();
    assert_eq!(file.format, Format::Institutional);
    let set = &file.sets[0];
    let drafts = project(set, today());
    let draft = drafts[0].result.as_ref().unwrap();
    // The patient is the subscriber's child: the patient's name and birth date, the subscriber's member id.
    assert_eq!((draft.patient_first_name.as_str(), draft.patient_last_name.as_str()), ("SAM", "ROE"));
    assert_eq!(draft.patient_member_id.as_str(), "M77000001");
    assert_eq!(draft.patient_date_of_birth, NaiveDate::from_ymd_opt(2010, 5, 5).unwrap());
    assert_eq!(draft.service_date, NaiveDate::from_ymd_opt(2026, 11, 1).unwrap());
    assert_eq!(draft.diagnosis_codes.iter().map(|d| d.as_str()).collect::<Vec<_>>(), ["J18.9", "R50.9", "E87.1"]);
    assert_eq!(draft.lines[0].revenue_code.as_ref().unwrap().as_str(), "0450");
    assert_eq!(draft.lines[0].procedure_code.as_ref().unwrap().as_str(), "99284");
    // A room-and-board style line: a revenue code and no procedure code.
    assert!(draft.lines[1].procedure_code.is_none());
    assert_eq!(draft.lines[1].units.to_string(), "3");
    assert_eq!(draft.total_charge().unwrap().to_string(), "1250.00");
    // The attending provider is kept in its loop.
    assert_eq!(set.loop_of(set.claims[0].claim).child("2310A").unwrap().segments()[0].get(3), "WELBY");
    // Without the statement dates the claim is refused, naming what is missing.
    let text = INSTITUTIONAL.replace("DTP*434*RD8*20261101-20261101~\n", "").replace("SE*39*0001", "SE*38*0001");
    let file = parse_837(text.as_bytes()).unwrap();
    let faults = project(&file.sets[0], today()).remove(0).result.unwrap_err();
    assert!(faults.iter().any(|f| f.segment_id == "DTP" && f.message.contains("DTP*434")), "{faults:?}");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// A file cut anywhere, or with any byte changed, is read or refused, never a panic;
        /// every fault is bounded.
        #[test]
        fn damaged_files_never_panic(cut in 0usize..2_000, at in 0usize..2_000, byte in any::<u8>(), institutional in any::<bool>()) {
            let source = if institutional { INSTITUTIONAL } else { SAMPLE };
            let mut bytes = source.as_bytes().to_vec();
            let at = at % bytes.len();
            bytes[at] = byte;
            for input in [&bytes[..], &source.as_bytes()[..cut.min(source.len())]] {
                match parse_837(input) {
                    Ok(file) => {
                        for set in &file.sets {
                            for p in project(set, today()) {
                                if let Err(faults) = p.result {
                                    prop_assert!(!faults.is_empty());
                                    prop_assert!(faults.iter().all(|f| f.message.len() < 2_000));
                                }
                            }
                        }
                    }
                    Err(e) => prop_assert!(e.message.len() < 2_000),
                }
            }
        }

        /// Stored and read back, a claim's loops are the same, segment for segment.
        #[test]
        fn stored_claims_read_back_the_same(institutional in any::<bool>(), pipes in any::<bool>()) {
            let source = if institutional { INSTITUTIONAL } else { SAMPLE };
            let text = if pipes { source.replace('*', "|").replace(':', ">") } else { source.to_owned() };
            let file = parse_837(text.as_bytes()).unwrap();
            for set in &file.sets {
                for claim in &set.claims {
                    let stored = StoredClaim::of(set, claim, file.delimiters).unwrap();
                    let d = stored.delimiters().unwrap();
                    let back = stored.claim.view(d).unwrap();
                    prop_assert_eq!(StoredLoop::of(&back.root()), stored.claim.clone());
                }
            }
        }
    }
}

mod writing {
    use super::*;
    use proptest::prelude::*;

    fn envelope() -> Envelope837 {
        Envelope837 {
            sender: ("ZZ".into(), "OVERTURN".into()),
            receiver: ("ZZ".into(), "CLEARHOUSE".into()),
            application_sender: "OVERTURN".into(),
            application_receiver: "CLEARHOUSE".into(),
            control_number: 7,
            at: chrono::DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z").unwrap().to_utc(),
            test: false,
        }
    }

    fn stored_of(text: &str) -> Vec<StoredClaim> {
        let file = parse_837(text.as_bytes()).unwrap();
        file.sets
            .iter()
            .flat_map(|s| s.claims.iter().map(|c| StoredClaim::of(s, c, file.delimiters).unwrap()))
            .collect()
    }

    /// A stored claim's loops with HL segments left out: what a writer keeps.
    fn kept(c: &StoredClaim) -> Vec<String> {
        let d = c.delimiters().unwrap();
        let mut out = Vec::new();
        let mut put = |l: &StoredLoop| {
            out.extend(l.view(d).unwrap().walk().filter(|(s, _)| s.id != "HL").map(|(s, id)| {
                let elements: Vec<String> =
                    (1..=s.element_count()).map(|n| s.components(n).collect::<Vec<_>>().join("\u{1f}")).collect();
                format!("{id}:{}:{}", s.id, elements.join("\u{1d}"))
            }));
        };
        for l in [&c.billing, &c.subscriber, &c.claim] {
            put(l);
        }
        if let Some(p) = &c.patient {
            put(p);
        }
        out
    }

    fn round_trip(claims: &[StoredClaim]) {
        let written = write_837(claims, &envelope()).unwrap();
        let file = parse_837(written.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{written}"));
        let again: Vec<StoredClaim> = file
            .sets
            .iter()
            .flat_map(|s| s.claims.iter().map(|c| StoredClaim::of(s, c, file.delimiters).unwrap()))
            .collect();
        assert_eq!(again.len(), claims.len());
        for (a, b) in claims.iter().zip(&again) {
            assert_eq!(kept(a), kept(b), "{written}");
        }
        // The drafts read from what was written are the drafts of the originals.
        for set in &file.sets {
            for p in project(set, today()) {
                assert!(p.result.is_ok(), "{:?}\n{written}", p.result);
            }
        }
    }

    #[test]
    fn what_the_writer_writes_reads_back_as_the_same_claims() {
        round_trip(&stored_of(SAMPLE));
        round_trip(&stored_of(INSTITUTIONAL));
        // From a file of other delimiters, out with the usual ones.
        let piped = SAMPLE.replace('*', "|").replace(':', ">");
        let claims = stored_of(&piped);
        let written = write_837(&claims, &envelope()).unwrap();
        assert!(written.contains("SV1*HC:80053*48.00*UN*1***1~"), "{written}");
        round_trip(&claims);
        // Data holding '*' (possible in a '|' file) gets delimiters it does not hold.
        let starred = piped.replacen("|BILLING OFFICE|", "|BILLING*OFFICE|", 1);
        let claims = stored_of(&starred);
        let written = write_837(&claims, &envelope()).unwrap();
        assert!(written.contains("PER|IC|BILLING*OFFICE|TE|8605551212~"), "{written}");
        round_trip(&claims);
    }

    #[test]
    fn claims_of_one_provider_and_subscriber_share_their_loops() {
        let claims = stored_of(SAMPLE);
        let twice = [claims[0].clone(), claims[0].clone(), claims[1].clone()];
        let written = write_837(&twice, &envelope()).unwrap();
        assert_eq!(written.matches("HL*").count(), 3, "{written}");
        assert!(
            written.contains("HL*1**20*1~") && written.contains("HL*2*1*22*0~") && written.contains("HL*3*1*22*0~")
        );
        let mixed = [claims[0].clone(), stored_of(INSTITUTIONAL).remove(0)];
        assert_eq!(write_837(&mixed, &envelope()), Err(WriteError::MixedFormats));
        assert_eq!(write_837(&[], &envelope()), Err(WriteError::Empty));
    }

    proptest! {
        /// Any choice and order of the samples' claims is written and read back whole.
        #[test]
        fn any_selection_round_trips(picks in prop::collection::vec(0usize..3, 1..12)) {
            let claims = stored_of(SAMPLE);
            let chosen: Vec<StoredClaim> = picks.iter().map(|&i| claims[i].clone()).collect();
            round_trip(&chosen);
        }
    }
}

mod editing {
    use super::*;
    use crate::claim::{ClaimLineDraft, FrequencyCode};
    use crate::codes::{DiagnosisCode, ProcedureCode};

    #[test]
    fn a_correction_changes_what_it_says_and_keeps_the_rest() {
        let file = parse_837(SAMPLE.as_bytes()).unwrap();
        let set = &file.sets[0];
        let stored = StoredClaim::of(set, &set.claims[0], file.delimiters).unwrap();
        let codes = [DiagnosisCode::parse("E11.65").unwrap(), DiagnosisCode::parse("I10").unwrap()];
        let lines = [ClaimLineDraft {
            procedure_code: Some(ProcedureCode::parse("99214").unwrap()),
            revenue_code: None,
            modifiers: vec![crate::Modifier::parse("25").unwrap()],
            units: rust_decimal::Decimal::ONE,
            charge: crate::Money::parse("150.00").unwrap(),
            service_date: NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
            line_control_number: Some(crate::LineControlNumber::parse("CLM05000000R1").unwrap()),
        }];
        let edits = Edits {
            frequency: "7",
            claim_number: None,
            payer_claim_control_number: "PCN77",
            diagnoses: Some(&codes),
            lines: Some(&lines),
            line_fields: None,
            place_of_service: None,
            service_date: NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
        };
        let changed = edit(&stored, &edits).unwrap();
        assert_eq!(changed.billing, stored.billing);
        // Written and read back, the claim is the corrected one.
        let envelope = Envelope837 {
            sender: ("ZZ".into(), "A".into()),
            receiver: ("ZZ".into(), "B".into()),
            application_sender: "A".into(),
            application_receiver: "B".into(),
            control_number: 1,
            at: chrono::Utc::now(),
            test: false,
        };
        let written = write_837(&[changed], &envelope).unwrap();
        assert!(
            written.contains("CLM*CLM05000000*150.00***11:B:7*Y*A*Y*Y~\nREF*F8*PCN77~\nHI*ABK:E1165*ABF:I10~"),
            "{written}"
        );
        let file = parse_837(written.as_bytes()).unwrap();
        let draft = project(&file.sets[0], today()).remove(0).result.unwrap();
        assert_eq!(draft.frequency_code, FrequencyCode::Replacement);
        assert_eq!(draft.payer_claim_control_number.unwrap().as_str(), "PCN77");
        assert_eq!(draft.diagnosis_codes, codes);
        assert_eq!(draft.lines, lines);
        // What the correction did not touch is as it was: the billing provider, the subscriber.
        assert_eq!(draft.patient_member_id.as_str(), "M05000000");
        assert_eq!(draft.provider_npi.as_str(), "1234567893");
        // Lines of an institutional claim need their revenue codes, and become SV2 lines.
        let file = parse_837(INSTITUTIONAL.as_bytes()).unwrap();
        let set = &file.sets[0];
        let stored = StoredClaim::of(set, &set.claims[0], file.delimiters).unwrap();
        assert_eq!(edit(&stored, &edits), Err(EditError::RevenueCodeMissing(0)));
        assert!(edit(&stored, &Edits { lines: None, ..edits }).is_ok());
        let mut revenue_lines = vec![lines[0].clone(), lines[0].clone()];
        for (line, code) in revenue_lines.iter_mut().zip(["0450", "0300"]) {
            line.revenue_code = Some(crate::codes::RevenueCode::parse(code).unwrap());
        }
        revenue_lines[1].procedure_code = None;
        revenue_lines[1].modifiers.clear();
        revenue_lines[1].line_control_number = None;
        let changed = edit(&stored, &Edits { lines: Some(&revenue_lines), ..edits }).unwrap();
        let written = write_837(&[changed], &envelope).unwrap();
        let file = parse_837(written.as_bytes()).unwrap();
        let draft = project(&file.sets[0], today()).remove(0).result.unwrap_or_else(|e| panic!("{e:?}\n{written}"));
        assert_eq!(draft.lines, revenue_lines, "{written}");
        // A professional line takes no revenue code.
        let file = parse_837(SAMPLE.as_bytes()).unwrap();
        let professional = StoredClaim::of(&file.sets[0], &file.sets[0].claims[0], file.delimiters).unwrap();
        assert_eq!(
            edit(&professional, &Edits { lines: Some(&revenue_lines), ..edits }),
            Err(EditError::RevenueCodeOnProfessional(0))
        );
    }
}

/// Reads every file of `OVERTURN_837_DIR` (public examples, not kept in this repository) and
/// prints what became of each claim: `OVERTURN_837_DIR=dir cargo test -p overturn-domain
/// real_files -- --ignored --nocapture`.
#[test]
#[ignore = "needs OVERTURN_837_DIR"]
fn real_files() {
    let dir = std::env::var("OVERTURN_837_DIR").expect("OVERTURN_837_DIR");
    let mut names: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    for path in names {
        let bytes = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        match parse_837(&bytes) {
            Err(e) => println!("{name}: refused: {e}"),
            Ok(file) => {
                for set in &file.sets {
                    for p in project(set, today()) {
                        match p.result {
                            Ok(d) => println!(
                                "{name}: {} {}: created ({} lines, {})",
                                file.format.name(),
                                p.claim_number,
                                d.lines.len(),
                                d.service_date
                            ),
                            Err(faults) => {
                                let said: Vec<String> = faults.iter().map(|f| f.to_string()).collect();
                                println!(
                                    "{name}: {} {}: rejected: {}",
                                    file.format.name(),
                                    p.claim_number,
                                    said.join("; ")
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A segment of the claim's own loop sent after its lines (HI after the first LX loop) is kept
/// in the claim's loop, where the guide puts it and where it is written back; the other loops
/// and claims of the set are where they were.
#[test]
fn a_segment_back_in_an_outer_loop_is_kept_in_it() {
    let hi = "HI*ABK:E119*ABF:F419~\n";
    let moved =
        SAMPLE.replacen(hi, "", 1).replacen("REF*6R*CLM05000000L1~\n", &format!("REF*6R*CLM05000000L1~\n{hi}"), 1);
    assert_ne!(moved, SAMPLE);
    let (file, plain) = (parse_837(moved.as_bytes()).unwrap(), parse_837(SAMPLE.as_bytes()).unwrap());
    let (set, plain_set) = (&file.sets[0], &plain.sets[0]);
    let claim = set.loop_of(set.claims[0].claim);
    assert_eq!(claim.segments().iter().map(|s| s.id).collect::<Vec<_>>(), ["CLM", "HI"]);
    assert_eq!(claim.children_of("2400").map(|l| l.segments().len()).collect::<Vec<_>>(), [4, 4, 4]);
    // The HI stands at its place in the file (the 999 names it there), in loop 2300.
    let hi_index = claim.segments()[1].index;
    assert_eq!(hi_index, plain_set.loop_of(plain_set.claims[0].claim).segments()[1].index + 4);
    assert_eq!(set.loops_by_segment()[&hi_index], "2300");
    assert_eq!(set.span(&set.claims[0]), plain_set.span(&plain_set.claims[0]));
    for (c, p) in set.claims.iter().zip(&plain_set.claims) {
        let stored = StoredClaim::of(set, c, file.delimiters).unwrap();
        assert_eq!(stored, StoredClaim::of(plain_set, p, plain.delimiters).unwrap());
    }
    let drafts: Vec<_> = project(set, today()).into_iter().map(|p| p.result.unwrap()).collect();
    let plain_drafts: Vec<_> = project(plain_set, today()).into_iter().map(|p| p.result.unwrap()).collect();
    assert_eq!(drafts, plain_drafts);
}
