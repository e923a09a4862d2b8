//! The gRPC conventions: health per service, reflection (v1 and v1alpha), graceful shutdown.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::time::Duration;

use leverage_e2e::TestServer;
use tokio_stream::StreamExt;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const SERVICES: [&str; 4] = [
    "leverage.v1.AssetService",
    "leverage.v1.DatasetService",
    "leverage.v1.LegalRiskService",
    "leverage.v1.DefenceFundingService",
];

#[tokio::test]
async fn reflection_v1_and_v1alpha_list_the_services() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    {
        use tonic_reflection::pb::v1::ServerReflectionRequest;
        use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
        let mut c = ServerReflectionClient::new(server.channel().await);
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut stream = c
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .unwrap()
            .into_inner();
        let Some(Ok(reply)) = stream.next().await else {
            panic!("no reflection reply")
        };
        let Some(MessageResponse::ListServicesResponse(list)) = reply.message_response else {
            panic!("not a list")
        };
        let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
        for s in SERVICES.iter().chain(&["grpc.health.v1.Health"]) {
            assert!(names.iter().any(|n| n == s), "{s} missing from {names:?}");
        }
    }
    {
        use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
        use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
        let mut c = ServerReflectionClient::new(server.channel().await);
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut stream = c
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .unwrap()
            .into_inner();
        let Some(Ok(reply)) = stream.next().await else {
            panic!("no reflection reply")
        };
        let Some(MessageResponse::ListServicesResponse(list)) = reply.message_response else {
            panic!("not a list")
        };
        assert!(
            list.service
                .iter()
                .any(|s| s.name == "leverage.v1.AssetService")
        );
    }
}

async fn status(c: &mut HealthClient<tonic::transport::Channel>, service: &str) -> i32 {
    c.check(HealthCheckRequest {
        service: service.into(),
    })
    .await
    .unwrap()
    .into_inner()
    .status
}

#[tokio::test]
async fn health_is_serving_then_not_serving_while_shutting_down() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start_with_drain(dir.path(), Duration::from_secs(3)).await;
    let mut c = HealthClient::new(server.channel().await);
    for s in SERVICES.iter().chain(&[""]) {
        assert_eq!(
            status(&mut c, s).await,
            ServingStatus::Serving as i32,
            "{s}"
        );
    }
    assert_eq!(
        c.check(HealthCheckRequest {
            service: "leverage.v1.NoSuchService".into()
        })
        .await
        .unwrap_err()
        .code(),
        tonic::Code::NotFound
    );
    server.begin_shutdown();
    // The drain window keeps the server answering while health says NOT_SERVING.
    let mut seen = false;
    for _ in 0..100 {
        if status(&mut c, "leverage.v1.AssetService").await == ServingStatus::NotServing as i32 {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(seen, "health never reported NOT_SERVING during shutdown");
    assert_eq!(status(&mut c, "").await, ServingStatus::NotServing as i32);
    server.stop().await;
}
