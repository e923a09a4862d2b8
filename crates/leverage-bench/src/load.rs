//! Part 1: gRPC load. A closed-loop client (C connections × M calls in flight) against the
//! leverage server and a bare tonic server (hello world, and replies of each read RPC's size),
//! both pinned to the server core with one tokio worker, the client on the other core. The
//! client speaks gRPC over bare HTTP/2 ([`crate::raw`]) with requests encoded once and replies
//! checked by status and size, not decoded: a decoding tonic client used about as much CPU as
//! the server and was the limit. A decoding call measures and checks each reply first.
//! Every call's status is counted and a run with any failed call is a failed run (trap 1); the
//! CPU of both sides is recorded (trap 4), and a run whose load generator used more than
//! `max_generator_cores` is marked (its figure may be the generator's limit, not the server's);
//! everyone else's CPU is recorded too, to rerun noisy runs (trap 3).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use leverage_proto::leverage::v1 as api;
use serde::Serialize;
use tonic::Status;
use tonic::transport::Channel;

use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::hello::pb::greeter_client::GreeterClient;
use crate::hello::pb::{SayHelloRequest, SizedRequest, SizedResponse};
use crate::raw;
use crate::server::{MAX_MESSAGE, connect};
use crate::stats::{Latency, median};
use crate::sys::{CpuSample, CpuTimes, CpuUse, loadavg1};

/// What is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Target {
    /// The baseline: SayHello on the bare tonic server.
    HelloWorld,
    /// `ScoreScenario` with `plugins/pressure-index`, a fixed reparations-loan scenario: after
    /// the first call its dataset context comes from the server's per-date cache.
    ScoreScenario,
    /// The same scenario with another `as_of` each call, over more dates than the per-date
    /// cache holds: every call derives its context.
    ScoreScenarioCold,
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
    /// The size-matched baselines: `Sized` on the bare tonic server, a reply of the encoded
    /// size of the read RPC's reply, measured in the same run.
    SizedListHoldings,
    SizedSummarizeHoldings,
    SizedAssessLegalRisk,
    /// ScoreScenario's reply (~750 bytes of components and inputs) is 50 times hello world's:
    /// its floor too.
    SizedScoreScenario,
}

/// Dates the cold ScoreScenario target cycles over: every day of 2025, more than the 64 dates
/// the server's per-date context cache kept when this was written.
const COLD_DATES: u32 = 365;

impl Target {
    pub const ALL: [Target; 11] = [
        Target::HelloWorld,
        Target::Health,
        Target::ScoreScenario,
        Target::SizedScoreScenario,
        Target::ScoreScenarioCold,
        Target::ListHoldings,
        Target::SizedListHoldings,
        Target::SummarizeHoldings,
        Target::SizedSummarizeHoldings,
        Target::AssessLegalRisk,
        Target::SizedAssessLegalRisk,
    ];

    /// For a size-matched baseline, the read RPC whose reply size it sends.
    pub fn matches(self) -> Option<Target> {
        match self {
            Target::SizedListHoldings => Some(Target::ListHoldings),
            Target::SizedSummarizeHoldings => Some(Target::SummarizeHoldings),
            Target::SizedAssessLegalRisk => Some(Target::AssessLegalRisk),
            Target::SizedScoreScenario => Some(Target::ScoreScenario),
            _ => None,
        }
    }

    /// For a read RPC, its size-matched baseline.
    pub fn floor(self) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.matches() == Some(self))
    }

    /// Served by the bare tonic server rather than leverage.
    pub fn is_baseline(self) -> bool {
        self == Target::HelloWorld || self.matches().is_some()
    }

    pub fn name(self) -> &'static str {
        match self {
            Target::HelloWorld => "hello world",
            Target::ScoreScenario => "ScoreScenario",
            Target::ScoreScenarioCold => "ScoreScenario, cold",
            Target::SizedListHoldings => "bare tonic, ListHoldings' size",
            Target::SizedSummarizeHoldings => "bare tonic, SummarizeHoldings' size",
            Target::SizedAssessLegalRisk => "bare tonic, AssessLegalRisk's size",
            Target::SizedScoreScenario => "bare tonic, ScoreScenario's size",
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
            Target::ScoreScenarioCold => {
                "as ScoreScenario, as_of each day of 2025 in turn (365 dates, one per call)"
            }
            Target::ListHoldings => "page_size 50, as_of 2025-12-31",
            Target::SummarizeHoldings => {
                "filter owner_kind = CENTRAL_BANK, currency USD, as_of 2025-03-18"
            }
            Target::AssessLegalRisk => "action CONFISCATION, every jurisdiction, as_of 2025-12-31",
            Target::Health => "service \"\" (the whole server), on the leverage server",
            Target::SizedListHoldings
            | Target::SizedSummarizeHoldings
            | Target::SizedAssessLegalRisk
            | Target::SizedScoreScenario => {
                "Sized {size}: a payload made once, cut to give a reply of the read RPC's encoded size"
            }
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

/// The `Sized` request whose reply encodes to `reply_bytes` (a tag byte, the payload's length
/// as a varint, the payload; two bytes more with `pad`), if one can.
pub fn sized_request(reply_bytes: usize) -> Option<SizedRequest> {
    let payload = |bytes: usize| {
        (1..=10).find_map(|len_bytes| {
            let n = bytes.checked_sub(1 + len_bytes)?;
            (n > 0 && prost::encoding::encoded_len_varint(n as u64) == len_bytes).then_some(n)
        })
    };
    let (size, pad) = match payload(reply_bytes) {
        Some(n) => (n, false),
        None => (payload(reply_bytes.checked_sub(2)?)?, true),
    };
    Some(SizedRequest {
        size: u32::try_from(size).ok()?,
        pad,
    })
}

/// A decoding tonic client bound to one request, on one connection: what measures and checks
/// a target's reply before the load runs (which use [`crate::raw`]), and what the soak calls.
#[derive(Clone, Debug)]
pub enum Caller {
    Hello(GreeterClient<Channel>, SayHelloRequest),
    Sized(GreeterClient<Channel>, SizedRequest),
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
    /// The caller of `target`'s first request.
    pub fn new(target: Target, channel: Channel) -> Caller {
        Caller::variants(target, channel, None).swap_remove(0)
    }

    /// One caller per request `target` sends: the cold target's [`COLD_DATES`] dates in turn,
    /// one request for every other target. `sized` is a size-matched baseline's request.
    pub fn variants(target: Target, channel: Channel, sized: Option<SizedRequest>) -> Vec<Caller> {
        let score_request = || api::ScoreScenarioRequest {
            plugin: "plugins/pressure-index".into(),
            scenario: Some(reparations_loan()),
            ..Default::default()
        };
        let scoring = |channel| {
            api::scoring_service_client::ScoringServiceClient::new(channel)
                .max_decoding_message_size(MAX_MESSAGE)
        };
        let one = match target {
            Target::HelloWorld => Caller::Hello(
                GreeterClient::new(channel),
                SayHelloRequest {
                    name: "bench".into(),
                },
            ),
            Target::SizedListHoldings
            | Target::SizedSummarizeHoldings
            | Target::SizedAssessLegalRisk
            | Target::SizedScoreScenario => Caller::Sized(
                GreeterClient::new(channel).max_decoding_message_size(MAX_MESSAGE),
                sized.unwrap_or_default(),
            ),
            Target::ScoreScenario => Caller::Score(scoring(channel), score_request()),
            Target::ScoreScenarioCold => {
                let client = scoring(channel);
                return (0..COLD_DATES)
                    .map(|day| {
                        let mut request = score_request();
                        if let Some(s) = request.scenario.as_mut() {
                            s.as_of = cold_date(day);
                        }
                        Caller::Score(client.clone(), request)
                    })
                    .collect();
            }
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
        };
        vec![one]
    }

    /// The method's path and the encoded request, for [`crate::raw`].
    pub fn wire(&self) -> (&'static str, Vec<u8>) {
        use prost::Message;
        match self {
            Caller::Hello(_, r) => ("/hello.v1.Greeter/SayHello", r.encode_to_vec()),
            Caller::Sized(_, r) => ("/hello.v1.Greeter/Sized", r.encode_to_vec()),
            Caller::Score(_, r) => (
                "/leverage.v1.ScoringService/ScoreScenario",
                r.encode_to_vec(),
            ),
            Caller::List(_, r) => ("/leverage.v1.AssetService/ListHoldings", r.encode_to_vec()),
            Caller::Summarize(_, r) => (
                "/leverage.v1.AssetService/SummarizeHoldings",
                r.encode_to_vec(),
            ),
            Caller::Assess(_, r) => (
                "/leverage.v1.LegalRiskService/AssessLegalRisk",
                r.encode_to_vec(),
            ),
            Caller::Health(_, r) => ("/grpc.health.v1.Health/Check", r.encode_to_vec()),
        }
    }

    /// One call: `Ok(true)` for an OK status with a plausible reply, `Ok(false)` for an OK
    /// status with an empty or wrong reply, `Err` for any other status.
    pub async fn call(&mut self) -> Result<bool, Status> {
        let reply = self.send().await?;
        Ok(self.accepts(&reply))
    }

    fn accepts(&self, reply: &Reply) -> bool {
        match (self, reply) {
            (Caller::Sized(_, r), Reply::Sized(reply)) => {
                reply.payload.len() == r.size as usize && reply.pad == r.pad
            }
            _ => reply.is_plausible(),
        }
    }

    /// The size of one reply, encoded (what the server encodes and sends per call), once the
    /// reply is found to be what [`Caller::call`] accepts.
    pub async fn reply_bytes(&mut self) -> anyhow::Result<usize> {
        let reply = self.send().await?;
        anyhow::ensure!(
            self.accepts(&reply),
            "an OK status with an empty or wrong reply"
        );
        Ok(reply.encoded_len())
    }

    async fn send(&mut self) -> Result<Reply, Status> {
        Ok(match self {
            Caller::Hello(c, r) => Reply::Hello(c.say_hello(r.clone()).await?.into_inner()),
            Caller::Sized(c, r) => Reply::Sized(c.sized(*r).await?.into_inner()),
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

/// The cold target's `day`-th date: 2025-01-01 and the days after it.
fn cold_date(day: u32) -> Option<api::Date> {
    let first = leverage_core::Date::new(2025, 1, 1).map_or(20_089, |d| d.days_since_epoch());
    let d = leverage_core::Date::from_days_since_epoch(first + i64::from(day)).ok()?;
    date(d.year(), d.month() as i32, d.day() as i32)
}

/// The reply of one [`Caller`] call.
enum Reply {
    Hello(crate::hello::pb::SayHelloResponse),
    Sized(SizedResponse),
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
            Reply::Sized(r) => !r.payload.is_empty(),
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
            Reply::Sized(r) => r.encoded_len(),
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
    /// Load generator CPU, in cores, above which a run's figure may be the generator's limit
    /// rather than the server's: such a run fails the generator gate. None in the smoke run,
    /// whose debug generator is always the slower side.
    pub max_generator_cores: Option<f64>,
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
    /// The load generator used more than `max_generator_cores`.
    pub generator_bound: bool,
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
    /// For a read RPC: QPS and p99 ÷ those of its size-matched baseline.
    pub floor_qps_ratio: Option<f64>,
    pub floor_p99_ratio: Option<f64>,
    /// Kept runs whose load generator used more than `max_generator_cores`.
    pub generator_bound_runs: usize,
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

/// One closed-loop run of `plan` against the server of `server_pid`.
async fn run_once(
    plan: &Arc<raw::Plan>,
    addr: SocketAddr,
    server_pid: u32,
    config: &LoadConfig,
) -> anyhow::Result<(f64, Latency, TaskOut, CpuUse)> {
    let tasks = config.connections * config.in_flight_per_connection;
    let mut connections = Vec::with_capacity(config.connections);
    for _ in 0..config.connections {
        connections.push(
            raw::connect(addr)
                .await
                .context("connecting the load client")?,
        );
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
    for connection in &connections {
        for _ in 0..config.in_flight_per_connection {
            let mut send = connection.clone();
            let plan = Arc::clone(plan);
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
                    let result = raw::call(&mut send, &plan).await;
                    let done = Instant::now();
                    out.calls += 1;
                    match result {
                        Ok(()) => {
                            if done >= measure_from && done < end {
                                out.latencies
                                    .push(done.duration_since(sent).as_nanos() as u64);
                            }
                        }
                        Err(raw::Failure::Reply(why)) => {
                            out.bad += 1;
                            out.first_failure.get_or_insert(why);
                        }
                        Err(raw::Failure::Status(why)) => {
                            out.failed += 1;
                            out.first_failure.get_or_insert(why);
                        }
                    }
                }
                out
            }));
        }
    }
    drop(connections);
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

/// A target as the load runs see it: the size of its first request's encoded reply, and its
/// requests encoded once with the size of each one's good reply.
struct Prepared {
    target: Target,
    reply_bytes: usize,
    plan: Arc<raw::Plan>,
}

/// Each target prepared, the read RPCs first so that their size-matched baselines can be sized
/// after them. Every request's reply is measured and checked by a decoding tonic call, then
/// the first is called once more the way the load calls it, to fail here rather than in a run.
async fn prepare(endpoints: Endpoints, targets: &[Target]) -> anyhow::Result<Vec<Prepared>> {
    let mut out: Vec<Prepared> = Vec::new();
    for pass_baselines in [false, true] {
        for &target in targets {
            if (target.matches().is_some()) != pass_baselines {
                continue;
            }
            let mut sized = None;
            if let Some(read) = target.matches() {
                let bytes = out
                    .iter()
                    .find(|p| p.target == read)
                    .map(|p| p.reply_bytes)
                    .with_context(|| {
                        format!("{} needs {} in the run", target.name(), read.name())
                    })?;
                sized = Some(
                    sized_request(bytes)
                        .with_context(|| format!("no Sized reply encodes to {bytes} bytes"))?,
                );
            }
            let addr = endpoints.of(target).0;
            let mut path = "";
            let mut variants = Vec::new();
            for mut caller in Caller::variants(target, connect(addr).await?, sized) {
                let bytes = caller
                    .reply_bytes()
                    .await
                    .with_context(|| format!("one {} call", target.name()))?;
                let (p, request) = caller.wire();
                path = p;
                variants.push((request, bytes));
            }
            let reply_bytes = variants.first().map_or(0, |v| v.1);
            let plan = raw::Plan::new(addr, path, variants)?;
            let mut send = raw::connect(addr).await?;
            if let Err(raw::Failure::Status(why) | raw::Failure::Reply(why)) =
                raw::call(&mut send, &plan).await
            {
                anyhow::bail!("{} over bare HTTP/2: {why}", target.name());
            }
            out.push(Prepared {
                target,
                reply_bytes,
                plan: Arc::new(plan),
            });
        }
    }
    Ok(out)
}

/// Server addresses and pids the load runs against.
#[derive(Clone, Copy, Debug)]
pub struct Endpoints {
    pub hello: (SocketAddr, u32),
    pub leverage: (SocketAddr, u32),
}

impl Endpoints {
    fn of(&self, target: Target) -> (SocketAddr, u32) {
        if target.is_baseline() {
            self.hello
        } else {
            self.leverage
        }
    }
}

/// Every target, `runs` rounds interleaved (so that drift hits all targets alike), each run
/// retried while noisy.
pub async fn run(
    endpoints: Endpoints,
    targets: &[Target],
    config: &LoadConfig,
) -> anyhow::Result<LoadResult> {
    let prepared = prepare(endpoints, targets).await?;
    let plan_of = |target: Target| {
        prepared
            .iter()
            .find(|p| p.target == target)
            .map(|p| Arc::clone(&p.plan))
            .context("an unprepared target")
    };
    let mut runs: Vec<Run> = Vec::new();
    let mut failures: Vec<(Target, String)> = Vec::new();
    for round in 0..config.runs.max(1) {
        for &target in targets {
            if failures.iter().any(|(t, _)| *t == target) {
                continue;
            }
            let (addr, pid) = endpoints.of(target);
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
                let (qps, latency, out, cpu) =
                    run_once(&plan_of(target)?, addr, pid, config).await?;
                let noisy = cpu.others + cpu.steal > config.noise_threshold_cores;
                let generator_bound = config.max_generator_cores.is_some_and(|m| cpu.client > m);
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
                    generator_bound,
                };
                eprintln!(
                    "[load] {:<36} round {} attempt {}: {:>9.0} req/s  p50 {:>7.1} µs  p99 {:>7.1} µs  server {:.2} generator {:.2} others {:.2} cores{}{}",
                    target.name(),
                    round + 1,
                    attempt + 1,
                    run.qps,
                    run.latency.p50_us,
                    run.latency.p99_us,
                    run.cpu.server,
                    run.cpu.client,
                    run.cpu.others + run.cpu.steal,
                    if noisy { "  NOISY" } else { "" },
                    if generator_bound {
                        "  GENERATOR-BOUND"
                    } else {
                        ""
                    }
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
        let (addr, pid) = endpoints.of(target);
        let (qps, latency, out, cpu) = run_once(&plan_of(target)?, addr, pid, &single).await?;
        eprintln!(
            "[load] {:<36} 1 in flight: {:>9.0} req/s  p50 {:>8.1} µs  p99 {:>8.1} µs  server {:.2} cores",
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
    let mut results: Vec<TargetResult> = targets
        .iter()
        .map(|&target| {
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
                floor_qps_ratio: None,
                floor_p99_ratio: None,
                generator_bound_runs: mine.iter().filter(|r| r.generator_bound).count(),
                server_us_per_call: m(&|r| r.cpu.server / r.qps * 1e6),
                reply_bytes: prepared
                    .iter()
                    .find(|p| p.target == target)
                    .map_or(0, |p| p.reply_bytes),
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
    let valid = |target: Target, results: &[TargetResult]| {
        results
            .iter()
            .find(|r| r.target == target && r.failure.is_none())
            .map(|r| (r.qps, r.p99_us))
    };
    let hello = valid(Target::HelloWorld, &results);
    let floors: Vec<Option<(f64, f64)>> = results
        .iter()
        .map(|r| r.target.floor().and_then(|f| valid(f, &results)))
        .collect();
    for (r, floor) in results.iter_mut().zip(floors) {
        if let Some((qps, p99)) = hello {
            r.qps_ratio = r.qps / qps;
            r.p99_ratio = r.p99_us / p99;
        }
        if let Some((qps, p99)) = floor {
            r.floor_qps_ratio = Some(r.qps / qps);
            r.floor_p99_ratio = Some(r.p99_us / p99);
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

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    #[test]
    fn a_sized_reply_encodes_to_the_size_asked_for() {
        for reply_bytes in (3..20_000).chain([1 << 20]) {
            let request = sized_request(reply_bytes).expect("a size");
            let reply = SizedResponse {
                payload: bytes::Bytes::from(vec![7; request.size as usize]),
                pad: request.pad,
            };
            assert_eq!(reply.encoded_len(), reply_bytes, "{request:?}");
        }
        assert_eq!(
            sized_request(1),
            None,
            "a tag and a length are two bytes at least"
        );
    }
}
