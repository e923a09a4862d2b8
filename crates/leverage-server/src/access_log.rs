//! One log line per call: method, gRPC status and latency. Failures of the server's own making
//! are warnings and calls slower than [`SLOW_CALL`] are info, so the default `info` log shows what
//! needs attention; every other call is a debug line (`LEVERAGE_LOG=info,leverage_server=debug`).
//! Writing a line for each of tens of thousands of calls a second cost about an eighth of the
//! server's CPU in the issue 4 profile; the counts and latencies are in the metrics anyway.
//!
//! With traces on (`traces`), the same layer makes each call's server span: it already has the
//! method, the status and the reply's headers (the dataset version that served the call), so
//! the span reads what the log line and the metrics read, from one place.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::metrics::Metrics;
use crate::traces::{CallTracer, CalledPlugin};
use crate::versions::DATASET_VERSION_HEADER;

/// A call that takes longer than this is logged at info level whatever its status.
pub const SLOW_CALL: Duration = Duration::from_millis(500);

/// Adds [`AccessLog`] around every service; it also feeds the call metrics, and makes each
/// call's span when traces are exported.
#[derive(Clone, Debug, Default)]
pub struct AccessLogLayer {
    pub metrics: Metrics,
    pub tracer: Option<CallTracer>,
}

impl<S> tower::Layer<S> for AccessLogLayer {
    type Service = AccessLog<S>;
    fn layer(&self, inner: S) -> Self::Service {
        AccessLog {
            inner,
            metrics: self.metrics.clone(),
            tracer: self.tracer.clone(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct AccessLog<S> {
    inner: S,
    metrics: Metrics,
    tracer: Option<CallTracer>,
}

impl<S, B, R> tower::Service<http::Request<B>> for AccessLog<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let started = Instant::now();
        let method = request.uri().path().to_owned();
        let traced = self.tracer.as_ref().map(|tracer| {
            let plugin = CalledPlugin::default();
            request.extensions_mut().insert(plugin.clone());
            (tracer.start(&method, request.headers()), plugin)
        });
        let call = self.inner.call(request);
        let metrics = self.metrics.clone();
        Box::pin(async move {
            let response = call.await;
            let elapsed = started.elapsed();
            let micros = elapsed.as_micros() as u64;
            match &response {
                Ok(r) => {
                    // Errors travel in a trailers-only response, so their status is a header;
                    // a success puts its status in the trailers, after the body.
                    let status = r
                        .headers()
                        .get("grpc-status")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<i32>().ok())
                        .unwrap_or(0);
                    let code = tonic::Code::from_i32(status);
                    // The encoding the reply went out in: the caller's choice, per call.
                    let encoding = r
                        .headers()
                        .get("grpc-encoding")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("identity")
                        .to_owned();
                    metrics.record_call(&method, code, elapsed.as_secs_f64());
                    if let Some((span, plugin)) = traced {
                        let version = r
                            .headers()
                            .get(DATASET_VERSION_HEADER)
                            .and_then(|v| v.to_str().ok());
                        span.end(code, version, Some(&plugin));
                    }
                    if matches!(
                        code,
                        tonic::Code::Internal | tonic::Code::Unknown | tonic::Code::DataLoss
                    ) {
                        tracing::warn!(%method, status = ?code, %encoding, micros, "call");
                    } else if elapsed > SLOW_CALL {
                        tracing::info!(%method, status = ?code, %encoding, micros, "slow call");
                    } else {
                        tracing::debug!(%method, status = ?code, %encoding, micros, "call");
                    }
                }
                Err(_) => {
                    if let Some((span, _)) = traced {
                        span.end_in_transport();
                    }
                    tracing::warn!(%method, micros, "call failed in transport")
                }
            }
            response
        })
    }
}
