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

fn run(server: &Server, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_leverage"))
        .args(args)
        .args(["--server", &server.url])
        .output()
        .unwrap();
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
