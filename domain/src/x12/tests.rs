use proptest::prelude::*;

use super::generate::{GeneratorOptions, generate_835};
use super::parse835::{MAX_LINE_REMARKS, MAX_LINES};
use super::*;

const BASIC: &str = include_str!("../../testdata/remit-basic.835");
const TWO_PAYMENTS: &str = include_str!("../../testdata/remit-two-payments.835");

fn parse(text: &str) -> Result<RemittanceFile<'_>, EdiError> {
    parse_835(text.as_bytes())
}

fn cents(m: crate::Money) -> i64 {
    m.cents()
}

#[test]
fn the_basic_sample_reads_completely() {
    let file = parse(BASIC).unwrap();
    assert_eq!(file.transactions.len(), 1);
    let tx = &file.transactions[0];
    assert_eq!(tx.interchange_control_number, "000000101");
    assert_eq!(tx.payment.amount.to_string(), "252.00");
    assert_eq!(tx.payment.method, "ACH");
    assert_eq!(tx.payment.effective_date.unwrap().to_string(), "2025-01-15");
    assert_eq!((tx.trace_number, tx.trace_payer_id), ("EFT0001", "1512345678"));
    assert_eq!(tx.production_date.unwrap().to_string(), "2025-01-15");
    assert_eq!((tx.payer.name, tx.payer.id), ("ACME HEALTH PLAN", "60054"));
    assert_eq!(tx.payee.id, "1234567893");
    assert!(tx.warnings.is_empty(), "{:?}", tx.warnings);

    let numbers: Vec<&str> = tx.claims.iter().map(|c| c.claim_number).collect();
    assert_eq!(numbers, ["CLM-1001", "CLM-1002", "CLM-1003", "CLM-1004"]);
    let first = &tx.claims[0];
    assert_eq!((cents(first.charge), cents(first.paid), cents(first.patient_responsibility)), (20_000, 12_700, 2_500));
    assert_eq!(first.payer_claim_control_number, "PCNCLM-1001");
    assert_eq!((first.patient_last_name, first.patient_member_id), ("DOE", "MEM1001"));
    assert_eq!(tx.lines_of(first).len(), 2);
    let line = &tx.lines_of(first)[0];
    assert_eq!((line.procedure.qualifier, line.procedure.code), ("HC", "99213"));
    assert_eq!(line.service_date.unwrap().to_string(), "2024-12-02");
    let adjustments: Vec<(&str, &str, i64)> =
        tx.line_adjustments(line).iter().map(|a| (a.group, a.reason, cents(a.amount))).collect();
    assert_eq!(adjustments, [("CO", "45", 4_000), ("PR", "3", 2_500)]);

    let denied = &tx.claims[1];
    assert_eq!(denied.status_code, "4");
    assert_eq!(tx.line_remarks(&tx.lines_of(denied)[0]), ["N54"]);
    assert_eq!(tx.provider_adjustments.len(), 1);
    let plb = &tx.provider_adjustments[0];
    assert_eq!((plb.reason_code, plb.reference, cents(plb.amount)), ("WO", "OVERPAY123", 1_500));
}

#[test]
fn the_two_payment_sample_reads_both_transactions() {
    let file = parse(TWO_PAYMENTS).unwrap();
    assert_eq!(file.transactions.len(), 2);
    let (first, second) = (&file.transactions[0], &file.transactions[1]);
    assert_eq!(first.payment.amount.to_string(), "150.25");
    assert_eq!(second.payment.handling_code, "H");
    assert_eq!(second.payment.amount.to_string(), "0.00");
    // Claim-level CAS before NM1, as some payers send it.
    assert_eq!(first.claim_adjustments(&first.claims[0])[0].reason, "31");
    let with_modifiers = &first.lines_of(&first.claims[2])[0];
    assert_eq!(with_modifiers.procedure.modifiers().collect::<Vec<_>>(), ["GP", "59"]);
    assert_eq!(with_modifiers.line_control_number, Some("L-2003-1"));
    assert_eq!(with_modifiers.units.unwrap().to_string(), "2");
    assert_eq!(first.lines_of(&first.claims[1])[0].procedure.modifiers().collect::<Vec<_>>(), ["25"]);
    assert_eq!(first.provider_adjustments[0].amount.to_string(), "-4.25");
    assert_eq!(second.line_remarks(&second.lines_of(&second.claims[0])[0]), ["MA130", "M51"]);
}

/// Rewrites a file with other delimiters; the sample's own must not appear in its data.
fn redelimit(text: &str, from: [char; 3], to: [char; 3], newlines: bool) -> String {
    let mut out: String = text
        .chars()
        .filter(|&ch| ch != '\n' && ch != '\r')
        .map(|ch| match ch {
            _ if ch == from[0] => to[0],
            _ if ch == from[1] => to[1],
            _ if ch == from[2] => to[2],
            other => other,
        })
        .collect();
    if newlines {
        out = out.replace(to[2], &format!("{}\r\n", to[2]));
    }
    out
}

#[test]
fn any_declared_delimiters_with_or_without_line_breaks() {
    let expected = parse(BASIC).unwrap();
    for (to, newlines) in [
        (['|', '>', '\''], false),
        (['^', '\\', '~'], true),
        (['\u{1d}', '\u{1f}', '\u{1c}'], false),
        (['*', ':', '~'], false),
    ] {
        // ISA11 here is "^"; pick a repetition separator that does not clash.
        let text = redelimit(BASIC, ['*', ':', '~'], to, newlines);
        let text = if to[0] == '^' { text.replacen("^^^", "^!^", 1) } else { text };
        let parsed = parse(&text).unwrap_or_else(|e| panic!("{to:?}: {e}"));
        assert_eq!(parsed, expected, "{to:?} newlines={newlines}");
    }
}

#[test]
fn several_interchanges_in_one_file() {
    let both = format!("{BASIC}\n{TWO_PAYMENTS}");
    let parsed = parse(&both).unwrap();
    assert_eq!(parsed.transactions.len(), 3);
    assert_eq!(parsed.transactions[2].interchange_control_number, "000000202");
}

/// A file of many small transactions keeps room for what each holds, not for the rest of the
/// file once per transaction (500 interchanges once reserved a million claims).
#[test]
fn many_transactions_keep_only_the_room_they_use() {
    let many = vec![BASIC; 500].join("\n");
    let parsed = parse(&many).unwrap();
    assert_eq!(parsed.transactions.len(), 500);
    let used: usize = parsed.transactions.iter().map(|t| t.claims.len() + t.lines.len() + t.adjustments.len()).sum();
    let room: usize =
        parsed.transactions.iter().map(|t| t.claims.capacity() + t.lines.capacity() + t.adjustments.capacity()).sum();
    assert!(room <= 4 * used + 3 * 64 * 500, "room for {room} items, {used} used");
}

fn error_of(text: &str) -> EdiError {
    parse(text).expect_err("must be refused")
}

#[test]
fn envelope_errors_name_the_segment_and_element() {
    let e = error_of(&BASIC.replace("SE*53*0001", "SE*52*0001"));
    assert_eq!((e.segment_id.as_str(), e.element), ("SE", Some(1)));
    assert!(e.message.contains("52") && e.message.contains("53"), "{e}");

    let e = error_of(&BASIC.replace("SE*53*0001", "SE*53*0002"));
    assert_eq!((e.segment_id.as_str(), e.element), ("SE", Some(2)));
    let e = error_of(&BASIC.replace("GE*1*1", "GE*2*1"));
    assert_eq!((e.segment_id.as_str(), e.element), ("GE", Some(1)));
    let e = error_of(&BASIC.replace("GE*1*1", "GE*1*7"));
    assert_eq!((e.segment_id.as_str(), e.element), ("GE", Some(2)));
    let e = error_of(&BASIC.replace("IEA*1*000000101", "IEA*1*000000999"));
    assert_eq!((e.segment_id.as_str(), e.element), ("IEA", Some(2)));
    let e = error_of(&BASIC.replace("IEA*1*000000101~", ""));
    assert!(e.message.contains("ends"), "{e}");
    let e = error_of(&BASIC.replace("ST*835*0001", "ST*837*0001"));
    assert_eq!((e.segment_id.as_str(), e.element), ("ST", Some(1)));
    let e = error_of(&BASIC.replace("GS*HP", "GS*HC"));
    assert_eq!((e.segment_id.as_str(), e.element), ("GS", Some(1)));
    let e = error_of(&BASIC.replacen("ZZ*ACMEHEALTH     *", "ZZ*ACMEHEALTH*", 1));
    assert_eq!(e.segment_id, "ISA");
    let e = error_of("GS*HP*X~");
    assert!(e.message.contains("ISA"), "{e}");
    let e = error_of("");
    assert!(e.message.contains("no 835"), "{e}");
}

#[test]
fn money_dates_and_codes_are_checked() {
    let e = error_of(&BASIC.replace("CLP*CLM-1001*1*200*127*", "CLP*CLM-1001*1*200*12.705*"));
    assert_eq!((e.segment_id.as_str(), e.element), ("CLP", Some(4)));
    let e = error_of(&BASIC.replace("CLP*CLM-1001*1*200*127*", "CLP*CLM-1001*1*2OO*127*"));
    assert_eq!((e.segment_id.as_str(), e.element), ("CLP", Some(3)));
    let e = error_of(&BASIC.replace("DTM*472*20241202", "DTM*472*20241302"));
    assert_eq!((e.segment_id.as_str(), e.element), ("DTM", Some(2)));
    let e = error_of(&BASIC.replace("CAS*CO*45*40", "CAS*XX*45*40"));
    assert_eq!((e.segment_id.as_str(), e.element), ("CAS", Some(1)));
    let e = error_of(&BASIC.replace("CAS*CO*45*40", "CAS*CO**40"));
    assert_eq!((e.segment_id.as_str(), e.element), ("CAS", Some(2)));
    let e = error_of(&BASIC.replace("BPR*I*252*C*", "BPR*I*252*X*"));
    assert_eq!((e.segment_id.as_str(), e.element), ("BPR", Some(3)));
}

#[test]
fn claim_remarks_after_the_lines_are_refused() {
    let text = BASIC.replace("CAS*CO*29*120~", "CAS*CO*29*120~\nMOA***MA130~").replace("SE*53*0001", "SE*54*0001");
    let e = error_of(&text);
    assert_eq!(e.segment_id, "MOA");
    let before =
        BASIC.replace("DTM*232*20240601~", "MOA***MA130~\nDTM*232*20240601~").replace("SE*53*0001", "SE*54*0001");
    let tx = &parse(&before).unwrap().transactions[0];
    assert_eq!(tx.claim_remarks(&tx.claims[3]), ["MA130"]);
    assert!(tx.claim_remarks(&tx.claims[2]).is_empty());
}

#[test]
fn unbalanced_money_is_refused_with_the_numbers() {
    // Line: 180 − 115 ≠ 40 + 25 once the paid amount changes.
    let e = error_of(&BASIC.replace("SVC*HC:99213*180*115**1", "SVC*HC:99213*180*110**1"));
    assert_eq!(e.segment_id, "SVC");
    assert!(e.message.contains("65.00") && e.message.contains("70.00"), "{e}");
    // Claim: the lines balance, the CLP totals do not.
    let e = error_of(&BASIC.replace("CLP*CLM-1001*1*200*127*", "CLP*CLM-1001*1*201*127*"));
    assert_eq!(e.segment_id, "CLP");
    assert!(e.message.contains("CLM-1001") && e.message.contains("74.00") && e.message.contains("73.00"), "{e}");
    // Transaction: 267 paid − 15 PLB = 252, not 250.
    let e = error_of(&BASIC.replace("BPR*I*252*", "BPR*I*250*"));
    assert_eq!((e.segment_id.as_str(), e.element), ("BPR", Some(2)));
    assert!(e.message.contains("250.00") && e.message.contains("252.00"), "{e}");
}

#[test]
fn sloppy_but_unambiguous_files_are_accepted_with_warnings() {
    let without_per = BASIC.replace("PER*BL*PROVIDER SERVICES*TE*8005551212~\n", "");
    let without_per = without_per.replace("SE*53*0001", "SE*52*0001");
    let tx = &parse(&without_per).unwrap().transactions[0];
    assert!(tx.warnings.iter().any(|w| w.message.contains("PER")), "{:?}", tx.warnings);

    let repeated = BASIC.replace(
        "N1*PE*SMITH FAMILY CLINIC*XX*1234567893~",
        "N1*PE*SMITH FAMILY CLINIC*XX*1234567893~\nN1*PR*ACME CLEARING*XV*99999~\nN1*PE*SMITH AGAIN*XX*1234567893~",
    );
    let repeated = repeated.replace("SE*53*0001", "SE*55*0001");
    let tx = &parse(&repeated).unwrap().transactions[0];
    assert_eq!(tx.payer.name, "ACME HEALTH PLAN");
    assert_eq!(tx.warnings.iter().filter(|w| w.message.contains("repeated")).count(), 2);

    let no_lx: String = BASIC.lines().filter(|l| !l.starts_with("LX*")).collect::<Vec<_>>().join("\n");
    let no_lx = no_lx.replace("SE*53*0001", "SE*49*0001");
    let tx = &parse(&no_lx).unwrap().transactions[0];
    assert_eq!(tx.claims.len(), 4);
    assert!(tx.warnings.iter().any(|w| w.message.contains("LX")));
}

#[test]
fn reversals_and_negative_amounts_balance() {
    let (text, totals) = generate_835(&GeneratorOptions { seed: 7, claims: 300, ..Default::default() });
    let file = parse(&text).unwrap();
    let tx = &file.transactions[0];
    assert!(tx.claims.iter().any(|c| c.status_code == "22" && c.paid.cents() < 0), "the seed makes a reversal");
    assert_eq!(tx.claims.len(), totals.claims);
}

fn summary(file: &RemittanceFile<'_>) -> (usize, i64, i64, i64, i64) {
    let tx = &file.transactions[0];
    let paid: i64 = tx.claims.iter().map(|c| c.paid.cents()).sum();
    let adjusted: i64 = tx
        .claims
        .iter()
        .flat_map(|c| {
            tx.claim_adjustments(c).iter().chain(tx.lines_of(c).iter().flat_map(|l| tx.line_adjustments(l).iter()))
        })
        .map(|a| a.amount.cents())
        .sum();
    let plb: i64 = tx.provider_adjustments.iter().map(|p| p.amount.cents()).sum();
    let bpr = tx.payment.amount.cents() * if tx.payment.credit_debit == "D" { -1 } else { 1 };
    (tx.claims.len(), bpr, paid, adjusted, plb)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn generated_files_parse_to_their_exact_totals(
        seed in any::<u64>(),
        claims in 1usize..40,
        delimiters in prop::sample::select(vec![('*', ':', '~'), ('|', '>', '\n'), ('^', '\\', '\''), ('\u{1d}', '\u{1f}', '\u{1c}')]),
        newlines in any::<bool>(),
    ) {
        let repetition = if delimiters.0 == '^' { '!' } else { '^' };
        let newlines = newlines && delimiters.2 != '\n';
        let options = GeneratorOptions {
            seed, claims, element: delimiters.0, component: delimiters.1, repetition, segment: delimiters.2, newlines,
            ..GeneratorOptions::default()
        };
        let (text, totals) = generate_835(&options);
        let file = parse(&text).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(
            summary(&file),
            (totals.claims, totals.payment_cents, totals.paid_cents, totals.adjustment_cents, totals.provider_adjustment_cents)
        );
    }

    #[test]
    fn truncated_files_are_refused_never_panic(cut in 0usize..2_000) {
        let cut = cut.min(BASIC.len());
        let prefix = &BASIC.as_bytes()[..cut];
        // Only the whole file is valid, or the whole file short of trailing white space and of
        // its last segment terminator (the reader tolerates a file that stops right after IEA02).
        if parse_835(prefix).is_ok() {
            prop_assert!(matches!(BASIC[cut..].trim(), "" | "~"), "accepted a file cut at {cut}");
        }
    }

    #[test]
    fn mutated_files_never_panic(
        edits in prop::collection::vec((0usize..2_000, any::<u8>()), 1..8),
        which in any::<bool>(),
    ) {
        let mut bytes = if which { BASIC.as_bytes().to_vec() } else { TWO_PAYMENTS.as_bytes().to_vec() };
        for (at, byte) in edits {
            let at = at % bytes.len();
            bytes[at] = byte;
        }
        let _ = parse_835(&bytes);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse_835(&bytes);
        let mut with_header = b"ISA*00*          *00*          *ZZ*A              *ZZ*B              *250115*1200*^*00501*000000101*0*P*:~".to_vec();
        with_header.extend_from_slice(&bytes);
        let _ = parse_835(&with_header);
    }
}

#[test]
fn implausible_dates_are_refused_with_the_element() {
    // A year-9999 production date gave a year-10000 appeal deadline; a year-1 one fired every
    // escalation on arrival.
    for date in ["99991231", "00010101", "18991231", "22000101"] {
        let e = error_of(&BASIC.replace("DTM*405*20250115", &format!("DTM*405*{date}")));
        assert_eq!((e.segment_id.as_str(), e.element), ("DTM", Some(2)), "{date}");
        assert!(e.message.contains("plausible") && e.message.contains("1900-01-01"), "{e}");
    }
    for date in ["19000101", "21991231"] {
        let text = BASIC.replace("DTM*405*20250115", &format!("DTM*405*{date}"));
        let file = parse(&text).unwrap();
        assert_eq!(file.transactions[0].production_date.unwrap().format("%Y%m%d").to_string(), date);
    }
}

#[test]
fn a_claim_beyond_the_guides_limits_is_refused() {
    let with = |after: &str, extra: &str, n: usize| {
        let inserted: String = std::iter::repeat_n(format!("{extra}~\n"), n).collect();
        BASIC.replacen(after, &format!("{after}{inserted}"), 1).replace("SE*53*0001", &format!("SE*{}*0001", 53 + n))
    };
    // 999 service lines are allowed; the thousandth is not.
    let most = with("LQ*HE*N54~\n", "SVC*HC:99213*0*0**1", MAX_LINES - 1);
    assert!(parse(&most).is_ok(), "{:?}", parse(&most).err());
    assert_eq!(
        parse(&most).unwrap().transactions[0].lines_of(&parse(&most).unwrap().transactions[0].claims[1]).len(),
        MAX_LINES
    );
    let e = error_of(&with("LQ*HE*N54~\n", "SVC*HC:99213*0*0**1", MAX_LINES));
    assert_eq!(e.segment_id, "SVC");
    assert!(e.message.contains("999 service lines"), "{e}");
    // 99 remark codes on a line, then no more.
    assert!(parse(&with("LQ*HE*N54~\n", "LQ*HE*N54", MAX_LINE_REMARKS - 1)).is_ok());
    let e = error_of(&with("LQ*HE*N54~\n", "LQ*HE*N54", MAX_LINE_REMARKS));
    assert_eq!(e.segment_id, "LQ");
    assert!(e.message.contains("99 remark codes"), "{e}");
    // 99 CAS segments of six adjustments, then no more.
    let six = "CAS*CO*45*0**45*0**45*0**45*0**45*0**45*0";
    let e = error_of(&with("LQ*HE*N54~\n", six, 100));
    assert_eq!(e.segment_id, "CAS");
    assert!(e.message.contains("594 adjustments"), "{e}");
}
