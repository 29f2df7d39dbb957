//! A JSON claim built as an 837, written, and read back: the same claim and the same fields.

use chrono::NaiveDate;
use proptest::prelude::*;
use rust_decimal::Decimal;

use super::*;
use crate::claim::{ClaimDraft, ClaimLineDraft, FrequencyCode};
use crate::codes::DiagnosisCode;
use crate::{
    ClaimNumber, LineControlNumber, MemberId, Modifier, Money, Npi, PartyName, PayerId, PersonName, ProcedureCode,
};

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn draft(lines: usize, diagnoses: usize, frequency: FrequencyCode) -> ClaimDraft {
    let codes = ["E11.9", "I10", "M54.50", "J06.9"];
    ClaimDraft {
        claim_number: ClaimNumber::parse("JSON-1").unwrap(),
        payer_id: PayerId::parse("60054").unwrap(),
        payer_name: PartyName::parse("ACME HEALTH PLAN").unwrap(),
        patient_member_id: MemberId::parse("MEM1001").unwrap(),
        patient_first_name: PersonName::parse("JANE").unwrap(),
        patient_last_name: PersonName::parse("DOE").unwrap(),
        patient_date_of_birth: date("1980-04-12"),
        provider_npi: Npi::parse("1234567893").unwrap(),
        provider_name: PartyName::parse("SMITH FAMILY CLINIC").unwrap(),
        service_date: date("2026-11-02"),
        frequency_code: frequency,
        payer_claim_control_number: frequency.needs_original_reference().then(|| PayerId::parse("PCN77").unwrap()),
        diagnosis_codes: codes[..diagnoses].iter().map(|c| DiagnosisCode::parse(c).unwrap()).collect(),
        lines: (0..lines)
            .map(|i| ClaimLineDraft {
                procedure_code: Some(ProcedureCode::parse(["99213", "36415", "J1885"][i % 3]).unwrap()),
                revenue_code: None,
                modifiers: if i == 0 { vec![Modifier::parse("25").unwrap()] } else { vec![] },
                units: Decimal::new(15 + i as i64 * 10, 1).normalize(),
                charge: Money::parse(&format!("{}.50", 100 + i)).unwrap(),
                service_date: date("2026-11-02"),
                line_control_number: (i % 2 == 0).then(|| LineControlNumber::parse(&format!("JSON-1-{i}")).unwrap()),
            })
            .collect(),
    }
}

fn address(n: u8) -> Address {
    Address {
        line1: format!("{n} MAIN ST"),
        line2: n.is_multiple_of(2).then(|| "SUITE 4".into()),
        city: "HARTFORD".into(),
        state: Some("CT".into()),
        postal_code: Some("061031234".into()),
    }
}

fn person(first: Option<&str>, npi: bool) -> NamedProvider {
    NamedProvider {
        npi: npi.then(|| "1245319599".into()),
        name: "JONES".into(),
        first_name: first.map(Into::into),
        taxonomy: None,
        address: None,
    }
}

/// Fields a JSON claim would carry, with every default spelled out (what reading gives back).
fn fields(institutional: bool, dependent: bool, extras: bool, draft: &ClaimDraft) -> ClaimFields {
    let mut f = ClaimFields {
        submitter: Some(Submitter {
            name: "SMITH FAMILY CLINIC".into(),
            id: "SUB123".into(),
            contact_name: Some("BILLING OFFICE".into()),
            phone: Some("8605551212".into()),
            email: extras.then(|| "billing@example.com".into()),
        }),
        receiver: Some(Party { name: "CLEARINGHOUSE".into(), id: "CLEAR1".into() }),
        provider_tax_id: Some("061234567".into()),
        provider_taxonomy: extras.then(|| "207Q00000X".into()),
        provider_address: Some(address(1)),
        pay_to_address: extras.then(|| address(2)),
        patient_gender: Some("F".into()),
        patient_address: Some(address(3)),
        relationship: Some(if dependent { "19" } else { "18" }.into()),
        subscriber: dependent.then(|| Person {
            member_id: Some("MEM1001".into()),
            last_name: "DOE".into(),
            first_name: Some("JOHN".into()),
            date_of_birth: Some(date("1978-01-30")),
            gender: Some("M".into()),
            address: Some(address(3)),
        }),
        payer_responsibility: Some("P".into()),
        claim_filing_indicator: Some("CI".into()),
        group_number: extras.then(|| "GRP-9".into()),
        group_name: None,
        prior_authorization: extras.then(|| "AUTH-1".into()),
        referral_number: extras.then(|| "REF-2".into()),
        ..Default::default()
    };
    if institutional {
        f.facility_type = Some("13".into());
        f.statement_period = Some((draft.service_date, date("2026-11-03")));
        f.admission = Some(Admission {
            date: Some(date("2026-11-01")),
            hour: extras.then(|| "0930".into()),
            type_code: Some("3".into()),
            source_code: Some("1".into()),
            patient_status: Some("01".into()),
        });
        f.providers.push((ProviderRole::Attending, person(Some("ANN"), true)));
        if extras {
            f.providers.push((ProviderRole::Operating, person(Some("BOB"), true)));
        }
    } else {
        f.place_of_service = Some("11".into());
        f.providers.push((ProviderRole::Referring, person(Some("ANN"), true)));
        if extras {
            let mut rendering = person(None, true);
            rendering.taxonomy = Some("207Q00000X".into());
            f.providers.push((ProviderRole::Rendering, rendering));
        }
    }
    if extras {
        let mut facility = person(None, true);
        facility.name = "SMITH SURGERY CENTER".into();
        facility.address = Some(address(4));
        f.providers.push((ProviderRole::ServiceFacility, facility));
    }
    f.lines = draft
        .lines
        .iter()
        .enumerate()
        .map(|(i, _)| LineFields {
            place_of_service: None,
            diagnosis_pointers: if institutional { vec![] } else { vec![1 + (i % draft.diagnosis_codes.len()) as u8] },
            revenue_code: institutional.then(|| ["0300", "0450", "0636"][i % 3].into()),
            ndc: (extras && i == 0).then(|| Ndc {
                code: "00409000101".into(),
                quantity: Some("2.5".into()),
                unit: Some("ML".into()),
            }),
        })
        .collect();
    f
}

fn read_back(stored: &StoredClaim) -> (ClaimDraft, ClaimFields) {
    let envelope = Envelope837 {
        sender: ("ZZ".into(), "SUB123".into()),
        receiver: ("ZZ".into(), "CLEAR1".into()),
        application_sender: "SUB123".into(),
        application_receiver: "CLEAR1".into(),
        control_number: 12,
        at: chrono::DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z").unwrap().to_utc(),
        test: false,
    };
    let text = write_837(std::slice::from_ref(stored), &envelope).unwrap();
    let file = parse_837(text.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let set = &file.sets[0];
    assert!(set.errors.is_empty(), "{:?}\n{text}", set.errors);
    let today = date("2026-12-07");
    let projected = project(set, today).remove(0).result.unwrap_or_else(|e| panic!("{e:?}\n{text}"));
    let again = StoredClaim::of(set, &set.claims[0], file.delimiters).unwrap();
    (projected, fields_of(&again).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn a_built_claim_reads_back_the_same(
        institutional in any::<bool>(),
        dependent in any::<bool>(),
        extras in any::<bool>(),
        lines in 1usize..5,
        diagnoses in 1usize..5,
        frequency in prop::sample::select(vec![FrequencyCode::Original, FrequencyCode::Replacement, FrequencyCode::Void]),
    ) {
        let mut draft = draft(lines, diagnoses, frequency);
        let mut f = fields(institutional, dependent, extras, &draft);
        if institutional {
            f.diagnoses = vec![Diagnosis { code: "R509".into(), qualifier: "ABJ".into() }];
        }
        let stored = build(&draft, &f);
        prop_assert_eq!(&stored.lacking, &vec![]);
        prop_assert_eq!(stored.format(), Some(if institutional { Format::Institutional } else { Format::Professional }));
        let (read, read_fields) = read_back(&stored);
        if institutional {
            // An institutional line carries its revenue code in the draft too.
            for (line, extra) in draft.lines.iter_mut().zip(&f.lines) {
                line.revenue_code = extra.revenue_code.as_deref().map(|r| crate::codes::RevenueCode::parse(r).unwrap());
            }
        }
        if institutional {
            // The reader counts the admitting diagnosis among the claim's codes, in HI order.
            draft.diagnosis_codes.insert(1, DiagnosisCode::parse("R50.9").unwrap());
        }
        prop_assert_eq!(&read, &draft);
        if institutional {
            draft.diagnosis_codes.remove(1);
        }
        // What reading adds: the diagnoses as the 837 qualifies them.
        let mut expected = f.clone();
        expected.diagnoses = draft
            .diagnosis_codes
            .iter()
            .enumerate()
            .map(|(i, c)| Diagnosis { code: c.undotted(), qualifier: if i == 0 { "ABK" } else { "ABF" }.into() })
            .collect();
        if institutional {
            expected.diagnoses.insert(1, Diagnosis { code: "R509".into(), qualifier: "ABJ".into() });
        }
        prop_assert_eq!(read_fields, expected);
    }
}

#[test]
fn what_an_837_needs_is_named() {
    let draft = draft(2, 1, FrequencyCode::Original);
    let errors = build(&draft, &ClaimFields::default()).lacking;
    let named: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        named,
        [
            "submitter",
            "receiver",
            "provider.address",
            "provider.tax_id",
            "payer.claim_filing_indicator",
            "patient.address",
            "place_of_service"
        ]
    );
    // Institutional fields ask for what an 837I needs.
    let f = ClaimFields { facility_type: Some("13".into()), ..fields(false, false, false, &draft) };
    let errors = build(&draft, &ClaimFields { place_of_service: None, ..f }).lacking;
    let named: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        named,
        ["admission.patient_status", "providers.attending", "lines[0].revenue_code", "lines[1].revenue_code"]
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// A claim short of what an 837 needs keeps the fields it has: read from its loops, they
    /// are the fields it was built from.
    #[test]
    fn a_partial_claim_keeps_its_fields(
        institutional in any::<bool>(),
        dependent in any::<bool>(),
        drop in prop::collection::vec(any::<bool>(), 8),
    ) {
        let draft = draft(2, 2, FrequencyCode::Original);
        let mut f = fields(institutional, dependent, true, &draft);
        if drop[0] { f.submitter = None; }
        if drop[1] { f.receiver = None; }
        if drop[2] { f.provider_address = None; }
        if drop[3] { f.provider_tax_id = None; }
        if drop[4] { f.claim_filing_indicator = None; }
        if drop[5] { f.patient_address = None; }
        if drop[6] { f.place_of_service = None; f.facility_type = None; }
        if drop[7] { f.pay_to_address = None; f.providers.clear(); }
        let stored = build(&draft, &f);
        // An institutional claim stays one (its admission) and then needs its attending provider.
        let complete = !(drop[..7].iter().any(|&d| d) || (institutional && drop[7]));
        prop_assert_eq!(stored.lacking.is_empty(), complete, "{:?}", stored.lacking);
        let mut read = fields_of(&stored).unwrap();
        read.diagnoses.retain(|d| d.qualifier == "ABJ");
        prop_assert_eq!(read, f);
    }
}
