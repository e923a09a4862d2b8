//! Issue 16: compression. The two large replies (ListHoldings, page_size 50; AssessLegalRisk,
//! confiscation in every jurisdiction, both as of 2025-12-31) with none, gzip and zstd:
//!
//! - the bytes of the reply's message on the wire: the gRPC frame's payload, read raw off the
//!   connection (so compressed when the server compressed it), and the frame's compressed flag;
//! - QPS: a closed loop of `connections` × `in_flight` callers that compress their calls and
//!   accept compressed replies in the encoding measured (as `leverage --compression` and the
//!   Python client's `compression=` do), for `duration` after `warmup`, with the CPU the server
//!   and the load generator used meanwhile (the server's µs per call, the generator's cores):
//!   compression costs both ends, and on loopback the bytes it saves cost nothing.
//!
//! Each of the `runs` rounds measures the three encodings in turn on the same server, so a
//! round's ratio to none compares figures taken moments apart; the report gives the medians of
//! the figures and of the per-round ratios. Replies come from the server's reply cache after the
//! first call (as a repeated read does in production): what is measured is the encoding and
//! the transport, not the query.

use std::future::poll_fn;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::BodyExt;
use leverage_proto::leverage::v1 as api;
use prost::Message;
use serde::Serialize;
use tonic::codec::CompressionEncoding;
use tonic::transport::Channel;
use tower::Service;

use crate::load::date;
use crate::server::{MAX_MESSAGE, connect};
use crate::stats::median;
use crate::sys::{CpuSample, CpuUse};

/// An encoding measured: `None` is no compression.
const ENCODINGS: [(&str, Option<CompressionEncoding>); 3] = [
    ("none", None),
    ("gzip", Some(CompressionEncoding::Gzip)),
    ("zstd", Some(CompressionEncoding::Zstd)),
];

#[derive(Clone, Copy, Debug)]
enum Read {
    ListHoldings,
    AssessLegalRisk,
}

impl Read {
    const ALL: [Read; 2] = [Read::ListHoldings, Read::AssessLegalRisk];

    fn name(self) -> &'static str {
        match self {
            Read::ListHoldings => "ListHoldings",
            Read::AssessLegalRisk => "AssessLegalRisk",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Read::ListHoldings => "/leverage.v1.AssetService/ListHoldings",
            Read::AssessLegalRisk => "/leverage.v1.LegalRiskService/AssessLegalRisk",
        }
    }

    fn list_request() -> api::ListHoldingsRequest {
        api::ListHoldingsRequest {
            page_size: 50,
            as_of: date(2025, 12, 31),
            ..Default::default()
        }
    }

    fn assess_request() -> api::AssessLegalRiskRequest {
        api::AssessLegalRiskRequest {
            action: api::AssetAction::Confiscation as i32,
            as_of: date(2025, 12, 31),
            ..Default::default()
        }
    }

    fn request_bytes(self) -> Vec<u8> {
        match self {
            Read::ListHoldings => Self::list_request().encode_to_vec(),
            Read::AssessLegalRisk => Self::assess_request().encode_to_vec(),
        }
    }

    /// One call with a client set to `encoding`; whether the reply is a plausible answer.
    async fn call(self, channel: Channel, encoding: Option<CompressionEncoding>) -> bool {
        macro_rules! set {
            ($client:expr) => {{
                let client = $client.max_decoding_message_size(MAX_MESSAGE);
                match encoding {
                    Some(e) => client.send_compressed(e).accept_compressed(e),
                    None => client,
                }
            }};
        }
        match self {
            Read::ListHoldings => set!(api::asset_service_client::AssetServiceClient::new(channel))
                .list_holdings(Self::list_request())
                .await
                .is_ok_and(|r| !r.into_inner().holdings.is_empty()),
            Read::AssessLegalRisk => set!(
                api::legal_risk_service_client::LegalRiskServiceClient::new(channel)
            )
            .assess_legal_risk(Self::assess_request())
            .await
            .is_ok_and(|r| !r.into_inner().jurisdictions.is_empty()),
        }
    }
}

#[derive(Clone, Debug)]
pub struct CompressionConfig {
    pub runs: usize,
    pub connections: usize,
    pub in_flight_per_connection: usize,
    pub warmup: Duration,
    pub duration: Duration,
}

/// One read in one encoding, over the rounds.
#[derive(Clone, Debug, Serialize)]
pub struct EncodingResult {
    pub read: &'static str,
    pub encoding: &'static str,
    /// The reply's message as sent: the gRPC frame's payload.
    pub wire_bytes: usize,
    pub compressed_flag: u8,
    /// The `grpc-encoding` the server answered with ("" for none).
    pub grpc_encoding: String,
    pub qps_runs: Vec<f64>,
    pub qps_median: f64,
    /// Per round, this QPS over the same round's QPS without compression.
    pub qps_ratio_runs: Vec<f64>,
    pub qps_ratio_median: f64,
    pub bytes_ratio: f64,
    /// Server CPU per call (µs) and the generator's CPU (cores), medians over the rounds.
    pub server_us_per_call_median: f64,
    pub generator_cores_median: f64,
    /// The most CPU other processes used in any round (cores): noise next door.
    pub others_cores_max: f64,
    pub cpu_runs: Vec<CpuUse>,
}

/// The reply of one raw call: (grpc-encoding, compressed flag, payload length).
async fn wire(
    channel: &mut Channel,
    read: Read,
    encoding: Option<&'static str>,
) -> anyhow::Result<(String, u8, usize)> {
    let payload = read.request_bytes();
    let mut body = vec![0u8];
    body.extend_from_slice(&u32::try_from(payload.len())?.to_be_bytes());
    body.extend_from_slice(&payload);
    let mut request = http::Request::builder()
        .method("POST")
        .uri(format!("http://localhost{}", read.path()))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    if let Some(e) = encoding {
        request = request.header("grpc-accept-encoding", e);
    }
    let request = request.body(tonic::body::Body::new(http_body_util::Full::new(
        Bytes::from(body),
    )))?;
    poll_fn(|cx| channel.poll_ready(cx)).await?;
    let response = channel.call(request).await?;
    let grpc_encoding = response
        .headers()
        .get("grpc-encoding")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let collected = response.into_body().collect().await?;
    let status = collected
        .trailers()
        .and_then(|t| t.get("grpc-status"))
        .and_then(|s| s.to_str().ok())
        .unwrap_or("")
        .to_owned();
    anyhow::ensure!(
        status == "0",
        "{} answered grpc-status {status:?}",
        read.name()
    );
    let bytes = collected.to_bytes();
    anyhow::ensure!(bytes.len() >= 5, "{} sent no message", read.name());
    let len = u32::from_be_bytes(bytes[1..5].try_into()?) as usize;
    anyhow::ensure!(
        bytes.len() == 5 + len,
        "{} sent more than one message",
        read.name()
    );
    Ok((grpc_encoding, bytes[0], len))
}

/// Calls per second of `read` in `encoding` from a closed loop over `channels`.
async fn qps(
    channels: &[Channel],
    server_pid: u32,
    read: Read,
    encoding: Option<CompressionEncoding>,
    config: &CompressionConfig,
) -> anyhow::Result<(f64, CpuUse)> {
    let start = Instant::now() + config.warmup;
    let end = start + config.duration;
    let sampler = tokio::spawn(async move {
        tokio::time::sleep_until(start.into()).await;
        let a = CpuSample::take(Some(server_pid));
        tokio::time::sleep_until(end.into()).await;
        let b = CpuSample::take(Some(server_pid));
        a.until(&b)
    });
    let mut tasks = tokio::task::JoinSet::new();
    for channel in channels {
        for _ in 0..config.in_flight_per_connection {
            let channel = channel.clone();
            tasks.spawn(async move {
                let (mut counted, mut failed) = (0u64, 0u64);
                loop {
                    let ok = read.call(channel.clone(), encoding).await;
                    let now = Instant::now();
                    if now >= end {
                        break;
                    }
                    if now >= start {
                        if ok {
                            counted += 1;
                        } else {
                            failed += 1;
                        }
                    }
                }
                (counted, failed)
            });
        }
    }
    let (mut calls, mut failures) = (0, 0);
    while let Some(done) = tasks.join_next().await {
        let (c, f) = done?;
        calls += c;
        failures += f;
    }
    anyhow::ensure!(
        failures == 0,
        "{failures} calls of {} failed or were implausible",
        read.name()
    );
    let cpu = sampler.await?;
    Ok((calls as f64 / config.duration.as_secs_f64(), cpu))
}

/// The whole part against the server at `addr`.
pub async fn run(
    addr: SocketAddr,
    server_pid: u32,
    config: &CompressionConfig,
) -> anyhow::Result<Vec<EncodingResult>> {
    let mut probe = connect(addr).await?;
    let mut channels = Vec::new();
    for _ in 0..config.connections.max(1) {
        channels.push(connect(addr).await?);
    }
    let mut results = Vec::new();
    for read in Read::ALL {
        let mut sizes = Vec::new();
        for (name, _) in ENCODINGS {
            let accept = (name != "none").then_some(name);
            sizes.push(
                wire(&mut probe, read, accept)
                    .await
                    .with_context(|| format!("{} with {name}", read.name()))?,
            );
        }
        let mut per_round: Vec<Vec<f64>> = vec![Vec::new(); ENCODINGS.len()];
        let mut cpu: Vec<Vec<CpuUse>> = vec![Vec::new(); ENCODINGS.len()];
        for round in 0..config.runs.max(1) {
            for (i, (name, encoding)) in ENCODINGS.into_iter().enumerate() {
                let (q, used) = qps(&channels, server_pid, read, encoding, config).await?;
                eprintln!(
                    "  {} {name} round {}: {q:.0} calls/s, server {:.2} cores, generator {:.2}, others {:.2}",
                    read.name(),
                    round + 1,
                    used.server,
                    used.client,
                    used.others
                );
                per_round[i].push(q);
                cpu[i].push(used);
            }
        }
        let plain_bytes = sizes[0].2 as f64;
        for (i, (name, _)) in ENCODINGS.into_iter().enumerate() {
            let (grpc_encoding, flag, bytes) = sizes[i].clone();
            let ratios: Vec<f64> = per_round[i]
                .iter()
                .zip(&per_round[0])
                .map(|(q, plain)| q / plain)
                .collect();
            results.push(EncodingResult {
                read: read.name(),
                encoding: name,
                wire_bytes: bytes,
                compressed_flag: flag,
                grpc_encoding,
                qps_median: median(&per_round[i]),
                qps_runs: per_round[i].clone(),
                qps_ratio_median: median(&ratios),
                qps_ratio_runs: ratios,
                bytes_ratio: bytes as f64 / plain_bytes,
                server_us_per_call_median: median(
                    &cpu[i]
                        .iter()
                        .zip(&per_round[i])
                        .map(|(c, q)| c.server * 1e6 / q)
                        .collect::<Vec<_>>(),
                ),
                generator_cores_median: median(
                    &cpu[i].iter().map(|c| c.client).collect::<Vec<_>>(),
                ),
                others_cores_max: cpu[i].iter().map(|c| c.others).fold(0.0, f64::max),
                cpu_runs: cpu[i].clone(),
            });
        }
    }
    Ok(results)
}
