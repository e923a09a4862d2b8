//! Access control over real gRPC: every method found by reflection is classified, and every
//! method that is not a read refuses a call without a token, so a new RPC cannot slip through.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use http::uri::PathAndQuery;
use leverage_e2e::{EDITOR_TOKEN, Options, READER_TOKEN, TOKEN, TestServer};
use leverage_server::auth::{READS, WRITES};
use prost::Message;
use tokio_stream::StreamExt;
use tonic::Code;
use tonic::transport::Channel;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

/// (path, server streaming) of every leverage method the server reflects.
async fn reflected_methods(channel: Channel) -> Vec<(String, bool)> {
    let mut c = ServerReflectionClient::new(channel);
    let ask = |m: MessageRequest| ServerReflectionRequest {
        host: String::new(),
        message_request: Some(m),
    };
    let mut stream = c
        .server_reflection_info(tokio_stream::iter([ask(MessageRequest::ListServices(
            String::new(),
        ))]))
        .await
        .unwrap()
        .into_inner();
    let Some(Ok(reply)) = stream.next().await else {
        panic!("no reply")
    };
    let Some(MessageResponse::ListServicesResponse(list)) = reply.message_response else {
        panic!("not a list")
    };
    let services: Vec<String> = list
        .service
        .into_iter()
        .map(|s| s.name)
        .filter(|n| n.starts_with("leverage."))
        .collect();
    assert!(services.len() >= 5, "{services:?}");
    let mut methods = Vec::new();
    for service in services {
        let mut stream = c
            .server_reflection_info(tokio_stream::iter([ask(
                MessageRequest::FileContainingSymbol(service.clone()),
            )]))
            .await
            .unwrap()
            .into_inner();
        let Some(Ok(reply)) = stream.next().await else {
            panic!("no reply")
        };
        let Some(MessageResponse::FileDescriptorResponse(files)) = reply.message_response else {
            panic!("no file")
        };
        for bytes in files.file_descriptor_proto {
            let file = prost_types::FileDescriptorProto::decode(bytes.as_slice()).unwrap();
            for s in file
                .service
                .iter()
                .filter(|s| format!("{}.{}", file.package(), s.name()) == service)
            {
                for m in &s.method {
                    methods.push((format!("/{service}/{}", m.name()), m.server_streaming()));
                }
            }
        }
    }
    methods.sort();
    methods.dedup();
    methods
}

/// Calls a method with an empty message and returns the status code (Ok when it answered).
async fn call(channel: Channel, path: &str, streaming: bool, token: Option<&str>) -> Code {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let mut request = tonic::Request::new(());
    if let Some(t) = token {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    let path = PathAndQuery::try_from(path.to_owned()).unwrap();
    let codec = tonic_prost::ProstCodec::<(), ()>::default();
    let result = if streaming {
        grpc.server_streaming(request, path, codec)
            .await
            .map(|_| ())
    } else {
        grpc.unary(request, path, codec).await.map(|_| ())
    };
    result.err().map_or(Code::Ok, |s| s.code())
}

fn is_read(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or("");
    [
        "List",
        "Get",
        "Summarize",
        "Assess",
        "Check",
        "Score",
        "Compare",
        "Sweep",
        "Export",
    ]
    .iter()
    .any(|v| name.starts_with(v))
}

#[tokio::test]
async fn every_method_not_a_read_refuses_a_call_without_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let methods = reflected_methods(server.channel().await).await;
    assert!(methods.len() >= 25, "{} methods", methods.len());
    for (path, streaming) in &methods {
        let classified = READS.contains(&path.as_str()) || WRITES.iter().any(|(p, _)| p == path);
        assert!(
            classified,
            "{path} is not in the access table: classify it in leverage_server::auth"
        );
        let without = call(server.channel().await, path, *streaming, None).await;
        if is_read(path) {
            assert_ne!(
                without,
                Code::Unauthenticated,
                "{path} is a read and reads are open"
            );
        } else {
            assert_eq!(
                without,
                Code::Unauthenticated,
                "{path} must refuse a call without a token"
            );
            let reader = call(server.channel().await, path, *streaming, Some(READER_TOKEN)).await;
            assert_eq!(
                reader,
                Code::PermissionDenied,
                "{path} must refuse a reader"
            );
        }
    }
}

#[tokio::test]
async fn roles_decide_what_a_token_may_do() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let delete = "/leverage.v1.AssetService/DeleteHolding";
    let reload = "/leverage.v1.ScoringService/ReloadPlugins";
    // An editor passes access control for a delete (and fails on the empty name instead).
    assert_eq!(
        call(server.channel().await, delete, false, Some(EDITOR_TOKEN)).await,
        Code::InvalidArgument
    );
    assert_eq!(
        call(server.channel().await, reload, false, Some(EDITOR_TOKEN)).await,
        Code::PermissionDenied
    );
    assert_eq!(
        call(server.channel().await, reload, false, Some(TOKEN)).await,
        Code::Ok
    );
    assert_eq!(
        call(
            server.channel().await,
            reload,
            false,
            Some("not-a-token-at-all")
        )
        .await,
        Code::Unauthenticated
    );
}

#[tokio::test]
async fn closed_reads_need_a_reader_token_but_health_stays_open() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        access: Options::default().access.with_reads_open(false),
        ..Options::default()
    };
    let server = TestServer::start_with(dir.path(), options).await;
    let list = "/leverage.v1.AssetService/ListHoldings";
    assert_eq!(
        call(server.channel().await, list, false, None).await,
        Code::Unauthenticated
    );
    assert_eq!(
        call(server.channel().await, list, false, Some(READER_TOKEN)).await,
        Code::Ok
    );
    assert_eq!(
        call(
            server.channel().await,
            "/grpc.health.v1.Health/Check",
            false,
            None
        )
        .await,
        Code::Ok
    );
}
