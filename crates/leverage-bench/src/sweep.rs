//! Part 3: sweeps. Two levers × `steps` values each, scored by `plugins/pressure-index` and
//! streamed by the real server's `SweepScenario`; wall time from the call to the last chunk,
//! every index checked to arrive once, in order, without an error.

use std::net::SocketAddr;
use std::time::Instant;

use anyhow::ensure;
use leverage_proto::leverage::v1 as api;
use serde::Serialize;
use tonic::Request;

use crate::load::reparations_loan;
use crate::server::{MAX_MESSAGE, connect};
use crate::stats::median;
use crate::sys::{CpuSample, CpuUse};

#[derive(Clone, Debug, Serialize)]
pub struct SweepConfig {
    /// Values per axis; the sweep scores steps² scenarios.
    pub steps: i32,
    pub chunk_size: i32,
    pub runs: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct SweepRun {
    pub wall_s: f64,
    pub scenarios_per_s: f64,
    /// Wall time to the first chunk.
    pub first_chunk_ms: f64,
    pub chunks: usize,
    pub bytes: usize,
    pub cpu: CpuUse,
}

#[derive(Clone, Debug, Serialize)]
pub struct SweepResult {
    pub config: SweepConfig,
    pub points: u64,
    pub request: String,
    pub wall_s: f64,
    pub scenarios_per_s: f64,
    pub first_chunk_ms: f64,
    /// Every point arrived, once, in index order, with no point error (in every run).
    pub in_order_complete: bool,
    pub server_cpu_cores: f64,
    pub client_cpu_cores: f64,
    pub runs: Vec<SweepRun>,
}

fn request(config: &SweepConfig) -> api::SweepScenarioRequest {
    api::SweepScenarioRequest {
        plugin: "plugins/pressure-index".into(),
        base: Some(reparations_loan()),
        axes: vec![
            api::SweepAxis {
                lever: api::Lever::InterestRatePct as i32,
                start: 0.0,
                stop: 20.0,
                steps: config.steps,
                ..Default::default()
            },
            api::SweepAxis {
                lever: api::Lever::SanctionsTightening as i32,
                start: 0.0,
                stop: 1.0,
                steps: config.steps,
                ..Default::default()
            },
        ],
        chunk_size: config.chunk_size,
        ..Default::default()
    }
}

async fn once(addr: SocketAddr, pid: u32, config: &SweepConfig) -> anyhow::Result<SweepRun> {
    use prost::Message;
    let total = u64::try_from(config.steps)? * u64::try_from(config.steps)?;
    let mut client = api::scoring_service_client::ScoringServiceClient::new(connect(addr).await?)
        .max_decoding_message_size(MAX_MESSAGE);
    let req = request(config);
    let before = CpuSample::take(Some(pid));
    let start = Instant::now();
    let mut stream = client.sweep_scenario(Request::new(req)).await?.into_inner();
    let mut expected: u64 = 0;
    let mut chunks = 0;
    let mut bytes = 0;
    let mut first_chunk = None;
    while let Some(chunk) = stream.message().await? {
        first_chunk.get_or_insert_with(|| start.elapsed());
        chunks += 1;
        bytes += chunk.encoded_len();
        for p in &chunk.points {
            ensure!(
                p.index == expected as i64,
                "point {} arrived where {expected} was due",
                p.index
            );
            ensure!(
                p.error.is_none() && p.score.is_finite(),
                "point {} carries an error: {:?}",
                p.index,
                p.error
            );
            expected += 1;
        }
    }
    let wall = start.elapsed();
    let after = CpuSample::take(Some(pid));
    ensure!(expected == total, "{expected} points arrived of {total}");
    let run = SweepRun {
        wall_s: wall.as_secs_f64(),
        scenarios_per_s: total as f64 / wall.as_secs_f64(),
        first_chunk_ms: first_chunk.unwrap_or_default().as_secs_f64() * 1e3,
        chunks,
        bytes,
        cpu: before.until(&after),
    };
    eprintln!(
        "[sweep] {total} scenarios in {:.3} s ({:.0}/s), {chunks} chunks, {:.1} MB; server {:.2} client {:.2} cores",
        run.wall_s,
        run.scenarios_per_s,
        bytes as f64 / 1e6,
        run.cpu.server,
        run.cpu.client
    );
    Ok(run)
}

pub async fn run(addr: SocketAddr, pid: u32, config: &SweepConfig) -> anyhow::Result<SweepResult> {
    let total = u64::try_from(config.steps)? * u64::try_from(config.steps)?;
    let mut runs = Vec::new();
    for _ in 0..config.runs.max(1) {
        runs.push(once(addr, pid, config).await?);
    }
    let m = |f: &dyn Fn(&SweepRun) -> f64| median(&runs.iter().map(f).collect::<Vec<_>>());
    Ok(SweepResult {
        config: config.clone(),
        points: total,
        request: format!(
            "plugins/pressure-index, base: reparations loan; interest_rate_pct 0..20 × sanctions_tightening 0..1, {} × {} steps, chunk_size {}",
            config.steps, config.steps, config.chunk_size
        ),
        wall_s: m(&|r| r.wall_s),
        scenarios_per_s: m(&|r| r.scenarios_per_s),
        first_chunk_ms: m(&|r| r.first_chunk_ms),
        in_order_complete: true,
        server_cpu_cores: m(&|r| r.cpu.server),
        client_cpu_cores: m(&|r| r.cpu.client),
        runs,
    })
}
