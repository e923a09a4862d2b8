//! Writes under stress. Crash safety: concurrent writes, then SIGKILL, then a restart; every
//! write the server acknowledged is there after the restart, and SQLite's integrity check
//! passes. And a burst of concurrent writes queues for the disk instead of starting a thread
//! each.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::asset_service_client::AssetServiceClient;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

mod common;
use common::free_port;

const TOKEN: &str = "crash-test-token-0123";
const HOLDING: &str = "holdings/switzerland-central-bank";

fn start(data: &std::path::Path, port: u16) -> Child {
    let plugins = data.join("no-plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    Command::new(env!("CARGO_BIN_EXE_leverage"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--drain-ms",
            "0",
            "--data-dir",
        ])
        .arg(data)
        .arg("--plugin-dir")
        .arg(&plugins)
        .env("LEVERAGE_TOKENS", format!("writer:editor={TOKEN}"))
        .env("LEVERAGE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn connect(port: u16) -> Channel {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(channel) = Channel::from_shared(format!("http://127.0.0.1:{port}"))
            .unwrap()
            .connect()
            .await
        {
            let mut health = HealthClient::new(channel.clone());
            if health
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await
                .is_ok()
            {
                return channel;
            }
        }
        assert!(Instant::now() < deadline, "the server did not come up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A server on a fresh data directory (kept alive by the returned guard), and a channel to it.
async fn started() -> (tempfile::TempDir, u16, Child, Channel) {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = start(data.path(), port);
    let channel = connect(port).await;
    (data, port, server, channel)
}

fn observation(id: &str) -> pb::CreateObservationRequest {
    pb::CreateObservationRequest {
        parent: HOLDING.into(),
        observation_id: id.into(),
        observation: Some(pb::Observation {
            amount: Some(pb::Money {
                currency_code: "CHF".into(),
                units: 7_000_000_000,
                nanos: 0,
            }),
            as_of: Some(pb::Date {
                year: 2026,
                month: 1,
                day: 1,
            }),
            source: Some(pb::Source {
                publisher: "crash-safety test (synthetic)".into(),
                ..Default::default()
            }),
            confidence: pb::Confidence::Low as i32,
            ..Default::default()
        }),
    }
}

#[tokio::test]
async fn every_acknowledged_write_survives_a_sigkill() {
    let (data, port, mut server, channel) = started().await;
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (channel, acknowledged) = (channel.clone(), Arc::clone(&acknowledged));
            tokio::spawn(async move {
                let mut c = AssetServiceClient::new(channel);
                for i in 0.. {
                    let id = format!("crash-w{w}-{i}");
                    let mut request = tonic::Request::new(observation(&id));
                    request
                        .metadata_mut()
                        .insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
                    match c.create_observation(request).await {
                        Ok(_) => acknowledged.lock().unwrap().push(id),
                        Err(_) => return, // the server is gone
                    }
                }
            })
        })
        .collect();
    // Kill once enough writes were acknowledged, with writes still in flight.
    while acknowledged.lock().unwrap().len() < 200 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    for w in writers {
        w.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();

    let mut server = start(data.path(), port);
    let channel = connect(port).await;
    let mut c = AssetServiceClient::new(channel);
    let holding = c
        .get_holding(pb::GetHoldingRequest {
            name: HOLDING.into(),
            as_of: None,
        })
        .await
        .unwrap()
        .into_inner();
    let stored: std::collections::HashSet<String> =
        holding.observations.into_iter().map(|o| o.id).collect();
    let missing: Vec<_> = acknowledged
        .iter()
        .filter(|id| !stored.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged writes lost: {missing:?}",
        missing.len(),
        acknowledged.len()
    );
    server.kill().unwrap();
    server.wait().unwrap();

    let db = rusqlite::Connection::open(data.path().join("leverage.db")).unwrap();
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

/// The threads of process `pid`, from /proc.
fn threads(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .map(|n| n.trim().parse().unwrap())
        .unwrap()
}

#[tokio::test]
async fn a_burst_of_writes_does_not_start_a_thread_per_write() {
    let (_data, _port, mut server, channel) = started().await;
    let idle = threads(server.id());
    let burst: Vec<_> = (0..256)
        .map(|i| {
            let channel = channel.clone();
            tokio::spawn(async move {
                let mut request = tonic::Request::new(observation(&format!("burst-{i}")));
                request
                    .metadata_mut()
                    .insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
                AssetServiceClient::new(channel)
                    .create_observation(request)
                    .await
                    .is_ok()
            })
        })
        .collect();
    let mut peak = idle;
    while !burst.iter().all(|w| w.is_finished()) {
        peak = peak.max(threads(server.id()));
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let mut acknowledged = 0;
    for w in burst {
        acknowledged += usize::from(w.await.unwrap());
    }
    peak = peak.max(threads(server.id()));
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(acknowledged, 256, "every write of the burst succeeds");
    // Writes are serialised by the repository: the server runs them on at most four blocking
    // threads. Tokio's default would start one for each write waiting on the disk.
    assert!(
        peak <= idle + 4,
        "{idle} threads idle, {peak} during a burst of 256 writes"
    );
}
