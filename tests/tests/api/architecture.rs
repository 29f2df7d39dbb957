//! The crate graph the README's "Architecture" section draws, checked against what the
//! manifests really declare (`cargo metadata`): a crate that gains a dependency the graph
//! forbids fails here, before the layers blur again.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// Each workspace crate and the workspace crates it may depend on (normal dependencies).
const ALLOWED: &[(&str, &[&str])] = &[
    ("overturn-domain", &[]),
    ("overturn-entity", &["overturn-domain"]),
    ("overturn-migration", &[]),
    ("overturn-service", &["overturn-domain", "overturn-entity", "overturn-migration"]),
    ("overturn-api", &["overturn-domain", "overturn-entity", "overturn-service"]),
    ("overturn-worker", &["overturn-domain", "overturn-entity", "overturn-service"]),
    ("overturn", &["overturn-domain", "overturn-entity", "overturn-service", "overturn-api", "overturn-worker"]),
    ("overturn-openapi", &["overturn-api"]),
    (
        "overturn-tests",
        // The migration crate too: tests of schema history run migrations one at a time.
        &[
            "overturn",
            "overturn-domain",
            "overturn-entity",
            "overturn-migration",
            "overturn-service",
            "overturn-api",
            "overturn-worker",
        ],
    ),
];

/// Outside crates a layer must not use: `domain` does no I/O and knows no framework; the
/// queue edge knows neither HTTP serving nor the OpenAPI document.
const FORBIDDEN: &[(&str, &[&str])] = &[
    ("overturn-domain", &["sea-orm", "tokio", "actix-web", "utoipa", "reqwest", "apalis", "redis", "sqlx"]),
    ("overturn-entity", &["actix-web", "utoipa", "reqwest", "apalis", "redis", "tokio"]),
    ("overturn-service", &["actix-web", "apalis", "apalis-redis", "apalis-sqlite", "redis"]),
    ("overturn-worker", &["actix-web", "utoipa", "utoipa-actix-web"]),
    ("overturn-api", &["apalis", "apalis-redis", "apalis-sqlite", "redis"]),
];

/// Every workspace crate with its normal (non-dev, non-build) dependencies.
fn declared() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&out.stderr));
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
    meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .expect("dependencies")
                .iter()
                .filter(|d| d["kind"].is_null())
                .map(|d| d["name"].as_str().expect("name").to_owned())
                .collect();
            (p["name"].as_str().expect("name").to_owned(), deps)
        })
        .collect()
}

#[test]
fn workspace_crates_depend_only_as_the_graph_allows() {
    let declared = declared();
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut wrong = Vec::new();
    for (name, deps) in &declared {
        let Some(may) = allowed.get(name.as_str()) else {
            wrong.push(format!("{name} is not in the graph: add it to ALLOWED and to the README"));
            continue;
        };
        for dep in deps.iter().filter(|d| d.starts_with("overturn")) {
            if !may.contains(&dep.as_str()) {
                wrong.push(format!("{name} depends on {dep}"));
            }
        }
    }
    for (name, _) in ALLOWED {
        assert!(declared.contains_key(*name), "{name} is in the graph but not in the workspace");
    }
    assert!(wrong.is_empty(), "dependencies the architecture forbids:\n{}", wrong.join("\n"));
}

#[test]
fn layers_keep_out_of_what_is_not_theirs() {
    let declared = declared();
    let mut wrong = Vec::new();
    for (name, forbidden) in FORBIDDEN {
        let deps = declared.get(*name).unwrap_or_else(|| panic!("{name} is in the workspace"));
        wrong.extend(forbidden.iter().filter(|f| deps.contains(**f)).map(|f| format!("{name} depends on {f}")));
    }
    assert!(wrong.is_empty(), "dependencies the architecture forbids:\n{}", wrong.join("\n"));
}

/// Every source file under `dir`, recursively.
fn rust_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// Routes map HTTP to service calls: a query built in a route is a storage rule the queue
/// edge cannot reach and the next route will write again.
#[test]
fn routes_hold_no_sql() {
    let routes = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../api/src/routes");
    let forbidden = ["Entity::", "sea_query", "Statement::", ".begin()", "query_all_raw", "execute_raw"];
    let mut found = Vec::new();
    for file in rust_files(&routes) {
        let text = std::fs::read_to_string(&file).expect("a route file reads");
        for (n, line) in text.lines().enumerate() {
            if let Some(what) = forbidden.iter().find(|f| line.contains(**f)) {
                found.push(format!("{}:{}: {what}", file.display(), n + 1));
            }
        }
    }
    assert!(found.is_empty(), "SQL in routes (move it into overturn-service):\n{}", found.join("\n"));
}

/// Long files hide several responsibilities; past 600 lines, split by responsibility.
#[test]
fn no_source_file_is_over_600_lines() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut long = Vec::new();
    for krate in ["domain", "entity", "migration", "service", "api", "worker", "server", "openapi"] {
        for file in rust_files(&root.join(krate).join("src")) {
            let lines = std::fs::read_to_string(&file).expect("a source file reads").lines().count();
            if lines > 600 {
                long.push(format!("{}: {lines} lines", file.display()));
            }
        }
    }
    assert!(long.is_empty(), "source files over 600 lines:\n{}", long.join("\n"));
}
