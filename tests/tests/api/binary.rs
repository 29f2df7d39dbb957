//! The `overturn` program as a separate process: commands, configuration errors, signals, logs.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{Backend, TestDatabase, claim_body, random_key};

pub const BIN: &str = env!("CARGO_BIN_EXE_overturn-e2e");

pub fn command(db: &TestDatabase, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_clear().env("OVERTURN_LOG_FORMAT", "json").env("RUST_LOG", "info");
    for (k, v) in &db.vars {
        cmd.env(k, v);
    }
    cmd
}

pub struct Server {
    child: Child,
    port: u16,
    lines: mpsc::Receiver<String>,
    log: Vec<String>,
}

impl Server {
    pub fn start(cmd: &mut Command) -> Self {
        let mut child = cmd
            .env("OVERTURN_ADDR", "127.0.0.1:0")
            .env("OVERTURN_HTTP_WORKERS", "1")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("binary starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut log = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        let port = loop {
            let line =
                lines.recv_timeout(deadline.saturating_duration_since(Instant::now())).expect("server logs its start");
            log.push(line.clone());
            if let Ok(event) = serde_json::from_str::<Value>(&line)
                && let Some(port) = event.get("port").and_then(Value::as_u64)
            {
                break port as u16;
            }
        };
        Self { child, port, lines, log }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Kills the process at once (SIGKILL): no shutdown, no cleanup, as a crash or OOM kill.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits for the exit; returns the exit code and every log line.
    pub fn terminate(mut self) -> (Option<i32>, Vec<String>) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        };
        self.log.extend(self.lines.try_iter());
        (status.code(), self.log)
    }
}

async fn keys_create_then_serve_then_sigterm(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let out = command(&db, &["keys", "create", "--name", "ops", "--role", "billing"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(key.starts_with("ovt_"), "the key is printed on stdout: {key}");

    let server = Server::start(&mut command(&db, &["serve"]));
    let client = reqwest::Client::new();
    let mut body = claim_body("CLM-BIN");
    body["patient"]["member_id"] = Value::from("SECRET-MEMBER-42");
    body["patient"]["first_name"] = Value::from("Quintessa");
    body["patient"]["date_of_birth"] = Value::from("1961-07-19");
    let res = client.post(server.url("/v1/claims")).bearer_auth(&key).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let res = client.get(server.url("/v1/claims?member_id=SECRET-MEMBER-42")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = client
        .post(server.url("/v1/api-keys"))
        .bearer_auth(&key)
        .json(&serde_json::json!({"name":"x","role":"admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "a billing key made by the CLI cannot make keys");

    let (code, log) = server.terminate();
    assert_eq!(code, Some(0), "graceful exit on SIGTERM");
    let log = log.join("\n");
    assert!(log.contains("\"route\":\"/v1/claims\""), "requests are logged by route: {log}");
    for phi in ["SECRET-MEMBER-42", "Quintessa", "1961-07-19"] {
        assert!(!log.contains(phi), "{phi} leaked into the logs");
    }
}

async fn bootstrap_key_is_created_once_and_revocation_sticks(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let admin = random_key();
    let client = reqwest::Client::new();

    let server = Server::start(command(&db, &["serve"]).env("OVERTURN_BOOTSTRAP_ADMIN_KEY", &admin));
    let keys: Value =
        client.get(server.url("/v1/api-keys")).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(keys["items"].as_array().unwrap().len(), 1);
    let id = keys["items"][0]["id"].as_str().unwrap().to_owned();
    // A second admin, to look at the list after the bootstrap key is revoked.
    let other: Value = client
        .post(server.url("/v1/api-keys"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"name": "second admin", "role": "admin"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let other = other["key"].as_str().unwrap().to_owned();
    let res = client.delete(server.url(&format!("/v1/api-keys/{id}"))).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(server.terminate().0, Some(0));

    let server = Server::start(command(&db, &["serve", "--role", "all"]).env("OVERTURN_BOOTSTRAP_ADMIN_KEY", &admin));
    let res = client.get(server.url("/v1/api-keys")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(res.status(), 401, "a revoked bootstrap key is not restored by a restart");
    let keys: Value =
        client.get(server.url("/v1/api-keys")).bearer_auth(&other).send().await.unwrap().json().await.unwrap();
    assert_eq!(keys["items"].as_array().unwrap().len(), 2, "no duplicate bootstrap key was made");
    assert_eq!(server.terminate().0, Some(0));
}

/// `HTTP_PROXY` and friends in the server's environment (common in hospitals) are not used for
/// webhooks: through a proxy the SSRF guard never saw the target, and internal names were
/// delivered. Webhooks use only the proxy `OVERTURN_WEBHOOK_PROXY` names (tests in contacts).
async fn environment_proxies_do_not_carry_webhooks(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let admin = random_key();
    let proxy = crate::receiver::Receiver::start().await;
    let target = crate::receiver::Receiver::start().await;
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port);
    let mut cmd = command(&db, &["serve", "--role", "all"]);
    cmd.env("OVERTURN_BOOTSTRAP_ADMIN_KEY", &admin);
    for name in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"] {
        cmd.env(name, &proxy_url);
    }
    let server = Server::start(&mut cmd);
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let contact: Value = client
        .post(server.url("/v1/contacts"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"kind": "patient", "reference": "MBR-PROXY", "name": "Portal",
            "webhook_url": format!("http://localhost:{}/hooks", target.port)}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let test_url = server.url(&format!("/v1/contacts/{}/test", contact["id"].as_str().unwrap()));
    let delivery: Value = client.post(test_url).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    let delivery_url = server.url(&format!("/v1/deliveries/{}", delivery["id"].as_str().unwrap()));
    let deadline = Instant::now() + Duration::from_secs(30);
    let attempted = loop {
        let d: Value = client.get(&delivery_url).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
        if d["attempt_count"] == 1 {
            break d;
        }
        assert!(Instant::now() < deadline, "no attempt: {d}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let error = attempted["attempts"][0]["error"].as_str().unwrap();
    assert!(error.contains("internal address"), "{error}");
    assert!(proxy.received().is_empty(), "nothing went to the environment's proxy");
    assert!(target.received().is_empty());
    assert_eq!(server.terminate().0, Some(0));
}

async fn migrate_applies_and_is_repeatable(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    for _ in 0..2 {
        let out = command(&db, &["migrate"]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
}

async fn codes_import_loads_an_official_list_that_then_wins(backend: Backend) {
    use overturn_domain::code_sets::CodeList;
    let db = TestDatabase::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "Code,Description\n45,Fine\nMA130,not a CARC\n").unwrap();
    let out = command(&db, &["codes", "import", bad.to_str().unwrap(), "--list", "carc"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 3"), "{stderr}");

    let good = dir.path().join("carc.csv");
    std::fs::write(
        &good,
        "Code,Description,Stop Date\n45,\"Official text for 45, quoted\",\nA2,Official A2,2007-01-01\n",
    )
    .unwrap();
    let out = command(&db, &["codes", "import", good.to_str().unwrap(), "--list", "carc"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("imported 2 CARC"));

    let settings = overturn_service::configuration::Settings::from_map(&db.vars).unwrap();
    let conn = overturn_service::db::Db::connect(&settings).await.unwrap();
    let codes = ["45", "97", "ZZ9"].map(String::from);
    let described = overturn_service::code_catalog::describe(&conn.read, CodeList::Carc, codes).await.unwrap();
    // Imported text first, the built-in summary otherwise, nothing for a code neither knows;
    // the failed import before left nothing behind.
    assert_eq!(described.get("45").map(String::as_str), Some("Official text for 45, quoted"));
    assert_eq!(described.get("97").map(String::as_str), overturn_domain::code_sets::carc("97").map(|c| c.description));
    assert!(!described.contains_key("ZZ9"));

    // The claim status codes of 277s likewise, kept apart from the CARC of the same id.
    let statuses = dir.path().join("csc.csv");
    std::fs::write(&statuses, "Code,Description\n562,Official words for 562\n45,Official status 45\n").unwrap();
    let out =
        command(&db, &["codes", "import", statuses.to_str().unwrap(), "--list", "claim-status"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let codes = ["562", "33"].map(String::from);
    let described = overturn_service::code_catalog::describe(&conn.read, CodeList::Status, codes).await.unwrap();
    assert_eq!(described.get("562").map(String::as_str), Some("Official words for 562"));
    assert_eq!(described.get("33").map(String::as_str), CodeList::Status.lookup("33").map(|c| c.description));
    let carc = overturn_service::code_catalog::describe(&conn.read, CodeList::Carc, ["45".to_owned()]).await.unwrap();
    assert_eq!(carc.get("45").map(String::as_str), Some("Official text for 45, quoted"));
}

/// `codes import icd10cm FILE --fiscal-year YYYY` stores a year from the CDC's order file, all
/// or nothing; a server's code sets load it at start and reload it when it changes, and claims
/// of that year are then checked against it instead of the nearest shipped year.
async fn codes_import_icd10cm_loads_a_fiscal_year_the_scrubber_then_uses(backend: Backend) {
    use overturn_domain::scrub::{ScrubClaim, ScrubLine, Severity};
    let db = TestDatabase::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let line = |n: u32, code: &str, flag: u8, words: &str| format!("{n:05} {code:<7} {flag} {words:<60} {words}\n");
    let order = dir.path().join("icd10cm-order-2027.txt");
    let mut text = line(1, "E11", 0, "Type 2 diabetes mellitus");
    text += &line(2, "E119", 1, "Type 2 diabetes mellitus without complications");
    text += &line(3, "ZZ991", 1, "A code new in this year");
    std::fs::write(&order, &text).unwrap();
    let settings = overturn_service::configuration::Settings::from_map(&db.vars).unwrap();
    let conn = overturn_service::db::Db::connect(&settings).await.unwrap();
    conn.migrate().await.unwrap();
    let cache = overturn_service::scrubbing::CodeSetCache::load(&conn.read).await.unwrap();

    // Refused whole: a bad flag names its line; no year; a code set this version does not know.
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, text.replace("ZZ991   1", "ZZ991   x")).unwrap();
    for (args, said) in [
        (vec!["codes", "import", "icd10cm", bad.to_str().unwrap(), "--fiscal-year", "2027"], "line 3"),
        (vec!["codes", "import", "icd10cm", order.to_str().unwrap()], "--fiscal-year"),
        (vec!["codes", "import", "icd10pcs", order.to_str().unwrap()], "icd10pcs"),
        (vec!["codes", "import", "icd10cm", order.to_str().unwrap(), "--fiscal-year", "2015"], "2016"),
    ] {
        let out = command(&db, &args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains(said), "{args:?}: {stderr}");
    }
    assert!(!cache.refresh(&conn.read).await.unwrap(), "nothing was stored");

    let out = command(&db, &["codes", "import", "icd10cm", order.to_str().unwrap(), "--fiscal-year", "2027"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.contains("FY2027: 3 codes, 2 billable"), "{stderr}");

    let claim = |codes: Vec<&'static str>| ScrubClaim {
        service_date: chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
        statement_period: None,
        diagnoses: codes,
        place_of_service: None,
        lines: vec![ScrubLine {
            procedure_code: Some("99213"),
            modifiers: vec![],
            units: 1.into(),
            service_date: chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
            place_of_service: None,
            diagnosis_pointers: &[],
        }],
    };
    // Before the reload: FY2027 is not loaded, so the shipped FY2026 stands in with a warning.
    let before = overturn_domain::scrub::scrub(&claim(vec!["E11.9"]), &cache.current());
    assert_eq!(before.iter().map(|e| e.code.as_str()).collect::<Vec<_>>(), ["ICD10_YEAR_NOT_LOADED"]);
    assert!(cache.refresh(&conn.read).await.unwrap(), "the import is seen");
    assert!(!cache.refresh(&conn.read).await.unwrap(), "and loaded once");
    let sets = cache.current();
    assert!(overturn_domain::scrub::scrub(&claim(vec!["E11.9", "ZZ9.91"]), &sets).is_empty());
    let edits = overturn_domain::scrub::scrub(&claim(vec!["E11", "I10"]), &sets);
    let got: Vec<(&str, Severity, &str)> =
        edits.iter().map(|e| (e.code.as_str(), e.severity, e.source.version.as_str())).collect();
    assert_eq!(
        got,
        [
            ("ICD10_NOT_BILLABLE", Severity::Error, "FY2027 (imported from icd10cm-order-2027.txt)"),
            ("ICD10_DELETED", Severity::Error, "FY2027 (imported from icd10cm-order-2027.txt)"),
        ],
        "this year's own set: absence is an error now, and I10 (in the shipped years, not in this one) deleted"
    );
    // A server started now loads it at once.
    let fresh = overturn_service::scrubbing::CodeSetCache::load(&conn.read).await.unwrap();
    assert!(overturn_domain::scrub::scrub(&claim(vec!["ZZ9.91"]), &fresh.current()).is_empty());
}

/// `codes import ncci-ptp FILE` and `codes import mue FILE` store CMS's practitioner tables
/// whole (a bad row names its line and stores nothing; a new file replaces the old), and the
/// scrubber then refuses the pairs and units they forbid.
async fn codes_import_ncci_tables_are_what_the_scrubber_then_refuses(backend: Backend) {
    use overturn_domain::scrub::{ScrubClaim, ScrubLine};
    let db = TestDatabase::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let ptp = dir.path().join("ccipra-v321r0-f1.txt");
    let ptp_text = "CPT only copyright 2025 American Medical Association\n\
                    Column 1\tColumn 2\t*=in existence prior to 1996\tEffective Date\tDeletion Date *=no data\tModifier\tRationale\n\
                    80053\t82947\t*\t19960101\t*\t0\tPanel\n\
                    99213\t36415\t\t20100101\t*\t1\tMisuse of column two code\n";
    std::fs::write(&ptp, ptp_text).unwrap();
    let mue = dir.path().join("mue-practitioner.txt");
    std::fs::write(&mue, "HCPCS/CPT Code\tMUE Values\tMAI\tRationale\n99213\t1\t2 Date of Service Edit: Policy\tx\n")
        .unwrap();
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, ptp_text.replace("\t0\tPanel", "\t7\tPanel")).unwrap();
    let run = |args: Vec<String>| {
        let out = command(&db, &args.iter().map(String::as_str).collect::<Vec<_>>()).output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let path = |p: &std::path::Path| p.to_str().unwrap().to_owned();
    let (ok, said) = run(vec!["codes".into(), "import".into(), "ncci-ptp".into(), path(&bad)]);
    assert!(!ok && said.contains("line 3"), "{said}");
    let (ok, said) = run(vec!["codes".into(), "import".into(), "ncci-ptp".into(), path(&ptp)]);
    assert!(ok && said.contains("imported ncci-ptp: 2 rows"), "{said}");
    let (ok, said) = run(vec!["codes".into(), "import".into(), "mue".into(), path(&mue)]);
    assert!(ok && said.contains("imported mue: 1 rows"), "{said}");

    let settings = overturn_service::configuration::Settings::from_map(&db.vars).unwrap();
    let conn = overturn_service::db::Db::connect(&settings).await.unwrap();
    let cache = overturn_service::scrubbing::CodeSetCache::load(&conn.read).await.unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2025, 3, 4).unwrap();
    let line = |code: &'static str, units: u32| ScrubLine {
        procedure_code: Some(code),
        modifiers: vec![],
        units: units.into(),
        service_date: day,
        place_of_service: None,
        diagnosis_pointers: &[],
    };
    let claim = |lines| ScrubClaim {
        service_date: day,
        statement_period: None,
        diagnoses: vec!["E11.9"],
        place_of_service: None,
        lines,
    };
    let codes = |edits: Vec<overturn_domain::scrub::Edit>| {
        edits.into_iter().map(|e| (e.code, e.field, e.source.version)).collect::<Vec<_>>()
    };
    let edits = codes(overturn_domain::scrub::scrub(
        &claim(vec![line("80053", 1), line("82947", 1), line("99213", 1), line("99213", 1)]),
        &cache.current(),
    ));
    let version = |file: &str| format!("{file} (imported {})", overturn_service::sql::now().format("%Y-%m-%d"));
    assert_eq!(
        edits,
        [
            ("NCCI_PTP".to_owned(), "lines[1].procedure_code".to_owned(), version("ccipra-v321r0-f1.txt")),
            ("MUE_UNITS".to_owned(), "lines[3].units".to_owned(), version("mue-practitioner.txt")),
        ]
    );
    // A new table replaces the old whole: the panel pair is gone from it.
    std::fs::write(&ptp, ptp_text.replace("80053\t82947\t*\t19960101\t*\t0\tPanel\n", "")).unwrap();
    let (ok, said) = run(vec!["codes".into(), "import".into(), "ncci-ptp".into(), path(&ptp)]);
    assert!(ok && said.contains("1 rows"), "{said}");
    assert!(cache.refresh(&conn.read).await.unwrap());
    let edits = overturn_domain::scrub::scrub(&claim(vec![line("80053", 1), line("82947", 1)]), &cache.current());
    assert!(edits.is_empty(), "{edits:?}");
}

#[test]
fn bad_configuration_stops_the_process_and_names_the_variable() {
    let cases = [
        ("OVERTURN_ADDR", "not-an-address"),
        ("DATABASE_URL", "mysql://localhost/x"),
        ("OVERTURN_BOOTSTRAP_ADMIN_KEY", "short"),
        ("OVERTURN_MAX_BODY_BYTES", "lots"),
    ];
    for (name, value) in cases {
        let out = Command::new(BIN).arg("serve").env_clear().env(name, value).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(name), "{name}: {stderr}");
    }
    let out = Command::new(BIN).args(["keys", "create", "--name", "x", "--role", "root"]).env_clear().output().unwrap();
    assert!(!out.status.success());
}

#[test]
fn an_address_in_use_is_reported() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .arg("serve")
        .env_clear()
        .env("OVERTURN_DATA_DIR", dir.path())
        .env("OVERTURN_ADDR", &addr)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("OVERTURN_ADDR"));
}

crate::on_both_backends!(
    codes_import_loads_an_official_list_that_then_wins,
    codes_import_icd10cm_loads_a_fiscal_year_the_scrubber_then_uses,
    codes_import_ncci_tables_are_what_the_scrubber_then_refuses,
    keys_create_then_serve_then_sigterm,
    bootstrap_key_is_created_once_and_revocation_sticks,
    environment_proxies_do_not_carry_webhooks,
    migrate_applies_and_is_repeatable,
);
