//! Limits: load shedding, message size, call duration, page size, and a bounded drain.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use leverage_e2e::{Options, TestServer, date, error_reason, plugin_dir};
use leverage_plugin_host::HostOptions;
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::asset_service_client::AssetServiceClient;
use leverage_proto::leverage::v1::dataset_service_client::DatasetServiceClient;
use leverage_proto::leverage::v1::scoring_service_client::ScoringServiceClient;
use leverage_server::Limits;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

fn slow(delay_ms: u32) -> (tempfile::TempDir, HostOptions) {
    let dir = plugin_dir(&[("libfixture_slow_v1.so", "libfixture_slow.so")]);
    let configs = HashMap::from([("fixture-slow".to_owned(), format!("delay_ms = {delay_ms}"))]);
    (
        dir,
        HostOptions {
            configs,
            ..HostOptions::default()
        },
    )
}

fn slow_call() -> pb::ScoreScenarioRequest {
    pb::ScoreScenarioRequest {
        plugin: "plugins/fixture-slow".into(),
        scenario: Some(pb::Scenario {
            use_mode: pb::AssetAction::Immobilisation as i32,
            as_of: date(2025, 12, 31),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn calls_over_the_concurrency_limit_are_shed_at_once_and_health_still_answers() {
    let data = tempfile::tempdir().unwrap();
    let (plugins, host) = slow(1500);
    let limits = Limits {
        max_concurrent_calls: 2,
        ..Limits::default()
    };
    let options = Options {
        plugin_dir: Some(plugins.path().to_owned()),
        host,
        limits,
        ..Options::default()
    };
    let server = TestServer::start_with(data.path(), options).await;
    let c = ScoringServiceClient::new(server.channel().await);
    let busy: Vec<_> = (0..2)
        .map(|_| {
            let mut c = c.clone();
            tokio::spawn(async move { c.score_scenario(slow_call()).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut datasets = DatasetServiceClient::new(server.channel().await);
    let err = datasets
        .get_dataset_info(pb::GetDatasetInfoRequest {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert_eq!(error_reason(&err).as_deref(), Some("SERVER_OVERLOADED"));
    // Had it waited for a permit it would have succeeded once the slow calls ended.
    let mut health = HealthClient::new(server.channel().await);
    health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap();
    for b in busy {
        b.await.unwrap().unwrap();
    }
    datasets
        .get_dataset_info(pb::GetDatasetInfoRequest {})
        .await
        .unwrap();
}

#[tokio::test]
async fn oversized_messages_are_refused() {
    let data = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_message_bytes: 4096,
        ..Limits::default()
    };
    let server = TestServer::start_with(
        data.path(),
        Options {
            limits,
            ..Options::default()
        },
    )
    .await;
    let mut c = AssetServiceClient::new(server.channel().await);
    let request = pb::ListHoldingsRequest {
        filter: "x".repeat(10_000),
        ..Default::default()
    };
    let err = c.list_holdings(request).await.unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert_eq!(error_reason(&err).as_deref(), Some("MESSAGE_TOO_LARGE"));
    // A response over the limit is refused too, and the server goes on.
    let big = c
        .list_holdings(pb::ListHoldingsRequest {
            page_size: 1000,
            view: pb::HoldingView::Full as i32,
            ..Default::default()
        })
        .await;
    let err = big.unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert_eq!(error_reason(&err).as_deref(), Some("MESSAGE_TOO_LARGE"));
    c.list_holdings(pb::ListHoldingsRequest {
        page_size: 1,
        ..Default::default()
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_call_longer_than_the_cap_is_stopped() {
    let data = tempfile::tempdir().unwrap();
    let (plugins, host) = slow(3000);
    let limits = Limits {
        max_call_duration: Duration::from_millis(300),
        ..Limits::default()
    };
    let options = Options {
        plugin_dir: Some(plugins.path().to_owned()),
        host,
        limits,
        ..Options::default()
    };
    let server = TestServer::start_with(data.path(), options).await;
    let mut c = ScoringServiceClient::new(server.channel().await);
    // The plugin would answer after 3 s; the cap ends the call first.
    let err = c.score_scenario(slow_call()).await.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    assert_eq!(error_reason(&err).as_deref(), Some("CALL_TIME_LIMIT"));
    assert!(err.message().contains("--max-call-ms"), "{err:?}");
}

#[tokio::test]
async fn page_sizes_above_the_maximum_are_capped() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(data.path()).await;
    let mut c = DatasetServiceClient::new(server.channel().await);
    let page = c
        .list_figures(pb::ListFiguresRequest {
            page_size: 1_000_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.figures.len() as i32, page.total_size);
    assert!(page.figures.len() <= 1000);
}

#[tokio::test]
async fn shutdown_under_load_finishes_calls_in_flight_then_refuses_new_ones() {
    let data = tempfile::tempdir().unwrap();
    let (plugins, host) = slow(1000);
    let options = Options {
        plugin_dir: Some(plugins.path().to_owned()),
        host,
        drain: Duration::from_millis(300),
        ..Options::default()
    };
    let mut server = TestServer::start_with(data.path(), options).await;
    let c = ScoringServiceClient::new(server.channel().await);
    let in_flight: Vec<_> = (0..4)
        .map(|_| {
            let mut c = c.clone();
            tokio::spawn(async move { c.score_scenario(slow_call()).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut health = HealthClient::new(server.channel().await);
    let addr = server.addr;
    server.begin_shutdown();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let status = health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(
        status,
        tonic_health::pb::health_check_response::ServingStatus::NotServing as i32
    );
    for call in in_flight {
        let result = call.await.unwrap();
        assert!(result.is_ok(), "a call in flight finished: {result:?}");
    }
    let started = Instant::now();
    server.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the drain is bounded"
    );
    let refused = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await;
    assert!(
        refused.is_err(),
        "new connections are refused after shutdown"
    );
}

/// Calls `path` with `message` through a bare gRPC client and returns the failure.
async fn raw_call<M: prost::Message + Default + Send + Sync + 'static>(
    channel: tonic::transport::Channel,
    path: &str,
    message: M,
) -> tonic::Status {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let request = leverage_e2e::authorized(message);
    let path = http::uri::PathAndQuery::try_from(path.to_owned()).unwrap();
    let codec = tonic_prost::ProstCodec::<M, ()>::default();
    grpc.unary(request, path, codec).await.unwrap_err()
}

#[tokio::test]
async fn statuses_the_transport_makes_carry_an_error_info_too() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(data.path()).await;
    // A method the server does not have (an admin token passes the access check).
    let err = raw_call(
        server.channel().await,
        "/leverage.v1.AssetService/NoSuchMethod",
        (),
    )
    .await;
    assert_eq!(err.code(), Code::Unimplemented, "{err:?}");
    assert_eq!(
        error_reason(&err).as_deref(),
        Some("METHOD_NOT_IMPLEMENTED")
    );
    // A request that does not decode: field 1 of GetHoldingRequest is a string, sent here as
    // a number.
    let err = raw_call(
        server.channel().await,
        "/leverage.v1.AssetService/GetHolding",
        prost_types::Duration {
            seconds: 5,
            nanos: 0,
        },
    )
    .await;
    assert_eq!(err.code(), Code::Internal, "{err:?}");
    assert_eq!(error_reason(&err).as_deref(), Some("MALFORMED_REQUEST"));
    // The server goes on.
    DatasetServiceClient::new(server.channel().await)
        .get_dataset_info(pb::GetDatasetInfoRequest {})
        .await
        .unwrap();
}
