//! The soak of issue 5 (point 7; not in CI): the real release server with an editor token made
//! for the run, its maximum QPS for a mix of reads, scoring and writes measured first (closed
//! loop, as the load part), then an open-loop client at a fraction of it (80 % by default) for
//! ten minutes. Latency is measured from each call's scheduled send time, so that queueing
//! shows. Every window (10 s) records the calls per kind, the errors by gRPC code, p50/p99/p99.9,
//! the server's RSS and its open file descriptors; at the end every acknowledged write must be
//! readable. See `bench/README.md` ("Soak").

use std::collections::{BTreeMap, HashSet};
use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use leverage_proto::leverage::v1 as api;
use serde::Serialize;
use tonic::metadata::AsciiMetadataValue;
use tonic::transport::Channel;
use tonic::{Request, Status};

use crate::load::{Caller, Target, asset_client, date, reparations_loan, wait_quiet};
use crate::report::{Gate, SummaryRow, ms, thousands, x};
use crate::server::{MAX_MESSAGE, ServerOptions, connect, spawn_leverage_with, wait_serving};
use crate::stats::Latency;
use crate::sys::{CpuSample, cpus_allowed, memory_mb, open_fds};

/// What the soak calls, in a fixed cycle (20 calls with the default writes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Kind {
    ListHoldings,
    SummarizeHoldings,
    AssessLegalRisk,
    GetHolding,
    ScoreScenario,
    ScoreScenarios,
    CreateObservation,
}

/// CreateObservation calls per cycle by default: 2 of 20, 10 %.
pub const WRITE_SLOTS: usize = 2;
/// Scenarios per ScoreScenarios call.
const BATCH: usize = 10;
/// The located holdings the soak writes to (and reads back with GetHolding).
/// Holdings the soak creates and then writes observations to, in turn. Many of them, as in
/// real use, where a holding gains a few observations a year: each write re-reads the holding
/// written, so a handful of holdings growing by thousands of observations would measure a
/// workload nobody has.
const WRITE_HOLDINGS: usize = 2000;

/// Holdings of the embedded dataset that `GetHolding` reads in turn (full series). Not the
/// written ones: their series grow with the soak's own writes, and a read whose reply grows
/// with the run measures the run's data, not the server's drift.
const READ_HOLDINGS: [&str; 4] = [
    "holdings/switzerland-central-bank",
    "holdings/japan-central-bank",
    "holdings/uk-ofsi-frozen-funds",
    "holdings/luxembourg-private-frozen",
];

/// Jurisdictions the synthetic holdings are spread over.
const WRITE_JURISDICTIONS: [&str; 5] = ["BE", "LU", "FR", "DE", "NL"];

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::ListHoldings,
        Kind::SummarizeHoldings,
        Kind::AssessLegalRisk,
        Kind::GetHolding,
        Kind::ScoreScenario,
        Kind::ScoreScenarios,
        Kind::CreateObservation,
    ];

    /// Slots of the kind in each cycle: with the default [`WRITE_SLOTS`], a cycle of 20
    /// calls, 60 % reads, 30 % scoring, 10 % writes.
    fn weight(self, write_slots: usize) -> usize {
        match self {
            Kind::ListHoldings
            | Kind::SummarizeHoldings
            | Kind::AssessLegalRisk
            | Kind::GetHolding => 3,
            Kind::ScoreScenario => 4,
            Kind::ScoreScenarios => 2,
            Kind::CreateObservation => write_slots,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::ListHoldings => "ListHoldings",
            Kind::SummarizeHoldings => "SummarizeHoldings",
            Kind::AssessLegalRisk => "AssessLegalRisk",
            Kind::GetHolding => "GetHolding",
            Kind::ScoreScenario => "ScoreScenario",
            Kind::ScoreScenarios => "ScoreScenarios",
            Kind::CreateObservation => "CreateObservation",
        }
    }

    fn request(self) -> &'static str {
        match self {
            Kind::ListHoldings => Target::ListHoldings.request(),
            Kind::SummarizeHoldings => Target::SummarizeHoldings.request(),
            Kind::AssessLegalRisk => Target::AssessLegalRisk.request(),
            Kind::ScoreScenario => Target::ScoreScenario.request(),
            Kind::GetHolding => {
                "one of 4 holdings of the embedded dataset in turn, as of today: its full series"
            }
            Kind::ScoreScenarios => {
                "plugin plugins/pressure-index, 10 reparations-loan scenarios (interest 0, 0.5 … 4.5 %)"
            }
            Kind::CreateObservation => {
                "editor token; one of the 4 holdings in turn (Swiss and Japanese central banks, UK OFSI, Luxembourg private), \
                 in the holding's currency, dated in the 28 days before today, source and note saying SYNTHETIC, confidence LOW"
            }
        }
    }

    fn index(self) -> usize {
        Kind::ALL.iter().position(|&k| k == self).unwrap_or(0)
    }
}

/// The kinds of one cycle, interleaved by smooth weighted round robin (no kind twice in a row
/// when it can be avoided).
fn cycle(write_slots: usize) -> Vec<Kind> {
    let total: usize = Kind::ALL.iter().map(|k| k.weight(write_slots)).sum();
    let mut credit = [0i64; Kind::ALL.len()];
    (0..total)
        .map(|_| {
            for (c, k) in credit.iter_mut().zip(Kind::ALL) {
                *c += k.weight(write_slots) as i64;
            }
            let pick = (0..credit.len())
                .max_by_key(|&i| (credit[i], std::cmp::Reverse(i)))
                .unwrap_or(0);
            credit[pick] -= total as i64;
            Kind::ALL[pick]
        })
        .collect()
}

/// Sizes and pacing of the soak.
#[derive(Clone, Debug, Serialize)]
pub struct SoakConfig {
    /// Length of the open-loop run, seconds (rounded up to whole windows).
    pub secs: u64,
    /// Length of a recorded window, seconds.
    pub window_secs: u64,
    /// The closed-loop run that measures the maximum QPS: warm-up, then measured seconds.
    pub probe_warmup_ms: u64,
    pub probe_secs: u64,
    pub connections: usize,
    pub in_flight_per_connection: usize,
    /// Open-loop rate as a fraction of the measured maximum.
    pub load_fraction: f64,
    /// CreateObservation calls per cycle (the other 18 calls of the cycle stay as they are).
    pub write_slots: usize,
    /// A call not answered within this is dropped by the client and counted CLIENT_TIMEOUT.
    pub call_timeout_ms: u64,
    /// Calls outstanding above which a scheduled call is not sent (CLIENT_BACKLOG).
    pub max_outstanding: usize,
    /// Waiting for a quiet machine before the probe (as the load part).
    pub quiet_threshold_cores: f64,
    pub max_quiet_wait_s: u64,
    pub guard_noise: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct MixEntry {
    pub kind: Kind,
    pub share_pct: f64,
    pub request: &'static str,
}

/// The closed-loop run that measures the maximum QPS of the mix.
#[derive(Clone, Debug, Serialize)]
pub struct Probe {
    pub in_flight: usize,
    pub warmup_ms: u64,
    pub duration_ms: u64,
    pub qps: f64,
    pub latency: Latency,
    pub server_cpu_cores: f64,
    pub client_cpu_cores: f64,
    pub others_cpu_cores: f64,
    /// Every call of the probe, warm-up included, and the failed ones by code.
    pub calls: u64,
    pub errors: BTreeMap<String, u64>,
}

/// One window of the open-loop run.
#[derive(Clone, Debug, Serialize)]
pub struct Window {
    /// Seconds since the open-loop start at the window's start and end (the last window ends
    /// when the calls still in flight have ended).
    pub start_s: f64,
    pub end_s: f64,
    /// Calls that ended in the window (any outcome), per kind.
    pub calls: BTreeMap<&'static str, u64>,
    pub ok: u64,
    pub errors: BTreeMap<String, u64>,
    /// Calls ended per second.
    pub qps: f64,
    /// Latency of the OK calls, from their scheduled send time.
    pub p50_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
    pub rss_mb: Option<f64>,
    pub fds: Option<usize>,
    pub server_cpu_cores: f64,
    pub client_cpu_cores: f64,
    pub others_cpu_cores: f64,
    /// Worst delay of a send behind its schedule (the client's own lag).
    pub max_send_lag_us: f64,
    /// Calls in flight when the window closed.
    pub outstanding: usize,
}

/// Totals of one kind over the open-loop run.
#[derive(Clone, Debug, Serialize)]
pub struct KindTotal {
    pub kind: Kind,
    pub calls: u64,
    pub errors: u64,
    pub latency: Latency,
}

/// Whether every acknowledged write is there after the run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct WriteCheck {
    /// CreateObservation calls sent (probe and soak).
    pub sent: u64,
    /// Answered OK with the observation's name.
    pub acknowledged: u64,
    /// Acknowledged and present in GetHolding's series after the run.
    pub found: u64,
    /// Acknowledged but absent (first 20).
    pub missing: Vec<String>,
    /// Sent, not acknowledged (error or client timeout), yet stored: not a failure (the commit
    /// may precede a lost answer), reported for the record.
    pub stored_unacknowledged: u64,
    /// Observations per written holding after the run.
    pub series_lengths: BTreeMap<String, usize>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SoakResult {
    pub config: SoakConfig,
    pub mix: Vec<MixEntry>,
    pub probe: Probe,
    /// Open-loop rate: `load_fraction` × the probe's QPS.
    pub target_qps: f64,
    pub scheduled_calls: u64,
    /// Calls that ended, and those OK, in the open-loop run.
    pub calls: u64,
    pub ok_calls: u64,
    /// Failed calls of the open-loop run by gRPC code (CLIENT_TIMEOUT, CLIENT_BACKLOG and
    /// OK_WRONG_REPLY are the client's own), and the first message of each.
    pub errors: BTreeMap<String, u64>,
    pub first_errors: BTreeMap<String, String>,
    /// Every OK call of the open-loop run, from its scheduled send time.
    pub latency: Latency,
    /// Length of the "first minute" and "last minute" compared (a minute, or a third of a
    /// shorter run, in whole windows).
    pub edge_s: u64,
    pub p99_first_us: f64,
    pub p99_last_us: f64,
    /// p99 of the last minute ÷ p99 of the first.
    pub p99_drift: f64,
    /// VmRSS after SERVING, after the first minute of the open loop, at the end; VmHWM at
    /// the end.
    pub rss_start_mb: Option<f64>,
    pub rss_after_warmup_mb: Option<f64>,
    pub rss_end_mb: Option<f64>,
    pub rss_peak_mb: Option<f64>,
    /// End minus after warm-up.
    pub rss_growth_mb: f64,
    pub rss_growth_pct: f64,
    pub fds_start: Option<usize>,
    pub fds_after_warmup: Option<usize>,
    pub fds_end: Option<usize>,
    pub writes: WriteCheck,
    pub kinds: Vec<KindTotal>,
    pub windows: Vec<Window>,
    pub server_cpu_affinity: String,
    pub client_cpu_affinity: String,
    /// Lines of the server's log at ERROR and WARN level, and panics.
    pub server_log_errors: usize,
    pub server_log_warnings: usize,
    pub server_log_panics: usize,
}

/// How one call ended.
enum Outcome {
    Ok,
    WrongReply,
    Failed(Status),
    ClientTimeout,
    ClientBacklog,
}

/// `ResourceExhausted` → `RESOURCE_EXHAUSTED`.
fn code_name(code: tonic::Code) -> String {
    let mut out = String::new();
    for (i, c) in format!("{code:?}").chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// What ended in one window (or one phase of the probe).
#[derive(Default)]
struct Recorder {
    calls: [u64; Kind::ALL.len()],
    latency_ns: [Vec<u64>; Kind::ALL.len()],
    errors: BTreeMap<String, u64>,
    first_errors: BTreeMap<String, String>,
}

impl Recorder {
    fn record(&mut self, kind: Kind, nanos: u64, outcome: Outcome) {
        let k = kind.index();
        self.calls[k] += 1;
        let (key, message) = match outcome {
            Outcome::Ok => {
                self.latency_ns[k].push(nanos);
                return;
            }
            Outcome::WrongReply => ("OK_WRONG_REPLY".to_owned(), String::new()),
            Outcome::Failed(status) => (code_name(status.code()), status.message().to_owned()),
            Outcome::ClientTimeout => ("CLIENT_TIMEOUT".to_owned(), String::new()),
            Outcome::ClientBacklog => ("CLIENT_BACKLOG".to_owned(), String::new()),
        };
        *self.errors.entry(key.clone()).or_default() += 1;
        self.first_errors.entry(key).or_insert_with(|| {
            if message.is_empty() {
                kind.name().to_owned()
            } else {
                format!("{}: {message}", kind.name())
            }
        });
    }

    fn calls(&self) -> u64 {
        self.calls.iter().sum()
    }

    fn ok(&self) -> u64 {
        self.latency_ns.iter().map(|v| v.len() as u64).sum()
    }

    fn all_latencies(&self) -> Vec<u64> {
        self.latency_ns.concat()
    }
}

fn merge_counts(into: &mut BTreeMap<String, u64>, from: &BTreeMap<String, u64>) {
    for (k, v) in from {
        *into.entry(k.clone()).or_default() += v;
    }
}

/// One connection's clients.
#[derive(Clone)]
struct Conn {
    list: Caller,
    summarize: Caller,
    assess: Caller,
    score: Caller,
    assets: api::asset_service_client::AssetServiceClient<Channel>,
    scoring: api::scoring_service_client::ScoringServiceClient<Channel>,
}

impl Conn {
    fn new(channel: Channel) -> Conn {
        Conn {
            list: Caller::new(Target::ListHoldings, channel.clone()),
            summarize: Caller::new(Target::SummarizeHoldings, channel.clone()),
            assess: Caller::new(Target::AssessLegalRisk, channel.clone()),
            score: Caller::new(Target::ScoreScenario, channel.clone()),
            assets: asset_client(channel.clone()),
            scoring: api::scoring_service_client::ScoringServiceClient::new(channel)
                .max_decoding_message_size(MAX_MESSAGE),
        }
    }
}

/// A holding written to, with the currency of its current observation.
struct WriteTarget {
    name: String,
    currency: String,
}

#[derive(Default)]
struct Writes {
    sent: Vec<(usize, String)>,
    acknowledged: HashSet<String>,
}

/// What every call shares.
struct Ctx {
    cycle: Vec<Kind>,
    seq: AtomicU64,
    holdings: Vec<WriteTarget>,
    bearer: AsciiMetadataValue,
    tag: String,
    today_days: i64,
    batch: api::ScoreScenariosRequest,
    timeout: Duration,
    recorder: Mutex<Recorder>,
    writes: Mutex<Writes>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Ctx {
    fn next(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    fn kind(&self, seq: u64) -> Kind {
        self.cycle[(seq % self.cycle.len() as u64) as usize]
    }

    fn take(&self) -> Recorder {
        std::mem::take(&mut *lock(&self.recorder))
    }

    async fn call(&self, conn: &Conn, seq: u64) -> Result<bool, Status> {
        match self.kind(seq) {
            Kind::ListHoldings => conn.list.clone().call().await,
            Kind::SummarizeHoldings => conn.summarize.clone().call().await,
            Kind::AssessLegalRisk => conn.assess.clone().call().await,
            Kind::ScoreScenario => conn.score.clone().call().await,
            Kind::GetHolding => {
                let turn = seq / self.cycle.len() as u64;
                let name = READ_HOLDINGS[turn as usize % READ_HOLDINGS.len()];
                let reply = conn
                    .assets
                    .clone()
                    .get_holding(api::GetHoldingRequest {
                        name: name.into(),
                        as_of: None,
                    })
                    .await?
                    .into_inner();
                Ok(reply.name == name && !reply.observations.is_empty())
            }
            Kind::ScoreScenarios => {
                use api::scenario_outcome::Outcome as O;
                let reply = conn
                    .scoring
                    .clone()
                    .score_scenarios(self.batch.clone())
                    .await?
                    .into_inner();
                Ok(reply.outcomes.len() == BATCH
                    && reply
                        .outcomes
                        .iter()
                        .all(|o| matches!(&o.outcome, Some(O::Result(r)) if r.score.is_finite())))
            }
            Kind::CreateObservation => self.write(conn, seq).await,
        }
    }

    async fn write(&self, conn: &Conn, seq: u64) -> Result<bool, Status> {
        let id = format!("soak-{}-{seq}", self.tag);
        let (target, turn) = {
            let mut w = lock(&self.writes);
            let turn = w.sent.len();
            let target = turn % self.holdings.len();
            w.sent.push((target, id.clone()));
            (target, turn)
        };
        let h = &self.holdings[target];
        let day =
            leverage_core::Date::from_days_since_epoch(self.today_days - 1 - (turn % 28) as i64)
                .map_err(|e| Status::internal(e.to_string()))?;
        let mut request = Request::new(api::CreateObservationRequest {
            parent: h.name.clone(),
            observation_id: id.clone(),
            observation: Some(api::Observation {
                amount: Some(api::Money {
                    currency_code: h.currency.clone(),
                    units: 1_000_000_000 + (turn % 1000) as i64 * 1_000_000,
                    nanos: 0,
                }),
                as_of: date(day.year(), day.month() as i32, day.day() as i32),
                source: Some(api::Source {
                    publisher: "leverage-bench soak (synthetic write)".into(),
                    title: "SYNTHETIC soak-test observation".into(),
                    ..api::Source::default()
                }),
                confidence: api::Confidence::Low as i32,
                verified: false,
                note: format!("SYNTHETIC: written by leverage-bench soak run {}", self.tag),
                ..api::Observation::default()
            }),
        });
        request
            .metadata_mut()
            .insert("authorization", self.bearer.clone());
        let reply = conn
            .assets
            .clone()
            .create_observation(request)
            .await?
            .into_inner();
        let ok = reply.name == format!("{}/observations/{id}", h.name);
        if ok {
            lock(&self.writes).acknowledged.insert(id);
        }
        Ok(ok)
    }

    /// One call, its latency counted from `from` (its send time in the closed loop, its
    /// scheduled time in the open loop).
    async fn timed(self: Arc<Self>, conn: Conn, seq: u64, from: Instant) {
        let kind = self.kind(seq);
        let outcome = match tokio::time::timeout(self.timeout, self.call(&conn, seq)).await {
            Ok(Ok(true)) => Outcome::Ok,
            Ok(Ok(false)) => Outcome::WrongReply,
            Ok(Err(status)) => Outcome::Failed(status),
            Err(_) => Outcome::ClientTimeout,
        };
        let nanos = from.elapsed().as_nanos() as u64;
        lock(&self.recorder).record(kind, nanos, outcome);
    }
}

fn batch() -> api::ScoreScenariosRequest {
    api::ScoreScenariosRequest {
        plugin: "plugins/pressure-index".into(),
        scenarios: (0..BATCH)
            .map(|i| api::Scenario {
                interest_rate_pct: Some(0.5 * i as f64),
                ..reparations_loan()
            })
            .collect(),
    }
}

fn random_hex(bytes: usize) -> anyhow::Result<String> {
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// The token's digest, from the server binary itself (`leverage token hash`).
fn token_digest(bin: &Path, token: &str) -> anyhow::Result<String> {
    let mut child = Command::new(bin)
        .args(["token", "hash"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("{} token hash", bin.display()))?;
    child
        .stdin
        .take()
        .context("stdin of token hash")?
        .write_all(token.as_bytes())?;
    let out = child.wait_with_output()?;
    let digest = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() || digest.len() != 64 {
        bail!(
            "`leverage token hash` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(digest)
}

/// Creates the holdings written to: located, sanctioned entities' cash, SYNTHETIC in their
/// scope and source, each with a first observation of EUR 1 bn dated 2026-01-31.
async fn write_targets(
    conn: &Conn,
    bearer: &AsciiMetadataValue,
    tag: &str,
) -> anyhow::Result<Vec<WriteTarget>> {
    let mut out = Vec::with_capacity(WRITE_HOLDINGS);
    for i in 0..WRITE_HOLDINGS {
        let id = format!("soak-{tag}-h{i}");
        let mut request = Request::new(api::CreateHoldingRequest {
            holding_id: id.clone(),
            holding: Some(api::Holding {
                kind: api::HoldingKind::Located as i32,
                scope: format!("SYNTHETIC holding {i} of the leverage-bench soak run {tag}"),
                owner_kind: api::OwnerKind::SanctionedEntities as i32,
                jurisdiction: WRITE_JURISDICTIONS[i % WRITE_JURISDICTIONS.len()].into(),
                instrument: api::AssetInstrument::Cash as i32,
                observations: vec![api::Observation {
                    amount: Some(api::Money {
                        currency_code: "EUR".into(),
                        units: 1_000_000_000,
                        nanos: 0,
                    }),
                    as_of: date(2026, 1, 31),
                    source: Some(api::Source {
                        publisher: "leverage-bench soak (synthetic write)".into(),
                        title: "SYNTHETIC soak-test holding".into(),
                        ..api::Source::default()
                    }),
                    confidence: api::Confidence::Low as i32,
                    ..api::Observation::default()
                }],
                ..api::Holding::default()
            }),
        });
        request
            .metadata_mut()
            .insert("authorization", bearer.clone());
        let created = conn
            .assets
            .clone()
            .create_holding(request)
            .await
            .with_context(|| format!("CreateHolding {id}"))?
            .into_inner();
        out.push(WriteTarget {
            name: created.name,
            currency: "EUR".into(),
        });
    }
    Ok(out)
}

/// The closed-loop run: `connections × in_flight` callers, each calling again as soon as
/// answered.
async fn probe(
    ctx: &Arc<Ctx>,
    conns: &[Conn],
    pid: u32,
    config: &SoakConfig,
) -> anyhow::Result<Probe> {
    let start = Instant::now();
    let measure_from = start + Duration::from_millis(config.probe_warmup_ms);
    let end = measure_from + Duration::from_secs(config.probe_secs);
    let mut tasks = tokio::task::JoinSet::new();
    for conn in conns {
        for _ in 0..config.in_flight_per_connection {
            let (ctx, conn) = (Arc::clone(ctx), conn.clone());
            tasks.spawn(async move {
                while Instant::now() < end {
                    let seq = ctx.next();
                    Arc::clone(&ctx)
                        .timed(conn.clone(), seq, Instant::now())
                        .await;
                }
            });
        }
    }
    tokio::time::sleep_until(measure_from.into()).await;
    let warm = ctx.take();
    let a = CpuSample::take(Some(pid));
    tokio::time::sleep_until(end.into()).await;
    let measured = ctx.take();
    let b = CpuSample::take(Some(pid));
    while tasks.join_next().await.transpose()?.is_some() {}
    let tail = ctx.take();
    let cpu = a.until(&b);
    let mut errors = BTreeMap::new();
    for r in [&warm, &measured, &tail] {
        merge_counts(&mut errors, &r.errors);
    }
    if !errors.is_empty() {
        let first: Vec<String> = [&warm, &measured, &tail]
            .iter()
            .flat_map(|r| r.first_errors.iter().map(|(k, v)| format!("{k} ({v})")))
            .collect();
        bail!(
            "the probe had failed calls, so its maximum means nothing: {errors:?}; first: {}",
            first.join("; ")
        );
    }
    Ok(Probe {
        in_flight: conns.len() * config.in_flight_per_connection,
        warmup_ms: config.probe_warmup_ms,
        duration_ms: config.probe_secs * 1000,
        qps: measured.ok() as f64 / config.probe_secs as f64,
        latency: Latency::from_nanos(&mut measured.all_latencies()),
        server_cpu_cores: cpu.server,
        client_cpu_cores: cpu.client,
        others_cpu_cores: cpu.others + cpu.steal,
        calls: warm.calls() + measured.calls() + tail.calls(),
        errors,
    })
}

/// The open-loop run, window by window.
struct OpenLoop {
    scheduled: u64,
    windows: Vec<Window>,
    /// OK latencies of each window.
    samples: Vec<Vec<u64>>,
    /// OK latencies per kind over the run, calls and errors per kind.
    per_kind: Vec<(Vec<u64>, u64, u64)>,
    errors: BTreeMap<String, u64>,
    first_errors: BTreeMap<String, String>,
}

struct WindowClock {
    started: Instant,
    /// Start of the current window, seconds after `started`.
    window_start_s: f64,
    cpu: CpuSample,
    max_lag: Duration,
}

impl OpenLoop {
    fn close(&mut self, ctx: &Ctx, clock: &mut WindowClock, pid: u32, outstanding: usize) {
        let rec = ctx.take();
        let cpu_now = CpuSample::take(Some(pid));
        let cpu = clock.cpu.until(&cpu_now);
        let mut lat = rec.all_latencies();
        let l = Latency::from_nanos(&mut lat);
        let end_s = clock.started.elapsed().as_secs_f64();
        let window = Window {
            start_s: clock.window_start_s,
            end_s,
            calls: Kind::ALL
                .iter()
                .map(|k| (k.name(), rec.calls[k.index()]))
                .collect(),
            ok: rec.ok(),
            errors: rec.errors.clone(),
            qps: rec.calls() as f64 / (end_s - clock.window_start_s).max(1e-9),
            p50_us: l.p50_us,
            p99_us: l.p99_us,
            p999_us: l.p999_us,
            max_us: l.max_us,
            rss_mb: memory_mb(pid, "VmRSS"),
            fds: open_fds(pid),
            server_cpu_cores: cpu.server,
            client_cpu_cores: cpu.client,
            others_cpu_cores: cpu.others + cpu.steal,
            max_send_lag_us: clock.max_lag.as_secs_f64() * 1e6,
            outstanding,
        };
        clock.cpu = cpu_now;
        clock.max_lag = Duration::ZERO;
        clock.window_start_s = end_s;
        for (k, (latencies, calls, failed)) in self.per_kind.iter_mut().enumerate() {
            latencies.extend_from_slice(&rec.latency_ns[k]);
            *calls += rec.calls[k];
            *failed += rec.calls[k] - rec.latency_ns[k].len() as u64;
        }
        merge_counts(&mut self.errors, &rec.errors);
        let calls = rec.calls();
        for (k, v) in rec.first_errors {
            self.first_errors.entry(k).or_insert(v);
        }
        let errors: u64 = window.errors.values().sum();
        eprintln!(
            "[soak] {:>6.0} s  {:>6} calls  {:>4} errors  p50 {:>9}  p99 {:>9}  p99.9 {:>9}  RSS {:>6.1} MB  fds {:>4}  server {:.2} client {:.2} others {:.2} cores  lag {:>8}",
            window.end_s,
            calls,
            errors,
            ms(window.p50_us),
            ms(window.p99_us),
            ms(window.p999_us),
            window.rss_mb.unwrap_or(f64::NAN),
            window.fds.map_or("?".into(), |f| f.to_string()),
            window.server_cpu_cores,
            window.client_cpu_cores,
            window.others_cpu_cores,
            ms(window.max_send_lag_us)
        );
        self.samples.push(lat);
        self.windows.push(window);
    }
}

/// Sends calls at `rate` per second, each at its scheduled time whatever the answers, for
/// whole windows.
async fn open_loop(
    ctx: &Arc<Ctx>,
    conns: &[Conn],
    pid: u32,
    rate: f64,
    config: &SoakConfig,
) -> anyhow::Result<OpenLoop> {
    let window = Duration::from_secs(config.window_secs.max(1));
    let n_windows = config.secs.div_ceil(config.window_secs.max(1)).max(1) as u32;
    let mut out = OpenLoop {
        scheduled: 0,
        windows: Vec::new(),
        samples: Vec::new(),
        per_kind: vec![(Vec::new(), 0, 0); Kind::ALL.len()],
        errors: BTreeMap::new(),
        first_errors: BTreeMap::new(),
    };
    ctx.take();
    let start = Instant::now() + Duration::from_millis(50);
    let end = start + window * n_windows;
    let mut clock = WindowClock {
        started: start,
        window_start_s: 0.0,
        cpu: CpuSample::take(Some(pid)),
        max_lag: Duration::ZERO,
    };
    let mut next_close = start + window;
    let mut tasks = tokio::task::JoinSet::new();
    let mut i: u64 = 0;
    loop {
        let at = start + Duration::from_secs_f64(i as f64 / rate);
        if at >= end {
            break;
        }
        while next_close <= at {
            tokio::time::sleep_until(next_close.into()).await;
            while tasks.try_join_next().is_some() {}
            out.close(ctx, &mut clock, pid, tasks.len());
            next_close += window;
        }
        tokio::time::sleep_until(at.into()).await;
        while tasks.try_join_next().is_some() {}
        clock.max_lag = clock.max_lag.max(Instant::now().duration_since(at));
        let seq = ctx.next();
        if tasks.len() >= config.max_outstanding {
            lock(&ctx.recorder).record(ctx.kind(seq), 0, Outcome::ClientBacklog);
        } else {
            let conn = conns[i as usize % conns.len()].clone();
            tasks.spawn(Arc::clone(ctx).timed(conn, seq, at));
        }
        i += 1;
    }
    out.scheduled = i;
    // The last window also takes the calls still in flight at the end (each ends by its
    // timeout at the latest).
    tokio::time::sleep_until(end.into()).await;
    while tasks.join_next().await.transpose()?.is_some() {}
    out.close(ctx, &mut clock, pid, 0);
    Ok(out)
}

/// Reads every written holding back and checks each acknowledged write is in its series.
async fn check_writes(ctx: &Ctx, conn: &Conn) -> anyhow::Result<WriteCheck> {
    let mut stored: Vec<HashSet<String>> = Vec::new();
    let mut check = WriteCheck::default();
    for h in &ctx.holdings {
        let reply = conn
            .assets
            .clone()
            .get_holding(api::GetHoldingRequest {
                name: h.name.clone(),
                as_of: None,
            })
            .await
            .with_context(|| format!("reading {} back", h.name))?
            .into_inner();
        check
            .series_lengths
            .insert(h.name.clone(), reply.observations.len());
        stored.push(reply.observations.into_iter().map(|o| o.id).collect());
    }
    let w = lock(&ctx.writes);
    check.sent = w.sent.len() as u64;
    check.acknowledged = w.acknowledged.len() as u64;
    for (target, id) in &w.sent {
        let present = stored[*target].contains(id);
        match (w.acknowledged.contains(id), present) {
            (true, true) => check.found += 1,
            (true, false) => {
                if check.missing.len() < 20 {
                    check
                        .missing
                        .push(format!("{}/observations/{id}", ctx.holdings[*target].name));
                }
            }
            (false, true) => check.stored_unacknowledged += 1,
            (false, false) => {}
        }
    }
    Ok(check)
}

/// Lines of the server log at ERROR and WARN level, and panics.
/// The spread of the written holdings' series lengths (each holding is in the JSON file).
fn series_spread(lengths: &BTreeMap<String, usize>) -> String {
    let mut n: Vec<usize> = lengths.values().copied().collect();
    n.sort_unstable();
    match (n.first(), n.last()) {
        (Some(min), Some(max)) => format!(
            "{min} to {max} observations (median {}) over {} holdings",
            n[n.len() / 2],
            n.len()
        ),
        _ => "no holdings".to_owned(),
    }
}

fn log_counts(log: &Path) -> (usize, usize, usize) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let count = |needle: &str| text.lines().filter(|l| l.contains(needle)).count();
    (count(" ERROR "), count(" WARN "), count("panicked"))
}

/// The p99 of the OK calls of some windows.
fn p99_of(samples: &[Vec<u64>]) -> f64 {
    Latency::from_nanos(&mut samples.concat()).p99_us
}

pub async fn run(
    bin: &Path,
    options: &ServerOptions,
    config: &SoakConfig,
    logs: &Path,
) -> anyhow::Result<SoakResult> {
    // An editor token made for this run; the server gets only its digest, in a tokens file.
    let token = random_hex(24)?;
    let tag = random_hex(4)?;
    let digest = token_digest(bin, &token)?;
    let data = tempfile::tempdir()?;
    let tokens_dir = tempfile::tempdir()?;
    let tokens_file = tokens_dir.path().join("tokens.toml");
    std::fs::write(
        &tokens_file,
        format!(
            "reads_open = true\n\n[[token]]\nname = \"soak\"\nrole = \"editor\"\nsha256 = \"{digest}\"\n"
        ),
    )?;
    let log = logs.join("leverage.log");
    let mut server = spawn_leverage_with(
        bin,
        data.path(),
        options,
        &log,
        &["--tokens-file".as_ref(), tokens_file.as_os_str()],
    )?;
    wait_serving(&mut server, Duration::from_secs(120), false).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = server.pid();
    let rss_start_mb = memory_mb(pid, "VmRSS");
    let fds_start = open_fds(pid);

    let mut conns = Vec::with_capacity(config.connections.max(1));
    for _ in 0..config.connections.max(1) {
        conns.push(Conn::new(
            connect(server.addr)
                .await
                .context("connecting the soak client")?,
        ));
    }
    let bearer: AsciiMetadataValue = format!("Bearer {token}")
        .parse()
        .context("token as a header")?;
    let ctx = Arc::new(Ctx {
        cycle: cycle(config.write_slots),
        seq: AtomicU64::new(0),
        holdings: write_targets(&conns[0], &bearer, &tag).await?,
        bearer,
        tag,
        today_days: leverage_core::Date::today().days_since_epoch(),
        batch: batch(),
        timeout: Duration::from_millis(config.call_timeout_ms),
        recorder: Mutex::new(Recorder::default()),
        writes: Mutex::new(Writes::default()),
    });

    if config.guard_noise {
        let (busy, waited) = wait_quiet(
            config.quiet_threshold_cores,
            Duration::from_secs(config.max_quiet_wait_s),
        )
        .await;
        eprintln!("[soak] machine at {busy:.2} cores before the probe (waited {waited:.0} s)");
    }
    let probe = probe(&ctx, &conns, pid, config).await?;
    eprintln!(
        "[soak] maximum of the mix, closed loop, {} in flight: {:.0} req/s, p50 {}, p99 {}; server {:.2} client {:.2} others {:.2} cores",
        probe.in_flight,
        probe.qps,
        ms(probe.latency.p50_us),
        ms(probe.latency.p99_us),
        probe.server_cpu_cores,
        probe.client_cpu_cores,
        probe.others_cpu_cores
    );
    let rate = probe.qps * config.load_fraction;
    if rate.is_nan() || rate < 1.0 {
        bail!(
            "the probe measured {:.1} req/s: nothing to soak at",
            probe.qps
        );
    }
    let n_windows = config.secs.div_ceil(config.window_secs.max(1)).max(1) as usize;
    let edge_windows = (60 / config.window_secs.max(1) as usize).clamp(1, (n_windows / 3).max(1));
    eprintln!(
        "[soak] open loop at {:.0} req/s ({:.0} % of the maximum) for {} s, windows of {} s",
        rate,
        config.load_fraction * 100.0,
        n_windows as u64 * config.window_secs,
        config.window_secs
    );
    let run = open_loop(&ctx, &conns, pid, rate, config).await?;
    server.check_alive()?;
    let rss_end_mb = memory_mb(pid, "VmRSS");
    let rss_peak_mb = memory_mb(pid, "VmHWM");
    let fds_end = open_fds(pid);
    let writes = check_writes(&ctx, &conns[0]).await?;
    server.check_alive()?;
    let server_cpu_affinity = cpus_allowed(&pid.to_string());
    drop(conns);
    server.stop(Duration::from_secs(15)).await?;
    let (server_log_errors, server_log_warnings, server_log_panics) = log_counts(&log);

    let edge = edge_windows.min(run.samples.len());
    let p99_first_us = p99_of(&run.samples[..edge]);
    let p99_last_us = p99_of(&run.samples[run.samples.len() - edge..]);
    // "After warm-up": at the end of the first minute's last window.
    let warm = &run.windows[edge - 1];
    let (rss_after_warmup_mb, fds_after_warmup) = (warm.rss_mb, warm.fds);
    let growth = match (rss_after_warmup_mb, rss_end_mb) {
        (Some(a), Some(b)) => b - a,
        _ => f64::NAN,
    };
    let total = ctx.cycle.len() as f64;
    Ok(SoakResult {
        mix: Kind::ALL
            .iter()
            .map(|&kind| MixEntry {
                kind,
                share_pct: 100.0 * kind.weight(config.write_slots) as f64 / total,
                request: kind.request(),
            })
            .collect(),
        probe,
        target_qps: rate,
        scheduled_calls: run.scheduled,
        calls: run.per_kind.iter().map(|k| k.1).sum(),
        ok_calls: run.per_kind.iter().map(|k| k.0.len() as u64).sum(),
        errors: run.errors,
        first_errors: run.first_errors,
        latency: Latency::from_nanos(&mut run.samples.concat()),
        edge_s: edge as u64 * config.window_secs,
        p99_first_us,
        p99_last_us,
        p99_drift: p99_last_us / p99_first_us,
        rss_start_mb,
        rss_after_warmup_mb,
        rss_end_mb,
        rss_peak_mb,
        rss_growth_mb: growth,
        rss_growth_pct: rss_after_warmup_mb.map_or(f64::NAN, |a| 100.0 * growth / a),
        fds_start,
        fds_after_warmup,
        fds_end,
        writes,
        kinds: Kind::ALL
            .iter()
            .zip(run.per_kind)
            .map(|(&kind, (mut lat, calls, errors))| KindTotal {
                kind,
                calls,
                errors,
                latency: Latency::from_nanos(&mut lat),
            })
            .collect(),
        windows: run.windows,
        server_cpu_affinity,
        client_cpu_affinity: cpus_allowed("self"),
        server_log_errors,
        server_log_warnings,
        server_log_panics,
        config: config.clone(),
    })
}

fn opt_mb(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.1} MB"))
}

fn opt_n(v: Option<usize>) -> String {
    v.map_or("–".into(), |v| v.to_string())
}

fn counts(map: &BTreeMap<String, u64>) -> String {
    if map.is_empty() {
        return "none".into();
    }
    map.iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl SoakResult {
    fn failed_calls(&self) -> u64 {
        self.errors.values().sum::<u64>() + self.probe.errors.values().sum::<u64>()
    }

    pub fn gates(&self, pinned: Option<(usize, usize)>) -> Vec<Gate> {
        let w = &self.writes;
        let mut gates = vec![
            Gate {
                part: "soak",
                name: "every acknowledged write is readable after the run".into(),
                passed: (w.sent == 0 || w.acknowledged > 0) && w.found == w.acknowledged,
                detail: format!(
                    "{} sent, {} acknowledged, {} found{}",
                    w.sent,
                    w.acknowledged,
                    w.found,
                    if w.missing.is_empty() {
                        String::new()
                    } else {
                        format!("; missing: {}", w.missing.join(", "))
                    }
                ),
            },
            Gate {
                part: "soak",
                name: "every call returned OK with a plausible reply".into(),
                passed: self.failed_calls() == 0,
                detail: format!(
                    "{} calls, failed: {}",
                    self.calls + self.probe.calls,
                    counts(&self.errors)
                ),
            },
            Gate {
                part: "soak",
                name: "the server logged no panic".into(),
                passed: self.server_log_panics == 0,
                detail: format!(
                    "{} ERROR and {} WARN lines",
                    self.server_log_errors, self.server_log_warnings
                ),
            },
        ];
        if let Some((server, client)) = pinned {
            gates.push(Gate {
                part: "soak",
                name: "server and load generator pinned to different cores".into(),
                passed: self.server_cpu_affinity == server.to_string()
                    && self.client_cpu_affinity == client.to_string(),
                detail: format!(
                    "server Cpus_allowed_list {}, client {}",
                    self.server_cpu_affinity, self.client_cpu_affinity
                ),
            });
        }
        gates
    }

    pub fn rows(&self) -> Vec<SummaryRow> {
        let row = |item: String, value: String, relative: String| SummaryRow {
            part: "soak",
            item,
            value,
            relative,
            goal: String::new(),
            met: None,
        };
        let secs = self.windows.len() as u64 * self.config.window_secs;
        vec![
            row(
                format!(
                    "maximum of the mix (closed loop, {} in flight, {} s)",
                    self.probe.in_flight, self.config.probe_secs
                ),
                format!(
                    "{} req/s · p99 {} · server CPU {:.0}%",
                    thousands(self.probe.qps),
                    ms(self.probe.latency.p99_us),
                    100.0 * self.probe.server_cpu_cores
                ),
                String::new(),
            ),
            row(
                format!(
                    "open loop at {:.0}% = {} req/s for {secs} s",
                    100.0 * self.config.load_fraction,
                    thousands(self.target_qps)
                ),
                format!(
                    "{} calls · {} failed · p50 {} · p99 {} · p99.9 {}",
                    thousands(self.calls as f64),
                    thousands(self.errors.values().sum::<u64>() as f64),
                    ms(self.latency.p50_us),
                    ms(self.latency.p99_us),
                    ms(self.latency.p999_us)
                ),
                format!("errors: {}", counts(&self.errors)),
            ),
            row(
                format!("p99, first {0} s → last {0} s", self.edge_s),
                format!("{} → {}", ms(self.p99_first_us), ms(self.p99_last_us)),
                format!("drift {}", x(self.p99_drift)),
            ),
            row(
                format!(
                    "server RSS: start · after the first {} s · end (peak)",
                    self.edge_s
                ),
                format!(
                    "{} · {} · {} ({})",
                    opt_mb(self.rss_start_mb),
                    opt_mb(self.rss_after_warmup_mb),
                    opt_mb(self.rss_end_mb),
                    opt_mb(self.rss_peak_mb)
                ),
                format!(
                    "growth {:+.1} MB ({:+.1}%)",
                    self.rss_growth_mb, self.rss_growth_pct
                ),
            ),
            row(
                format!(
                    "server open fds: start · after the first {} s · end",
                    self.edge_s
                ),
                format!(
                    "{} · {} · {}",
                    opt_n(self.fds_start),
                    opt_n(self.fds_after_warmup),
                    opt_n(self.fds_end)
                ),
                match (self.fds_after_warmup, self.fds_end) {
                    (Some(a), Some(b)) => format!("growth {:+}", b as i64 - a as i64),
                    _ => String::new(),
                },
            ),
            row(
                "writes acknowledged → found after the run".into(),
                format!(
                    "{} → {}",
                    thousands(self.writes.acknowledged as f64),
                    thousands(self.writes.found as f64)
                ),
                format!(
                    "{} sent; {} stored without an answer",
                    thousands(self.writes.sent as f64),
                    self.writes.stored_unacknowledged
                ),
            ),
        ]
    }

    pub fn markdown(&self) -> String {
        use std::fmt::Write as _;
        let c = &self.config;
        let mut md = String::new();
        let _ = writeln!(
            md,
            "\n## Soak (issue 5)\n\nThe mix's maximum, closed loop ({} connections × {} in flight, {} ms warm-up, {} s measured): {} req/s. \
             Then an open loop at {:.0}% of it, {} req/s, on {} connections: each call sent at its scheduled time whatever the answers, \
             its latency counted from that time (queueing and the client's own lag included); a call unanswered after {} ms counts CLIENT_TIMEOUT. \
             Windows of {} s; RSS is VmRSS, fds the entries of /proc/PID/fd.\n",
            c.connections,
            c.in_flight_per_connection,
            c.probe_warmup_ms,
            c.probe_secs,
            thousands(self.probe.qps),
            100.0 * c.load_fraction,
            thousands(self.target_qps),
            c.connections,
            c.call_timeout_ms,
            c.window_secs
        );
        md.push_str("| kind | share | request |\n|---|---|---|\n");
        for m in &self.mix {
            let _ = writeln!(
                md,
                "| {} | {:.0}% | {} |",
                m.kind.name(),
                m.share_pct,
                m.request
            );
        }
        md.push_str("\n| kind | calls | failed | p50 | p99 | p99.9 | max |\n|---|---|---|---|---|---|---|\n");
        for k in &self.kinds {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} |",
                k.kind.name(),
                thousands(k.calls as f64),
                k.errors,
                ms(k.latency.p50_us),
                ms(k.latency.p99_us),
                ms(k.latency.p999_us),
                ms(k.latency.max_us)
            );
        }
        let _ = writeln!(
            md,
            "\nErrors by code: {}.{}\n",
            counts(&self.errors),
            self.first_errors
                .iter()
                .map(|(k, v)| format!(" First {k}: {v}."))
                .collect::<String>()
        );
        md.push_str("| end | calls | failed | req/s | p50 | p99 | p99.9 | max | RSS | fds | server CPU | client CPU | others | send lag | in flight |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for w in &self.windows {
            let _ = writeln!(
                md,
                "| {:.0} s | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {} | {} |",
                w.end_s,
                thousands(w.calls.values().sum::<u64>() as f64),
                w.errors.values().sum::<u64>(),
                thousands(w.qps),
                ms(w.p50_us),
                ms(w.p99_us),
                ms(w.p999_us),
                ms(w.max_us),
                opt_mb(w.rss_mb),
                opt_n(w.fds),
                w.server_cpu_cores,
                w.client_cpu_cores,
                w.others_cpu_cores,
                ms(w.max_send_lag_us),
                w.outstanding
            );
        }
        let _ = writeln!(
            md,
            "\nWrites: {} sent, {} acknowledged, {} found after the run, {} stored without an answer; series lengths after the run: {}. \
             Server log: {} ERROR, {} WARN lines, {} panics.",
            self.writes.sent,
            self.writes.acknowledged,
            self.writes.found,
            self.writes.stored_unacknowledged,
            series_spread(&self.writes.series_lengths),
            self.server_log_errors,
            self.server_log_warnings,
            self.server_log_panics
        );
        md
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cycle_has_the_documented_shares_and_spreads_each_kind() {
        let c = cycle(WRITE_SLOTS);
        assert_eq!(c.len(), 20);
        for k in Kind::ALL {
            let n = c.iter().filter(|&&x| x == k).count();
            assert_eq!(n, k.weight(WRITE_SLOTS), "{k:?}");
        }
        let reads = [
            Kind::ListHoldings,
            Kind::SummarizeHoldings,
            Kind::AssessLegalRisk,
            Kind::GetHolding,
        ];
        let share =
            |ks: &[Kind]| ks.iter().map(|k| k.weight(WRITE_SLOTS)).sum::<usize>() * 100 / 20;
        assert_eq!(share(&reads), 60);
        assert_eq!(share(&[Kind::ScoreScenario, Kind::ScoreScenarios]), 30);
        assert_eq!(share(&[Kind::CreateObservation]), 10);
        assert!(c.windows(2).all(|w| w[0] != w[1]), "{c:?}");
        let without_writes = cycle(0);
        assert_eq!(without_writes.len(), 20 - WRITE_SLOTS);
        assert!(!without_writes.contains(&Kind::CreateObservation));
    }

    #[test]
    fn codes_are_named_as_in_grpc() {
        assert_eq!(
            code_name(tonic::Code::ResourceExhausted),
            "RESOURCE_EXHAUSTED"
        );
        assert_eq!(code_name(tonic::Code::Ok), "OK");
        assert_eq!(
            code_name(tonic::Code::DeadlineExceeded),
            "DEADLINE_EXCEEDED"
        );
    }
}
