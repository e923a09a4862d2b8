//! The two phases of load: the closed-loop probe of the mix's maximum, then the open loop at a
//! fraction of it, recorded window by window.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;

use super::calls::{Conn, Ctx, Outcome, lock, merge_counts};
use super::mix::Kind;
use super::result::{Probe, SoakConfig, Window};
use crate::stats::Latency;
use crate::sys::{CpuSample, memory_mb, open_fds};
use crate::table::ms;

/// The closed-loop run: `connections × in_flight` callers, each calling again as soon as
/// answered.
pub(super) async fn probe(
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
pub(super) struct OpenLoop {
    pub(super) scheduled: u64,
    pub(super) windows: Vec<Window>,
    /// OK latencies of each window.
    pub(super) samples: Vec<Vec<u64>>,
    /// OK latencies per kind over the run, calls and errors per kind.
    pub(super) per_kind: Vec<(Vec<u64>, u64, u64)>,
    pub(super) errors: BTreeMap<String, u64>,
    pub(super) first_errors: BTreeMap<String, String>,
}

pub(super) struct WindowClock {
    pub(super) started: Instant,
    /// Start of the current window, seconds after `started`.
    pub(super) window_start_s: f64,
    pub(super) cpu: CpuSample,
    pub(super) max_lag: Duration,
}

impl OpenLoop {
    pub(super) fn close(
        &mut self,
        ctx: &Ctx,
        clock: &mut WindowClock,
        pid: u32,
        outstanding: usize,
    ) {
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
pub(super) async fn open_loop(
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
