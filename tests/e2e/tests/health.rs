//! Health that tells the truth: a plugin that is disabled or refused shows in health, the
//! scoring service is NOT_SERVING when no plugin can score, and the data services' writes follow the
//! store.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::time::Duration;

use leverage_e2e::{TestServer, date, plugin_dir};
use leverage_plugin_host::HostOptions;
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::scoring_service_client::ScoringServiceClient;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

async fn status(channel: Channel, service: &str) -> ServingStatus {
    let r = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .unwrap_or_else(|e| panic!("health of {service:?}: {e:?}"));
    r.into_inner().status()
}

/// Polls until `service` reports `want`; panics after ten seconds.
async fn until(channel: Channel, service: &str, want: ServingStatus) {
    for _ in 0..200 {
        if status(channel.clone(), service).await == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{service:?} never reported {want:?}");
}

const SCORING: &str = "leverage.v1.ScoringService";

#[tokio::test]
async fn a_disabled_plugin_flips_its_health_and_the_others_keep_scoring_serving() {
    let data = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(&[
        ("libfixture_panics.so", "libfixture_panics.so"),
        (
            "libleverage_plugin_pressure_index.so",
            "libleverage_plugin_pressure_index.so",
        ),
    ]);
    let server = TestServer::start_with_plugins(
        data.path(),
        plugins.path(),
        HostOptions {
            max_panics: 1,
            ..HostOptions::default()
        },
    )
    .await;
    let ch = server.channel().await;
    assert_eq!(
        status(ch.clone(), "plugins/fixture-panics").await,
        ServingStatus::Serving
    );
    assert_eq!(status(ch.clone(), SCORING).await, ServingStatus::Serving);
    let mut c = ScoringServiceClient::new(ch.clone());
    c.score_scenario(pb::ScoreScenarioRequest {
        plugin: "plugins/fixture-panics".into(),
        scenario: Some(pb::Scenario {
            use_mode: pb::AssetAction::Confiscation as i32,
            as_of: date(2025, 12, 31),
            ..Default::default()
        }),
        ..Default::default()
    })
    .await
    .unwrap_err();
    // The panic disabled it; health says so at once (the refresh runs before the reply).
    assert_eq!(
        status(ch.clone(), "plugins/fixture-panics").await,
        ServingStatus::NotServing
    );
    assert_eq!(
        status(ch.clone(), "plugins/pressure-index").await,
        ServingStatus::Serving
    );
    assert_eq!(status(ch.clone(), SCORING).await, ServingStatus::Serving);
    let listed = c
        .get_plugin(pb::GetPluginRequest {
            name: "plugins/fixture-panics".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.state, pb::PluginState::Disabled as i32);
    assert!(listed.state_reason.contains("panic"), "{listed:?}");
}

#[tokio::test]
async fn with_every_plugin_refused_scoring_is_not_serving_and_says_which() {
    let data = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(&[("libfixture_wrong_abi.so", "libfixture_wrong_abi.so")]);
    let server =
        TestServer::start_with_plugins(data.path(), plugins.path(), HostOptions::default()).await;
    let ch = server.channel().await;
    assert_eq!(status(ch.clone(), SCORING).await, ServingStatus::NotServing);
    assert_eq!(
        status(ch.clone(), "plugins/fixture_wrong_abi").await,
        ServingStatus::NotServing
    );
    // The data services do not depend on plugins.
    assert_eq!(
        status(ch.clone(), "leverage.v1.AssetService").await,
        ServingStatus::Serving
    );
    assert_eq!(status(ch, "").await, ServingStatus::Serving);
}

#[tokio::test]
async fn writes_follow_the_store_and_recover_with_it_while_reads_keep_serving() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(data.path()).await;
    let ch = server.channel().await;
    assert_eq!(
        status(ch.clone(), "leverage.v1.AssetService").await,
        ServingStatus::Serving
    );
    // Take the database file away, as an unmounted or failed volume would.
    let path = data.path().join("leverage.db");
    let away = data.path().join("elsewhere.db");
    std::fs::rename(&path, &away).unwrap();
    for service in [
        "leverage.v1.AssetService",
        "leverage.v1.DatasetService",
        "leverage.v1.LegalRiskService",
        "leverage.v1.DefenceFundingService",
    ] {
        // Degraded: writes NOT_SERVING, the service itself still answering reads.
        until(
            ch.clone(),
            &format!("writes/{service}"),
            ServingStatus::NotServing,
        )
        .await;
        assert_eq!(status(ch.clone(), service).await, ServingStatus::Serving);
    }
    // The server as a whole still answers (reads come from memory).
    assert_eq!(status(ch.clone(), "").await, ServingStatus::Serving);
    std::fs::rename(&away, &path).unwrap();
    until(
        ch,
        "writes/leverage.v1.AssetService",
        ServingStatus::Serving,
    )
    .await;
}
