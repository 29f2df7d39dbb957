//! The independent checkers written in Python (the Standard Webhooks reference library,
//! pyx12 for the X12 Overturn writes, and LinuxForHealth's X12 models for the 276, which pyx12
//! has no 005010X212 map for), provisioned by the tests themselves: on first use, into a virtual environment
//! under `target/`, pinned, once per run (and kept for the next). Nothing needs installing
//! by hand; a machine that cannot reach the Python registry gets an error that says so.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// What the checkers need, pinned so that every run checks against the same code.
/// LinuxForHealth's X12 0.57 is written against pydantic 1.
const REQUIREMENTS: &str = "standardwebhooks==1.1.0\npyx12==4.0.0\nlinuxforhealth-x12==0.57.0\npydantic==1.10.26\n";

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

/// Reads every one of `files` with LinuxForHealth's models of the 276 (005010X212): its loops,
/// segments, qualifiers, dates and SE counts, each as the guide allows. `Err` names the first
/// file refused (its index in `files`) and what the models said.
pub fn claim_status_inquiries_valid(files: &[String]) -> Result<(), String> {
    const CHECK: &str = r#"
import sys
from linuxforhealth.x12.io import X12ModelReader
for i, path in enumerate(sys.argv[1:]):
    try:
        with X12ModelReader(path) as reader:
            kinds = [type(m).__name__ for m in reader.models()]
    except Exception as e:
        sys.exit(f"file {i}: {type(e).__name__}: {e}")
    if kinds != ["HealthCareClaimsStatusRequest"]:
        sys.exit(f"file {i}: read as {kinds}, not one 276")
print("OK", len(sys.argv) - 1)
"#;
    let python = interpreter();
    let dir = tempfile_dir();
    let paths: Vec<PathBuf> = files.iter().map(|_| dir.join(format!("{}.276", uuid::Uuid::new_v4()))).collect();
    for (path, text) in paths.iter().zip(files) {
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let out = Command::new(python).arg("-c").arg(CHECK).args(&paths).output();
    for path in &paths {
        let _ = std::fs::remove_file(path);
    }
    let out = out.map_err(|e| format!("cannot start {}: {e}", python.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if out.status.success() && stdout.trim() == format!("OK {}", files.len()) {
        Ok(())
    } else {
        Err(format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)))
    }
}

fn tempfile_dir() -> PathBuf {
    let dir = target_dir().join("python-checkers").join("x12");
    let _ = std::fs::create_dir_all(&dir);
    dir
}
