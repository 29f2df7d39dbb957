//! Scrubbing throughput on one core, in memory: a mixed set of 10,000 claims (one to eight
//! lines, one to six diagnoses, some of them headers, unknown, repeated pairs and excess units)
//! against both shipped ICD-10-CM years, 1.5 million PTP pairs and 15,000 MUE rows of a
//! realistic shape. Before the timing it prints the memory those sets take (the process's
//! resident set before and after building them): `cargo bench -p overturn-domain --bench scrub`.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;

use chrono::NaiveDate;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use overturn_domain::scrub::icd10cm::{self, Icd10CmYears};
use overturn_domain::scrub::ncci::{MueSet, PtpEdit, PtpSet};
use overturn_domain::scrub::{CodeSets, ScrubClaim, ScrubLine, scrub};
use rust_decimal::Decimal;

/// The same sets and claims on every run.
struct Rng(overturn_domain::x12::generate::Rng);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0.below(n as u64) as usize
    }
}

fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// CPT-shaped codes (five digits) and some HCPCS Level II ones: the universe the edits pair.
fn procedure(rng: &mut Rng) -> String {
    if rng.below(10) == 0 {
        format!("{}{:04}", ['A', 'E', 'G', 'J', 'L'][rng.below(5)], rng.below(10_000))
    } else {
        format!("{:05}", 10_000 + rng.below(20_000))
    }
}

fn code_sets(rng: &mut Rng) -> CodeSets {
    let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    let ptp = (0..1_500_000).map(|i| PtpEdit {
        column1: procedure(rng),
        column2: procedure(rng),
        effective: day(1996 + (i % 30) as i32, 1, 1),
        deleted: (i % 7 == 0).then(|| day(2020, 1, 1)),
        indicator: [0, 1, 1, 1, 9][i % 5],
    });
    let ptp = PtpSet::new("2026Q1 (synthetic)", ptp).expect("codes are well formed");
    // 15,000 distinct codes, as CMS's practitioner MUE table has about that many.
    let mue: Vec<(String, u32, u8)> =
        (0..15_000).map(|i| (format!("{:05}", 10_000 + i * 2), 1 + (i % 4) as u32, 1 + (i % 3) as u8)).collect();
    let mue = MueSet::new("2026Q1 (synthetic)", mue.iter().map(|(c, v, m)| (c.as_str(), *v, *m))).unwrap();
    CodeSets { icd10cm: Icd10CmYears::shipped(), ptp: Some(Arc::new(ptp)), mue: Some(Arc::new(mue)), hcpcs: None }
}

/// A line: code, modifiers, units, date, diagnosis pointers.
type OwnedLine = (String, Vec<&'static str>, u32, NaiveDate, Vec<u8>);

struct OwnedClaim {
    diagnoses: Vec<String>,
    lines: Vec<OwnedLine>,
}

fn claims(rng: &mut Rng, n: usize) -> Vec<OwnedClaim> {
    let fy26 = &icd10cm::shipped()[1];
    let mut pool: Vec<String> = Vec::new();
    for letter in ["E11", "I1", "J", "M5", "Z0", "R", "K2", "F3"] {
        pool.extend(fy26.billable_under(letter, 400));
    }
    // Headers, unknown codes and common procedures, so that edits happen too.
    pool.extend(["E11", "I25.1", "Z99.999"].map(String::from));
    let common: Vec<String> = (0..200).map(|_| procedure(rng)).collect();
    (0..n)
        .map(|_| {
            let diagnoses: Vec<String> = (0..1 + rng.below(6)).map(|_| pool[rng.below(pool.len())].clone()).collect();
            let date = NaiveDate::from_ymd_opt(2025, 1 + rng.below(12) as u32, 1 + rng.below(28) as u32).unwrap();
            let lines = (0..1 + rng.below(8))
                .map(|_| {
                    let code = common[rng.below(common.len())].clone();
                    let modifiers = [vec![], vec!["25"], vec!["59"], vec!["LT", "RT"]][rng.below(4)].clone();
                    let pointers = vec![1 + rng.below(diagnoses.len()) as u8];
                    (code, modifiers, 1 + rng.below(3) as u32, date, pointers)
                })
                .collect();
            OwnedClaim { diagnoses, lines }
        })
        .collect()
}

fn view(c: &OwnedClaim) -> ScrubClaim<'_> {
    ScrubClaim {
        service_date: c.lines[0].3,
        statement_period: None,
        diagnoses: c.diagnoses.iter().map(String::as_str).collect(),
        place_of_service: Some("11"),
        lines: c
            .lines
            .iter()
            .map(|(code, modifiers, units, date, pointers)| ScrubLine {
                procedure_code: Some(code.as_str()),
                modifiers: modifiers.clone(),
                units: Decimal::from(*units),
                service_date: *date,
                place_of_service: None,
                diagnosis_pointers: pointers,
            })
            .collect(),
    }
}

fn scrubbing(c: &mut Criterion) {
    let mut rng = Rng(overturn_domain::x12::generate::Rng(0x5C2B_0000_0000_0001));
    let before = resident_kib();
    let sets = code_sets(&mut rng);
    let _ = icd10cm::shipped();
    let after = resident_kib();
    println!(
        "code sets: ICD-10-CM FY2025 + FY2026, {} PTP rows, {} MUE rows: {:.1} MiB resident",
        sets.ptp.as_ref().map_or(0, |s| s.len()),
        sets.mue.as_ref().map_or(0, |s| s.len()),
        after.saturating_sub(before) as f64 / 1024.0
    );
    let claims = claims(&mut rng, 10_000);
    let edits: usize = claims.iter().map(|c| scrub(&view(c), &sets).len()).sum();
    println!("{} claims, {} edits", claims.len(), edits);
    let mut group = c.benchmark_group("scrub");
    group.throughput(Throughput::Elements(claims.len() as u64));
    group.sample_size(20);
    group.bench_function("mixed_claims", |b| {
        b.iter(|| claims.iter().map(|c| scrub(std::hint::black_box(&view(c)), &sets).len()).sum::<usize>())
    });
    group.finish();
}

criterion_group!(benches, scrubbing);
criterion_main!(benches);
