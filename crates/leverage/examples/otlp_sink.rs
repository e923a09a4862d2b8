//! An OTLP/gRPC trace collector that only counts what it receives, for measuring what traces
//! cost the server (BENCHMARKS.md, "Issue 16: traces") without a real collector's own CPU in
//! the figures:
//!
//! ```sh
//! cargo run --release -p leverage --example otlp_sink -- 127.0.0.1:4317
//! ```
//!
//! It prints the spans and export requests received so far every ten seconds, and on Ctrl-C.

#![allow(clippy::unwrap_used)] // A measuring tool: a panic is a failed run.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};

#[derive(Clone, Default)]
struct Counts {
    spans: Arc<AtomicU64>,
    requests: Arc<AtomicU64>,
}

#[tonic::async_trait]
impl TraceService for Counts {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let spans: usize = request
            .get_ref()
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len())
            .sum();
        self.spans.fetch_add(spans as u64, Ordering::Relaxed);
        self.requests.fetch_add(1, Ordering::Relaxed);
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

impl Counts {
    fn print(&self) {
        println!(
            "spans {} in {} export requests",
            self.spans.load(Ordering::Relaxed),
            self.requests.load(Ordering::Relaxed)
        );
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let listen: std::net::SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:4317".to_owned())
        .parse()
        .unwrap();
    let counts = Counts::default();
    let reporter = counts.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(10));
        every.tick().await;
        loop {
            every.tick().await;
            reporter.print();
        }
    });
    let stopped = counts.clone();
    tonic::transport::Server::builder()
        .add_service(TraceServiceServer::new(counts))
        .serve_with_shutdown(listen, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .unwrap();
    stopped.print();
}
