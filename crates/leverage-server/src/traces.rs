//! OpenTelemetry traces over OTLP/gRPC (issue 16): one server span per call, named and
//! attributed as the OpenTelemetry RPC semantic conventions say (`rpc.system`, `rpc.service`,
//! `rpc.method`, `rpc.grpc.status_code`), plus the plugin a call names (`leverage.plugin`) and
//! the dataset version it read (`leverage.dataset_version`). A W3C `traceparent` (and
//! `tracestate`) sent by the client, as gRPC metadata or, over gRPC-Web, as the same HTTP
//! header, makes the client's span the parent.
//!
//! The spans are made with the OpenTelemetry API directly, in the access-log layer, rather than
//! bridged from `tracing` spans (`tracing-opentelemetry`): a call's span lives exactly as long
//! as the layer's future, its attributes are known only once the reply is (status, version),
//! and whether a call is traced must not depend on the log filter (`LEVERAGE_LOG`), which
//! decides whether a `tracing` span exists at all. It also spares a crate and a bridge per span.
//!
//! Spans go out through a batch processor on a thread of its own: a call only queues its span.
//! A collector that is slow or unreachable costs dropped spans (and a warning in the log),
//! never a failed or slower call. The standard `OTEL_BSP_*` variables tune the batches
//! (e.g. `OTEL_BSP_SCHEDULE_DELAY`, in milliseconds) and `OTEL_EXPORTER_OTLP_TIMEOUT` each
//! export's deadline; `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` name the server.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use opentelemetry::KeyValue;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{Span as _, SpanKind, Status, Tracer as _, TracerProvider as _};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{BatchSpanProcessor, SdkTracer, SdkTracerProvider};

/// The attribute that names the plugin a call named.
pub const PLUGIN_ATTRIBUTE: &str = "leverage.plugin";
/// The attribute that gives the dataset version a call read.
pub const DATASET_VERSION_ATTRIBUTE: &str = "leverage.dataset_version";

/// The exporting side of traces: the provider to flush on shutdown, and the tracer the calls'
/// spans come from.
#[derive(Debug)]
pub struct Traces {
    provider: SdkTracerProvider,
    tracer: CallTracer,
}

#[derive(Debug, thiserror::Error)]
pub enum TracesError {
    #[error("the OTLP exporter cannot be built for {endpoint}: {reason}")]
    Exporter { endpoint: String, reason: String },
}

impl Traces {
    /// Exports spans to the OTLP/gRPC collector at `endpoint` (e.g. `http://127.0.0.1:4317`).
    /// Must be called inside a tokio runtime: the exporter's channel runs on it. The collector
    /// need not be up: the channel connects when a batch goes out, and again after a failure.
    pub fn export_to(endpoint: &str) -> Result<Self, TracesError> {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()
            .map_err(|e| TracesError::Exporter {
                endpoint: endpoint.to_owned(),
                reason: e.to_string(),
            })?;
        // The batch settings come from the standard OTEL_BSP_* variables, else the SDK's
        // defaults (a batch every 5 s, at most 2048 spans queued: past that, spans are dropped).
        let processor = BatchSpanProcessor::builder(exporter).build();
        let mut resource = opentelemetry_sdk::Resource::builder()
            .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")));
        // An operator's OTEL_SERVICE_NAME wins (e.g. to tell replicas apart); else "leverage"
        // rather than the SDK's `unknown_service`.
        if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
            resource = resource.with_service_name("leverage");
        }
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .with_resource(resource.build())
            .build();
        let tracer = CallTracer(Arc::new(provider.tracer("leverage-server")));
        Ok(Self { provider, tracer })
    }

    /// The tracer the access-log layer makes the calls' spans with.
    pub fn tracer(&self) -> CallTracer {
        self.tracer.clone()
    }

    /// Exports the spans still queued and stops the exporter. Blocks (up to the export
    /// timeout, when the collector does not answer): call it off the async workers.
    pub fn shutdown(self) {
        if let Err(e) = self.provider.shutdown() {
            tracing::warn!(error = %e, "the last traces may not have reached the collector");
        }
    }
}

/// Makes the server span of each call.
#[derive(Clone)]
pub struct CallTracer(Arc<SdkTracer>);

impl std::fmt::Debug for CallTracer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallTracer")
    }
}

/// A call's span, from its request to its reply.
#[derive(Debug)]
pub struct CallSpan(opentelemetry_sdk::trace::Span);

impl CallTracer {
    /// Starts the span of a call to `path` (`/leverage.v1.AssetService/ListHoldings`), as a
    /// child of the client's span when `headers` carry a valid `traceparent`, else as the root
    /// of a new trace.
    pub fn start(&self, path: &str, headers: &http::HeaderMap) -> CallSpan {
        let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
        let name = path.strip_prefix('/').unwrap_or(path);
        let (service, method) = name.split_once('/').unwrap_or((name, ""));
        let attributes = vec![
            KeyValue::new("rpc.system", "grpc"),
            KeyValue::new("rpc.service", service.to_owned()),
            KeyValue::new("rpc.method", method.to_owned()),
        ];
        let span = self
            .0
            .span_builder(Cow::Owned(name.to_owned()))
            .with_kind(SpanKind::Server)
            .with_attributes(attributes)
            .start_with_context(&*self.0, &parent);
        CallSpan(span)
    }
}

impl CallSpan {
    /// Ends the span with the call's gRPC status and what the call read: the dataset version
    /// that served it and the plugin it named, when known.
    pub fn end(
        mut self,
        code: tonic::Code,
        dataset_version: Option<&str>,
        plugin: Option<&CalledPlugin>,
    ) {
        let span = &mut self.0;
        span.set_attribute(KeyValue::new("rpc.grpc.status_code", code as i64));
        if let Some(version) = dataset_version.and_then(|v| v.parse::<i64>().ok()) {
            span.set_attribute(KeyValue::new(DATASET_VERSION_ATTRIBUTE, version));
        }
        if let Some(name) = plugin.and_then(CalledPlugin::name) {
            span.set_attribute(KeyValue::new(PLUGIN_ATTRIBUTE, name.to_owned()));
        }
        if is_server_error(code) {
            span.set_status(Status::error(format!("{code:?}")));
        }
        span.end();
    }

    /// Ends the span of a call that failed below gRPC (the connection, the transport).
    pub fn end_in_transport(mut self) {
        self.0
            .set_status(Status::error("the call failed in transport"));
        self.0.end();
    }
}

/// Whether a status marks a server span as failed. The RPC conventions count only these as
/// the server's errors; the others (NOT_FOUND, INVALID_ARGUMENT, ...) are the caller's.
fn is_server_error(code: tonic::Code) -> bool {
    use tonic::Code::*;
    matches!(
        code,
        Unknown | DeadlineExceeded | Unimplemented | Internal | Unavailable | DataLoss
    )
}

/// The plugin a call named, which the scoring handlers learn only once they read the
/// request's message. The access-log layer puts an empty one in the request's extensions when
/// the call is traced; the handler fills it with [`name_plugin`].
#[derive(Clone, Debug, Default)]
pub struct CalledPlugin(Arc<OnceLock<String>>);

impl CalledPlugin {
    fn name(&self) -> Option<&str> {
        self.0.get().map(String::as_str)
    }
}

/// Records on a traced call the plugin (or plugins, comma-separated) it names, as the client
/// named it. Does nothing on a call that is not traced.
pub fn name_plugin<T>(request: &tonic::Request<T>, name: impl FnOnce(&T) -> String) {
    if let Some(slot) = request.extensions().get::<CalledPlugin>() {
        let _ = slot.0.set(name(request.get_ref()));
    }
}

/// Reads the W3C trace-context headers from a request's headers.
struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}
