//! Generates a 277CA answering the claims of `generate837::generate_837` for the same seed,
//! for tests and benchmarks: every claim acknowledged, one in `reject_every` rejected (its
//! billing provider's NPI, A7:562:85), the rest accepted (A2:20). Deterministic for a seed.

use std::fmt::Write;

use super::generate::GeneratorOptions;

/// An interchange of one 277CA transaction answering `options.claims` claims `G{seed}-{n}`.
pub fn generate_277ca(options: &GeneratorOptions, reject_every: usize) -> String {
    let GeneratorOptions { element: e, component: c, segment: s, .. } = *options;
    let end = if options.newlines { format!("{s}\n") } else { s.to_string() };
    let seed = options.seed;
    let day = options.production_date.format("%Y%m%d");
    let control = (seed + 500_000) % 1_000_000_000;
    let mut out = String::with_capacity(options.claims * 200 + 1024);
    let _ = write!(
        out,
        "ISA{e}00{e}          {e}00{e}          {e}ZZ{e}GENCLEAR       {e}ZZ{e}GENCLINIC      {e}261121{e}0800{e}{}{e}00501{e}{control:09}{e}0{e}P{e}{c}{end}",
        options.repetition
    );
    let _ = write!(out, "GS{e}HN{e}GENCLEAR{e}GENCLINIC{e}20261121{e}0800{e}{control}{e}X{e}005010X214{end}");
    let mut count = 0usize;
    let mut seg = |out: &mut String, text: String| {
        out.push_str(&text);
        out.push_str(&end);
        count += 1;
    };
    seg(&mut out, format!("ST{e}277{e}0001{e}005010X214"));
    seg(&mut out, format!("BHT{e}0085{e}08{e}ACK{seed}{e}20261121{e}0800{e}TH"));
    seg(&mut out, format!("HL{e}1{e}{e}20{e}1"));
    seg(&mut out, format!("NM1{e}AY{e}2{e}GENERATED CLEARINGHOUSE{e}{e}{e}{e}{e}46{e}GENCLEAR"));
    seg(&mut out, format!("TRN{e}1{e}ACK{seed}"));
    seg(&mut out, format!("DTP{e}050{e}D8{e}{day}"));
    seg(&mut out, format!("DTP{e}009{e}D8{e}{day}"));
    seg(&mut out, format!("HL{e}2{e}1{e}21{e}1"));
    seg(&mut out, format!("NM1{e}41{e}2{e}GENERATED CLINIC{e}{e}{e}{e}{e}46{e}GENCLINIC"));
    seg(&mut out, format!("TRN{e}2{e}G{seed}"));
    seg(&mut out, format!("STC{e}A1{c}19{c}PR{e}{day}{e}WQ{e}0"));
    seg(&mut out, format!("HL{e}3{e}2{e}19{e}1"));
    seg(&mut out, format!("NM1{e}85{e}2{e}GENERATED CLINIC{e}{e}{e}{e}{e}XX{e}1234567893"));
    seg(&mut out, format!("TRN{e}1{e}0"));
    seg(&mut out, format!("STC{e}A1{c}19{c}PR{e}{day}{e}WQ{e}0"));
    for i in 0..options.claims {
        seg(&mut out, format!("HL{e}{}{e}3{e}PT", i + 4));
        seg(&mut out, format!("NM1{e}QC{e}1{e}DOE{e}SUB{i}{e}{e}{e}{e}MI{e}M{seed}X{i}"));
        seg(&mut out, format!("TRN{e}2{e}G{seed}-{i}"));
        if reject_every > 0 && i % reject_every == 0 {
            seg(&mut out, format!("STC{e}A7{c}562{c}85{e}{day}{e}U"));
        } else {
            seg(&mut out, format!("STC{e}A2{c}20{c}PR{e}{day}{e}WQ"));
            seg(&mut out, format!("REF{e}1K{e}P{seed}N{i}"));
        }
        seg(&mut out, format!("DTP{e}472{e}D8{e}{day}"));
    }
    let count = count + 1;
    let _ = write!(out, "SE{e}{count}{e}0001{end}GE{e}1{e}{control}{end}IEA{e}1{e}{control:09}{end}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x12::ack::{AckFile, AckOutcome, read_acknowledgment};

    #[test]
    fn generated_acknowledgments_are_read_whole() {
        for (claims, element, newlines) in [(1, '*', true), (25, '|', false)] {
            let options = GeneratorOptions { seed: 4, claims, element, newlines, ..Default::default() };
            let text = generate_277ca(&options, 10);
            let Ok(AckFile::Status(file)) = read_acknowledgment(text.as_bytes()) else { panic!("{text}") };
            assert_eq!(file.claims.len(), claims);
            let rejected =
                file.claims.iter().filter(|c| AckOutcome::of_statuses(file.statuses_of(c)) == AckOutcome::Rejected);
            assert_eq!(rejected.count(), claims.div_ceil(10));
            assert_eq!(file.claims[claims - 1].trace, format!("G4-{}", claims - 1));
        }
    }
}
