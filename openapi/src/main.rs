//! `cargo run -p overturn-openapi` rewrites `openapi/openapi.json`;
//! `cargo run -p overturn-openapi -- --check` exits 1 when it is out of date.

use std::process::ExitCode;

fn main() -> ExitCode {
    let generated = overturn_openapi::generate();
    let path = overturn_openapi::committed_path();
    if std::env::args().any(|a| a == "--check") {
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed == generated {
            return ExitCode::SUCCESS;
        }
        eprintln!("{} is out of date: run `cargo run -p overturn-openapi`", path.display());
        return ExitCode::FAILURE;
    }
    match std::fs::write(&path, generated) {
        Ok(()) => {
            eprintln!("wrote {}", path.display());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("cannot write {}: {err}", path.display());
            ExitCode::FAILURE
        }
    }
}
