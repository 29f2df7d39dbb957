//! The independent checkers written in Python (the Standard Webhooks reference library, and
//! pyx12 for the X12 Overturn writes), provisioned by the tests themselves: on first use, into a virtual environment
//! under `target/`, pinned, once per run (and kept for the next). Nothing needs installing
//! by hand; a machine that cannot reach the Python registry gets an error that says so.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// What the checkers need, pinned so that every run checks against the same code.
const REQUIREMENTS: &str = "standardwebhooks==1.1.0\npyx12==4.0.0\n";

/// The virtual environment's interpreter, ready to import every pinned package.
pub fn interpreter() -> &'static Path {
    static READY: OnceLock<PathBuf> = OnceLock::new();
    READY.get_or_init(|| provision(&target_dir().join("python-checkers")).unwrap_or_else(|e| panic!("{e}")))
}

/// Cargo's target directory: the first ancestor of this test binary that Cargo marked as
/// its cache (`CACHEDIR.TAG`), whatever the profile or `CARGO_TARGET_DIR`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    exe.ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| std::env::temp_dir().join("overturn-test-target"))
}

fn provision(dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    // Test binaries of one run (or two runs at once) provision one after the other.
    let lock = std::fs::File::create(dir.join(".lock")).map_err(|e| format!("{}: {e}", dir.display()))?;
    lock.lock().map_err(|e| format!("cannot lock {}: {e}", dir.display()))?;
    let venv = dir.join("venv");
    let python = venv.join("bin").join("python");
    let stamp = dir.join("installed.txt");
    if python.is_file() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == REQUIREMENTS) {
        return Ok(python);
    }
    let _ = std::fs::remove_dir_all(&venv);
    run(Command::new("python3").args(["-m", "venv"]).arg(&venv), "python3 -m venv (Python 3 with venv is needed)")?;
    let requirements = dir.join("requirements.txt");
    std::fs::write(&requirements, REQUIREMENTS).map_err(|e| format!("{}: {e}", requirements.display()))?;
    run(
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--timeout", "30"])
            .args(["--retries", "2", "--require-virtualenv", "-r"])
            .arg(&requirements),
        &format!("installing {} from PyPI (the registry must be reachable on first run)", REQUIREMENTS.trim()),
    )?;
    std::fs::write(&stamp, REQUIREMENTS).map_err(|e| format!("{}: {e}", stamp.display()))?;
    Ok(python)
}

fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let out = command.output().map_err(|e| format!("{what}: cannot start: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({}):\n{}", out.status, String::from_utf8_lossy(&out.stderr)))
    }
}

/// Validates `x12` with pyx12's `x12valid` against the implementation guide its envelope
/// names; `Err` holds what pyx12 reported.
pub fn x12valid(x12: &str) -> Result<(), String> {
    let python = interpreter();
    let dir = tempfile_dir();
    let path = dir.join(format!("{}.x12", uuid::Uuid::new_v4()));
    std::fs::write(&path, x12).map_err(|e| format!("{}: {e}", path.display()))?;
    let tool = python.with_file_name("x12valid");
    let out = Command::new(&tool).arg(&path).output().map_err(|e| format!("cannot start {}: {e}", tool.display()))?;
    let _ = std::fs::remove_file(&path);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // x12valid ends with "<file>: OK" or "<file>: Failure" (on stderr, after each error it
    // logs) and exits 1 either way.
    let said = format!("{stdout}{stderr}");
    if said.trim_end().ends_with(": OK") && !said.contains("ERROR") { Ok(()) } else { Err(format!("{stdout}{stderr}")) }
}

fn tempfile_dir() -> PathBuf {
    let dir = target_dir().join("python-checkers").join("x12");
    let _ = std::fs::create_dir_all(&dir);
    dir
}
