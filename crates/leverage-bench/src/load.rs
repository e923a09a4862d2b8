//! Part 1: gRPC load. A closed-loop tonic client (C connections × M calls in flight) against
//! the leverage server and a bare tonic hello-world server, both pinned to the server core
//! with one tokio worker, the client on the other core. Every call's status is counted and a
//! run with any failed call is a failed run (trap 1); the CPU of both sides is recorded (trap
//! 4), and so is everyone else's, to rerun noisy runs (trap 3).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use leverage_proto::leverage::v1 as api;
use serde::Serialize;
use tonic::Status;
use tonic::transport::Channel;

use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::hello::pb::SayHelloRequest;
use crate::hello::pb::greeter_client::GreeterClient;
use crate::server::{MAX_MESSAGE, connect};
use crate::stats::{Latency, median};
use crate::sys::{CpuSample, CpuTimes, CpuUse, loadavg1};

/// What is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Target {
    /// The baseline: SayHello on the bare tonic server.
    HelloWorld,
    /// `ScoreScenario` with `plugins/pressure-index`, a fixed reparations-loan scenario.
    ScoreScenario,
    /// `ListHoldings`, page_size 50.
    ListHoldings,
    /// `SummarizeHoldings`, owner_kind = CENTRAL_BANK, in USD.
    SummarizeHoldings,
    /// `AssessLegalRisk`, confiscation, every jurisdiction.
    AssessLegalRisk,
    /// `grpc.health.v1.Health/Check` on the leverage server: a trivial handler behind every
    /// layer (auth, load shedding, access log and metrics, deadline), so its distance from
    /// hello world is the fixed cost of the leverage stack per call.
    Health,
}

impl Target {
    pub const ALL: [Target; 6] = [
        Target::HelloWorld,
        Target::Health,
        Target::ScoreScenario,
        Target::ListHoldings,
        Target::SummarizeHoldings,
        Target::AssessLegalRisk,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Target::HelloWorld => "hello world",
            Target::ScoreScenario => "ScoreScenario",
            Target::ListHoldings => "ListHoldings",
            Target::SummarizeHoldings => "SummarizeHoldings",
            Target::AssessLegalRisk => "AssessLegalRisk",
            Target::Health => "health Check",
        }
    }

    pub fn request(self) -> &'static str {
        match self {
            Target::HelloWorld => "SayHello {name: \"bench\"}",
            Target::ScoreScenario => {
                "plugin plugins/pressure-index, use_mode REPARATIONS_LOAN, interest 2%, as_of 2025-12-31"
            }
            Target::ListHoldings => "page_size 50, as_of 2025-12-31",
            Target::SummarizeHoldings => {
                "filter owner_kind = CENTRAL_BANK, currency USD, as_of 2025-03-18"
            }
            Target::AssessLegalRisk => "action CONFISCATION, every jurisdiction, as_of 2025-12-31",
            Target::Health => "service \"\" (the whole server), on the leverage server",
        }
    }
}

pub fn date(year: i32, month: i32, day: i32) -> Option<api::Date> {
    Some(api::Date { year, month, day })
}

/// The fixed scenario of the load and sweep parts.
pub fn reparations_loan() -> api::Scenario {
    api::Scenario {
        use_mode: api::AssetAction::ReparationsLoan as i32,
        interest_rate_pct: Some(2.0),
        as_of: date(2025, 12, 31),
        ..api::Scenario::default()
    }
}

/// A client bound to one request, on one connection.
#[derive(Clone, Debug)]
pub enum Caller {
    Hello(GreeterClient<Channel>, SayHelloRequest),
    Score(
        api::scoring_service_client::ScoringServiceClient<Channel>,
        api::ScoreScenarioRequest,
    ),
    List(
        api::asset_service_client::AssetServiceClient<Channel>,
        api::ListHoldingsRequest,
    ),
    Summarize(
        api::asset_service_client::AssetServiceClient<Channel>,
        api::SummarizeHoldingsRequest,
    ),
    Assess(
        api::legal_risk_service_client::LegalRiskServiceClient<Channel>,
        api::AssessLegalRiskRequest,
    ),
    Health(HealthClient<Channel>, HealthCheckRequest),
}

impl Caller {
    pub fn new(target: Target, channel: Channel) -> Caller {
        match target {
            Target::HelloWorld => Caller::Hello(
                GreeterClient::new(channel),
                SayHelloRequest {
                    name: "bench".into(),
                },
            ),
            Target::ScoreScenario => Caller::Score(
                api::scoring_service_client::ScoringServiceClient::new(channel)
                    .max_decoding_message_size(MAX_MESSAGE),
                api::ScoreScenarioRequest {
                    plugin: "plugins/pressure-index".into(),
                    scenario: Some(reparations_loan()),
                },
            ),
            Target::ListHoldings => Caller::List(
                asset_client(channel),
                api::ListHoldingsRequest {
                    page_size: 50,
                    as_of: date(2025, 12, 31),
                    ..api::ListHoldingsRequest::default()
                },
            ),
            Target::SummarizeHoldings => Caller::Summarize(
                asset_client(channel),
                api::SummarizeHoldingsRequest {
                    filter: "owner_kind = CENTRAL_BANK".into(),
                    currency_code: "USD".into(),
                    as_of: date(2025, 3, 18),
                    ..api::SummarizeHoldingsRequest::default()
                },
            ),
            Target::AssessLegalRisk => Caller::Assess(
                api::legal_risk_service_client::LegalRiskServiceClient::new(channel)
                    .max_decoding_message_size(MAX_MESSAGE),
                api::AssessLegalRiskRequest {
                    action: api::AssetAction::Confiscation as i32,
                    as_of: date(2025, 12, 31),
                    ..api::AssessLegalRiskRequest::default()
                },
            ),
            Target::Health => Caller::Health(
                HealthClient::new(channel),
                HealthCheckRequest {
                    service: String::new(),
                },
            ),
        }
    }

    /// One call: `Ok(true)` for an OK status with a plausible reply, `Ok(false)` for an OK
    /// status with an empty or wrong reply, `Err` for any other status.
    pub async fn call(&mut self) -> Result<bool, Status> {
        Ok(self.send().await?.is_plausible())
    }

    /// The size of one reply, encoded (what the server encodes and sends per call).
    pub async fn reply_bytes(&mut self) -> Result<usize, Status> {
        Ok(self.send().await?.encoded_len())
    }

    async fn send(&mut self) -> Result<Reply, Status> {
        Ok(match self {
            Caller::Hello(c, r) => Reply::Hello(c.say_hello(r.clone()).await?.into_inner()),
            Caller::Score(c, r) => Reply::Score(c.score_scenario(r.clone()).await?.into_inner()),
            Caller::List(c, r) => Reply::List(c.list_holdings(r.clone()).await?.into_inner()),
            Caller::Summarize(c, r) => {
                Reply::Summarize(c.summarize_holdings(r.clone()).await?.into_inner())
            }
            Caller::Assess(c, r) => {
                Reply::Assess(c.assess_legal_risk(r.clone()).await?.into_inner())
            }
            Caller::Health(c, r) => Reply::Health(c.check(r.clone()).await?.into_inner()),
        })
    }
}

/// The reply of one [`Caller`] call.
enum Reply {
    Hello(crate::hello::pb::SayHelloResponse),
    Score(api::ScoreScenarioResponse),
    List(api::ListHoldingsResponse),
    Summarize(api::SummarizeHoldingsResponse),
    Assess(api::AssessLegalRiskResponse),
    Health(tonic_health::pb::HealthCheckResponse),
}

impl Reply {
    /// Whether the reply is what the request asks for, not merely an OK status.
    fn is_plausible(&self) -> bool {
        match self {
            Reply::Hello(r) => r.message == "Hello, bench",
            Reply::Score(r) => r
                .result
                .as_ref()
                .is_some_and(|r| r.score.is_finite() && !r.components.is_empty()),
            Reply::List(r) => !r.holdings.is_empty(),
            Reply::Summarize(r) => !r.groups.is_empty(),
            Reply::Assess(r) => !r.jurisdictions.is_empty(),
            Reply::Health(r) => r.status == ServingStatus::Serving as i32,
        }
    }

    fn encoded_len(&self) -> usize {
        use prost::Message;
        match self {
            Reply::Hello(r) => r.encoded_len(),
            Reply::Score(r) => r.encoded_len(),
            Reply::List(r) => r.encoded_len(),
            Reply::Summarize(r) => r.encoded_len(),
            Reply::Assess(r) => r.encoded_len(),
            Reply::Health(r) => r.encoded_len(),
        }
    }
}

pub fn asset_client(channel: Channel) -> api::asset_service_client::AssetServiceClient<Channel> {
    api::asset_service_client::AssetServiceClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE)
}

/// Shape and pacing of the load.
#[derive(Clone, Debug, Serialize)]
pub struct LoadConfig {
    pub connections: usize,
    pub in_flight_per_connection: usize,
    pub warmup_ms: u64,
    pub duration_ms: u64,
    /// Runs per target; the figures are their medians.
    pub runs: usize,
    /// Reruns of a noisy run before keeping it (flagged).
    pub max_retries: usize,
    /// CPU of other processes plus steal during a run, in cores, above which it is noisy.
    pub noise_threshold_cores: f64,
    /// Whole-machine CPU, in cores, above which the bench waits before a run.
    pub quiet_threshold_cores: f64,
    /// Longest wait for the machine to become quiet before a run, in seconds.
    pub max_quiet_wait_s: u64,
    /// False in the smoke run: no waiting and no reruns.
    pub guard_noise: bool,
}

/// One measured run of one target.
#[derive(Clone, Debug, Serialize)]
pub struct Run {
    pub target: Target,
    pub round: usize,
    pub attempt: usize,
    /// 1-minute load average just before the run (trap 3); our own previous runs count in it.
    pub loadavg1_before: f64,
    /// Whole-machine CPU in the second before the run, in cores.
    pub busy_before_cores: f64,
    /// Seconds spent waiting for the machine to become quiet.
    pub waited_s: f64,
    pub qps: f64,
    pub latency: Latency,
    /// Every call of the run, warm-up included.
    pub calls_total: u64,
    /// Calls that ended with a status other than OK.
    pub failed_calls: u64,
    /// OK calls whose reply was empty or wrong.
    pub bad_replies: u64,
    pub first_failure: Option<String>,
    pub cpu: CpuUse,
    pub noisy: bool,
}

/// The medians of a target's runs, and its ratios to hello world.
#[derive(Clone, Debug, Serialize)]
pub struct TargetResult {
    pub target: Target,
    pub request: &'static str,
    pub qps: f64,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    /// Server process CPU during the measured window, in cores (1.0 = its core saturated).
    pub server_cpu_cores: f64,
    /// Load generator CPU, in cores.
    pub client_cpu_cores: f64,
    /// Other processes plus steal, in cores.
    pub others_cpu_cores: f64,
    /// QPS ÷ hello world's QPS.
    pub qps_ratio: f64,
    /// p99 ÷ hello world's p99.
    pub p99_ratio: f64,
    /// Server CPU per call, in µs (server CPU ÷ QPS): what one call costs the server core.
    pub server_us_per_call: f64,
    /// Size of one encoded reply, in bytes.
    pub reply_bytes: usize,
    /// Runs kept although noisy after every retry.
    pub noisy_runs: usize,
    /// One connection, one call in flight (the least load a closed loop can put): latency
    /// without queueing. One run, after the others.
    pub unloaded: Option<Unloaded>,
    /// Set when any call failed: the figures are then not valid.
    pub failure: Option<String>,
    pub runs: Vec<Run>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Unloaded {
    pub qps: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub server_cpu_cores: f64,
    pub duration_ms: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct LoadResult {
    pub config: LoadConfig,
    pub in_flight: usize,
    pub server_cpu_affinity: String,
    pub client_cpu_affinity: String,
    pub targets: Vec<TargetResult>,
}

#[derive(Debug, Default)]
struct TaskOut {
    latencies: Vec<u64>,
    calls: u64,
    failed: u64,
    bad: u64,
    first_failure: Option<String>,
}

/// Whole-machine CPU over `window`, in cores, without blocking the runtime.
async fn busy_cores(window: Duration) -> f64 {
    let a = CpuTimes::read();
    tokio::time::sleep(window).await;
    let b = CpuTimes::read();
    (b.task - a.task + b.irq - a.irq + b.steal - a.steal) / window.as_secs_f64()
}

/// Waits until the machine is quiet (or the wait is over); returns the last busy figure and
/// the seconds waited.
pub async fn wait_quiet(threshold: f64, max_wait: Duration) -> (f64, f64) {
    let start = Instant::now();
    loop {
        let busy = busy_cores(Duration::from_millis(500)).await;
        if busy <= threshold || start.elapsed() >= max_wait {
            return (busy, start.elapsed().as_secs_f64());
        }
        eprintln!("[quiet] machine busy ({busy:.2} cores): waiting");
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// One closed-loop run against `addr`.
async fn run_once(
    target: Target,
    addr: SocketAddr,
    server_pid: u32,
    config: &LoadConfig,
) -> anyhow::Result<(f64, Latency, TaskOut, CpuUse)> {
    let tasks = config.connections * config.in_flight_per_connection;
    let mut channels = Vec::with_capacity(config.connections);
    for _ in 0..config.connections {
        channels.push(connect(addr).await.context("connecting the load client")?);
    }
    let start = Instant::now();
    let measure_from = start + Duration::from_millis(config.warmup_ms);
    let end = measure_from + Duration::from_millis(config.duration_ms);
    let sampler = tokio::spawn(async move {
        tokio::time::sleep_until(measure_from.into()).await;
        let a = CpuSample::take(Some(server_pid));
        tokio::time::sleep_until(end.into()).await;
        let b = CpuSample::take(Some(server_pid));
        (a, b)
    });
    // Room for about 200k calls a second without growing.
    let capacity = (config.duration_ms as usize * 200 / tasks.max(1)).max(64);
    let mut handles = Vec::with_capacity(tasks);
    for channel in &channels {
        for _ in 0..config.in_flight_per_connection {
            let mut caller = Caller::new(target, channel.clone());
            handles.push(tokio::spawn(async move {
                let mut out = TaskOut {
                    latencies: Vec::with_capacity(capacity),
                    ..TaskOut::default()
                };
                loop {
                    let sent = Instant::now();
                    if sent >= end {
                        break;
                    }
                    let result = caller.call().await;
                    let done = Instant::now();
                    out.calls += 1;
                    match result {
                        Ok(true) => {
                            if done >= measure_from && done < end {
                                out.latencies
                                    .push(done.duration_since(sent).as_nanos() as u64);
                            }
                        }
                        Ok(false) => {
                            out.bad += 1;
                            out.first_failure.get_or_insert_with(|| {
                                "OK status with an empty or wrong reply".into()
                            });
                        }
                        Err(status) => {
                            out.failed += 1;
                            out.first_failure.get_or_insert_with(|| {
                                format!("{:?}: {}", status.code(), status.message())
                            });
                        }
                    }
                }
                out
            }));
        }
    }
    let mut total = TaskOut::default();
    for h in handles {
        let out = h.await?;
        total.latencies.extend_from_slice(&out.latencies);
        total.calls += out.calls;
        total.failed += out.failed;
        total.bad += out.bad;
        if total.first_failure.is_none() {
            total.first_failure = out.first_failure;
        }
    }
    let (a, b) = sampler.await?;
    let cpu = a.until(&b);
    let window = Duration::from_millis(config.duration_ms).as_secs_f64();
    let qps = total.latencies.len() as f64 / window;
    let latency = Latency::from_nanos(&mut total.latencies);
    total.latencies = Vec::new();
    Ok((qps, latency, total, cpu))
}

/// Server addresses and pids the load runs against.
#[derive(Clone, Copy, Debug)]
pub struct Endpoints {
    pub hello: (SocketAddr, u32),
    pub leverage: (SocketAddr, u32),
}

/// Every target, `runs` rounds interleaved (so that drift hits all targets alike), each run
/// retried while noisy.
pub async fn run(
    endpoints: Endpoints,
    targets: &[Target],
    config: &LoadConfig,
) -> anyhow::Result<LoadResult> {
    let mut runs: Vec<Run> = Vec::new();
    let mut failures: Vec<(Target, String)> = Vec::new();
    for round in 0..config.runs.max(1) {
        for &target in targets {
            if failures.iter().any(|(t, _)| *t == target) {
                continue;
            }
            let (addr, pid) = match target {
                Target::HelloWorld => endpoints.hello,
                _ => endpoints.leverage,
            };
            let mut attempt = 0;
            loop {
                let (busy_before, waited) = if config.guard_noise {
                    wait_quiet(
                        config.quiet_threshold_cores,
                        Duration::from_secs(config.max_quiet_wait_s),
                    )
                    .await
                } else {
                    (f64::NAN, 0.0)
                };
                let loadavg = loadavg1();
                let (qps, latency, out, cpu) = run_once(target, addr, pid, config).await?;
                let noisy = cpu.others + cpu.steal > config.noise_threshold_cores;
                let run = Run {
                    target,
                    round,
                    attempt,
                    loadavg1_before: loadavg,
                    busy_before_cores: busy_before,
                    waited_s: waited,
                    qps,
                    latency,
                    calls_total: out.calls,
                    failed_calls: out.failed,
                    bad_replies: out.bad,
                    first_failure: out.first_failure.clone(),
                    cpu,
                    noisy,
                };
                eprintln!(
                    "[load] {:<18} round {} attempt {}: {:>9.0} req/s  p50 {:>7.1} µs  p99 {:>7.1} µs  server {:.2} client {:.2} others {:.2} cores{}",
                    target.name(),
                    round + 1,
                    attempt + 1,
                    run.qps,
                    run.latency.p50_us,
                    run.latency.p99_us,
                    run.cpu.server,
                    run.cpu.client,
                    run.cpu.others + run.cpu.steal,
                    if noisy { "  NOISY" } else { "" }
                );
                let failed = out.failed + out.bad;
                if failed > 0 {
                    let message = format!(
                        "{failed} of {} calls failed (first: {})",
                        out.calls,
                        out.first_failure.unwrap_or_default()
                    );
                    eprintln!(
                        "\n*** LOAD RUN FAILED: {} — {message}. Its figures are not valid. ***\n",
                        target.name()
                    );
                    failures.push((target, message));
                    runs.push(run);
                    break;
                }
                if noisy && config.guard_noise && attempt < config.max_retries {
                    eprintln!(
                        "[load] noisy run (others used {:.2} cores): rerunning",
                        run.cpu.others + run.cpu.steal
                    );
                    attempt += 1;
                    continue;
                }
                runs.push(run);
                break;
            }
        }
    }
    // Latency without load: one connection, one call in flight.
    let mut unloaded = Vec::new();
    let single = LoadConfig {
        connections: 1,
        in_flight_per_connection: 1,
        warmup_ms: config.warmup_ms.min(500),
        duration_ms: config.duration_ms.min(3000),
        ..config.clone()
    };
    for &target in targets {
        if failures.iter().any(|(t, _)| *t == target) {
            continue;
        }
        let (addr, pid) = match target {
            Target::HelloWorld => endpoints.hello,
            _ => endpoints.leverage,
        };
        let (qps, latency, out, cpu) = run_once(target, addr, pid, &single).await?;
        eprintln!(
            "[load] {:<18} 1 in flight: {:>9.0} req/s  p50 {:>8.1} µs  p99 {:>8.1} µs  server {:.2} cores",
            target.name(),
            qps,
            latency.p50_us,
            latency.p99_us,
            cpu.server
        );
        if out.failed + out.bad > 0 {
            failures.push((
                target,
                format!(
                    "{} of {} calls failed with one in flight (first: {})",
                    out.failed + out.bad,
                    out.calls,
                    out.first_failure.unwrap_or_default()
                ),
            ));
            continue;
        }
        unloaded.push((
            target,
            Unloaded {
                qps,
                p50_us: latency.p50_us,
                p99_us: latency.p99_us,
                server_cpu_cores: cpu.server,
                duration_ms: single.duration_ms,
            },
        ));
    }
    let mut reply_bytes = Vec::new();
    for &target in targets {
        let addr = match target {
            Target::HelloWorld => endpoints.hello.0,
            _ => endpoints.leverage.0,
        };
        let mut caller = Caller::new(target, connect(addr).await?);
        reply_bytes.push(caller.reply_bytes().await.unwrap_or(0));
    }
    let mut results: Vec<TargetResult> = targets
        .iter()
        .zip(reply_bytes)
        .map(|(&target, reply_bytes)| {
            // A failed target keeps only its failed run; others keep their last attempt of
            // each round.
            let mine: Vec<Run> = runs
                .iter()
                .filter(|r| r.target == target)
                .cloned()
                .collect();
            let m = |f: &dyn Fn(&Run) -> f64| median(&mine.iter().map(f).collect::<Vec<_>>());
            TargetResult {
                target,
                request: target.request(),
                qps: m(&|r| r.qps),
                p50_us: m(&|r| r.latency.p50_us),
                p90_us: m(&|r| r.latency.p90_us),
                p99_us: m(&|r| r.latency.p99_us),
                p999_us: m(&|r| r.latency.p999_us),
                server_cpu_cores: m(&|r| r.cpu.server),
                client_cpu_cores: m(&|r| r.cpu.client),
                others_cpu_cores: m(&|r| r.cpu.others + r.cpu.steal),
                qps_ratio: f64::NAN,
                p99_ratio: f64::NAN,
                server_us_per_call: m(&|r| r.cpu.server / r.qps * 1e6),
                reply_bytes,
                noisy_runs: mine.iter().filter(|r| r.noisy).count(),
                unloaded: unloaded
                    .iter()
                    .find(|(t, _)| *t == target)
                    .map(|(_, u)| u.clone()),
                failure: failures
                    .iter()
                    .find(|(t, _)| *t == target)
                    .map(|(_, m)| m.clone()),
                runs: mine,
            }
        })
        .collect();
    let baseline = results
        .iter()
        .find(|r| r.target == Target::HelloWorld && r.failure.is_none())
        .map(|r| (r.qps, r.p99_us));
    if let Some((qps, p99)) = baseline {
        for r in &mut results {
            r.qps_ratio = r.qps / qps;
            r.p99_ratio = r.p99_us / p99;
        }
    }
    Ok(LoadResult {
        in_flight: config.connections * config.in_flight_per_connection,
        config: config.clone(),
        server_cpu_affinity: crate::sys::cpus_allowed(&endpoints.leverage.1.to_string()),
        client_cpu_affinity: crate::sys::cpus_allowed("self"),
        targets: results,
    })
}
