use std::process::ExitCode;

use clap::Parser;
use overturn_api::cli::{self, Cli};
use overturn_api::configuration::Settings;
use overturn_api::telemetry;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("overturn: invalid configuration: {err}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(settings.log_format);
    match cli::run(cli, settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            eprintln!("overturn: {err:#}");
            ExitCode::FAILURE
        }
    }
}
