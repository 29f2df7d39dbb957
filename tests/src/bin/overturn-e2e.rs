//! The `overturn` program under another name, so that the end-to-end tests in this package
//! can start it as a separate process (`CARGO_BIN_EXE_overturn-e2e`) and send it signals.

fn main() -> std::process::ExitCode {
    overturn::cli::main()
}
