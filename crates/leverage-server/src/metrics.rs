//! Prometheus metrics on a port of their own: calls by method and status, latency histograms
//! per method, plugin calls, failures and latency per plugin, the dataset version, and the
//! process (CPU, memory, file descriptors, start time). Recorded and rendered with the
//! `prometheus-client` library in the Prometheus text format 0.0.4; the series names, types and
//! labels are those of the hand-written exposition this replaced (issue 16), which
//! `tests/e2e/golden/metrics-exposition.txt` keeps so that dashboards keep working.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::Instant;

use leverage_store::Repository;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

mod process;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5,
];

fn latency_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// A gRPC status code as a label value: its name as tonic spells it (`Ok`, `InvalidArgument`),
/// which is what the hand-written exposition wrote and dashboards match on.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
struct GrpcCode(tonic::Code);

impl EncodeLabelValue for GrpcCode {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        use std::fmt::Write as _;
        write!(encoder, "{:?}", self.0)
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    method: String,
    code: GrpcCode,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PluginLabels {
    plugin: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    plugin: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DatasetLabels {
    version: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// The series of one method, found by its path without allocating. The library's families are
/// looked up by an owned label set, two allocations and two hashes of the path per call; this
/// keeps handles on the same series (a handle is a shared reference to what the family shows).
#[derive(Debug)]
struct MethodSeries {
    duration: Histogram,
    /// Indexed by the numeric gRPC code (0 to 16), each made at the first call with its code:
    /// a series only for the codes seen, as before.
    calls: [OnceLock<Counter>; 17],
}

/// What a scrape sets just before it renders: the dataset version shown (a reload can change
/// it, and the old version's series must go) and the uptime.
#[derive(Debug)]
struct Scrape {
    shown_version: Option<String>,
}

/// The server's metrics; cheap to clone.
#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Arc<Registry>,
    calls: Family<CallLabels, Counter>,
    call_duration: HistogramFamily<MethodLabels>,
    plugin_calls: Family<PluginLabels, Counter>,
    plugin_scenarios: Family<PluginLabels, Counter>,
    plugin_failures: Family<FailureLabels, Counter>,
    plugin_duration: HistogramFamily<PluginLabels>,
    methods: Arc<RwLock<HashMap<Box<str>, MethodSeries>>>,
    dataset_info: Family<DatasetLabels, Gauge>,
    uptime: Gauge<f64, AtomicU64>,
    started: Instant,
    /// Held through a whole scrape, so that two scrapes during a reload do not interleave
    /// their dataset versions.
    scrape: Arc<Mutex<Scrape>>,
}

impl Default for Metrics {
    fn default() -> Self {
        let calls = Family::default();
        let call_duration = HistogramFamily::new_with_constructor(latency_histogram as fn() -> _);
        let plugin_calls = Family::default();
        let plugin_scenarios = Family::default();
        let plugin_failures = Family::default();
        let plugin_duration = HistogramFamily::new_with_constructor(latency_histogram as fn() -> _);
        let dataset_info = Family::default();
        let uptime = Gauge::default();
        // Names and help texts as the hand-written exposition had them; the library adds the
        // `_total` of counters and the final full stop of help texts.
        let mut registry = Registry::default();
        registry.register(
            "leverage_calls",
            "gRPC calls by method and status",
            calls.clone(),
        );
        registry.register(
            "leverage_call_duration_seconds",
            "Time to the response headers, by method",
            call_duration.clone(),
        );
        registry.register(
            "leverage_plugin_calls",
            "Calls into each plugin",
            plugin_calls.clone(),
        );
        registry.register(
            "leverage_plugin_scenarios",
            "Scenarios scored by each plugin",
            plugin_scenarios.clone(),
        );
        registry.register(
            "leverage_plugin_failures",
            "Failed plugin calls by kind",
            plugin_failures.clone(),
        );
        registry.register(
            "leverage_plugin_call_duration_seconds",
            "Duration of plugin calls",
            plugin_duration.clone(),
        );
        registry.register(
            "leverage_dataset_info",
            "The dataset in use",
            dataset_info.clone(),
        );
        registry.register(
            "leverage_uptime_seconds",
            "Seconds since the server started",
            uptime.clone(),
        );
        registry.register_collector(Box::new(process::ProcessCollector));
        Self {
            registry: Arc::new(registry),
            calls,
            call_duration,
            plugin_calls,
            plugin_scenarios,
            plugin_failures,
            plugin_duration,
            methods: Arc::default(),
            dataset_info,
            uptime,
            started: Instant::now(),
            scrape: Arc::new(Mutex::new(Scrape {
                shown_version: None,
            })),
        }
    }
}

impl Metrics {
    /// One finished call.
    pub fn record_call(&self, method: &str, code: tonic::Code, seconds: f64) {
        {
            let methods = self.methods.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(series) = methods.get(method) {
                self.record_in(series, method, code, seconds);
                return;
            }
        }
        let mut methods = self.methods.write().unwrap_or_else(PoisonError::into_inner);
        let series = methods
            .entry(method.into())
            .or_insert_with(|| MethodSeries {
                duration: self.call_duration.get_or_create_owned(&MethodLabels {
                    method: method.to_owned(),
                }),
                calls: Default::default(),
            });
        self.record_in(series, method, code, seconds);
    }

    fn record_in(&self, series: &MethodSeries, method: &str, code: tonic::Code, seconds: f64) {
        series.duration.observe(seconds);
        if let Some(calls) = series.calls.get(code as usize) {
            calls
                .get_or_init(|| {
                    self.calls.get_or_create_owned(&CallLabels {
                        method: method.to_owned(),
                        code: GrpcCode(code),
                    })
                })
                .inc();
        }
    }

    /// One call into a plugin of `scenarios` rows; `failure` names the kind of failure, if any.
    pub fn record_plugin(
        &self,
        plugin: &str,
        scenarios: usize,
        failure: Option<&str>,
        seconds: f64,
    ) {
        let labels = PluginLabels {
            plugin: plugin.to_owned(),
        };
        self.plugin_calls.get_or_create(&labels).inc();
        self.plugin_scenarios
            .get_or_create(&labels)
            .inc_by(scenarios as u64);
        if let Some(kind) = failure {
            self.plugin_failures
                .get_or_create(&FailureLabels {
                    plugin: plugin.to_owned(),
                    kind: kind.to_owned(),
                })
                .inc();
        }
        self.plugin_duration.get_or_create(&labels).observe(seconds);
    }

    /// The text exposition (Prometheus text format 0.0.4).
    pub fn render(&self, dataset_version: &str) -> String {
        let mut scrape = self.scrape.lock().unwrap_or_else(|p| p.into_inner());
        if scrape.shown_version.as_deref() != Some(dataset_version) {
            self.dataset_info.clear();
            self.dataset_info
                .get_or_create(&DatasetLabels {
                    version: dataset_version.to_owned(),
                })
                .set(1);
            scrape.shown_version = Some(dataset_version.to_owned());
        }
        self.uptime.set(self.started.elapsed().as_secs_f64());
        let mut out = String::new();
        if let Err(e) =
            prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)
        {
            // Writing to a String fails only if an encoder does; say so rather than serve half.
            tracing::error!(error = %e, "encoding the metrics failed");
            out.clear();
        }
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
                    [(
                        http::header::CONTENT_TYPE,
                        prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
                    )],
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
        assert!(text.contains("le=\"0.0005\"} 1"), "{text}");
        assert!(text.contains("leverage_call_duration_seconds_count{method=\"/leverage.v1.AssetService/ListHoldings\"} 2"));
        assert!(text.contains("leverage_plugin_scenarios_total{plugin=\"pressure-index\"} 11"));
        assert!(text.contains(
            "leverage_plugin_failures_total{plugin=\"pressure-index\",kind=\"panicked\"} 1"
        ));
        assert!(text.contains("leverage_dataset_info{version=\"2026.03.1\"} 1"));
        assert!(
            text.contains("# HELP leverage_calls_total gRPC calls by method and status.\n"),
            "{text}"
        );
    }

    /// A reload changes the dataset version: the scrape after it shows the new one only.
    #[test]
    fn shows_only_the_current_dataset_version() {
        let m = Metrics::default();
        assert!(m.render("2026.03.1").contains("version=\"2026.03.1\"} 1"));
        let text = m.render("2026.12.1");
        assert!(text.contains("leverage_dataset_info{version=\"2026.12.1\"} 1"));
        assert!(!text.contains("2026.03.1"), "{text}");
    }

    /// Label values are escaped as the text format requires.
    #[test]
    fn escapes_label_values() {
        let m = Metrics::default();
        m.record_call("/odd\"path\\\n", tonic::Code::NotFound, 0.1);
        let text = m.render("v");
        assert!(
            text.contains(r#"leverage_calls_total{method="/odd\"path\\\n",code="NotFound"} 1"#),
            "{text}"
        );
    }
}
