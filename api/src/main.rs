fn main() -> std::process::ExitCode {
    overturn_api::cli::main()
}
