//! Traces over OTLP (issue 16): the real `leverage serve` binary, with `--otlp-endpoint`
//! pointing at an OTLP/gRPC collector that this test runs (the OpenTelemetry protobuf
//! definitions' generated server, recording every span it is sent), answers calls that carry a
//! W3C `traceparent` of the test's own; the collector must then hold one server span per call,
//! in the test's trace, parented to the test's span, with the method, status, plugin and
//! dataset-version attributes. A call without `traceparent` starts a trace of its own; a
//! collector that nobody runs costs nothing but the spans.
//!
//! Nothing here waits a fixed time: the collector is polled until the spans arrive or a
//! generous deadline passes.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::ffi::OsString;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use leverage_e2e::plugin_libraries;
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::asset_service_client::AssetServiceClient;
use leverage_proto::leverage::v1::scoring_service_client::ScoringServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;

mod common;
use common::{KillOnDrop, free_port, spawn_server_with_env, tail, wait_serving};

/// The client's trace and span, as the test's `traceparent` names them.
const TRACE_ID: &str = "5eed1e57ab1e0dd5c0ffee0123456789";
const CLIENT_SPAN_ID: &str = "b0a710ad5eed0001";
const TRACESTATE: &str = "leverage-test=e2e";
/// The span of the test's gRPC-Web call, in the same trace.
const WEB_SPAN_ID: &str = "b0a710ad5eed0002";
/// A trace whose `traceparent` says it is not sampled: the server must record nothing of it.
const UNSAMPLED_TRACE_ID: &str = "5eed1e57ab1e0dd5c0ffee0000000000";

/// Long enough for a slow CI machine; the spans of a call arrive within a batch delay.
const DEADLINE: Duration = Duration::from_secs(60);

/// A span the server exported, with the resource attributes it was sent under.
#[derive(Clone, Debug)]
struct Received {
    span: Span,
    resource: Vec<KeyValue>,
}

/// An OTLP/gRPC trace collector on loopback that keeps every span it is sent.
#[derive(Clone, Default)]
struct Collector {
    received: Arc<Mutex<Vec<Received>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut received = self.received.lock().unwrap();
        for resource_spans in request.into_inner().resource_spans {
            let resource = resource_spans
                .resource
                .map(|r| r.attributes)
                .unwrap_or_default();
            for scope in resource_spans.scope_spans {
                for span in scope.spans {
                    received.push(Received {
                        span,
                        resource: resource.clone(),
                    });
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

impl Collector {
    /// Starts the collector on a free loopback port; returns its URL.
    async fn start(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let service = TraceServiceServer::new(self.clone());
        tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
                .await
                .unwrap();
        });
        url
    }

    /// Waits until `wanted` holds for the spans received so far, and returns them; panics
    /// with what did arrive once the deadline passes.
    async fn wait_for(&self, what: &str, wanted: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let received = self.received.lock().unwrap().clone();
            if wanted(&received) {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "the collector did not receive {what} in {DEADLINE:?}; it received: {:#?}",
                received.iter().map(|r| &r.span.name).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A server of this build exporting to `otlp` (by flag, or by `LEVERAGE_OTLP_ENDPOINT` when
/// `by_env`), with the pressure-index plugin, the batch processor's delay set to
/// `batch_delay_ms` through the SDK's standard variable.
struct Server {
    process: KillOnDrop,
    port: u16,
    dirs: [tempfile::TempDir; 2],
}

impl Server {
    async fn start(otlp: &str, by_env: bool, batch_delay_ms: &str) -> Server {
        Self::start_with(otlp, by_env, batch_delay_ms, &[]).await
    }

    async fn start_with(
        otlp: &str,
        by_env: bool,
        batch_delay_ms: &str,
        more_args: &[&str],
    ) -> Server {
        let data = tempfile::tempdir().unwrap();
        let plugins = tempfile::tempdir().unwrap();
        let lib = "libleverage_plugin_pressure_index.so";
        std::fs::copy(plugin_libraries().join(lib), plugins.path().join(lib)).unwrap();
        let port = free_port();
        let log = data.path().join("server.log");
        let mut args: Vec<OsString> = vec![
            "--plugin-dir".into(),
            plugins.path().into(),
            "--data-dir".into(),
            data.path().join("db").into(),
            "--drain-ms".into(),
            "0".into(),
        ];
        args.extend(more_args.iter().map(OsString::from));
        let mut env = vec![
            ("OTEL_BSP_SCHEDULE_DELAY", batch_delay_ms.to_owned()),
            // A collector that does not answer holds an export (and the flush at shutdown)
            // this long at most.
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2000".to_owned()),
        ];
        if by_env {
            env.push(("LEVERAGE_OTLP_ENDPOINT", otlp.to_owned()));
        } else {
            args.extend(["--otlp-endpoint".into(), otlp.into()]);
        }
        let log_path = log.clone();
        let process = tokio::task::spawn_blocking(move || {
            let mut process = spawn_server_with_env(port, args, env, &log_path);
            wait_serving(&mut process, port, &log_path);
            process
        })
        .await
        .unwrap();
        Server {
            process,
            port,
            dirs: [data, plugins],
        }
    }

    async fn channel(&self) -> tonic::transport::Channel {
        tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{}", self.port))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    /// Stops the server as an operator would (SIGTERM) and waits for it to exit, which it
    /// does only after flushing its spans; returns its log.
    async fn stop(self) -> String {
        let log = self.log();
        let log = log.as_path();
        let pid = self.process.0.id().to_string();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(status.success());
        let mut process = self.process;
        let exited = tokio::task::spawn_blocking(move || {
            let deadline = Instant::now() + DEADLINE;
            loop {
                if let Some(status) = process.0.try_wait().unwrap() {
                    return Some(status);
                }
                if Instant::now() > deadline {
                    return None;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
        .await
        .unwrap();
        let status = exited.unwrap_or_else(|| {
            panic!(
                "the server did not stop within {DEADLINE:?}:\n{}",
                tail(log)
            )
        });
        assert!(
            status.success(),
            "the server exited {status}:\n{}",
            tail(log)
        );
        std::fs::read_to_string(log).unwrap()
    }

    fn log(&self) -> std::path::PathBuf {
        self.dirs[0].path().join("server.log")
    }
}

/// `message` as a request carrying the test's trace context.
fn in_trace<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let parent = format!("00-{TRACE_ID}-{CLIENT_SPAN_ID}-01");
    request
        .metadata_mut()
        .insert("traceparent", parent.parse().unwrap());
    request
        .metadata_mut()
        .insert("tracestate", TRACESTATE.parse().unwrap());
    request
}

/// The dataset version a reply names in its `leverage-dataset-version` header.
fn served_version(metadata: &tonic::metadata::MetadataMap) -> i64 {
    metadata
        .get("leverage-dataset-version")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

fn string_attribute<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    match attribute(&span.attributes, key) {
        Some(Value::StringValue(s)) => Some(s),
        other => panic!("{key} of {} is {other:?}, not a string", span.name),
    }
}

fn int_attribute(span: &Span, key: &str) -> i64 {
    match attribute(&span.attributes, key) {
        Some(Value::IntValue(v)) => *v,
        other => panic!("{key} of {} is {other:?}, not an integer", span.name),
    }
}

fn in_our_trace(received: &[Received]) -> Vec<&Span> {
    received
        .iter()
        .map(|r| &r.span)
        .filter(|s| hex(&s.trace_id) == TRACE_ID)
        .collect()
}

/// One HTTP/1.1 exchange on a fresh connection: the raw response, headers and body.
async fn http1(port: u16, head: &str, body: &[u8]) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    response
}

fn scenario() -> pb::Scenario {
    pb::Scenario {
        use_mode: pb::AssetAction::Confiscation as i32,
        as_of: leverage_e2e::date(2025, 12, 31),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_call_is_a_server_span_in_the_clients_trace() {
    let collector = Collector::default();
    let otlp = collector.start().await;
    let server = Server::start_with(&otlp, false, "100", &["--web"]).await;
    let mut assets = AssetServiceClient::new(server.channel().await);
    let mut scoring = ScoringServiceClient::new(server.channel().await);

    let listed = assets
        .list_holdings(in_trace(pb::ListHoldingsRequest::default()))
        .await
        .unwrap();
    let list_version = served_version(listed.metadata());
    let scored = scoring
        .score_scenario(in_trace(pb::ScoreScenarioRequest {
            plugin: "plugins/pressure-index".into(),
            scenario: Some(scenario()),
            ..Default::default()
        }))
        .await
        .unwrap();
    let score_version = served_version(scored.metadata());
    let missing = assets
        .get_holding(in_trace(pb::GetHoldingRequest {
            name: "holdings/no-such-holding".into(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);
    let missing_version = served_version(missing.metadata());
    // A page's call: gRPC-Web over HTTP/1.1, the trace context as plain HTTP headers, which
    // a browser may send to another origin only if the CORS preflight allows them.
    let preflight = http1(
        server.port,
        "OPTIONS /leverage.v1.ScoringService/ListPlugins HTTP/1.1\r\nHost: test\r\n\
         Origin: http://analyst.example\r\nAccess-Control-Request-Method: POST\r\n\
         Access-Control-Request-Headers: content-type,x-grpc-web,traceparent,tracestate\r\n\
         Connection: close\r\n\r\n",
        b"",
    )
    .await;
    let preflight = String::from_utf8_lossy(&preflight).to_ascii_lowercase();
    let allowed = preflight
        .lines()
        .find_map(|l| l.strip_prefix("access-control-allow-headers:"))
        .unwrap_or_else(|| panic!("no allowed headers in the preflight: {preflight}"));
    for header in ["traceparent", "tracestate"] {
        assert!(allowed.contains(header), "{header} not allowed: {allowed}");
    }
    // An empty ListPluginsRequest in one gRPC-Web frame: flag 0, length 0.
    let frame = [0u8; 5];
    let web_reply = http1(
        server.port,
        &format!(
            "POST /leverage.v1.ScoringService/ListPlugins HTTP/1.1\r\nHost: test\r\n\
             Content-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\n\
             traceparent: 00-{TRACE_ID}-{WEB_SPAN_ID}-01\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            frame.len()
        ),
        &frame,
    )
    .await;
    assert!(
        web_reply.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&web_reply)
    );
    // A caller that decided not to sample its trace: the server records nothing of it.
    let mut unsampled = tonic::Request::new(pb::ListHoldingsRequest::default());
    unsampled.metadata_mut().insert(
        "traceparent",
        format!("00-{UNSAMPLED_TRACE_ID}-{CLIENT_SPAN_ID}-00")
            .parse()
            .unwrap(),
    );
    assets.list_holdings(unsampled).await.unwrap();
    // The same call with no trace context: a trace of the server's own.
    assets
        .list_holdings(pb::ListHoldingsRequest::default())
        .await
        .unwrap();

    let received = collector
        .wait_for(
            "the four spans of the test's trace and a root ListHoldings",
            |r| {
                in_our_trace(r).len() >= 4
                    && r.iter().any(|r| {
                        r.span.name == "leverage.v1.AssetService/ListHoldings"
                            && hex(&r.span.trace_id) != TRACE_ID
                    })
            },
        )
        .await;
    let ours = in_our_trace(&received);
    assert_eq!(
        ours.len(),
        4,
        "one span per traced call, and no other: {ours:#?}"
    );
    // Spans are queued as calls end, and the unsampled call ended before the root call began:
    // had it been recorded, it would have arrived with it or before.
    assert!(
        !received
            .iter()
            .any(|r| hex(&r.span.trace_id) == UNSAMPLED_TRACE_ID),
        "an unsampled trace was recorded"
    );
    let span = |name: &str| {
        *ours
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no span named {name} in {ours:#?}"))
    };
    let list = span("leverage.v1.AssetService/ListHoldings");
    let score = span("leverage.v1.ScoringService/ScoreScenario");
    let get = span("leverage.v1.AssetService/GetHolding");
    for (s, service, method, code, version) in [
        (
            list,
            "leverage.v1.AssetService",
            "ListHoldings",
            0,
            list_version,
        ),
        (
            score,
            "leverage.v1.ScoringService",
            "ScoreScenario",
            0,
            score_version,
        ),
        (
            get,
            "leverage.v1.AssetService",
            "GetHolding",
            tonic::Code::NotFound as i64,
            missing_version,
        ),
    ] {
        assert_eq!(s.kind, SpanKind::Server as i32, "{}", s.name);
        assert_eq!(hex(&s.parent_span_id), CLIENT_SPAN_ID, "{}", s.name);
        assert_eq!(s.trace_state, TRACESTATE, "{}", s.name);
        assert_ne!(hex(&s.span_id), CLIENT_SPAN_ID, "{}", s.name);
        assert_eq!(string_attribute(s, "rpc.system"), Some("grpc"));
        assert_eq!(string_attribute(s, "rpc.service"), Some(service));
        assert_eq!(string_attribute(s, "rpc.method"), Some(method));
        assert_eq!(int_attribute(s, "rpc.grpc.status_code"), code, "{}", s.name);
        assert_eq!(
            int_attribute(s, "leverage.dataset_version"),
            version,
            "{}",
            s.name
        );
        assert!(s.end_time_unix_nano >= s.start_time_unix_nano);
    }
    assert_eq!(
        string_attribute(score, "leverage.plugin"),
        Some("plugins/pressure-index")
    );
    assert_eq!(attribute(&list.attributes, "leverage.plugin"), None);
    assert_eq!(attribute(&get.attributes, "leverage.plugin"), None);
    let web = span("leverage.v1.ScoringService/ListPlugins");
    assert_eq!(hex(&web.parent_span_id), WEB_SPAN_ID);
    assert_eq!(web.kind, SpanKind::Server as i32);
    assert_eq!(int_attribute(web, "rpc.grpc.status_code"), 0);
    // NOT_FOUND is the caller's mistake, not the server's: the span is not marked failed
    // (the RPC conventions), but its gRPC status says what happened.
    let unset = opentelemetry_proto::tonic::trace::v1::status::StatusCode::Unset as i32;
    assert_eq!(get.status.as_ref().map_or(unset, |s| s.code), unset);

    let root = received
        .iter()
        .map(|r| &r.span)
        .find(|s| s.name == "leverage.v1.AssetService/ListHoldings" && hex(&s.trace_id) != TRACE_ID)
        .unwrap();
    assert!(
        root.parent_span_id.is_empty(),
        "a call without traceparent is a root span: {root:#?}"
    );
    assert_eq!(root.trace_id.len(), 16);
    assert!(root.trace_id.iter().any(|b| *b != 0));
    assert_eq!(root.kind, SpanKind::Server as i32);

    let resource = &received[0].resource;
    assert_eq!(
        match attribute(resource, "service.name") {
            Some(Value::StringValue(s)) => s.as_str(),
            other => panic!("service.name is {other:?}"),
        },
        "leverage"
    );
    server.stop().await;
}

/// Spans still waiting for their batch when the server is told to stop are sent before it
/// exits: the batch delay here is an hour, so only the flush at shutdown can deliver them.
/// The collector is named by `LEVERAGE_OTLP_ENDPOINT`, the flag's variable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_spans_are_flushed_when_the_server_stops() {
    let collector = Collector::default();
    let otlp = collector.start().await;
    let server = Server::start(&otlp, true, "3600000").await;
    let mut scoring = ScoringServiceClient::new(server.channel().await);
    let compared = scoring
        .compare_scenarios(in_trace(pb::CompareScenariosRequest {
            plugins: vec!["plugins/pressure-index".into()],
            scenarios: vec![scenario()],
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(compared.rows.len(), 1);
    server.stop().await;
    let received = collector
        .wait_for("the CompareScenarios span", |r| !in_our_trace(r).is_empty())
        .await;
    let ours = in_our_trace(&received);
    assert_eq!(ours.len(), 1, "{ours:#?}");
    assert_eq!(ours[0].name, "leverage.v1.ScoringService/CompareScenarios");
    assert_eq!(
        string_attribute(ours[0], "leverage.plugin"),
        Some("plugins/pressure-index")
    );
    assert_eq!(hex(&ours[0].parent_span_id), CLIENT_SPAN_ID);
}

/// A collector that nobody runs: every call still answers, and the server still stops when
/// told to (the flush gives up after the export timeout).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_collector_fails_no_call() {
    let nobody = format!("http://127.0.0.1:{}", free_port());
    let server = Server::start(&nobody, false, "50").await;
    let mut assets = AssetServiceClient::new(server.channel().await);
    let mut scoring = ScoringServiceClient::new(server.channel().await);
    // Enough calls that batches go out (and fail) while calls are still being made.
    for _ in 0..50 {
        let listed = assets
            .list_holdings(in_trace(pb::ListHoldingsRequest::default()))
            .await
            .unwrap()
            .into_inner();
        assert!(!listed.holdings.is_empty());
        let scored = scoring
            .score_scenario(in_trace(pb::ScoreScenarioRequest {
                plugin: "plugins/pressure-index".into(),
                scenario: Some(scenario()),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        assert!(scored.result.is_some());
    }
    // The operator hears of it: the SDK logs each failed export (through `tracing`, so in the
    // server's own log), at least the flush at shutdown.
    let text = server.stop().await;
    assert!(
        text.contains("BatchSpanProcessor.ExportError"),
        "no failed export in the log:\n{text}"
    );
}
