//! The soak of issue 5 (point 7; not in CI): the real release server with an editor token made
//! for the run, its maximum QPS for a mix of reads, scoring and writes measured first (closed
//! loop, as the load part), then an open-loop client at a fraction of it (80 % by default) for
//! ten minutes. Latency is measured from each call's scheduled send time, so that queueing
//! shows. Every window (10 s) records the calls per kind, the errors by gRPC code, p50/p99/p99.9,
//! the server's RSS and its open file descriptors; at the end every acknowledged write must be
//! readable. See `bench/README.md` ("Soak").

mod calls;
mod check;
mod mix;
mod phases;
mod result;
mod setup;
mod summary;

use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use tonic::metadata::AsciiMetadataValue;

use self::calls::{Conn, Ctx, Recorder, Writes};
use self::check::{check_writes, log_counts, p99_of};
pub use self::mix::WRITE_SLOTS;
use self::mix::{Kind, batch, cycle};
use self::phases::{open_loop, probe};
use self::result::{KindTotal, MixEntry};
pub use self::result::{SoakConfig, SoakResult};
use self::setup::{random_hex, token_digest, write_targets};
use crate::load::wait_quiet;
use crate::server::{ServerOptions, connect, spawn_leverage_with, wait_serving};
use crate::stats::Latency;
use crate::sys::{cpus_allowed, memory_mb, open_fds};
use crate::table::ms;

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
