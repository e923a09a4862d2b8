//! The results of a run: the JSON record, the summary table (stdout and Markdown) with issue 4's
//! goals, and the gates (every call OK, answers equal) that make the figures valid.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::boundary::BoundaryResult;
use crate::load::{LoadResult, Target};
use crate::prepare::{Binaries, Revision};
use crate::scale::ScaleResult;
use crate::soak::SoakResult;
use crate::startup::StartupResult;
use crate::sweep::SweepResult;
use crate::sys::Machine;
use crate::table::{Gate, SummaryRow, ms, thousands, x, yes_no};

/// Memory of the load server.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Memory {
    /// VmRSS of the load server just after it answered SERVING (embedded dataset), MB.
    pub idle_rss_mb: Option<f64>,
    /// VmHWM of the load server after the load runs, MB.
    pub peak_rss_after_load_mb: Option<f64>,
    /// VmHWM of the load server after the sweeps, MB.
    pub peak_rss_after_sweep_mb: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Results {
    pub kind: String,
    pub started_utc: String,
    pub finished_utc: String,
    pub machine: Machine,
    pub revision: Revision,
    pub binaries: Binaries,
    /// Core of the servers (one tokio worker each) and of the bench process; None = unpinned.
    pub server_cpu: Option<usize>,
    pub client_cpu: Option<usize>,
    /// LEVERAGE_LOG of the leverage server; "(default: info)" when not set.
    pub server_log_filter: String,
    /// Extra arguments given to `leverage serve` (empty: its defaults).
    pub serve_args: String,
    pub load: Option<LoadResult>,
    pub memory: Memory,
    pub boundary: Option<BoundaryResult>,
    pub sweep: Option<SweepResult>,
    pub scale: Option<ScaleResult>,
    pub startup: Option<StartupResult>,
    pub soak: Option<SoakResult>,
    pub gates: Vec<Gate>,
    pub summary: Vec<SummaryRow>,
}

/// `YYYY-MM-DDTHH:MM:SSZ` for now.
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let day = leverage_core::Date::from_days_since_epoch(secs.div_euclid(86_400))
        .map_or_else(|_| "?".to_owned(), |d| d.to_string());
    let s = secs.rem_euclid(86_400);
    format!("{day}T{:02}:{:02}:{:02}Z", s / 3600, s / 60 % 60, s % 60)
}

/// The load table: each target beside hello world and, for a read RPC, its size-matched
/// baseline; medians of the rounds, each round's QPS, and the generator's CPU.
fn side_by_side(load: &LoadResult) -> String {
    let mut md = String::from(
        "| target | req/s | p50 | p99 | p99.9 | QPS ÷ hello | p99 ÷ hello | QPS ÷ size-matched | p99 ÷ size-matched | reply bytes | server µs/call | server CPU | generator CPU | others | req/s per round | noisy / generator-bound runs |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let opt = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), x);
    for t in &load.targets {
        let rounds: Vec<String> = t.runs.iter().map(|r| thousands(r.qps)).collect();
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} | {:.2} | {:.2} | {:.2} | {} | {} / {} |",
            t.target.name(),
            thousands(t.qps),
            ms(t.p50_us),
            ms(t.p99_us),
            ms(t.p999_us),
            x(t.qps_ratio),
            x(t.p99_ratio),
            opt(t.floor_qps_ratio),
            opt(t.floor_p99_ratio),
            thousands(t.reply_bytes as f64),
            t.server_us_per_call,
            t.server_cpu_cores,
            t.client_cpu_cores,
            t.others_cpu_cores,
            rounds.join(" / "),
            t.noisy_runs,
            t.generator_bound_runs
        );
    }
    md
}

/// The load part's gates beyond every call's status: the generator was not the limit, and each
/// size-matched baseline sent replies of its read RPC's size.
fn load_gates(load: &LoadResult) -> Vec<Gate> {
    let mut gates = Vec::new();
    if let Some(limit) = load.config.max_generator_cores {
        let bound: Vec<String> = load
            .targets
            .iter()
            .filter(|t| t.generator_bound_runs > 0)
            .map(|t| {
                let worst = t.runs.iter().map(|r| r.cpu.client).fold(0.0, f64::max);
                format!(
                    "{} ({} of {} runs, up to {worst:.2} cores)",
                    t.target.name(),
                    t.generator_bound_runs,
                    t.runs.len()
                )
            })
            .collect();
        gates.push(Gate {
            part: "load",
            name: format!(
                "the load generator used at most {limit:.2} of a core in every run (its own core is not the limit)"
            ),
            passed: bound.is_empty(),
            detail: if bound.is_empty() {
                "every run".into()
            } else {
                format!(
                    "over the limit: {}; on this 2-core machine the generator has one core, so those figures may be the generator's",
                    bound.join("; ")
                )
            },
        });
    }
    for t in &load.targets {
        let Some(read) = t.target.matches() else {
            continue;
        };
        let read_bytes = load
            .targets
            .iter()
            .find(|r| r.target == read)
            .map_or(0, |r| r.reply_bytes);
        gates.push(Gate {
            part: "load",
            name: format!(
                "{}: replies of the encoded size of {}'s reply",
                t.target.name(),
                read.name()
            ),
            passed: read_bytes > 0 && t.reply_bytes == read_bytes,
            detail: format!("{} bytes against {read_bytes}", t.reply_bytes),
        });
    }
    gates
}

fn build(release: bool) -> &'static str {
    if release { "release" } else { "debug" }
}

impl Results {
    /// Fills the gates and the summary from the parts' results.
    pub fn finish(&mut self, full_size: bool) {
        self.finished_utc = utc_now();
        let mut gates = std::mem::take(&mut self.gates);
        let mut rows = Vec::new();
        if full_size {
            let b = &self.binaries;
            gates.push(Gate {
                part: "build",
                name:
                    "the bench and the server are release builds, the server as new as its sources"
                        .into(),
                passed: b.release && b.bench_release && !b.server_stale,
                detail: format!(
                    "server {} build ({}), bench {} build",
                    build(b.release),
                    b.server_provenance,
                    build(b.bench_release)
                ),
            });
        }
        if let Some(load) = &self.load {
            for t in &load.targets {
                let calls: u64 = t.runs.iter().map(|r| r.calls_total).sum();
                gates.push(Gate {
                    part: "load",
                    name: format!(
                        "{}: every call returned OK with a plausible reply",
                        t.target.name()
                    ),
                    passed: t.failure.is_none() && !t.runs.is_empty(),
                    detail: t
                        .failure
                        .clone()
                        .unwrap_or_else(|| format!("{calls} calls in {} runs", t.runs.len())),
                });
            }
            if let (Some(server), Some(client)) = (self.server_cpu, self.client_cpu) {
                let ok = load.server_cpu_affinity == server.to_string()
                    && load.client_cpu_affinity == client.to_string();
                gates.push(Gate {
                    part: "load",
                    name: "server and load generator pinned to different cores".into(),
                    passed: ok,
                    detail: format!(
                        "server Cpus_allowed_list {}, client {}",
                        load.server_cpu_affinity, load.client_cpu_affinity
                    ),
                });
            }
            gates.extend(load_gates(load));
            let n = load.in_flight;
            for t in &load.targets {
                let valid = t.failure.is_none();
                let (goal, met) = match (t.target, t.floor_qps_ratio) {
                    (Target::HelloWorld, _) => ("baseline".to_owned(), None),
                    (Target::Health, _) => ("(the stack's fixed cost)".to_owned(), None),
                    (Target::ScoreScenarioCold, _) => {
                        ("(context derived per call)".to_owned(), None)
                    }
                    (t, _) if t.matches().is_some() => ("size-matched baseline".to_owned(), None),
                    (Target::ScoreScenario, _) => (
                        "≥ 0.8× QPS, p99 ≤ 1.5× (hello world)".to_owned(),
                        Some(valid && t.qps_ratio >= 0.8 && t.p99_ratio <= 1.5),
                    ),
                    (_, Some(floor)) => (
                        "≥ 0.8× QPS; ≥ 0.9× size-matched (issue 12)".to_owned(),
                        Some(valid && t.qps_ratio >= 0.8 && floor >= 0.9),
                    ),
                    _ => ("≥ 0.8× QPS".to_owned(), Some(valid && t.qps_ratio >= 0.8)),
                };
                rows.push(SummaryRow {
                    part: "1 load",
                    item: format!("{} ({n} in flight)", t.target.name()),
                    value: if valid {
                        format!(
                            "{} req/s · p50 {} · p99 {} · server CPU {:.0}%, generator {:.0}%",
                            thousands(t.qps),
                            ms(t.p50_us),
                            ms(t.p99_us),
                            100.0 * t.server_cpu_cores,
                            100.0 * t.client_cpu_cores
                        )
                    } else {
                        format!("FAILED: {}", t.failure.clone().unwrap_or_default())
                    },
                    relative: match (t.floor_qps_ratio, t.floor_p99_ratio) {
                        (Some(q), Some(p)) => format!(
                            "QPS {} · p99 {}; size-matched: QPS {} · p99 {}",
                            x(t.qps_ratio),
                            x(t.p99_ratio),
                            x(q),
                            x(p)
                        ),
                        _ => format!("QPS {} · p99 {}", x(t.qps_ratio), x(t.p99_ratio)),
                    },
                    goal,
                    met: if full_size { met } else { None },
                });
            }
        }
        if let Some(b) = &self.boundary {
            gates.push(Gate {
                part: "boundary",
                name: "native, raw C ABI and host paths return the same scores".into(),
                passed: b.outputs_agree,
                detail: format!("{} scenarios", b.config.scenarios),
            });
            for r in &b.rows {
                let (goal, met) = match (r.path, r.batch) {
                    ("native", _) => ("baseline".to_owned(), None),
                    (_, 1) => ("≤ +15 ns".to_owned(), Some(r.extra_ns <= 15.0)),
                    (_, 1000) => (
                        "within 5% of native".to_owned(),
                        Some(r.ratio_to_native <= 1.05),
                    ),
                    _ => (String::new(), None),
                };
                rows.push(SummaryRow {
                    part: "2 boundary",
                    item: if r.path == "native" {
                        "native (rlib)".into()
                    } else {
                        format!("{}, {} per call", r.path, r.batch)
                    },
                    value: format!("{:.1} ns/scenario", r.ns_per_scenario),
                    relative: if r.path == "native" {
                        "1.00×".into()
                    } else {
                        format!("{} · {:+.1} ns", x(r.ratio_to_native), r.extra_ns)
                    },
                    goal,
                    met: if full_size { met } else { None },
                });
            }
        }
        if let Some(s) = &self.sweep {
            gates.push(Gate {
                part: "sweep",
                name: "every point arrived once, in index order, without an error".into(),
                passed: s.in_order_complete,
                detail: format!("{} points × {} runs", s.points, s.runs.len()),
            });
            rows.push(SummaryRow {
                part: "3 sweep",
                item: format!(
                    "{} scenarios, chunks of {}",
                    thousands(s.points as f64),
                    s.config.chunk_size
                ),
                value: format!(
                    "{:.3} s · {} scenarios/s · server CPU {:.0}%, client {:.0}%",
                    s.wall_s,
                    thousands(s.scenarios_per_s),
                    100.0 * s.server_cpu_cores,
                    100.0 * s.client_cpu_cores
                ),
                relative: String::new(),
                goal: "< 1 s for 1,000,000".into(),
                met: (full_size && s.points >= 1_000_000).then_some(s.wall_s < 1.0),
            });
        }
        if let Some(sc) = &self.scale {
            gates.push(Gate {
                part: "scale",
                name: "the server's summary equals SQLite's, per jurisdiction (every variant)"
                    .into(),
                passed: sc.answers_agree,
                detail: format!("{} jurisdictions compared", sc.jurisdictions_compared),
            });
            let obs = thousands(sc.observations as f64);
            rows.push(SummaryRow {
                part: "4 scale",
                item: format!("SummarizeHoldings (basic view), {obs} observations"),
                value: format!(
                    "median {:.2} ms · p99 {:.2} ms",
                    sc.summarize.median_ms, sc.summarize.p99_ms
                ),
                relative: format!(
                    "SQLite {:.1} ms → {} faster",
                    sc.sqlite_median_ms,
                    x(sc.speedup_vs_sqlite)
                ),
                goal: "≥ 5× faster than SQLite".into(),
                met: (full_size && sc.observations >= 1_000_000)
                    .then_some(sc.speedup_vs_sqlite >= 5.0),
            });
            for l in [&sc.summarize_full, &sc.list_amount_desc, &sc.list_default] {
                rows.push(SummaryRow {
                    part: "4 scale",
                    item: l.name.clone(),
                    value: format!("median {:.2} ms · p99 {:.2} ms", l.median_ms, l.p99_ms),
                    relative: String::new(),
                    goal: String::new(),
                    met: None,
                });
            }
            rows.push(SummaryRow {
                part: "4 scale",
                item: format!("server start on {obs} observations"),
                value: format!(
                    "{:.2} s to SERVING · RSS {:.0} MB",
                    sc.server_start_s, sc.server_rss_mb
                ),
                relative: String::new(),
                goal: String::new(),
                met: None,
            });
        }
        if let Some(st) = &self.startup {
            for c in [&st.fresh, &st.existing] {
                rows.push(SummaryRow {
                    part: "5 start-up",
                    item: format!("to SERVING, {}", c.case),
                    value: format!(
                        "{:.1} ms (min {:.1}, max {:.1})",
                        c.median_ms, c.min_ms, c.max_ms
                    ),
                    relative: String::new(),
                    goal: "< 200 ms".into(),
                    met: full_size.then_some(c.median_ms < 200.0),
                });
            }
            rows.push(SummaryRow {
                part: "5 memory",
                item: "idle RSS after start (existing data dir)".into(),
                value: format!("{:.1} MB", st.existing.idle_rss_mb),
                relative: format!("fresh data dir: {:.1} MB", st.fresh.idle_rss_mb),
                goal: "< 40 MB".into(),
                met: full_size
                    .then_some(st.existing.idle_rss_mb < 40.0 && st.fresh.idle_rss_mb < 40.0),
            });
        }
        if let Some(peak) = self.memory.peak_rss_after_load_mb {
            rows.push(SummaryRow {
                part: "5 memory",
                item: "peak RSS (VmHWM) of the load server after the load runs".into(),
                value: format!("{peak:.1} MB"),
                relative: self
                    .memory
                    .peak_rss_after_sweep_mb
                    .map(|s| format!("after the sweeps: {s:.1} MB"))
                    .unwrap_or_default(),
                goal: String::new(),
                met: None,
            });
        }
        if let Some(soak) = &self.soak {
            gates.extend(soak.gates(self.server_cpu.zip(self.client_cpu)));
            rows.extend(soak.rows());
        }
        self.gates = gates;
        self.summary = rows;
    }

    /// The summary as a Markdown table.
    pub fn summary_table(&self) -> String {
        let mut out = String::from(
            "| part | measure | value | relative | goal (issues 4, 12) | met |\n|---|---|---|---|---|---|\n",
        );
        for r in &self.summary {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                r.part,
                r.item,
                r.value,
                r.relative,
                r.goal,
                yes_no(r.met)
            );
        }
        out
    }

    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(
            md,
            "# leverage benchmarks: `{}` run of {}\n",
            self.kind, self.started_utc
        );
        let _ = writeln!(
            md,
            "Machine: {} CPUs ({}), {:.0} GiB, Linux {}. Commit `{}`{}. Server binary `{}` ({} build; {}); bench {} build. \
             Servers pinned to CPU {}, one tokio worker; load generator on CPU {}. Server log filter: {}. `leverage serve` arguments beyond the defaults: {}.\n",
            self.machine.cpus,
            self.machine.cpu_model,
            self.machine.memory_gib,
            self.machine.kernel,
            self.revision.commit,
            if self.revision.dirty {
                " with uncommitted changes"
            } else {
                ""
            },
            self.binaries.server.display(),
            build(self.binaries.release),
            self.binaries.server_provenance,
            build(self.binaries.bench_release),
            self.server_cpu
                .map_or("(unpinned)".into(), |c| c.to_string()),
            self.client_cpu
                .map_or("(unpinned)".into(), |c| c.to_string()),
            self.server_log_filter,
            if self.serve_args.is_empty() {
                "none".to_owned()
            } else {
                format!("`{}`", self.serve_args)
            },
        );
        md.push_str("## Summary\n\n");
        md.push_str(&self.summary_table());
        md.push_str("\n## Gates (the figures are valid only if all hold)\n\n| part | gate | held | detail |\n|---|---|---|---|\n");
        for g in &self.gates {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                g.part,
                g.name,
                if g.passed { "yes" } else { "**NO**" },
                g.detail
            );
        }
        if let Some(load) = &self.load {
            let _ = writeln!(
                md,
                "\n## 1. gRPC load\n\nClosed loop, {} connections × {} calls in flight = {} in flight; {} ms warm-up, {} ms measured; median of {} runs per target, rounds interleaved. \
                 Latency at saturation is mostly queueing (Little's law): read it with the in-flight count. CPU in cores (1.00 = one core busy) during the measured window; \
                 the generator is this bench process, on its own core, and a figure is the server's only while the generator stays below {}.\n",
                load.config.connections,
                load.config.in_flight_per_connection,
                load.in_flight,
                load.config.warmup_ms,
                load.config.duration_ms,
                load.config.runs,
                load.config
                    .max_generator_cores
                    .map_or("(not checked: smoke run)".to_owned(), |m| format!(
                        "{m:.2} of a core"
                    ))
            );
            md.push_str(&side_by_side(load));
            md.push_str("\nOne connection, one call in flight (latency without queueing; one run of up to 3 s):\n\n| target | req/s | p50 | p99 | server CPU |\n|---|---|---|---|---|\n");
            for t in &load.targets {
                if let Some(u) = &t.unloaded {
                    let _ = writeln!(
                        md,
                        "| {} | {} | {} | {} | {:.2} |",
                        t.target.name(),
                        thousands(u.qps),
                        ms(u.p50_us),
                        ms(u.p99_us),
                        u.server_cpu_cores
                    );
                }
            }
            md.push_str("\nRequests:\n\n");
            for t in &load.targets {
                let _ = writeln!(md, "- {}: {}", t.target.name(), t.request);
            }
        }
        if let Some(b) = &self.boundary {
            let _ = writeln!(
                md,
                "\n## 2. The plugin boundary\n\n`pressure-index`, {} distinct scenarios per pass ({} model inputs; the host gathers them from {}-wide catalog rows); median of {} runs of about {} ms each.\n",
                b.config.scenarios, b.model_inputs, b.catalog_width, b.config.runs, b.config.run_ms
            );
            md.push_str("| path | scenarios per call | ns per scenario | vs native | extra ns |\n|---|---|---|---|---|\n");
            for r in &b.rows {
                let _ = writeln!(
                    md,
                    "| {} | {} | {:.2} | {} | {:+.2} |",
                    r.path,
                    r.batch,
                    r.ns_per_scenario,
                    x(r.ratio_to_native),
                    r.extra_ns
                );
            }
        }
        if let Some(s) = &self.sweep {
            let _ = writeln!(
                md,
                "\n## 3. Sweep\n\n{}. Median of {} runs: {:.3} s wall from the call to the last chunk, {} scenarios/s, first chunk after {:.1} ms; server CPU {:.2}, client CPU {:.2} cores.\n",
                s.request,
                s.runs.len(),
                s.wall_s,
                thousands(s.scenarios_per_s),
                s.first_chunk_ms,
                s.server_cpu_cores,
                s.client_cpu_cores
            );
        }
        if let Some(sc) = &self.scale {
            let _ = writeln!(
                md,
                "\n## 4. Scale\n\n{} synthetic holdings × {} observations = {} observations ({} jurisdictions, {} custodians, 4 owner kinds, EUR/USD/GBP/CHF/JPY), as of {}; {} calls each, one in flight. Data: `{}`{}.\n",
                sc.config.holdings,
                sc.config.observations_per_holding,
                thousands(sc.observations as f64),
                sc.config.jurisdictions,
                sc.config.custodians,
                sc.as_of,
                sc.config.calls,
                sc.data_dir,
                match (sc.generated_now, sc.store_write_s) {
                    (true, Some(s)) => format!(
                        ", written now through `Store::create_holding` in {s:.1} s ({:.0} holdings/s)",
                        sc.store_holdings_per_s.unwrap_or(f64::NAN)
                    ),
                    _ => ", generated by an earlier run".into(),
                }
            );
            md.push_str("| query | median | p99 | response bytes |\n|---|---|---|---|\n");
            for t in [
                &sc.summarize,
                &sc.summarize_full,
                &sc.list_amount_desc,
                &sc.list_default,
            ] {
                let _ = writeln!(
                    md,
                    "| {} | {:.2} ms | {:.2} ms | {} |",
                    t.name,
                    t.median_ms,
                    t.p99_ms,
                    thousands(t.response_bytes as f64)
                );
            }
            for v in &sc.sqlite {
                match &v.timed {
                    Some(t) => {
                        let _ = writeln!(
                            md,
                            "| SQLite: {} | {:.2} ms | {:.2} ms | |",
                            v.name, t.median_ms, t.p99_ms
                        );
                    }
                    None => {
                        let _ = writeln!(
                            md,
                            "| SQLite: {} | not timed: one call took {:.0} ms | | |",
                            v.name, v.warmup_ms
                        );
                    }
                }
            }
            let _ = writeln!(
                md,
                "\nFastest SQLite: {} ({:.2} ms); SummarizeHoldings (basic view, the same answer: a sum and a count per jurisdiction) is {} faster.",
                sc.sqlite_best,
                sc.sqlite_median_ms,
                x(sc.speedup_vs_sqlite)
            );
        }
        if let Some(st) = &self.startup {
            let _ = writeln!(
                md,
                "\n## 5. Start-up and memory\n\nFrom spawning `leverage serve` to the first health check answering SERVING (polled in a tight loop from the other core); median of {} starts each.\n",
                st.config.runs
            );
            md.push_str("| case | median | min | max | idle RSS |\n|---|---|---|---|---|\n");
            for c in [&st.fresh, &st.existing] {
                let _ = writeln!(
                    md,
                    "| {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} MB |",
                    c.case, c.median_ms, c.min_ms, c.max_ms, c.idle_rss_mb
                );
            }
        }
        if let Some(soak) = &self.soak {
            md.push_str(&soak.markdown());
        }
        let m = &self.memory;
        if m.idle_rss_mb.is_some() || m.peak_rss_after_load_mb.is_some() {
            let f = |v: Option<f64>| v.map_or("–".into(), |v| format!("{v:.1} MB"));
            let _ = writeln!(
                md,
                "\nLoad server: RSS {} when idle after start, peak (VmHWM) {} after the load runs, {} after the sweeps.",
                f(m.idle_rss_mb),
                f(m.peak_rss_after_load_mb),
                f(m.peak_rss_after_sweep_mb)
            );
        }
        md
    }

    /// Writes `<name>.json` and `<name>.md` into `dir`.
    pub fn write(&self, dir: &Path, name: &str) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(
            dir.join(format!("{name}.json")),
            serde_json::to_string_pretty(self)?,
        )?;
        std::fs::write(dir.join(format!("{name}.md")), self.markdown())?;
        Ok(())
    }
}
