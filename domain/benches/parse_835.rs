//! Throughput of the 835 reader on a generated file of 100,000 claims (about 30 MB).
//!
//! `cargo bench -p overturn-domain --bench parse_835`; figures go in docs/benchmarks.md.

// The allocator of the `overturn` binary, so the figure is the service's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use overturn_domain::x12::generate::{GeneratorOptions, generate_835};
use overturn_domain::x12::parse_835;

fn parse(c: &mut Criterion) {
    let (text, totals) = generate_835(&GeneratorOptions { seed: 3, claims: 100_000, ..Default::default() });
    let mut group = c.benchmark_group("parse_835");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.sample_size(20);
    group.bench_function("100k_claims", |b| {
        b.iter(|| {
            let file = parse_835(std::hint::black_box(text.as_bytes())).expect("generated files are valid");
            assert_eq!(file.transactions[0].claims.len(), totals.claims);
            file
        })
    });
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
