//! `overturn serve | migrate | keys create | codes import`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use overturn_domain::code_sets::{CodeList, import};
use overturn_domain::{ApiKeySecret, Role};

use overturn_service::code_catalog;
use overturn_service::configuration::Settings;
use overturn_service::db::Db;
use overturn_service::keys::insert_key;

use crate::startup::{Application, ServeRole};

#[derive(Debug, Parser)]
#[command(name = "overturn", version, about = "Claim denial management for medical billing teams")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service (the default command).
    Serve {
        /// `api` serves HTTP, `worker` runs background jobs, `all` does both.
        #[arg(long, value_enum, default_value = "all")]
        role: ServeRole,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// The PHI access log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// CARC, RARC and claim status code lists.
    Codes {
        #[command(subcommand)]
        command: CodesCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum CodesCommand {
    /// Load an official CARC, RARC or claim status (category) list (CSV with a header row naming a code and a
    /// description column); its descriptions are shown instead of the built-in summaries.
    Import {
        /// The CSV file.
        file: std::path::PathBuf,
        /// Which list the file holds.
        #[arg(long, value_parser = ["carc", "rarc", "claim-status", "claim-status-category"])]
        list: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the hash chain of the PHI access log; exits 1 and names the first broken
    /// link if an event was changed, removed or reordered.
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key and print it once; only its hash is stored.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["admin", "billing", "portal"])]
        role: String,
    },
}

/// The whole `overturn` program: parse arguments and settings, run the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("overturn: invalid configuration: {err}");
            return ExitCode::from(2);
        }
    };
    crate::telemetry::init(settings.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("overturn: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            eprintln!("overturn: {err:#}");
            ExitCode::FAILURE
        }
    }
}

pub async fn run(cli: Cli, settings: Settings) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve { role: ServeRole::All }) {
        Command::Serve { role } => Application::build(settings, role).await?.run_until_stopped().await,
        Command::Migrate => {
            let db = Db::connect(&settings).await?;
            db.migrate().await?;
            db.close().await;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::Audit { command: AuditCommand::Verify } => {
            let db = Db::connect(&settings).await?;
            db.migrate().await?;
            // Chain what writes committed and no chainer has taken yet, so it is checked too.
            overturn_service::audit::chain_pending(&db.write).await?;
            let found = overturn_service::audit::verify_chain(&db.read).await?;
            db.close().await;
            if let Some(broken) = found.broken {
                anyhow::bail!("the audit chain is broken after {} good events: {broken}", found.checked);
            }
            match (found.first, found.last) {
                (Some(first), Some(last)) => println!(
                    "audit chain intact: {} events, seq {first} to {last}, head hash {}",
                    found.checked, found.head_hash
                ),
                _ => println!("audit chain intact: no events yet"),
            }
            Ok(())
        }
        Command::Codes { command: CodesCommand::Import { file, list } } => {
            let list = CodeList::parse(&list).ok_or_else(|| anyhow::anyhow!("--list must be {}", CodeList::NAMES))?;
            let bytes = std::fs::read(&file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let rows = import::parse_csv(&bytes, list).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let db = Db::connect(&settings).await?;
            db.migrate().await?;
            let source = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let count = code_catalog::import(&db.write, list, rows, &source).await?;
            db.close().await;
            eprintln!("imported {count} {} descriptions from {}", list.as_str().to_uppercase(), file.display());
            Ok(())
        }
        Command::Keys { command: KeysCommand::Create { name, role } } => {
            let role = Role::parse(&role).ok_or_else(|| anyhow::anyhow!("--role must be admin, billing or portal"))?;
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 100 {
                anyhow::bail!("--name must be 1 to 100 characters");
            }
            let db = Db::connect(&settings).await?;
            db.migrate().await?;
            let secret = ApiKeySecret::generate();
            let row = insert_key(&db.write, name, role, &secret, None).await?;
            db.close().await;
            eprintln!("created {} key {} ({}); it is shown only this once:", role.as_str(), row.id, name);
            println!("{}", secret.expose());
            Ok(())
        }
    }
}
