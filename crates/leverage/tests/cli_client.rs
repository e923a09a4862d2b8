//! The `leverage` client verbs against a real server: tables by default, JSON by flag, a sweep
//! with progress and an SVG chart.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use leverage_e2e::plugin_libraries;

mod common;
use common::{PLUGINS, free_port};

struct Server {
    child: Child,
    url: String,
    _dirs: [tempfile::TempDir; 2],
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Server {
    let data = tempfile::tempdir().unwrap();
    let plugins = tempfile::tempdir().unwrap();
    for lib in PLUGINS {
        std::fs::copy(plugin_libraries().join(lib), plugins.path().join(lib)).unwrap();
    }
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_leverage"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(data.path())
        .arg("--plugin-dir")
        .arg(plugins.path())
        .args(["--tokens", &format!("tester:admin={TOKEN}")])
        .env("LEVERAGE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _dirs: [data, plugins],
    }
}

/// The admin token of the test server.
const TOKEN: &str = "cli-test-token-0123456789";

/// Runs the client against `server`, with the admin token, whatever the outcome.
fn try_run(server: &Server, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leverage"))
        .args(args)
        .args(["--server", &server.url])
        .env("LEVERAGE_TOKEN", TOKEN)
        // The versions this server's writes made, remembered for read-your-writes, stay with
        // it: in the user's own state directory they would outlive it and meet, on the same
        // port, a later test's fresh server that has no such version.
        .env("XDG_STATE_HOME", server._dirs[0].path())
        .output()
        .unwrap()
}

fn run(server: &Server, args: &[&str]) -> Output {
    let out = try_run(server, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_client_verbs_answer_in_tables_and_json() {
    let server = start();
    let summary = stdout(&run(
        &server,
        &[
            "assets",
            "summarize",
            "--filter",
            "owner_kind = CENTRAL_BANK",
            "--currency",
            "USD",
            "--as-of",
            "2025-03-18",
        ],
    ));
    assert!(summary.contains("located total: USD"), "{summary}");
    assert!(
        summary.contains("USD 280.00 bn"),
        "the estimate is shown beside the sum: {summary}"
    );
    let list = stdout(&run(&server, &["assets", "list", "--as-of", "2024-12-31"]));
    assert!(
        list.lines()
            .any(|l| l.starts_with("euroclear-sanctioned-russian") && l.contains("EUR 183.00 bn")),
        "{list}"
    );

    let series = stdout(&run(
        &server,
        &[
            "assets",
            "observations",
            "euroclear-sanctioned-russian",
            "--newest-first",
        ],
    ));
    let ids: Vec<&str> = series
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .filter(|id| id.starts_with("EC-"))
        .collect();
    assert!(ids.len() > 3, "{series}");
    assert!(
        ids.windows(2).all(|w| w[0] > w[1]),
        "newest first: {series}"
    );
    assert!(
        series.lines().any(|l| l.starts_with("EC-004")
            && l.contains("2024-12-31")
            && l.contains("EUR 183.00 bn")),
        "{series}"
    );

    let legal = stdout(&run(
        &server,
        &[
            "legal",
            "assess",
            "confiscation",
            "--jurisdictions",
            "BE,FR",
            "--json",
        ],
    ));
    let value: serde_json::Value = serde_json::from_str(&legal).unwrap();
    assert_eq!(value["jurisdictions"].as_array().unwrap().len(), 2);
    // The latest model answers by default, with its three channels; the old one by name,
    // without channels.
    assert_eq!(value["model"], "legal-risk/2");
    let be = &value["jurisdictions"][0];
    let channels: Vec<&str> = be["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["channel"].as_str().unwrap())
        .collect();
    assert_eq!(channels, ["annulment", "damages", "retaliation"], "{be}");
    assert!(!be["binding_channel"].as_str().unwrap().is_empty(), "{be}");
    let old = stdout(&run(
        &server,
        &[
            "legal",
            "assess",
            "confiscation",
            "--jurisdictions",
            "BE,FR",
            "--model",
            "legal-risk/1",
            "--json",
        ],
    ));
    let old: serde_json::Value = serde_json::from_str(&old).unwrap();
    assert_eq!(old["model"], "legal-risk/1");
    assert!(
        old["jurisdictions"][0]["channels"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_ne!(old["overall_risk"], value["overall_risk"]);
    let table = stdout(&run(
        &server,
        &["legal", "assess", "confiscation", "--jurisdictions", "BE"],
    ));
    assert!(
        table.lines().next().unwrap().contains("annulment") && table.contains("legal-risk/2"),
        "{table}"
    );

    let uk = stdout(&run(
        &server,
        &[
            "funding",
            "eligibility",
            "safe",
            "GB",
            "--as-of",
            "2025-12-01",
            "--outside-share",
            "50",
        ],
    ));
    assert!(uk.starts_with("NOT_ELIGIBLE"), "{uk}");
    assert!(
        uk.contains("2025-11-28"),
        "the failed talks are a reason: {uk}"
    );
}

#[test]
fn score_and_sweep_from_a_scenario_file_with_a_chart() {
    let server = start();
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("reparations.toml");
    std::fs::write(
        &scenario,
        "use_mode = \"reparations_loan\"\nas_of = \"2025-12-31\"\ninterest_rate_pct = 2.0\n",
    )
    .unwrap();
    let scored = stdout(&run(
        &server,
        &[
            "score",
            "--plugin",
            "prudent-pressure",
            scenario.to_str().unwrap(),
        ],
    ));
    assert!(scored.starts_with("plugins/prudent-pressure:"), "{scored}");
    assert!(scored.contains("legal_discount"), "{scored}");

    let chart = dir.path().join("sweep.svg");
    let out = run(
        &server,
        &[
            "sweep",
            "--plugin",
            "pressure-index",
            "--scenario",
            scenario.to_str().unwrap(),
            "--lever",
            "interest_rate_pct",
            "--from",
            "0",
            "--to",
            "10",
            "--steps",
            "21",
            "--plot",
            chart.to_str().unwrap(),
            "--json",
        ],
    );
    let points: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(points.len(), 21);
    assert!(String::from_utf8_lossy(&out.stderr).contains("swept 21 of 21"));
    let svg = std::fs::read_to_string(chart).unwrap();
    assert!(svg.contains("<polyline") && svg.matches(',').count() >= 21);
}

#[test]
fn data_import_shows_the_difference_applies_it_once_and_export_and_history_follow() {
    let server = start();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("ecb.csv");
    // The ECB's daily layout, a synthetic rate for a test.
    std::fs::write(&csv, "Date, USD, NOK, \n30 November 2026, 1.2345, 11.5, \n").unwrap();
    let csv = csv.to_str().unwrap();

    let dry = stdout(&run(&server, &["data", "import", csv, "--dry-run"]));
    assert!(
        dry.contains("2 added") && dry.contains("dry run: nothing stored"),
        "{dry}"
    );
    let applied = stdout(&run(&server, &["data", "import", csv]));
    assert!(
        applied.contains("exchangeRates/ecb-2026-11-30-usd"),
        "{applied}"
    );
    assert!(
        applied.contains("applied as dataset version 2"),
        "{applied}"
    );
    let again = stdout(&run(&server, &["data", "import", csv]));
    assert!(
        again.contains("2 unchanged") && again.contains("nothing to apply"),
        "{again}"
    );

    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "Date,USD\n2026-11-31,1.2\n").unwrap();
    let out = try_run(&server, &["data", "import", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.csv line 2, field Date"), "{err}");

    let versions = stdout(&run(&server, &["data", "versions", "--json"]));
    let versions: serde_json::Value = serde_json::from_str(&versions).unwrap();
    assert_eq!(versions[0]["dataset_version"], 2);
    assert_eq!(versions[0]["origin"], "import");
    let history = stdout(&run(
        &server,
        &[
            "data",
            "history",
            "exchangeRates/ecb-2026-11-30-usd",
            "--json",
        ],
    ));
    let history: serde_json::Value = serde_json::from_str(&history).unwrap();
    assert_eq!(history[0]["record"]["rate"], 1.2345);
    assert_eq!(history[0]["author"], "tester");

    let export = dir.path().join("export.toml");
    run(&server, &["data", "export", "-o", export.to_str().unwrap()]);
    let text = std::fs::read_to_string(&export).unwrap();
    assert!(text.contains("ecb-2026-11-30-usd"));
    let old = stdout(&run(&server, &["data", "export", "--dataset-version", "1"]));
    assert!(
        !old.contains("ecb-2026-11-30-usd"),
        "version 1 is the shipped dataset"
    );
}
