//! `leverage-bench`: the benchmark suite of issue 4.
//!
//! `cargo run --release -p leverage-bench -- all` runs every part, prints one table and writes
//! `bench/results/latest.json` and `latest.md`. See `bench/README.md` for the method.

mod boundary;
mod compression;
mod hello;
mod load;
mod prepare;
mod raw;
mod replicas;
mod report;
mod scale;
mod server;
mod soak;
mod startup;
mod stats;
mod sweep;
mod sys;
mod table;
mod versions;

// The allocator the leverage server uses, so that the hello-world baseline (served from this
// binary) differs from the server under test by the handlers only, and the load generator,
// which decodes replies of up to 18 KB, does not saturate its core before the server does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::boundary::BoundaryConfig;
use crate::load::{Endpoints, LoadConfig, Target};
use crate::report::{Memory, Results};
use crate::scale::ScaleConfig;
use crate::server::{ServerOptions, spawn_hello, spawn_leverage, wait_hello, wait_serving};
use crate::soak::SoakConfig;
use crate::startup::StartupConfig;
use crate::sweep::SweepConfig;
use crate::sys::memory_mb;
use crate::table::Gate;

#[derive(Parser, Debug)]
#[command(
    name = "leverage-bench",
    about = "Benchmarks of the leverage server beside a bare tonic hello-world server (issue 4)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    options: Options,
}

#[derive(Subcommand, Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    /// Every part below, one table, results in bench/results/latest.{json,md}.
    All,
    /// 1. gRPC load against leverage and a bare tonic hello-world server.
    Load,
    /// 2. The plugin boundary: native, raw C ABI, and the host path.
    Boundary,
    /// 3. A sweep of steps² scenarios streamed by SweepScenario.
    Sweep,
    /// 4. Summaries and lists over synthetic data, beside SQLite.
    Scale,
    /// 5. Start-up time to SERVING and idle memory.
    Startup,
    /// Every part with tiny sizes, in seconds (debug builds; used by the integration test).
    Smoke,
    /// Part 6, the cost of keeping every version (issue 11): start-up, memory, correction
    /// and creation latency, pinned reads, on the shipped data, 10 k and 1 M observations.
    /// Not part of `all`; writes bench/results/versions.json.
    Versions,
    /// Part 7, scale-out (issue 13; not part of `all`): replicas on a throwaway PostgreSQL
    /// beside SQLite: reads of one replica on each, write latency, how soon another replica
    /// sees a write, reads of 1, 2 and 3 replicas. Writes bench/results/replicas.json.
    Replicas,
    /// Issue 5's soak (not part of `all`): the mix's maximum QPS, then an open loop at 80 % of
    /// it for --soak-secs (10 min), with writes; errors, p99 drift, memory and fd growth.
    Soak,
    /// Issue 16 (not part of `all`): the ~17 KB list and assessment replies with none, gzip
    /// and zstd: bytes on the wire and QPS (--runs rounds of --connections × --in-flight
    /// callers, each round all three encodings). Writes bench/results/compression.json.
    Compression,
    /// The bare tonic hello-world server (started by the load part in its own process).
    HelloServer {
        #[arg(long)]
        listen: SocketAddr,
    },
}

#[derive(Args, Debug, Clone)]
struct Options {
    /// Server binary to run instead of the one the bench builds (`cargo build --release`); its
    /// directory must hold the bundled plugins, and it must be newer than every server source
    /// file and commit.
    #[arg(long, global = true, env = "LEVERAGE_BENCH_SERVER_BIN")]
    server_bin: Option<PathBuf>,
    /// Run a --server-bin older than the server's sources anyway (the report says so).
    #[arg(long, global = true)]
    allow_stale_server: bool,
    /// Let a debug build of the bench run a measuring command, to try the machinery: its load
    /// generator and timing loops are then too slow for any figure to mean anything.
    #[arg(long, global = true)]
    allow_debug: bool,
    /// Directory for the results (default bench/results; for smoke target/bench-smoke/results).
    #[arg(long, global = true)]
    out: Option<PathBuf>,
    /// Do not pin the servers and the load generator to CPUs 0 and 1.
    #[arg(long, global = true)]
    no_pin: bool,
    /// LEVERAGE_LOG for the leverage server (default: unset, i.e. its default `info`).
    #[arg(long, global = true)]
    server_log: Option<String>,
    /// One more argument for `leverage serve` (repeatable), e.g. `--serve-arg=--inline-plugin=*`
    /// to measure trusted plugins called on the server's threads; the report lists them.
    #[arg(long = "serve-arg", global = true, allow_hyphen_values = true)]
    serve_args: Vec<String>,

    /// Load: connections.
    #[arg(long, global = true, default_value_t = 4)]
    connections: usize,
    /// Load: calls in flight per connection.
    #[arg(long, global = true, default_value_t = 16)]
    in_flight: usize,
    /// Load: warm-up per run, ms.
    #[arg(long, global = true, default_value_t = 2000)]
    warmup_ms: u64,
    /// Load: measured duration per run, ms.
    #[arg(long, global = true, default_value_t = 10_000)]
    duration_ms: u64,
    /// Load: runs per target (the median is reported).
    #[arg(long, global = true, default_value_t = 3)]
    runs: usize,
    /// Load: reruns of a noisy run.
    #[arg(long, global = true, default_value_t = 3)]
    max_retries: usize,
    /// Load: CPU of other processes (plus steal) during a run, in cores, that makes it noisy.
    #[arg(long, global = true, default_value_t = 0.10)]
    noise_threshold: f64,
    /// Load: whole-machine CPU, in cores, above which a run waits for quiet.
    #[arg(long, global = true, default_value_t = 0.20)]
    quiet_threshold: f64,
    /// Load: longest wait for quiet before a run, seconds.
    #[arg(long, global = true, default_value_t = 300)]
    max_quiet_wait_s: u64,
    /// Load: load generator CPU, in cores, above which a run fails the generator gate (its
    /// figure may be the generator's limit, not the server's).
    #[arg(long, global = true, default_value_t = 0.8)]
    max_generator_cores: f64,
    /// Load: targets to run (default all), e.g. --targets hello,score. Hello world runs always,
    /// and each read RPC brings its size-matched baseline.
    #[arg(long, global = true, value_delimiter = ',')]
    targets: Vec<String>,

    /// Boundary: timed runs per figure.
    #[arg(long, global = true, default_value_t = 9)]
    boundary_runs: usize,

    /// Sweep: values per axis (the sweep scores steps² scenarios).
    #[arg(long, global = true, default_value_t = 1000)]
    sweep_steps: i32,
    /// Sweep: points per chunk.
    #[arg(long, global = true, default_value_t = 10_000)]
    sweep_chunk: i32,
    /// Sweep: runs (the median is reported).
    #[arg(long, global = true, default_value_t = 3)]
    sweep_runs: usize,

    /// Scale: synthetic holdings.
    #[arg(long, global = true, default_value_t = 10_000)]
    holdings: usize,
    /// Scale: observations per holding.
    #[arg(long, global = true, default_value_t = 100)]
    observations: usize,
    /// Scale: calls per timed query.
    #[arg(long, global = true, default_value_t = 20)]
    scale_calls: usize,
    /// Scale: write the synthetic data again even if a matching copy exists.
    #[arg(long, global = true)]
    regenerate: bool,
    /// Scale: data directory (default target/bench-data/scale-HxO, kept between runs).
    #[arg(long, global = true)]
    scale_dir: Option<PathBuf>,

    /// Start-up: starts per case.
    #[arg(long, global = true, default_value_t = 5)]
    startup_runs: usize,

    /// Soak: seconds of open loop (whole windows).
    #[arg(long, global = true, default_value_t = 600)]
    soak_secs: u64,
    /// Soak: seconds per recorded window.
    #[arg(long, global = true, default_value_t = 10)]
    soak_window_secs: u64,
    /// Soak: seconds of the closed-loop run that measures the maximum QPS (after --warmup-ms).
    #[arg(long, global = true, default_value_t = 10)]
    soak_probe_secs: u64,
    /// Soak: open-loop rate as a fraction of the measured maximum.
    #[arg(long, global = true, default_value_t = 0.8)]
    soak_load: f64,
    /// Soak: CreateObservation calls per cycle of 18 other calls (2 = 10 % of the mix; 0 for
    /// a soak of reads and scoring only).
    #[arg(long, global = true, default_value_t = soak::WRITE_SLOTS)]
    soak_write_slots: usize,
    /// Soak: a call unanswered after this many ms is dropped and counted CLIENT_TIMEOUT.
    #[arg(long, global = true, default_value_t = 10_000)]
    soak_call_timeout_ms: u64,
}

fn parse_targets(names: &[String]) -> anyhow::Result<Vec<Target>> {
    if names.is_empty() {
        return Ok(Target::ALL.to_vec());
    }
    let mut out = vec![Target::HelloWorld];
    for n in names {
        let t = match n.to_ascii_lowercase().as_str() {
            "hello" | "helloworld" => Target::HelloWorld,
            "score" | "scorescenario" => Target::ScoreScenario,
            "cold" | "score-cold" => Target::ScoreScenarioCold,
            "list" | "listholdings" => Target::ListHoldings,
            "summarize" | "summarizeholdings" => Target::SummarizeHoldings,
            "assess" | "assesslegalrisk" => Target::AssessLegalRisk,
            "health" => Target::Health,
            other => anyhow::bail!(
                "unknown target {other}: hello, health, score, cold, list, summarize, assess"
            ),
        };
        for t in [Some(t), t.floor()].into_iter().flatten() {
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    // In the order of Target::ALL, each read RPC beside its size-matched baseline.
    out.sort_by_key(|t| Target::ALL.iter().position(|a| a == t));
    Ok(out)
}

/// What one invocation runs, with which sizes.
struct Plan {
    kind: Command,
    load: Option<LoadConfig>,
    targets: Vec<Target>,
    boundary: Option<BoundaryConfig>,
    sweep: Option<SweepConfig>,
    scale: Option<ScaleConfig>,
    startup: Option<StartupConfig>,
    soak: Option<SoakConfig>,
    full_size: bool,
}

fn plan(kind: Command, o: &Options) -> anyhow::Result<Plan> {
    let smoke = kind == Command::Smoke;
    let every = matches!(kind, Command::All | Command::Smoke);
    let want = |c: Command| every || kind == c;
    let load = LoadConfig {
        connections: if smoke { 1 } else { o.connections.max(1) },
        in_flight_per_connection: if smoke { 2 } else { o.in_flight.max(1) },
        warmup_ms: if smoke { 50 } else { o.warmup_ms },
        duration_ms: if smoke { 150 } else { o.duration_ms.max(1) },
        runs: if smoke { 1 } else { o.runs.max(1) },
        max_retries: o.max_retries,
        noise_threshold_cores: o.noise_threshold,
        quiet_threshold_cores: o.quiet_threshold,
        max_quiet_wait_s: o.max_quiet_wait_s,
        guard_noise: !smoke,
        max_generator_cores: (!smoke).then_some(o.max_generator_cores),
    };
    let boundary = BoundaryConfig {
        scenarios: 1000,
        runs: if smoke { 5 } else { o.boundary_runs.max(5) },
        run_ms: if smoke { 2 } else { 30 },
    };
    let sweep = SweepConfig {
        steps: if smoke { 20 } else { o.sweep_steps.max(2) },
        chunk_size: if smoke { 50 } else { o.sweep_chunk },
        runs: if smoke { 1 } else { o.sweep_runs.max(1) },
    };
    let scale = ScaleConfig {
        holdings: if smoke { 40 } else { o.holdings.max(1) },
        observations_per_holding: if smoke { 10 } else { o.observations.max(2) },
        jurisdictions: if smoke { 10 } else { 150 },
        custodians: if smoke { 5 } else { 200 },
        calls: if smoke { 3 } else { o.scale_calls.max(20) },
    };
    let startup = StartupConfig {
        runs: if smoke { 1 } else { o.startup_runs.max(1) },
        settle_ms: if smoke { 0 } else { 500 },
    };
    let soak = SoakConfig {
        secs: o.soak_secs.max(1),
        window_secs: o.soak_window_secs.max(1),
        probe_warmup_ms: o.warmup_ms,
        probe_secs: o.soak_probe_secs.max(1),
        connections: o.connections.max(1),
        in_flight_per_connection: o.in_flight.max(1),
        load_fraction: o.soak_load,
        write_slots: o.soak_write_slots,
        call_timeout_ms: o.soak_call_timeout_ms.max(1),
        max_outstanding: 10_000,
        quiet_threshold_cores: o.quiet_threshold,
        max_quiet_wait_s: o.max_quiet_wait_s,
        guard_noise: true,
    };
    Ok(Plan {
        kind,
        load: want(Command::Load).then_some(load),
        targets: parse_targets(&o.targets)?,
        boundary: want(Command::Boundary).then_some(boundary),
        sweep: want(Command::Sweep).then_some(sweep),
        scale: want(Command::Scale).then_some(scale),
        startup: want(Command::Startup).then_some(startup),
        soak: (kind == Command::Soak).then_some(soak),
        full_size: !smoke,
    })
}

fn kind_name(kind: Command) -> &'static str {
    match kind {
        Command::All => "all",
        Command::Load => "load",
        Command::Boundary => "boundary",
        Command::Sweep => "sweep",
        Command::Scale => "scale",
        Command::Startup => "startup",
        Command::Smoke => "smoke",
        Command::Versions => "versions",
        Command::Replicas => "replicas",
        Command::Soak => "soak",
        Command::Compression => "compression",
        Command::HelloServer { .. } => "hello-server",
    }
}

fn failed_part(results: &mut Results, part: &'static str, error: &anyhow::Error) {
    eprintln!("\n*** {part} FAILED: {error:#} ***\n");
    results.gates.push(Gate {
        part,
        name: "the part ran to completion".into(),
        passed: false,
        detail: format!("{error:#}"),
    });
}

/// Refuses to measure with a debug build of the bench: a debug load generator saturates its
/// core long before the server does, and the boundary loops would time debug code.
fn refuse_debug_bench(kind: Command, o: &Options) -> anyhow::Result<()> {
    if cfg!(debug_assertions) && kind != Command::Smoke && !o.allow_debug {
        anyhow::bail!(
            "this is a debug build of leverage-bench, which measures nothing worth keeping: run \
             `cargo run --release -p leverage-bench -- {}`, or pass --allow-debug to try the \
             machinery (its figures are then marked as from a debug bench)",
            kind_name(kind)
        );
    }
    Ok(())
}

fn run_suite(kind: Command, o: &Options) -> anyhow::Result<bool> {
    refuse_debug_bench(kind, o)?;
    let plan = plan(kind, o)?;
    let smoke = kind == Command::Smoke;
    let started = report::utc_now();
    let binaries = if smoke {
        prepare::smoke(o.server_bin.as_deref())?
    } else {
        prepare::release(o.server_bin.as_deref(), o.allow_stale_server)?
    };
    // Builds are done: from here on this process (the load generator, the clients) stays on
    // CPU 1 and the servers on CPU 0.
    let pin = !smoke && !o.no_pin && sys::online_cpus() >= 2;
    if pin {
        sys::pin_current_thread(1)?;
    }
    let options = ServerOptions {
        cpu: pin.then_some(0),
        log_filter: o.server_log.clone(),
        serve_args: o.serve_args.clone(),
    };
    let root = prepare::workspace_root();
    let out_dir = o.out.clone().unwrap_or_else(|| {
        if smoke {
            prepare::target_dir().join("bench-smoke/results")
        } else {
            root.join("bench/results")
        }
    });
    let logs = prepare::target_dir()
        .join("bench-logs")
        .join(kind_name(kind));
    std::fs::create_dir_all(&logs)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    let mut results = Results {
        kind: kind_name(kind).into(),
        started_utc: started,
        finished_utc: String::new(),
        machine: sys::Machine::describe(),
        revision: prepare::revision(),
        binaries: binaries.clone(),
        server_cpu: pin.then_some(0),
        client_cpu: pin.then_some(1),
        serve_args: o.serve_args.join(" "),
        server_log_filter: o
            .server_log
            .clone()
            .unwrap_or_else(|| "(default: info)".into()),
        load: None,
        memory: Memory::default(),
        boundary: None,
        sweep: None,
        scale: None,
        startup: None,
        soak: None,
        gates: Vec::new(),
        summary: Vec::new(),
    };

    // Parts 1 and 3 share one leverage server (fresh data dir, embedded dataset).
    if plan.load.is_some() || plan.sweep.is_some() {
        let outcome = runtime.block_on(async {
            let data = tempfile::tempdir()?;
            let mut leverage = spawn_leverage(
                &binaries.server,
                data.path(),
                &options,
                &logs.join("leverage.log"),
            )?;
            let mut hello = match plan.load {
                Some(_) => Some(spawn_hello(&options, &logs.join("hello.log"))?),
                None => None,
            };
            wait_serving(&mut leverage, Duration::from_secs(120), false).await?;
            if let Some(h) = hello.as_mut() {
                wait_hello(h, Duration::from_secs(30)).await?;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            results.memory.idle_rss_mb = memory_mb(leverage.pid(), "VmRSS");
            if let (Some(config), Some(h)) = (&plan.load, hello.as_ref()) {
                let endpoints = Endpoints {
                    hello: (h.addr, h.pid()),
                    leverage: (leverage.addr, leverage.pid()),
                };
                match load::run(endpoints, &plan.targets, config).await {
                    Ok(r) => results.load = Some(r),
                    Err(e) => failed_part(&mut results, "load", &e),
                }
                results.memory.peak_rss_after_load_mb = memory_mb(leverage.pid(), "VmHWM");
            }
            if let Some(config) = &plan.sweep {
                match sweep::run(leverage.addr, leverage.pid(), config).await {
                    Ok(r) => results.sweep = Some(r),
                    Err(e) => failed_part(&mut results, "sweep", &e),
                }
                results.memory.peak_rss_after_sweep_mb = memory_mb(leverage.pid(), "VmHWM");
            }
            leverage.check_alive()?;
            leverage.stop(Duration::from_secs(10)).await?;
            if let Some(h) = hello {
                h.stop(Duration::from_secs(5)).await?;
            }
            anyhow::Ok(())
        });
        if let Err(e) = outcome {
            failed_part(&mut results, "load and sweep server", &e);
        }
    }
    if let Some(config) = &plan.boundary {
        match boundary::run(&binaries.plugin_dir, config) {
            Ok(r) => results.boundary = Some(r),
            Err(e) => failed_part(&mut results, "boundary", &e),
        }
    }
    if let Some(config) = &plan.startup {
        match runtime.block_on(startup::run(&binaries.server, &options, config, &logs)) {
            Ok(r) => results.startup = Some(r),
            Err(e) => failed_part(&mut results, "startup", &e),
        }
    }
    if let Some(config) = &plan.scale {
        let temp;
        let dir = if smoke {
            temp = tempfile::tempdir()?;
            temp.path().to_path_buf()
        } else {
            scale::data_dir(config, o.scale_dir.as_deref())
        };
        let regenerate = smoke || o.regenerate;
        match runtime.block_on(scale::run(
            &binaries.server,
            &dir,
            regenerate,
            &options,
            config,
            &logs,
        )) {
            Ok(r) => results.scale = Some(r),
            Err(e) => failed_part(&mut results, "scale", &e),
        }
    }

    if let Some(config) = &plan.soak {
        match runtime.block_on(soak::run(&binaries.server, &options, config, &logs)) {
            Ok(r) => results.soak = Some(r),
            Err(e) => failed_part(&mut results, "soak", &e),
        }
    }

    results.finish(plan.full_size);
    let name = if kind == Command::All {
        "latest"
    } else {
        kind_name(kind)
    };
    results.write(&out_dir, name)?;
    if kind == Command::All {
        let stamp = results.started_utc.replace(':', "");
        results.write(&out_dir.join("history"), &format!("all-{stamp}"))?;
    }
    println!("\n{}", results.summary_table());
    let failed: Vec<&Gate> = results.gates.iter().filter(|g| !g.passed).collect();
    for g in &failed {
        println!("GATE FAILED [{}] {}: {}", g.part, g.name, g.detail);
    }
    println!(
        "results: {} and .md (logs in {})",
        out_dir.join(format!("{name}.json")).display(),
        logs.display()
    );
    let _ = plan.kind;
    Ok(failed.is_empty())
}

/// What a part run on its own needs: release binaries, the server pinned to CPU 0 and this
/// process to CPU 1 (unless --no-pin), a directory for the servers' logs, a runtime.
struct Standalone {
    binaries: prepare::Binaries,
    options: ServerOptions,
    logs: PathBuf,
    runtime: tokio::runtime::Runtime,
}

fn standalone(o: &Options, part: &str) -> anyhow::Result<Standalone> {
    let binaries = prepare::release(o.server_bin.as_deref(), o.allow_stale_server)?;
    let pin = !o.no_pin && sys::online_cpus() >= 2;
    if pin {
        sys::pin_current_thread(1)?;
    }
    let options = ServerOptions {
        cpu: pin.then_some(0),
        log_filter: o.server_log.clone(),
        serve_args: o.serve_args.clone(),
    };
    let logs = prepare::target_dir().join("bench-logs").join(part);
    std::fs::create_dir_all(&logs)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(Standalone {
        binaries,
        options,
        logs,
        runtime,
    })
}

/// Writes `<out>/<part>.json`: what was measured (under `key`), when, on which commit and
/// machine, with which arguments for the server.
fn write_part_report(
    o: &Options,
    part: &str,
    key: &str,
    measured: serde_json::Value,
) -> anyhow::Result<()> {
    let out = o
        .out
        .clone()
        .unwrap_or_else(|| prepare::workspace_root().join("bench/results"));
    std::fs::create_dir_all(&out)?;
    let mut report = serde_json::json!({
        "part": part,
        "started_utc": report::utc_now(),
        "revision": prepare::revision(),
        "machine": sys::Machine::describe(),
        "serve_args": o.serve_args,
    });
    report[key] = measured;
    std::fs::write(
        out.join(format!("{part}.json")),
        serde_json::to_string_pretty(&report)?,
    )?;
    Ok(())
}

/// Part 6 on its own: the sizes of issue 11, one after the other, results as JSON.
fn run_versions(o: &Options) -> anyhow::Result<()> {
    refuse_debug_bench(Command::Versions, o)?;
    let Standalone {
        binaries,
        options,
        logs,
        runtime,
    } = standalone(o, "versions")?;
    let work = tempfile::tempdir()?;
    let sizes = [
        (0, 0),
        (100, 100),
        (o.holdings.max(1), o.observations.max(2)),
    ];
    let mut results = Vec::new();
    for (holdings, per) in sizes {
        let config = (holdings > 0).then_some(ScaleConfig {
            holdings,
            observations_per_holding: per,
            jurisdictions: 150,
            custodians: 200,
            calls: o.scale_calls,
        });
        let dir = config
            .as_ref()
            .map(|c| scale::data_dir(c, o.scale_dir.as_deref().filter(|_| holdings == o.holdings)));
        results.push(runtime.block_on(versions::run_one(
            &binaries.server,
            work.path(),
            dir.as_deref(),
            &options,
            config.as_ref(),
            200,
            &logs,
        ))?);
    }
    write_part_report(o, "versions", "results", serde_json::to_value(&results)?)?;
    println!(
        "| observations | to SERVING | RSS | correction p50 / p99 | creation p50 / p99 | pinned read: first / again / another version | RSS after |"
    );
    println!("|---|---|---|---|---|---|---|");
    for r in &results {
        println!(
            "| {} | {:.2} s | {:.0} MB | {:.2} / {:.2} ms | {:.2} / {:.2} ms | {:.1} / {:.2} / {:.1} ms | {:.0} MB |",
            r.observations,
            r.server_start_s,
            r.server_rss_mb,
            r.correction.p50_us / 1e3,
            r.correction.p99_us / 1e3,
            r.creation.p50_us / 1e3,
            r.creation.p99_us / 1e3,
            r.pinned_first_ms,
            r.pinned_again.p50_us / 1e3,
            r.pinned_other_ms,
            r.rss_after_mb
        );
    }
    Ok(())
}

/// Issue 16's compression part on its own, on the shipped dataset; results as JSON and a table.
fn run_compression(o: &Options) -> anyhow::Result<()> {
    refuse_debug_bench(Command::Compression, o)?;
    let Standalone {
        binaries,
        options,
        logs,
        runtime,
    } = standalone(o, "compression")?;
    let data = tempfile::tempdir()?;
    let config = compression::CompressionConfig {
        runs: o.runs,
        connections: o.connections,
        in_flight_per_connection: o.in_flight,
        warmup: Duration::from_millis(o.warmup_ms),
        duration: Duration::from_millis(o.duration_ms),
    };
    let results = runtime.block_on(async {
        let mut server = spawn_leverage(
            &binaries.server,
            data.path(),
            &options,
            &logs.join("compression-server.log"),
        )?;
        wait_serving(&mut server, Duration::from_secs(300), false).await?;
        compression::run(server.addr, server.pid(), &config).await
    })?;
    let measured = serde_json::json!({ "config": format!("{config:?}"), "results": results });
    write_part_report(o, "compression", "measured", measured)?;
    println!(
        "| reply | encoding | message bytes on the wire | vs none | QPS (median of {}) | QPS vs none (median of per-run ratios) | server µs/call | generator cores | others, max |",
        config.runs
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in &results {
        println!(
            "| {} | {} | {} | {:.2} | {:.0} | {:.2} | {:.1} | {:.2} | {:.2} |",
            r.read,
            r.encoding,
            r.wire_bytes,
            r.bytes_ratio,
            r.qps_median,
            r.qps_ratio_median,
            r.server_us_per_call_median,
            r.generator_cores_median,
            r.others_cores_max
        );
    }
    Ok(())
}

fn run_replicas(o: &Options) -> anyhow::Result<()> {
    refuse_debug_bench(Command::Replicas, o)?;
    let Standalone {
        binaries,
        options,
        logs,
        runtime,
    } = standalone(o, "replicas")?;
    let work = tempfile::tempdir()?;
    let config = replicas::ReplicasConfig {
        secs: o.duration_ms as f64 / 1e3,
        rounds: o.runs.max(1),
        writes: 400,
        lag_samples: 200,
        connections: o.connections,
        in_flight: o.in_flight,
    };
    let r = runtime.block_on(replicas::run(
        &binaries.server,
        work.path(),
        &options,
        &config,
        &logs,
    ))?;
    write_part_report(o, "replicas", "result", serde_json::to_value(&r)?)?;
    println!("\nread: {} ({} B reply)", r.read_method, r.reply_bytes);
    println!(
        "| round | SQLite reads/s | PostgreSQL reads/s | ratio | server µs/call S / P | generator cores S / P |"
    );
    println!("|---|---|---|---|---|---|");
    for (i, ((s, p), ratio)) in r
        .sqlite_reads
        .iter()
        .zip(&r.postgres_reads)
        .zip(&r.read_ratios)
        .enumerate()
    {
        println!(
            "| {i} | {:.0} | {:.0} | {ratio:.3} | {:.1} / {:.1} | {:.2} / {:.2} |",
            s.qps,
            p.qps,
            s.server_us_per_call,
            p.server_us_per_call,
            s.generator_cores,
            p.generator_cores
        );
    }
    println!("median ratio {:.3}", r.read_ratio_median);
    println!(
        "writes p50 / p99: SQLite {:.2} / {:.2} ms, PostgreSQL {:.2} / {:.2} ms ({} each)",
        r.sqlite_write.p50_us / 1e3,
        r.sqlite_write.p99_us / 1e3,
        r.postgres_write.p50_us / 1e3,
        r.postgres_write.p99_us / 1e3,
        r.sqlite_write.calls
    );
    println!(
        "visible on another replica after p50 / p99 / max: {:.2} / {:.2} / {:.2} ms ({} writes)",
        r.visibility_lag.p50_us / 1e3,
        r.visibility_lag.p99_us / 1e3,
        r.visibility_lag.max_us / 1e3,
        r.visibility_lag.calls
    );
    for (n, t) in &r.aggregate {
        println!(
            "{n} replica(s): {:.0} reads/s, {} failed, generator {:.2} cores, servers {:.1} µs/call",
            t.qps, t.failed, t.generator_cores, t.server_us_per_call
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::HelloServer { listen } => hello::serve(listen).map(|()| true),
        Command::Versions => run_versions(&cli.options).map(|()| true),
        Command::Replicas => run_replicas(&cli.options).map(|()| true),
        Command::Compression => run_compression(&cli.options).map(|()| true),
        kind => run_suite(kind, &cli.options),
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("leverage-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}
