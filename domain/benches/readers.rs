//! Throughput of the X12 readers against a one-pass baseline over the same bytes, in the same
//! run: the baseline splits the file into segments with memchr and sums one amount per claim
//! (CLP03 of an 835, CLM02 of an 837), about the least any reader must do. `bench/readers.sh`
//! runs this and prints each reader's throughput as a fraction of the baseline's.
//!
//! Files: an 835 of 100,000 claims (about 30 MB), an 837P of 20,000 claims (about 15 MB), a
//! 277CA of 100,000 claims (about 12 MB) and a 999 answering 50,000 transaction sets, each with a
//! segment and an element error (about 5 MB).

// The allocator of the `overturn` binary, so the figures are the service's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use overturn_domain::x12::ack::{AckFile, read_acknowledgment};
use overturn_domain::x12::claim837::{parse_837, project};
use overturn_domain::x12::generate::{GeneratorOptions, generate_835};
use overturn_domain::x12::generate_ack::generate_277ca;
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

    let ack = generate_277ca(&GeneratorOptions { seed: 6, claims: 100_000, ..Default::default() }, 10);
    let mut group = c.benchmark_group("277CA");
    group.throughput(Throughput::Bytes(ack.len() as u64));
    group.sample_size(20);
    group.bench_function("baseline", |b| b.iter(|| baseline(std::hint::black_box(ack.as_bytes()), b"STC", 4)));
    group.bench_function("reader", |b| {
        b.iter(|| {
            let Ok(AckFile::Status(file)) = read_acknowledgment(std::hint::black_box(ack.as_bytes())) else {
                panic!("generated files are valid")
            };
            assert_eq!(file.claims.len(), 100_000);
            file
        })
    });
    group.finish();

    let nine = implementation_ack(50_000);
    let mut group = c.benchmark_group("999");
    group.throughput(Throughput::Bytes(nine.len() as u64));
    group.sample_size(20);
    group.bench_function("baseline", |b| b.iter(|| baseline(std::hint::black_box(nine.as_bytes()), b"AK9", 2)));
    group.bench_function("reader", |b| {
        b.iter(|| {
            let Ok(AckFile::Implementation(groups)) = read_acknowledgment(std::hint::black_box(nine.as_bytes())) else {
                panic!("generated files are valid")
            };
            assert_eq!(groups[0].sets.len(), 50_000);
            groups
        })
    });
    group.finish();
}

/// A 999 answering `sets` transaction sets of one group, every other one rejected with a
/// segment error, its claim and an element error.
fn implementation_ack(sets: usize) -> String {
    use std::fmt::Write;
    let mut body = String::with_capacity(sets * 100);
    let mut count = 2;
    let _ = write!(body, "ST*999*0001*005010X231A1~AK1*HC*77*005010X222A1~");
    for i in 0..sets {
        let _ = write!(body, "AK2*837*{:09}*005010X222A1~", i + 1);
        count += 1;
        if i % 2 == 0 {
            let _ = write!(body, "IK3*NM1*12*2010*8~CTX*CLM01:G1-{i}~IK4*9*67*7*1234567890~IK5*R*5~");
            count += 4;
        } else {
            body.push_str("IK5*A~");
            count += 1;
        }
    }
    let accepted = sets / 2;
    let _ = write!(body, "AK9*P*{sets}*{sets}*{accepted}~SE*{}*0001~", count + 2);
    format!(
        "ISA*00*          *00*          *ZZ*CLEARHOUSE     *ZZ*CLINIC9        *261121*0800*^*00501*000000001*0*P*:~\
         GS*FA*CLEARHOUSE*CLINIC9*20261121*0800*1*X*005010X231A1~{body}GE*1*1~IEA*1*000000001~"
    )
}

criterion_group!(benches, readers);
criterion_main!(benches);
