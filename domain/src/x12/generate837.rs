//! Generates valid 837P files of any size, for tests and benchmarks: one billing provider,
//! claims of one to four lines, most for the subscriber, one in five for a dependent (a
//! 2000C patient loop). Deterministic for a seed.

use std::fmt::Write;

use super::generate::GeneratorOptions;

const PROCEDURES: [&str; 8] = ["99213", "99214", "36415", "93000", "97110", "J1885", "73721", "90471"];
const DIAGNOSES: [&str; 8] = ["E119", "I10", "E785", "J069", "M545", "F419", "K219", "N390"];

fn amount(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// An interchange of `options.claims` 837P claims, 5,000 per transaction set; the claim
/// numbers are `G{seed}-{n}`. `options.production_date` is the date of service.
pub fn generate_837(options: &GeneratorOptions) -> String {
    let GeneratorOptions { element: e, component: c, segment: s, .. } = *options;
    let end = if options.newlines { format!("{s}\n") } else { s.to_string() };
    let mut rng = super::generate::Rng(options.seed ^ 0x837);
    let seed = options.seed;
    let day = options.production_date.format("%Y%m%d");
    let mut out = String::with_capacity(options.claims * 700 + 1024);
    let control = seed % 1_000_000_000;
    let _ = write!(
        out,
        "ISA{e}00{e}          {e}00{e}          {e}ZZ{e}GENCLINIC      {e}ZZ{e}GENCLEAR       {e}261120{e}0930{e}{}{e}00501{e}{control:09}{e}0{e}P{e}{c}{end}",
        options.repetition
    );
    let _ = write!(out, "GS{e}HC{e}GENCLINIC{e}GENCLEAR{e}20261120{e}0930{e}{control}{e}X{e}005010X222A1{end}");
    let sets = options.claims.div_ceil(5_000).max(1);
    for set in 0..sets {
        let first = set * 5_000;
        let last = (first + 5_000).min(options.claims);
        let mut body = String::with_capacity((last - first) * 700);
        let mut count = 0usize;
        let mut seg = |text: String| {
            body.push_str(&text);
            body.push_str(&end);
            count += 1;
        };
        seg(format!("ST{e}837{e}{:04}{e}005010X222A1", set + 1));
        seg(format!("BHT{e}0019{e}00{e}G{seed}S{set}{e}20261120{e}0930{e}CH"));
        seg(format!("NM1{e}41{e}2{e}GENERATED CLINIC{e}{e}{e}{e}{e}46{e}GENCLINIC"));
        seg(format!("PER{e}IC{e}BILLING OFFICE{e}TE{e}8605551212"));
        seg(format!("NM1{e}40{e}2{e}GENERATED CLEARINGHOUSE{e}{e}{e}{e}{e}46{e}GENCLEAR"));
        seg(format!("HL{e}1{e}{e}20{e}1"));
        seg(format!("PRV{e}BI{e}PXC{e}207Q00000X"));
        seg(format!("NM1{e}85{e}2{e}GENERATED CLINIC{e}{e}{e}{e}{e}XX{e}1234567893"));
        seg(format!("N3{e}100 MAIN ST"));
        seg(format!("N4{e}HARTFORD{e}CT{e}061031234"));
        seg(format!("REF{e}EI{e}061234567"));
        let mut hl = 1;
        for i in first..last {
            let dependent = rng.below(5) == 0;
            hl += 1;
            let subscriber_hl = hl;
            seg(format!("HL{e}{hl}{e}1{e}22{e}{}", u8::from(dependent)));
            seg(format!("SBR{e}P{e}{}{e}{e}{e}{e}{e}{e}{e}CI", if dependent { "" } else { "18" }));
            seg(format!("NM1{e}IL{e}1{e}DOE{e}SUB{i}{e}{e}{e}{e}MI{e}M{seed}X{i}"));
            seg(format!("N3{e}{} ELM ST", 1 + i % 900));
            seg(format!("N4{e}HARTFORD{e}CT{e}06103"));
            seg(format!("DMG{e}D8{e}19{:02}0{}1{:1}{e}{}", 40 + i % 50, 1 + i % 9, i % 3, ["F", "M"][i % 2]));
            seg(format!("NM1{e}PR{e}2{e}ACME HEALTH PLAN{e}{e}{e}{e}{e}PI{e}60054"));
            if dependent {
                hl += 1;
                seg(format!("HL{e}{hl}{e}{subscriber_hl}{e}23{e}0"));
                seg(format!("PAT{e}19"));
                seg(format!("NM1{e}QC{e}1{e}DOE{e}KID{i}"));
                seg(format!("N3{e}{} ELM ST", 1 + i % 900));
                seg(format!("N4{e}HARTFORD{e}CT{e}06103"));
                seg(format!("DMG{e}D8{e}2015060{}{e}{}", 1 + i % 9, ["F", "M"][(i + 1) % 2]));
            }
            let lines = 1 + rng.below(4) as usize;
            let charges: Vec<i64> = (0..lines).map(|_| 1_000 + rng.below(40_000) as i64).collect();
            let total: i64 = charges.iter().sum();
            seg(format!("CLM{e}G{seed}-{i}{e}{}{e}{e}{e}11{c}B{c}1{e}Y{e}A{e}Y{e}Y", amount(total)));
            let principal = DIAGNOSES[rng.below(DIAGNOSES.len() as u64) as usize];
            let other = DIAGNOSES[rng.below(DIAGNOSES.len() as u64) as usize];
            if other == principal {
                seg(format!("HI{e}ABK{c}{principal}"));
            } else {
                seg(format!("HI{e}ABK{c}{principal}{e}ABF{c}{other}"));
            }
            for (l, charge) in charges.iter().enumerate() {
                let code = PROCEDURES[rng.below(PROCEDURES.len() as u64) as usize];
                let modifier = if rng.below(4) == 0 { format!("{c}25") } else { String::new() };
                seg(format!("LX{e}{}", l + 1));
                seg(format!("SV1{e}HC{c}{code}{modifier}{e}{}{e}UN{e}1{e}{e}{e}1", amount(*charge)));
                seg(format!("DTP{e}472{e}D8{e}{day}"));
                seg(format!("REF{e}6R{e}G{seed}-{i}L{}", l + 1));
            }
        }
        let count = count + 1;
        out.push_str(&body);
        let _ = write!(out, "SE{e}{count}{e}{:04}{end}", set + 1);
    }
    let _ = write!(out, "GE{e}{sets}{e}{control}{end}IEA{e}1{e}{control:09}{end}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x12::claim837::{parse_837, project};

    #[test]
    fn generated_files_are_read_whole() {
        for (claims, element, newlines) in [(1, '*', true), (12, '|', false), (5_001, '*', true)] {
            let options = GeneratorOptions {
                seed: 9,
                claims,
                element,
                newlines,
                production_date: chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
                ..Default::default()
            };
            let text = generate_837(&options);
            let file = parse_837(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(file.claim_count(), claims);
            assert_eq!(file.sets.len(), claims.div_ceil(5_000));
            let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
            for set in &file.sets {
                for p in project(set, today) {
                    assert!(p.result.is_ok(), "{}: {:?}", p.claim_number, p.result);
                }
            }
        }
    }
}
