//! Compression negotiated per call: the server takes gzip and zstd requests and answers in the
//! encoding the caller accepts, for the ~17 KB list and assessment replies as for everything
//! else. Each reply is checked twice: decoded by tonic (the same message as the plain call's)
//! and read raw off the wire (the `grpc-encoding` header, the frame's compressed flag and its
//! length against the plain frame's). A caller that accepts nothing gets plain frames even
//! after a compressed reply to the same request was cached, and an encoding the server does not
//! speak gets the standard UNIMPLEMENTED with the encodings it does. A small compressed request
//! that inflates past the message limit is refused, not inflated.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::future::poll_fn;

use bytes::Bytes;
use http_body_util::BodyExt;
use leverage_e2e::{Options, TestServer, date};
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::asset_service_client::AssetServiceClient;
use leverage_proto::leverage::v1::legal_risk_service_client::LegalRiskServiceClient;
use leverage_server::Limits;
use prost::Message;
use tonic::Code;
use tonic::codec::CompressionEncoding;
use tonic::transport::Channel;
use tower::Service;

const LIST: &str = "/leverage.v1.AssetService/ListHoldings";
const ASSESS: &str = "/leverage.v1.LegalRiskService/AssessLegalRisk";

/// The list reply of the benchmark: 50 holdings with their observation in force.
fn list_request() -> pb::ListHoldingsRequest {
    pb::ListHoldingsRequest {
        page_size: 50,
        as_of: date(2025, 12, 31),
        ..Default::default()
    }
}

/// The assessment reply of the benchmark: confiscation in every jurisdiction.
fn assess_request() -> pb::AssessLegalRiskRequest {
    pb::AssessLegalRiskRequest {
        action: pb::AssetAction::Confiscation as i32,
        as_of: date(2025, 12, 31),
        ..Default::default()
    }
}

/// A reply as it crossed the wire.
#[derive(Debug)]
struct Raw {
    headers: http::HeaderMap,
    /// Each frame's compressed flag and payload.
    frames: Vec<(u8, Bytes)>,
    trailers: http::HeaderMap,
}

impl Raw {
    /// The status, from the trailers or, for a trailers-only reply, the headers.
    fn status(&self) -> Option<String> {
        self.trailers
            .get("grpc-status")
            .or_else(|| self.headers.get("grpc-status"))
            .map(|s| s.to_str().unwrap().to_owned())
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

/// Sends one uncompressed message to `path`, with `extra` headers, and reads the reply raw.
async fn raw_call(
    channel: &mut Channel,
    path: &str,
    message: &impl Message,
    extra: &[(&'static str, &'static str)],
) -> Raw {
    let payload = message.encode_to_vec();
    let mut body = vec![0u8];
    body.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    body.extend_from_slice(&payload);
    let mut request = http::Request::builder()
        .method("POST")
        .uri(format!("http://localhost{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    let request = request
        .body(tonic::body::Body::new(http_body_util::Full::new(
            Bytes::from(body),
        )))
        .unwrap();
    poll_fn(|cx| channel.poll_ready(cx)).await.unwrap();
    let response = channel.call(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let collected = body.collect().await.unwrap();
    let trailers = collected.trailers().cloned().unwrap_or_default();
    let mut bytes = collected.to_bytes();
    let mut frames = Vec::new();
    while bytes.len() >= 5 {
        let flag = bytes[0];
        let len = u32::from_be_bytes(bytes[1..5].try_into().unwrap()) as usize;
        frames.push((flag, bytes.slice(5..5 + len)));
        bytes = bytes.slice(5 + len..);
    }
    assert!(bytes.is_empty(), "a partial frame: {bytes:?}");
    Raw {
        headers: parts.headers,
        frames,
        trailers,
    }
}

/// The one frame of a successful unary reply.
fn only_frame(raw: &Raw) -> &(u8, Bytes) {
    assert_eq!(raw.status().as_deref(), Some("0"), "{raw:?}");
    assert_eq!(raw.frames.len(), 1, "{raw:?}");
    &raw.frames[0]
}

/// Reads `path` plain, then accepting `encoding`, then plain again (the reply cache has seen the
/// request both ways by then), and checks what went over the wire each time. Returns the plain
/// and the compressed payload sizes.
async fn wire_sizes(
    server: &TestServer,
    path: &str,
    message: &impl Message,
    encoding: &'static str,
) -> (usize, usize) {
    let mut channel = server.channel().await;
    let plain = raw_call(&mut channel, path, message, &[]).await;
    let (flag, plain_payload) = only_frame(&plain);
    assert_eq!(*flag, 0, "a caller that accepts nothing gets a plain frame");
    assert_eq!(plain.header("grpc-encoding"), None);

    let accepting = [("grpc-accept-encoding", encoding)];
    let compressed = raw_call(&mut channel, path, message, &accepting).await;
    let (flag, compressed_payload) = only_frame(&compressed);
    assert_eq!(compressed.header("grpc-encoding"), Some(encoding));
    assert_eq!(*flag, 1, "the frame is marked compressed");
    assert!(
        compressed_payload.len() * 2 < plain_payload.len(),
        "{encoding}: {} bytes against {} plain",
        compressed_payload.len(),
        plain_payload.len()
    );

    let again = raw_call(&mut channel, path, message, &[]).await;
    assert_eq!(
        only_frame(&again),
        only_frame(&plain),
        "a cached compressed reply went to a caller that accepts none"
    );
    assert_eq!(again.header("grpc-encoding"), None);
    (plain_payload.len(), compressed_payload.len())
}

#[tokio::test]
async fn gzip_and_zstd_replies_are_compressed_on_the_wire_and_plain_for_others() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    for encoding in ["gzip", "zstd"] {
        let (plain, compressed) = wire_sizes(&server, LIST, &list_request(), encoding).await;
        assert!(
            plain > 10_000,
            "the list reply is the large one ({plain} bytes)"
        );
        eprintln!("ListHoldings: {plain} bytes plain, {compressed} with {encoding}");
        let (plain, compressed) = wire_sizes(&server, ASSESS, &assess_request(), encoding).await;
        assert!(
            plain > 10_000,
            "the assessment is the large one ({plain} bytes)"
        );
        eprintln!("AssessLegalRisk: {plain} bytes plain, {compressed} with {encoding}");
    }
    server.stop().await;
}

#[tokio::test]
async fn gzip_and_zstd_calls_round_trip_to_the_plain_answer() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let channel = server.channel().await;

    let plain_list = AssetServiceClient::new(channel.clone())
        .list_holdings(list_request())
        .await
        .unwrap();
    assert_eq!(plain_list.metadata().get("grpc-encoding"), None);
    let plain_list = plain_list.into_inner();
    let plain_assess = LegalRiskServiceClient::new(channel.clone())
        .assess_legal_risk(assess_request())
        .await
        .unwrap();
    assert_eq!(plain_assess.metadata().get("grpc-encoding"), None);
    let plain_assess = plain_assess.into_inner();
    assert!(!plain_list.holdings.is_empty());
    assert!(!plain_assess.jurisdictions.is_empty());

    for (encoding, name) in [
        (CompressionEncoding::Gzip, "gzip"),
        (CompressionEncoding::Zstd, "zstd"),
    ] {
        // The request goes compressed too: the server must take it.
        let reply = AssetServiceClient::new(channel.clone())
            .send_compressed(encoding)
            .accept_compressed(encoding)
            .list_holdings(list_request())
            .await
            .unwrap();
        assert_eq!(
            reply
                .metadata()
                .get("grpc-encoding")
                .unwrap()
                .to_str()
                .unwrap(),
            name
        );
        assert_eq!(reply.into_inner(), plain_list, "{name}");

        let reply = LegalRiskServiceClient::new(channel.clone())
            .send_compressed(encoding)
            .accept_compressed(encoding)
            .assess_legal_risk(assess_request())
            .await
            .unwrap();
        assert_eq!(
            reply
                .metadata()
                .get("grpc-encoding")
                .unwrap()
                .to_str()
                .unwrap(),
            name
        );
        assert_eq!(reply.into_inner(), plain_assess, "{name}");

        // The standard services compress too.
        let health = tonic_health::pb::health_client::HealthClient::new(channel.clone())
            .send_compressed(encoding)
            .accept_compressed(encoding)
            .check(tonic_health::pb::HealthCheckRequest::default())
            .await
            .unwrap();
        assert_eq!(
            health
                .metadata()
                .get("grpc-encoding")
                .unwrap()
                .to_str()
                .unwrap(),
            name
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn an_encoding_the_server_does_not_speak_is_unimplemented() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut channel = server.channel().await;
    for encoding in ["deflate", "br", "snappy"] {
        let reply = raw_call(
            &mut channel,
            LIST,
            &list_request(),
            &[("grpc-encoding", encoding)],
        )
        .await;
        assert_eq!(
            reply.status(),
            Some((Code::Unimplemented as i32).to_string()),
            "{encoding}: {reply:?}"
        );
        assert!(reply.frames.is_empty(), "{encoding}: {reply:?}");
        // The reply names what the server does take, so that the caller can retry with it.
        let accepted = reply.header("grpc-accept-encoding").unwrap_or_default();
        assert!(
            accepted.contains("gzip") && accepted.contains("zstd"),
            "{encoding}: {accepted:?}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn a_request_that_inflates_past_the_message_limit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let limit = 1 << 20;
    let server = TestServer::start_with(
        dir.path(),
        Options {
            limits: Limits {
                max_message_bytes: limit,
                ..Limits::default()
            },
            ..Options::default()
        },
    )
    .await;
    // Twice the limit of one repeated byte: a few kilobytes once compressed.
    let request = pb::ListHoldingsRequest {
        filter: "a".repeat(2 * limit),
        ..Default::default()
    };
    for encoding in [CompressionEncoding::Gzip, CompressionEncoding::Zstd] {
        let refused = AssetServiceClient::new(server.channel().await)
            .send_compressed(encoding)
            .max_encoding_message_size(4 * limit)
            .list_holdings(request.clone())
            .await
            .unwrap_err();
        assert_eq!(
            refused.code(),
            Code::ResourceExhausted,
            "{encoding:?}: {refused:?}"
        );
    }
    // A request under the limit, compressed the same way, is read as usual.
    let small = pb::ListHoldingsRequest {
        filter: format!("custodian = \"{}\"", "a".repeat(limit / 2)),
        ..Default::default()
    };
    let answered = AssetServiceClient::new(server.channel().await)
        .send_compressed(CompressionEncoding::Gzip)
        .list_holdings(small)
        .await
        .unwrap();
    assert!(answered.into_inner().holdings.is_empty());
    server.stop().await;
}
