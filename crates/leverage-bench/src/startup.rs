//! Part 5: start-up. Time from spawning `leverage serve` (embedded dataset) to the first health
//! check answering SERVING, polled in a tight loop from the other core: with a fresh data
//! directory (the import included) and with an existing one. Idle RSS after each start.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::server::{ServerOptions, spawn_leverage, wait_serving};
use crate::stats::median;
use crate::sys::memory_mb;

#[derive(Clone, Debug, Serialize)]
pub struct StartupConfig {
    pub runs: usize,
    /// How long the server idles after SERVING before its RSS is read.
    pub settle_ms: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct StartupCase {
    pub case: &'static str,
    pub median_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    pub runs_ms: Vec<f64>,
    pub idle_rss_mb: f64,
    pub idle_rss_runs_mb: Vec<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct StartupResult {
    pub config: StartupConfig,
    pub fresh: StartupCase,
    pub existing: StartupCase,
}

async fn start_once(
    bin: &Path,
    data_dir: &Path,
    options: &ServerOptions,
    settle: Duration,
    log: &Path,
) -> anyhow::Result<(f64, f64)> {
    let mut server = spawn_leverage(bin, data_dir, options, log)?;
    let ready = wait_serving(&mut server, Duration::from_secs(60), true).await?;
    tokio::time::sleep(settle).await;
    let rss = memory_mb(server.pid(), "VmRSS").unwrap_or(f64::NAN);
    server.stop(Duration::from_secs(10)).await?;
    Ok((ready.as_secs_f64() * 1e3, rss))
}

fn case(name: &'static str, runs: Vec<(f64, f64)>) -> StartupCase {
    let ms: Vec<f64> = runs.iter().map(|r| r.0).collect();
    let rss: Vec<f64> = runs.iter().map(|r| r.1).collect();
    StartupCase {
        case: name,
        median_ms: median(&ms),
        min_ms: ms.iter().copied().fold(f64::INFINITY, f64::min),
        max_ms: ms.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        runs_ms: ms,
        idle_rss_mb: median(&rss),
        idle_rss_runs_mb: rss,
    }
}

pub async fn run(
    bin: &Path,
    options: &ServerOptions,
    config: &StartupConfig,
    logs: &Path,
) -> anyhow::Result<StartupResult> {
    let settle = Duration::from_millis(config.settle_ms);
    let mut fresh = Vec::new();
    for i in 0..config.runs.max(1) {
        let dir = tempfile::tempdir()?;
        let r = start_once(
            bin,
            dir.path(),
            options,
            settle,
            &logs.join(format!("startup-fresh-{i}.log")),
        )
        .await?;
        eprintln!(
            "[startup] fresh data dir: SERVING after {:.1} ms, idle RSS {:.1} MB",
            r.0, r.1
        );
        fresh.push(r);
    }
    let dir = tempfile::tempdir()?;
    // The first start imports; the measured ones reuse.
    start_once(
        bin,
        dir.path(),
        options,
        Duration::ZERO,
        &logs.join("startup-import.log"),
    )
    .await?;
    let mut existing = Vec::new();
    for i in 0..config.runs.max(1) {
        let r = start_once(
            bin,
            dir.path(),
            options,
            settle,
            &logs.join(format!("startup-existing-{i}.log")),
        )
        .await?;
        eprintln!(
            "[startup] existing data dir: SERVING after {:.1} ms, idle RSS {:.1} MB",
            r.0, r.1
        );
        existing.push(r);
    }
    Ok(StartupResult {
        config: config.clone(),
        fresh: case("fresh data dir (imports the embedded dataset)", fresh),
        existing: case("existing data dir", existing),
    })
}
