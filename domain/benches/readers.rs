//! Throughput of the X12 readers against a one-pass baseline over the same bytes, in the same
//! run: the baseline splits the file into segments with memchr and sums one amount per claim
//! (CLP03 of an 835, CLM02 of an 837), about the least any reader must do. `bench/readers.sh`
//! runs this and prints each reader's throughput as a fraction of the baseline's.
//!
//! Files: an 835 of 100,000 claims (about 30 MB) and an 837P of 20,000 claims (about 15 MB).

// The allocator of the `overturn` binary, so the figures are the service's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use overturn_domain::x12::claim837::{parse_837, project};
use overturn_domain::x12::generate::{GeneratorOptions, generate_835};
use overturn_domain::x12::generate837::generate_837;
use overturn_domain::x12::parse_835;

/// Splits `input` into segments on `~` and sums element `n` of the segments with id `id`,
/// as integer cents: the baseline every reader is measured against.
fn baseline(input: &[u8], id: &[u8], n: usize) -> i64 {
    let mut sum = 0i64;
    let mut start = 0;
    for end in memchr::memchr_iter(b'~', input) {
        let mut seg = &input[start..end];
        start = end + 1;
        while let [b'\n' | b'\r', rest @ ..] = seg {
            seg = rest;
        }
        if seg.len() > id.len()
            && seg.starts_with(id)
            && seg[id.len()] == b'*'
            && let Some(field) = seg.split(|&b| b == b'*').nth(n)
        {
            let mut cents = 0i64;
            let mut point = None;
            for &b in field {
                match b {
                    b'0'..=b'9' => {
                        cents = cents * 10 + i64::from(b - b'0');
                        point = point.map(|p: u32| p + 1);
                    }
                    b'.' => point = Some(0),
                    _ => {}
                }
            }
            sum += cents * 10i64.pow(2u32.saturating_sub(point.unwrap_or(0)));
        }
    }
    sum
}

fn readers(c: &mut Criterion) {
    let (remit, totals) = generate_835(&GeneratorOptions { seed: 3, claims: 100_000, ..Default::default() });
    let mut group = c.benchmark_group("835");
    group.throughput(Throughput::Bytes(remit.len() as u64));
    group.sample_size(20);
    group.bench_function("baseline", |b| b.iter(|| baseline(std::hint::black_box(remit.as_bytes()), b"CLP", 3)));
    group.bench_function("reader", |b| {
        b.iter(|| {
            let file = parse_835(std::hint::black_box(remit.as_bytes())).expect("generated files are valid");
            assert_eq!(file.transactions[0].claims.len(), totals.claims);
            file
        })
    });
    group.finish();

    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).expect("a date");
    let claims =
        generate_837(&GeneratorOptions { seed: 5, claims: 20_000, production_date: day, ..Default::default() });
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).expect("a date");
    let mut group = c.benchmark_group("837");
    group.throughput(Throughput::Bytes(claims.len() as u64));
    group.sample_size(20);
    group.bench_function("baseline", |b| b.iter(|| baseline(std::hint::black_box(claims.as_bytes()), b"CLM", 2)));
    group.bench_function("reader", |b| {
        b.iter(|| {
            let file = parse_837(std::hint::black_box(claims.as_bytes())).expect("generated files are valid");
            assert_eq!(file.claim_count(), 20_000);
            file
        })
    });
    group.bench_function("reader_and_claims", |b| {
        b.iter(|| {
            let file = parse_837(std::hint::black_box(claims.as_bytes())).expect("generated files are valid");
            let drafts: usize =
                file.sets.iter().map(|s| project(s, today).iter().filter(|p| p.result.is_ok()).count()).sum();
            assert_eq!(drafts, 20_000);
            drafts
        })
    });
    group.finish();
}

criterion_group!(benches, readers);
criterion_main!(benches);
