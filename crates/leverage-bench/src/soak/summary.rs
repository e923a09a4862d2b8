//! The soak's gates, its rows of the summary table and its section of the Markdown report.

use std::collections::BTreeMap;

use super::check::series_spread;
use super::result::SoakResult;
use crate::table::{Gate, SummaryRow, ms, thousands, x};

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
