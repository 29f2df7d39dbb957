//! `overturn serve | migrate | keys create | codes import | audit verify`.

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
    /// Load an official CARC, RARC or claim status (category) list (`codes import FILE --list
    /// carc`: CSV with a header row naming a code and a description column; its descriptions
    /// are shown instead of the built-in summaries), or a code set the scrubber checks claims
    /// against: `codes import icd10cm FILE --fiscal-year YYYY` (the CDC's ICD-10-CM order file),
    /// `codes import ncci-ptp FILE` and `codes import mue FILE` (CMS's practitioner tables).
    Import {
        /// `icd10cm`, `ncci-ptp` or `mue` and then the file, or the CSV file of a `--list`.
        #[arg(num_args = 1..=2, required = true)]
        args: Vec<String>,
        /// Which list a CSV file holds.
        #[arg(long, value_parser = ["carc", "rarc", "claim-status", "claim-status-category"])]
        list: Option<String>,
        /// The fiscal year (1 October to 30 September) an ICD-10-CM order file is for.
        #[arg(long)]
        fiscal_year: Option<i32>,
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
        Command::Codes { command: CodesCommand::Import { args, list, fiscal_year } } => {
            match (args.as_slice(), list, fiscal_year) {
                ([kind, file], None, Some(year)) if kind == "icd10cm" => import_icd10cm(&settings, file, year).await,
                ([kind, _], None, None) if kind == "icd10cm" => {
                    anyhow::bail!("codes import icd10cm needs --fiscal-year YYYY (FY2027 runs from 2026-10-01)")
                }
                ([kind, file], None, None) if kind == "ncci-ptp" || kind == "mue" => {
                    import_ncci(&settings, kind, file).await
                }
                ([kind, _], ..) => {
                    anyhow::bail!(
                        "codes import: {kind:?} is not a code set this version imports (icd10cm, ncci-ptp, mue)"
                    )
                }
                ([file], Some(list), None) => import_list(&settings, file.into(), &list).await,
                _ => anyhow::bail!(
                    "codes import FILE --list carc|rarc|claim-status|claim-status-category, or codes import icd10cm FILE --fiscal-year YYYY"
                ),
            }
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

async fn import_list(settings: &Settings, file: std::path::PathBuf, list: &str) -> anyhow::Result<()> {
    let list = CodeList::parse(list).ok_or_else(|| anyhow::anyhow!("--list must be {}", CodeList::NAMES))?;
    let bytes = std::fs::read(&file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let rows = import::parse_csv(&bytes, list).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let db = Db::connect(settings).await?;
    db.migrate().await?;
    let source = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let count = code_catalog::import(&db.write, list, rows, &source).await?;
    db.close().await;
    eprintln!("imported {count} {} descriptions from {}", list.as_str().to_uppercase(), file.display());
    Ok(())
}

/// The most an order file may weigh: a year's is about 15 MB.
const MAX_ORDER_FILE_BYTES: u64 = 64 << 20;

async fn import_icd10cm(settings: &Settings, file: &str, year: i32) -> anyhow::Result<()> {
    use overturn_domain::scrub::icd10cm::{Icd10Cm, parse_order_file};
    if !(2016..=2100).contains(&year) {
        anyhow::bail!("--fiscal-year {year}: ICD-10-CM fiscal years run from 2016 (services from 2015-10-01)");
    }
    let path = std::path::Path::new(file);
    let size = std::fs::metadata(path).map_err(|e| anyhow::anyhow!("cannot read {file}: {e}"))?.len();
    if size > MAX_ORDER_FILE_BYTES {
        anyhow::bail!("{file}: {size} bytes is more than an ICD-10-CM order file ({MAX_ORDER_FILE_BYTES} at most)");
    }
    let bytes = std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read {file}: {e}"))?;
    let rows = parse_order_file(&bytes).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
    // Built once here as the servers will build it, so that nothing a server cannot load is stored.
    Icd10Cm::new(year, "", rows.iter().map(|r| (r.code.as_str(), r.billable)))
        .map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
    let db = Db::connect(settings).await?;
    db.migrate().await?;
    let source = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let (count, billable) = overturn_service::scrubbing::import_icd10cm(&db.write, year, rows, &source).await?;
    db.close().await;
    eprintln!(
        "imported ICD-10-CM FY{year}: {count} codes, {billable} billable, from {file}; running servers reload within {} s",
        overturn_service::scrubbing::REFRESH.as_secs()
    );
    Ok(())
}

/// The most a PTP or MUE table may weigh: CMS's practitioner PTP table is about 100 MB.
const MAX_NCCI_FILE_BYTES: u64 = 512 << 20;

async fn import_ncci(settings: &Settings, kind: &str, file: &str) -> anyhow::Result<()> {
    use overturn_domain::scrub::ncci::{MueSet, PtpSet};
    use overturn_domain::scrub::ncci_files::{parse_mue, parse_ptp};
    use overturn_service::scrubbing::{MUE, PTP, import_whole};
    let path = std::path::Path::new(file);
    let size = std::fs::metadata(path).map_err(|e| anyhow::anyhow!("cannot read {file}: {e}"))?.len();
    if size > MAX_NCCI_FILE_BYTES {
        anyhow::bail!("{file}: {size} bytes is more than a {kind} table ({MAX_NCCI_FILE_BYTES} at most)");
    }
    let started = std::time::Instant::now();
    let bytes = std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read {file}: {e}"))?;
    let source = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let version = format!("{source} (imported {})", overturn_service::sql::now().format("%Y-%m-%d"));
    let (name, rows, data) = if kind == "mue" {
        let rows = parse_mue(&bytes).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
        let set = MueSet::new(&version, rows.iter().map(|(c, v, m)| (c.as_str(), *v, *m)))
            .map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
        (MUE, rows.len(), set.to_stored())
    } else {
        let rows = parse_ptp(&bytes).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
        let count = rows.len();
        let set = PtpSet::new(&version, rows).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
        (PTP, count, set.to_stored())
    };
    let db = Db::connect(settings).await?;
    db.migrate().await?;
    import_whole(&db.write, name, &version, &source, rows, data).await?;
    db.close().await;
    eprintln!(
        "imported {kind}: {rows} rows from {file} in {:.1} s; running servers reload within {} s",
        started.elapsed().as_secs_f64(),
        overturn_service::scrubbing::REFRESH.as_secs()
    );
    Ok(())
}
