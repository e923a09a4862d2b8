//! What a soak is asked to do and what it records: the JSON of `bench/results/soak*.json`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::mix::Kind;
use crate::stats::Latency;

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
