//! The Prometheus endpoint counts calls by method and status, and plugin calls.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use leverage_e2e::{Options, TestServer, date, plugin_dir};
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::asset_service_client::AssetServiceClient;
use leverage_proto::leverage::v1::scoring_service_client::ScoringServiceClient;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn scrape(addr: std::net::SocketAddr) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    text
}

#[tokio::test]
async fn metrics_count_calls_by_status_and_plugin_calls() {
    let data = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(&[(
        "libleverage_plugin_pressure_index.so",
        "libleverage_plugin_pressure_index.so",
    )]);
    let options = Options {
        plugin_dir: Some(plugins.path().to_owned()),
        metrics: true,
        ..Options::default()
    };
    let server = TestServer::start_with(data.path(), options).await;
    let mut assets = AssetServiceClient::new(server.channel().await);
    assets
        .list_holdings(pb::ListHoldingsRequest::default())
        .await
        .unwrap();
    assets
        .list_holdings(pb::ListHoldingsRequest {
            page_size: -1,
            ..Default::default()
        })
        .await
        .unwrap_err();
    let mut scoring = ScoringServiceClient::new(server.channel().await);
    let scenario = pb::Scenario {
        use_mode: pb::AssetAction::Confiscation as i32,
        as_of: date(2025, 12, 31),
        ..Default::default()
    };
    scoring
        .score_scenario(pb::ScoreScenarioRequest {
            plugin: "plugins/pressure-index".into(),
            scenario: Some(scenario),
            ..Default::default()
        })
        .await
        .unwrap();
    let text = scrape(server.metrics_addr.unwrap()).await;
    assert!(
        text.contains(
            r#"leverage_calls_total{method="/leverage.v1.AssetService/ListHoldings",code="Ok"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains(r#"leverage_calls_total{method="/leverage.v1.AssetService/ListHoldings",code="InvalidArgument"} 1"#));
    assert!(text.contains(r#"leverage_plugin_calls_total{plugin="pressure-index"} 1"#));
    assert!(text.contains("leverage_call_duration_seconds_bucket"));
    assert!(text.contains(r#"leverage_dataset_info{version="2026.12.1"} 1"#));
}
