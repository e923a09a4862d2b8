//! Part 7, scale-out (issue 13): replicas on one PostgreSQL beside the embedded SQLite store.
//! On a throwaway PostgreSQL cluster (Debian's server, default settings: fsync on) and a SQLite
//! database, each behind `leverage serve` processes of their own:
//! - read throughput of one replica on PostgreSQL against one on SQLite, rounds alternating,
//!   the ratio per round (reads come from each replica's snapshot, so the target is ≥ 0.95×);
//! - write latency (CreateObservation, one call in flight, each a committed version) on both;
//! - how long a write acknowledged by one replica takes to be readable on another that is not
//!   told about it (no version token): the follower's delay, the reader asked every 100 µs;
//! - aggregate read throughput of 1, 2 and 3 replicas, the load spread evenly over them.
//!
//! Every server runs with one tokio worker, as in the other parts; in the aggregate part the
//! replicas are not pinned, so that they share the machine's cores with the load generator.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use leverage_proto::leverage::v1 as api;
use leverage_test_postgres::Cluster;
use prost::Message;
use serde::Serialize;
use tonic::Request;

use crate::load::asset_client;
use crate::raw::{self, Plan};
use crate::server::{ServerOptions, connect, spawn_leverage_with, wait_serving};
use crate::stats::{Latency, median};
use crate::sys::{ServerProcess, process_cpu_seconds};

const TOKEN: &str = "bench-replicas-editor-token";

#[derive(Clone, Debug)]
pub struct ReplicasConfig {
    /// Measured seconds per throughput run.
    pub secs: f64,
    /// Rounds of the single-replica comparison (SQLite, then PostgreSQL, in each).
    pub rounds: usize,
    /// Writes timed per store.
    pub writes: usize,
    /// Writes whose visibility on another replica is timed.
    pub lag_samples: usize,
    /// Connections and calls in flight per connection of the load generator.
    pub connections: usize,
    pub in_flight: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct Throughput {
    pub qps: f64,
    pub failed: u64,
    /// The load generator's CPU, in cores (its figure may be its own limit past ~0.8).
    pub generator_cores: f64,
    /// The servers' CPU per call, in microseconds.
    pub server_us_per_call: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ReplicasResult {
    pub read_method: String,
    pub reply_bytes: usize,
    pub sqlite_reads: Vec<Throughput>,
    pub postgres_reads: Vec<Throughput>,
    /// PostgreSQL ÷ SQLite read throughput, per round, and their median.
    pub read_ratios: Vec<f64>,
    pub read_ratio_median: f64,
    pub sqlite_write: Latency,
    pub postgres_write: Latency,
    pub visibility_lag: Latency,
    /// Aggregate read throughput of 1, 2 and 3 replicas (unpinned).
    pub aggregate: Vec<(usize, Throughput)>,
    pub postgres_version: String,
}

fn authorized<T>(message: T) -> anyhow::Result<Request<T>> {
    let mut r = Request::new(message);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {TOKEN}").parse()?);
    Ok(r)
}

fn new_observation(holding: &str, id: &str) -> api::CreateObservationRequest {
    api::CreateObservationRequest {
        parent: holding.to_owned(),
        observation_id: id.to_owned(),
        observation: Some(api::Observation {
            amount: Some(api::Money {
                currency_code: "EUR".into(),
                units: 1_000_000,
                nanos: 0,
            }),
            as_of: crate::load::date(2026, 11, 30),
            source: Some(api::Source {
                publisher: "Benchmark (synthetic observation)".into(),
                ..Default::default()
            }),
            confidence: api::Confidence::Low as i32,
            ..Default::default()
        }),
    }
}

/// The read measured: GetHolding of one holding (its whole series), as a client reading its
/// data would; the same request every call.
fn read_request(holding: &str) -> api::GetHoldingRequest {
    api::GetHoldingRequest {
        name: holding.to_owned(),
        as_of: crate::load::date(2025, 6, 30),
    }
}

const READ_PATH: &str = "/leverage.v1.AssetService/GetHolding";

/// Closed-loop reads of `request` spread over `addrs` for `secs` after a second of warm-up.
async fn throughput(
    addrs: &[SocketAddr],
    servers: &[&ServerProcess],
    request: &[u8],
    reply_bytes: usize,
    config: &ReplicasConfig,
) -> anyhow::Result<Throughput> {
    let plans: Vec<Arc<Plan>> = addrs
        .iter()
        .map(|a| Plan::new(*a, READ_PATH, [(request.to_vec(), reply_bytes)]).map(Arc::new))
        .collect::<anyhow::Result<_>>()?;
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (measuring, stop) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let mut tasks = Vec::new();
    for c in 0..config.connections.max(addrs.len()) {
        let plan = Arc::clone(&plans[c % plans.len()]);
        let send = raw::connect(addrs[c % addrs.len()]).await?;
        for _ in 0..config.in_flight {
            let (plan, mut send) = (Arc::clone(&plan), send.clone());
            let (ok, failed, measuring, stop) = (
                Arc::clone(&ok),
                Arc::clone(&failed),
                Arc::clone(&measuring),
                Arc::clone(&stop),
            );
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let outcome = raw::call(&mut send, &plan).await;
                    if measuring.load(Ordering::Relaxed) {
                        match outcome {
                            Ok(()) => ok.fetch_add(1, Ordering::Relaxed),
                            Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                        };
                    }
                }
            }));
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let cpu = |pids: &[String]| pids.iter().map(|p| process_cpu_seconds(p)).sum::<f64>();
    let pids: Vec<String> = servers.iter().map(|s| s.pid().to_string()).collect();
    let me = std::process::id().to_string();
    let (server_before, me_before) = (cpu(&pids), process_cpu_seconds(&me));
    let started = Instant::now();
    measuring.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs_f64(config.secs)).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    let (server_after, me_after) = (cpu(&pids), process_cpu_seconds(&me));
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let calls = ok.load(Ordering::Relaxed);
    Ok(Throughput {
        qps: calls as f64 / elapsed,
        failed: failed.load(Ordering::Relaxed),
        generator_cores: (me_after - me_before) / elapsed,
        server_us_per_call: (server_after - server_before) * 1e6 / calls.max(1) as f64,
    })
}

/// `n` writes, one in flight, on `addr`; their latencies in nanoseconds.
async fn writes(
    addr: SocketAddr,
    holdings: &[String],
    tag: &str,
    n: usize,
) -> anyhow::Result<Vec<u64>> {
    let mut client = asset_client(connect(addr).await?);
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let request = new_observation(&holdings[i % holdings.len()], &format!("{tag}-{i:05}"));
        let start = Instant::now();
        client
            .create_observation(authorized(request)?)
            .await
            .with_context(|| format!("write {i} on {addr}"))?;
        samples.push(start.elapsed().as_nanos() as u64);
    }
    Ok(samples)
}

/// Writes on `writer` and polls `reader` (no version token) until each is readable there.
async fn visibility(
    writer: SocketAddr,
    reader: SocketAddr,
    holdings: &[String],
    n: usize,
) -> anyhow::Result<Latency> {
    let mut w = asset_client(connect(writer).await?);
    let mut r = asset_client(connect(reader).await?);
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let holding = &holdings[i % holdings.len()];
        let id = format!("lag-{i:05}");
        w.create_observation(authorized(new_observation(holding, &id))?)
            .await?;
        let written = Instant::now();
        loop {
            let h = r.get_holding(read_request(holding)).await?.into_inner();
            if h.observations.iter().any(|o| o.name.ends_with(&id)) {
                break;
            }
            if written.elapsed() > Duration::from_secs(30) {
                bail!("write {id} never became visible on {reader}");
            }
            // Asked again every 100 µs (a thread sleep: tokio's timer rounds up to 1 ms). Asking
            // without a pause kept the reader's one worker and a core busy, and the follower then
            // waited for CPU: waits of up to 0.9 s that the measurement itself caused.
            std::thread::sleep(Duration::from_micros(100));
        }
        samples.push(written.elapsed().as_nanos() as u64);
    }
    Ok(Latency::from_nanos(&mut samples))
}

pub async fn run(
    server_bin: &Path,
    work: &Path,
    options: &ServerOptions,
    config: &ReplicasConfig,
    logs: &Path,
) -> anyhow::Result<ReplicasResult> {
    let cluster = Cluster::start()
        .context("PostgreSQL's server programs are not installed (apt-get install postgresql)")?;
    let url = cluster.create_database();
    let tokens = format!("bench:editor={TOKEN}");
    let spawn = |name: &str, store: Option<&str>, options: &ServerOptions| {
        let mut args: Vec<&std::ffi::OsStr> = vec!["--tokens".as_ref(), tokens.as_ref()];
        if let Some(url) = store {
            args.push("--store".as_ref());
            args.push(url.as_ref());
        }
        spawn_leverage_with(
            server_bin,
            &work.join(name),
            options,
            &logs.join(format!("{name}.log")),
            &args,
        )
    };
    let mut sqlite = spawn("sqlite", None, options)?;
    let mut postgres = spawn("postgres-1", Some(&url), options)?;
    wait_serving(&mut sqlite, Duration::from_secs(120), false).await?;
    wait_serving(&mut postgres, Duration::from_secs(120), false).await?;

    let list = asset_client(connect(sqlite.addr).await?)
        .list_holdings(api::ListHoldingsRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await?
        .into_inner();
    let holdings: Vec<String> = list.holdings.into_iter().map(|h| h.name).collect();
    let target = holdings.first().context("no holding")?.clone();
    let request = read_request(&target).encode_to_vec();
    let reply_bytes = |addr| {
        let target = target.clone();
        async move {
            let reply = asset_client(connect(addr).await?)
                .get_holding(read_request(&target))
                .await?
                .into_inner();
            anyhow::Ok(reply.encoded_len())
        }
    };
    let bytes = reply_bytes(sqlite.addr).await?;
    anyhow::ensure!(
        reply_bytes(postgres.addr).await? == bytes,
        "the two stores answer the read differently"
    );

    let (mut sqlite_reads, mut postgres_reads, mut read_ratios) =
        (Vec::new(), Vec::new(), Vec::new());
    for round in 0..config.rounds {
        let s = throughput(&[sqlite.addr], &[&sqlite], &request, bytes, config).await?;
        let p = throughput(&[postgres.addr], &[&postgres], &request, bytes, config).await?;
        println!(
            "round {round}: reads SQLite {:.0}/s, PostgreSQL {:.0}/s",
            s.qps, p.qps
        );
        read_ratios.push(p.qps / s.qps);
        sqlite_reads.push(s);
        postgres_reads.push(p);
    }
    let read_ratio_median = median(&read_ratios);

    // Writes in blocks, alternating, so that a slow minute of the machine hits both.
    let (mut on_sqlite, mut on_postgres) = (Vec::new(), Vec::new());
    let block = (config.writes / 4).max(1);
    for b in 0..4 {
        on_sqlite.extend(writes(sqlite.addr, &holdings, &format!("w-sqlite-{b}"), block).await?);
        on_postgres.extend(writes(postgres.addr, &holdings, &format!("w-pg-{b}"), block).await?);
    }
    let sqlite_write = Latency::from_nanos(&mut on_sqlite);
    let postgres_write = Latency::from_nanos(&mut on_postgres);
    drop(sqlite);

    let unpinned = ServerOptions {
        cpu: None,
        ..options.clone()
    };
    let mut second = spawn("postgres-2", Some(&url), &unpinned)?;
    let mut third = spawn("postgres-3", Some(&url), &unpinned)?;
    wait_serving(&mut second, Duration::from_secs(120), false).await?;
    wait_serving(&mut third, Duration::from_secs(120), false).await?;
    let visibility_lag =
        visibility(postgres.addr, second.addr, &holdings, config.lag_samples).await?;

    // The first replica again, unpinned like the others.
    drop(postgres);
    let mut first = spawn("postgres-1b", Some(&url), &unpinned)?;
    wait_serving(&mut first, Duration::from_secs(120), false).await?;
    let fleet = [&first, &second, &third];
    // The writes above grew the target's series: the reply every replica must give now.
    let bytes = reply_bytes(first.addr).await?;
    let mut aggregate = Vec::new();
    for n in 1..=3 {
        let addrs: Vec<SocketAddr> = fleet[..n].iter().map(|s| s.addr).collect();
        let t = throughput(&addrs, &fleet[..n], &request, bytes, config).await?;
        println!("{n} replica(s): {:.0} reads/s", t.qps);
        aggregate.push((n, t));
    }
    let postgres_version = std::process::Command::new("sh")
        .args(["-c", "ls -d /usr/lib/postgresql/*/ | tail -n 1"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    Ok(ReplicasResult {
        read_method: format!("GetHolding {target} (its whole series)"),
        reply_bytes: bytes,
        sqlite_reads,
        postgres_reads,
        read_ratios,
        read_ratio_median,
        sqlite_write,
        postgres_write,
        visibility_lag,
        aggregate,
        postgres_version,
    })
}
