//! Writes a generated, balanced 835 file to stdout: the files the benchmarks post and the
//! tests parse come from the same generator (`overturn_domain::x12::generate`).
//!
//!   cargo run --release -p overturn-tests --bin gen-835 -- --claims 20000 --seed 7 > file.835
//!   (`--production-date YYYY-MM-DD`: the remittance's date, 2025-01-15 unless given)
//!
//! With `--837`, an 837P claim file instead (`overturn_domain::x12::generate837`), its claims
//! numbered `G<seed>-<n>`, the production date being their date of service. With `--277ca`, the
//! 277CA answering that claim file (`overturn_domain::x12::generate_ack`): one claim in ten
//! rejected.

use std::io::Write;
use std::process::ExitCode;

use overturn_domain::x12::generate::{GeneratorOptions, generate_835};

fn main() -> ExitCode {
    let mut options = GeneratorOptions { newlines: false, ..Default::default() };
    let mut claims_file = false;
    let mut claim_ack = false;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).and_then(|v| v.parse::<u64>().ok());
        match (args[i].as_str(), value) {
            ("--claims", Some(n)) => options.claims = n as usize,
            ("--seed", Some(n)) => options.seed = n,
            ("--production-date", _) => {
                match args.get(i + 1).and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()) {
                    Some(date) => options.production_date = date,
                    None => {
                        eprintln!("--production-date takes YYYY-MM-DD");
                        return ExitCode::from(2);
                    }
                }
                i += 2;
                continue;
            }
            ("--837", _) => {
                claims_file = true;
                i += 1;
                continue;
            }
            ("--277ca", _) => {
                claim_ack = true;
                i += 1;
                continue;
            }
            ("--newlines", _) => {
                options.newlines = true;
                i += 1;
                continue;
            }
            _ => {
                eprintln!(
                    "usage: gen-835 [--claims N] [--seed N] [--production-date YYYY-MM-DD] [--newlines] [--837 | --277ca]"
                );
                return ExitCode::from(2);
            }
        }
        i += 2;
    }
    if claim_ack {
        let file = overturn_domain::x12::generate_ack::generate_277ca(&options, 10);
        eprintln!("{} claims, {} bytes", options.claims, file.len());
        return if std::io::stdout().write_all(file.as_bytes()).is_ok() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    if claims_file {
        let file = overturn_domain::x12::generate837::generate_837(&options);
        eprintln!("{} claims, {} bytes", options.claims, file.len());
        return if std::io::stdout().write_all(file.as_bytes()).is_ok() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let (file, totals) = generate_835(&options);
    eprintln!(
        "{} claims, {} bytes, payment {}.{:02}",
        totals.claims,
        file.len(),
        totals.payment_cents / 100,
        (totals.payment_cents % 100).abs()
    );
    if std::io::stdout().write_all(file.as_bytes()).is_err() {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
