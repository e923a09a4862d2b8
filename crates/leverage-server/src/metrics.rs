//! Prometheus metrics on a port of their own: calls by method and status, latency histograms
//! per method, plugin calls, failures and latency per plugin, and the dataset version. Counters
//! are plain atomics and maps behind short locks, rendered in the text exposition format.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use leverage_store::Repository;
use tokio::net::TcpListener;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5,
];

#[derive(Clone, Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (bound, count) in BUCKETS.iter().zip(&mut self.counts) {
            if seconds <= *bound {
                *count += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        for (bound, count) in BUCKETS.iter().zip(&self.counts) {
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

#[derive(Clone, Debug, Default)]
struct PluginStats {
    calls: u64,
    scenarios: u64,
    failures: BTreeMap<String, u64>,
    latency: Histogram,
}

/// Calls of one method: counts by gRPC code and the latency histogram.
#[derive(Clone, Debug, Default)]
struct MethodStats {
    /// Indexed by the numeric gRPC code (0 to 16).
    codes: [u64; 17],
    latency: Histogram,
}

#[derive(Debug, Default)]
struct Inner {
    methods: BTreeMap<String, MethodStats>,
    plugins: BTreeMap<String, PluginStats>,
}

/// The server's metrics; cheap to clone.
#[derive(Clone, Debug)]
pub struct Metrics {
    inner: Arc<Mutex<Inner>>,
    started: Instant,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner::default())),
            started: Instant::now(),
        }
    }
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One finished call.
    pub fn record_call(&self, method: &str, code: tonic::Code, seconds: f64) {
        let mut inner = self.lock();
        // Looked up by reference: nothing is allocated per call once a method has been seen.
        let stats = match inner.methods.get_mut(method) {
            Some(stats) => stats,
            None => inner.methods.entry(method.to_owned()).or_default(),
        };
        if let Some(count) = stats.codes.get_mut(code as usize) {
            *count += 1;
        }
        stats.latency.observe(seconds);
    }

    /// One call into a plugin of `scenarios` rows; `failure` names the kind of failure, if any.
    pub fn record_plugin(
        &self,
        plugin: &str,
        scenarios: usize,
        failure: Option<&str>,
        seconds: f64,
    ) {
        let mut inner = self.lock();
        let stats = match inner.plugins.get_mut(plugin) {
            Some(stats) => stats,
            None => inner.plugins.entry(plugin.to_owned()).or_default(),
        };
        stats.calls += 1;
        stats.scenarios += scenarios as u64;
        if let Some(kind) = failure {
            *stats.failures.entry(kind.to_owned()).or_default() += 1;
        }
        stats.latency.observe(seconds);
    }

    /// The text exposition.
    pub fn render(&self, dataset_version: &str) -> String {
        let inner = self.lock();
        let mut out = String::new();
        out.push_str("# HELP leverage_calls_total gRPC calls by method and status.\n");
        out.push_str("# TYPE leverage_calls_total counter\n");
        for (method, stats) in &inner.methods {
            for (code, n) in stats.codes.iter().enumerate().filter(|(_, n)| **n > 0) {
                let code = tonic::Code::from_i32(code as i32);
                let _ = writeln!(
                    out,
                    "leverage_calls_total{{method=\"{}\",code=\"{code:?}\"}} {n}",
                    escape(method)
                );
            }
        }
        out.push_str(
            "# HELP leverage_call_duration_seconds Time to the response headers, by method.\n",
        );
        out.push_str("# TYPE leverage_call_duration_seconds histogram\n");
        for (method, stats) in &inner.methods {
            stats.latency.render(
                &mut out,
                "leverage_call_duration_seconds",
                &format!("method=\"{}\"", escape(method)),
            );
        }
        out.push_str("# HELP leverage_plugin_calls_total Calls into each plugin.\n");
        out.push_str("# TYPE leverage_plugin_calls_total counter\n");
        for (plugin, s) in &inner.plugins {
            let _ = writeln!(
                out,
                "leverage_plugin_calls_total{{plugin=\"{}\"}} {}",
                escape(plugin),
                s.calls
            );
        }
        out.push_str("# HELP leverage_plugin_scenarios_total Scenarios scored by each plugin.\n");
        out.push_str("# TYPE leverage_plugin_scenarios_total counter\n");
        for (plugin, s) in &inner.plugins {
            let _ = writeln!(
                out,
                "leverage_plugin_scenarios_total{{plugin=\"{}\"}} {}",
                escape(plugin),
                s.scenarios
            );
        }
        out.push_str("# HELP leverage_plugin_failures_total Failed plugin calls by kind.\n");
        out.push_str("# TYPE leverage_plugin_failures_total counter\n");
        for (plugin, s) in &inner.plugins {
            for (kind, n) in &s.failures {
                let _ = writeln!(
                    out,
                    "leverage_plugin_failures_total{{plugin=\"{}\",kind=\"{}\"}} {n}",
                    escape(plugin),
                    escape(kind)
                );
            }
        }
        out.push_str("# HELP leverage_plugin_call_duration_seconds Duration of plugin calls.\n");
        out.push_str("# TYPE leverage_plugin_call_duration_seconds histogram\n");
        for (plugin, s) in &inner.plugins {
            s.latency.render(
                &mut out,
                "leverage_plugin_call_duration_seconds",
                &format!("plugin=\"{}\"", escape(plugin)),
            );
        }
        out.push_str("# HELP leverage_dataset_info The dataset in use.\n");
        out.push_str("# TYPE leverage_dataset_info gauge\n");
        let _ = writeln!(
            out,
            "leverage_dataset_info{{version=\"{}\"}} 1",
            escape(dataset_version)
        );
        out.push_str("# HELP leverage_uptime_seconds Seconds since the server started.\n");
        out.push_str("# TYPE leverage_uptime_seconds gauge\n");
        let _ = writeln!(
            out,
            "leverage_uptime_seconds {}",
            self.started.elapsed().as_secs_f64()
        );
        out
    }
}

/// Serves `GET /metrics` on `listener` until `shutdown` completes.
pub async fn serve_metrics(
    listener: TcpListener,
    metrics: Metrics,
    repo: Arc<Repository>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let (metrics, repo) = (metrics.clone(), Arc::clone(&repo));
            async move {
                let version = repo.snapshot().dataset().meta.version.clone();
                (
                    [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    metrics.render(&version),
                )
            }
        }),
    );
    tracing::info!(address = ?listener.local_addr().ok(), "metrics at /metrics");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        m.record_call(
            "/leverage.v1.AssetService/ListHoldings",
            tonic::Code::Ok,
            0.0003,
        );
        m.record_call(
            "/leverage.v1.AssetService/ListHoldings",
            tonic::Code::InvalidArgument,
            0.002,
        );
        m.record_plugin("pressure-index", 10, None, 0.001);
        m.record_plugin("pressure-index", 1, Some("panicked"), 0.001);
        let text = m.render("2026.03.1");
        assert!(text.contains(
            "leverage_calls_total{method=\"/leverage.v1.AssetService/ListHoldings\",code=\"Ok\"} 1"
        ));
        assert!(text.contains("le=\"0.0005\"} 1"));
        assert!(text.contains("leverage_call_duration_seconds_count{method=\"/leverage.v1.AssetService/ListHoldings\"} 2"));
        assert!(text.contains("leverage_plugin_scenarios_total{plugin=\"pressure-index\"} 11"));
        assert!(text.contains(
            "leverage_plugin_failures_total{plugin=\"pressure-index\",kind=\"panicked\"} 1"
        ));
        assert!(text.contains("leverage_dataset_info{version=\"2026.03.1\"} 1"));
    }
}
