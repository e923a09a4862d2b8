//! A replica killed under load breaks no client: three real `leverage serve` processes on one
//! throwaway PostgreSQL, a grpcio client spreading calls over all three (round robin, retrying
//! UNAVAILABLE), one replica SIGKILLed mid-run and started again on its port. No call may fail,
//! every acknowledged write must be readable afterwards, and the restarted replica must serve
//! the client again.
//!
//! The client is `clients/python/tests/tools/roundrobin_load.py`. Python is found as for the
//! Python client's suite (`common::python`); without it, or without PostgreSQL
//! (`leverage-test-postgres`), the test fails under CI and otherwise says why it skips.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::ffi::OsString;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::asset_service_client::AssetServiceClient;
use leverage_test_postgres::Cluster;

mod common;
use common::{
    KillOnDrop, PYTHON_HELP, free_port, python, python_ready, skip_or_fail, spawn_server,
    wait_serving, workspace,
};

const TEST: &str = "killing_a_replica_under_load_fails_no_call_and_loses_no_acknowledged_write";
const TOKEN: &str = "replicas-kill-token-0123456789";
/// What the load script imports (the client, and grpcio-tools to generate its stubs).
const MODULES: &[&str] = &[
    "grpc",
    "grpc_tools",
    "grpc_status",
    "google.rpc.error_details_pb2",
];

const LOAD_SECONDS: u64 = 10;
const KILL_AFTER: Duration = Duration::from_secs(3);
const DOWN_FOR: Duration = Duration::from_secs(2);

/// One `leverage serve` of the fleet, killed when dropped.
struct Replica {
    port: u16,
    metrics_port: u16,
    args: Vec<OsString>,
    log: PathBuf,
    process: KillOnDrop,
}

impl Replica {
    fn start(store: &str, dir: &Path) -> Replica {
        let port = free_port();
        let metrics_port = free_port();
        let args: Vec<OsString> = vec![
            "--store".into(),
            store.into(),
            "--data-dir".into(),
            dir.into(),
            "--tokens".into(),
            format!("tester:admin={TOKEN}").into(),
            // No plugin: the load reads and writes the dataset only.
            "--plugin-dir".into(),
            dir.into(),
            "--metrics-listen".into(),
            format!("127.0.0.1:{metrics_port}").into(),
            "--drain-ms".into(),
            "0".into(),
        ];
        let log = dir.join("server.log");
        let process = spawn_server(port, &args, &log);
        Replica {
            port,
            metrics_port,
            args,
            log,
            process,
        }
    }

    fn wait_serving(&mut self) {
        wait_serving(&mut self.process, self.port, &self.log);
    }

    /// SIGKILL: no drain, no goodbye to its clients or to PostgreSQL.
    fn kill(&mut self) {
        self.process.0.kill().unwrap();
        self.process.0.wait().unwrap();
    }

    /// Starts it again on the same port and store.
    fn restart(&mut self) {
        writeln!(
            std::fs::OpenOptions::new()
                .append(true)
                .open(&self.log)
                .unwrap(),
            "--- restarted by the test ---"
        )
        .unwrap();
        self.process = spawn_server(self.port, &self.args, &self.log);
    }

    /// Calls of the API's methods this process answered with OK, from its metrics (they count
    /// from its start).
    fn api_calls_answered(&self) -> u64 {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.metrics_port)).unwrap();
        stream
            .write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        text.lines()
            .filter(|l| {
                l.starts_with("leverage_calls_total{method=\"/leverage.v1.")
                    && l.contains("code=\"Ok\"")
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }
}

/// The end of each replica's log, for a failure's message.
fn logs(replicas: &[Replica]) -> String {
    replicas
        .iter()
        .map(|r| format!("replica on port {}:\n{}\n", r.port, common::tail(&r.log)))
        .collect()
}

/// What the load script reports.
#[derive(Debug, serde::Deserialize)]
struct Report {
    holding: String,
    calls: u64,
    seconds: f64,
    failures: Vec<String>,
    /// Calls cut off after their reply had begun, made again by the script.
    cut: Vec<String>,
    threads: usize,
    writes: Vec<Write>,
    writes_found_by_retry: u64,
}

#[derive(Debug, serde::Deserialize)]
struct Write {
    id: String,
    version: u64,
}

/// The observation ids of `holding` as the replica on `port` shows them, asking for at least
/// dataset version `at_least`.
fn observation_ids(port: u16, holding: &str, at_least: u64) -> Vec<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut request = tonic::Request::new(pb::GetHoldingRequest {
            name: holding.to_owned(),
            as_of: None,
        });
        request.metadata_mut().insert(
            "leverage-min-dataset-version",
            at_least.to_string().parse().unwrap(),
        );
        let reply = AssetServiceClient::new(channel)
            .get_holding(request)
            .await
            .unwrap_or_else(|e| panic!("reading {holding} on port {port}: {e}"));
        reply
            .into_inner()
            .observations
            .into_iter()
            .map(|o| o.name.rsplit('/').next().unwrap_or_default().to_owned())
            .collect()
    })
}

#[test]
fn killing_a_replica_under_load_fails_no_call_and_loses_no_acknowledged_write() {
    let python = python();
    if let Err(why) = python_ready(&python, MODULES, "") {
        skip_or_fail(TEST, &why, PYTHON_HELP);
        return;
    }
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let store = cluster.create_database();
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    // Started together, as a Deployment starts its pods.
    let mut replicas: Vec<Replica> = dirs
        .iter()
        .map(|d| Replica::start(&store, d.path()))
        .collect();
    for r in &mut replicas {
        r.wait_serving();
    }
    let targets: Vec<String> = replicas
        .iter()
        .map(|r| format!("127.0.0.1:{}", r.port))
        .collect();

    let script = workspace().join("clients/python/tests/tools/roundrobin_load.py");
    let mut load = Command::new(&python)
        .arg(&script)
        .args(["--targets", &targets.join(",")])
        .args(["--token", TOKEN])
        .args(["--seconds", &LOAD_SECONDS.to_string()])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The script says when its load begins; the rest of its stderr is kept for a failure.
    let (started_tx, started) = std::sync::mpsc::channel();
    let stderr = BufReader::new(load.stderr.take().unwrap());
    let stderr = std::thread::spawn(move || {
        let mut kept = String::new();
        for line in stderr.lines().map_while(Result::ok) {
            if line == "started" {
                let _ = started_tx.send(());
            } else {
                kept.push_str(&line);
                kept.push('\n');
            }
        }
        kept
    });
    if started.recv_timeout(Duration::from_secs(120)).is_err() {
        let _ = load.kill();
        panic!(
            "the load script did not start:\n{}\n{}",
            stderr.join().unwrap(),
            logs(&replicas)
        );
    }

    std::thread::sleep(KILL_AFTER);
    let victim = &mut replicas[1];
    victim.kill();
    let killed_at = Instant::now();
    std::thread::sleep(DOWN_FOR);
    victim.restart();
    victim.wait_serving();
    let back_after = killed_at.elapsed();

    let mut stdout = String::new();
    load.stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let status = load.wait().unwrap();
    let stderr = stderr.join().unwrap();
    assert!(
        status.success(),
        "the load script failed ({status}):\n{stderr}"
    );
    let report: Report = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("the load script's report ({e}):\n{stdout}\n{stderr}"));
    // What the restarted replica answered of the load (before anything below calls it).
    let answered = replicas[1].api_calls_answered();
    println!(
        "{} calls in {} s, {} cut off as the replica died and made again ({} writes, {} of them \
         found applied by a retry); replica on port {} killed {} s in, serving again {:.1} s later \
         and answering {} calls of the load",
        report.calls,
        report.seconds,
        report.cut.len(),
        report.writes.len(),
        report.writes_found_by_retry,
        replicas[1].port,
        KILL_AFTER.as_secs(),
        back_after.as_secs_f64(),
        answered
    );

    assert!(
        report.failures.is_empty(),
        "{} of {} calls failed:\n{}\n{}",
        report.failures.len(),
        report.calls,
        report.failures.join("\n"),
        logs(&replicas)
    );
    // Only a call in flight on the replica as it died can be cut off after its reply began,
    // one a thread at most; anything else the channel's own retries must absorb.
    assert!(
        report.cut.len() <= report.threads,
        "{} calls were cut off, more than the {} that can have been in flight:\n{}",
        report.cut.len(),
        report.threads,
        report.cut.join("\n")
    );
    assert!(!report.writes.is_empty(), "no write was acknowledged");
    assert!(
        report.calls > 100,
        "too few calls to prove anything: {}",
        report.calls
    );

    assert!(
        answered > 0,
        "the restarted replica answered no call of the load"
    );

    let newest = report.writes.iter().map(|w| w.version).max().unwrap();
    for r in &replicas {
        let ids = observation_ids(r.port, &report.holding, newest);
        let missing: Vec<&str> = report
            .writes
            .iter()
            .map(|w| w.id.as_str())
            .filter(|id| !ids.iter().any(|i| i == id))
            .collect();
        assert!(
            missing.is_empty(),
            "the replica on port {} lacks acknowledged writes {missing:?} at version {newest}",
            r.port
        );
    }
}
