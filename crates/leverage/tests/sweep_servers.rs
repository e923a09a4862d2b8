//! `leverage sweep --servers`: a sweep split over several servers prints exactly what one
//! server prints, every shard reads the dataset at one version, and a shard that fails, or a
//! server with another build of the plugin, fails the sweep naming its server. The servers run
//! in this process; the client is the real binary.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::path::Path;
use std::process::Output;
use std::time::Instant;

use leverage_e2e::{TestServer, plugin_dir};
use leverage_plugin_host::HostOptions;
use tempfile::TempDir;

mod common;
use common::{cli, succeeded};

const PRESSURE_INDEX: (&str, &str) = (
    "libleverage_plugin_pressure_index.so",
    "libleverage_plugin_pressure_index.so",
);

/// A server in this process, and the address the client reaches it at.
struct Server {
    _server: TestServer,
    url: String,
    _dirs: [TempDir; 2],
}

/// A server loading `plugins` (file names in `plugin_libraries`, and the names to copy them
/// as).
async fn server_with(plugins: &[(&str, &str)]) -> Server {
    let data = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(plugins);
    let server =
        TestServer::start_with_plugins(data.path(), plugins.path(), HostOptions::default()).await;
    Server {
        url: format!("http://{}", server.addr),
        _server: server,
        _dirs: [data, plugins],
    }
}

/// A server with pressure-index.
async fn server() -> Server {
    server_with(&[PRESSURE_INDEX]).await
}

/// A replica with pressure-index on the shared store `url`.
async fn replica(url: &str) -> Server {
    let data = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(&[PRESSURE_INDEX]);
    let options = leverage_e2e::Options {
        plugin_dir: Some(plugins.path().to_owned()),
        store: Some(url.to_owned()),
        ..leverage_e2e::Options::default()
    };
    let server = TestServer::start_with(data.path(), options).await;
    Server {
        url: format!("http://{}", server.addr),
        _server: server,
        _dirs: [data, plugins],
    }
}

fn urls(servers: &[&Server]) -> String {
    servers
        .iter()
        .map(|s| s.url.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// A sweep of the interest rate over `steps` values, as CSV, from `servers` (`--server URL` or
/// `--servers URLS`).
async fn sweep_csv(scenario: &Path, steps: u32, servers: [&str; 2]) -> Output {
    let common = "sweep --plugin pressure-index --lever interest_rate_pct --from 0 --to 20 \
                  --chunk-size 10000 --csv";
    let mut args: Vec<String> = common.split_whitespace().map(str::to_owned).collect();
    args.extend([
        "--scenario".to_owned(),
        scenario.display().to_string(),
        "--steps".to_owned(),
        steps.to_string(),
    ]);
    args.extend(servers.map(str::to_owned));
    cli(args).await
}

/// The command failed, and said so naming `shard` (which shard on which server) and `code`.
fn assert_failed_naming(out: &Output, shard: &str, code: &str) {
    assert!(!out.status.success(), "the command failed");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains(shard) && said.contains(code), "{said}");
}

/// The same text line by line, naming the first line that differs (the texts are too long to
/// print whole).
fn assert_same_lines(actual: &str, expected: &str) {
    let (mut a, mut e) = (actual.lines(), expected.lines());
    for line in 1.. {
        match (a.next(), e.next()) {
            (None, None) => return,
            (got, want) => assert_eq!(got, want, "line {line} differs"),
        }
    }
}

fn scenario_file(dir: &TempDir, use_mode: &str, as_of: &str) -> std::path::PathBuf {
    let path = dir.path().join("scenario.toml");
    std::fs::write(
        &path,
        format!("use_mode = \"{use_mode}\"\nas_of = \"{as_of}\"\n"),
    )
    .unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_point_sweep_split_over_three_servers_prints_exactly_what_one_server_prints() {
    // Three replicas of one PostgreSQL, as a fleet runs; where PostgreSQL is not installed
    // (outside CI), three servers with the same shipped dataset, which share its history too.
    let cluster = leverage_test_postgres::Cluster::start();
    let fleet = match &cluster {
        Some(c) => {
            let url = c.create_database();
            [
                replica(&url).await,
                replica(&url).await,
                replica(&url).await,
            ]
        }
        None => [server().await, server().await, server().await],
    };
    let dir = tempfile::tempdir().unwrap();
    // The windfall's proceeds, and so the score and a component, move with the interest rate:
    // a point out of place shows in every column.
    let scenario = scenario_file(&dir, "windfall_profits", "2025-12-31");
    const POINTS: u32 = 1_000_000;

    let started = Instant::now();
    let one = sweep_csv(&scenario, POINTS, ["--server", &fleet[0].url]).await;
    let one_took = started.elapsed();
    let started = Instant::now();
    let all = urls(&fleet.iter().collect::<Vec<_>>());
    let three = sweep_csv(&scenario, POINTS, ["--servers", &all]).await;
    let three_took = started.elapsed();
    eprintln!("a {POINTS}-point sweep: one server {one_took:?}, three servers {three_took:?}");

    let (one, three) = (succeeded(&one), succeeded(&three));
    // Every point: its index, lever value, score and each component, written in the shortest
    // form that reads back as the same float, so equal text is equal bits.
    assert_same_lines(&three, &one);
    let mut lines = one.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("index,interest_rate_pct,score,") && header.split(',').count() > 3,
        "{header}"
    );
    let (mut rows, mut score_changes, mut last_score) = (0, 0, "");
    for (expected, row) in lines.enumerate() {
        let mut cells = row.split(',');
        let index = cells.next().unwrap();
        assert_eq!(index.parse::<usize>().unwrap(), expected, "in index order");
        let score = cells.nth(1).unwrap();
        score_changes += usize::from(score != last_score);
        last_score = score;
        rows += 1;
    }
    assert_eq!(rows, POINTS as usize, "every point, once");
    assert!(
        score_changes > 1000,
        "scores vary ({score_changes} changes)"
    );
}

/// Rates of the ECB's layout dated 30 November 2026 (synthetic, for the test): they change
/// what holdings in these currencies are worth in euros from that day.
const NEW_RATES: &str = "Date, USD, JPY, GBP, CHF, CAD, AUD, \n\
                         30 November 2026, 1.9, 300.0, 1.2, 1.5, 2.5, 2.9, \n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_shard_reads_the_dataset_version_the_first_server_serves() {
    let (a, b) = (server().await, server().await);
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario_file(&dir, "reparations_loan", "2026-12-01");
    let rates = dir.path().join("rates.csv");
    std::fs::write(&rates, NEW_RATES).unwrap();
    let imported = cli([
        "data",
        "import",
        rates.to_str().unwrap(),
        "--server",
        &b.url,
    ]
    .map(str::to_owned)
    .to_vec())
    .await;
    succeeded(&imported);

    let on_a = succeeded(&sweep_csv(&scenario, 101, ["--server", &a.url]).await);
    let on_b = succeeded(&sweep_csv(&scenario, 101, ["--server", &b.url]).await);
    assert_ne!(on_a, on_b, "the import on B changes its scores");
    // A serves version 1, the version B had before its import: both shards read it.
    let split = sweep_csv(&scenario, 101, ["--servers", &urls(&[&a, &b])]).await;
    assert_same_lines(&succeeded(&split), &on_a);
    // B serves version 2, which A does not have: A's shard fails, named.
    let split = sweep_csv(&scenario, 101, ["--servers", &urls(&[&b, &a])]).await;
    assert_failed_naming(&split, &format!("shard 1 of 2 on {}", a.url), "OutOfRange");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shard_that_fails_fails_the_sweep_naming_its_server() {
    let (good, bare) = (server().await, server_with(&[]).await);
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario_file(&dir, "reparations_loan", "2025-12-31");
    let out = sweep_csv(&scenario, 1000, ["--servers", &urls(&[&good, &bare])]).await;
    assert_failed_naming(&out, &format!("shard 1 of 2 on {}", bare.url), "NotFound");
    assert!(
        out.stdout.is_empty(),
        "nothing printed before every shard opened"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_with_different_builds_of_the_plugin_fail_the_sweep() {
    let v1 = server_with(&[("libfixture_slow_v1.so", "libfixture_slow.so")]).await;
    let v2 = server_with(&[("libfixture_slow_v2.so", "libfixture_slow.so")]).await;
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario_file(&dir, "reparations_loan", "2025-12-31");
    let mut args: Vec<String> = "sweep --plugin fixture-slow --lever safe_takeup --from 0 --to 1"
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    args.extend(["--scenario".to_owned(), scenario.display().to_string()]);
    args.extend(["--servers".to_owned(), urls(&[&v1, &v2])]);
    let out = cli(args).await;
    assert_failed_naming(&out, &format!("shard 1 of 2 on {}", v2.url), "2.0.0");
}
