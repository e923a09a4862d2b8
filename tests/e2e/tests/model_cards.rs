//! Model cards over real gRPC with real libraries: each plugin serves the card compiled into
//! its build (GetPlugin and ListPlugins), a retained build serves its own card after a reload
//! replaced it and after a restart, and a plugin built for ABI 1.0 loads and serves an empty
//! card.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::path::{Path, PathBuf};

use leverage_e2e::{TestServer, authorized, plugin_dir};
use leverage_plugin_host::HostOptions;
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::scoring_service_client::ScoringServiceClient;
use tonic::transport::Channel;

const ESCROW: &str = "plugins/fixture-escrow";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The text of a card's source file, as the plugin compiled it in.
fn source(relative: &str) -> String {
    std::fs::read_to_string(workspace().join(relative))
        .unwrap_or_else(|e| panic!("{relative}: {e}"))
}

async fn get(c: &mut ScoringServiceClient<Channel>, name: &str) -> pb::Plugin {
    c.get_plugin(pb::GetPluginRequest { name: name.into() })
        .await
        .unwrap_or_else(|s| panic!("GetPlugin {name}: {s:?}"))
        .into_inner()
}

async fn listed(c: &mut ScoringServiceClient<Channel>) -> Vec<pb::Plugin> {
    c.list_plugins(pb::ListPluginsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .plugins
}

#[tokio::test]
async fn each_plugin_serves_the_card_of_its_build_and_an_abi_1_0_plugin_an_empty_one() {
    let data = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(&[
        ("libfixture_escrow_v1.so", "libfixture_escrow.so"),
        ("libfixture_abi_1_0.so", "libfixture_abi_1_0.so"),
        (
            "libleverage_plugin_pressure_index.so",
            "libleverage_plugin_pressure_index.so",
        ),
        (
            "libleverage_plugin_prudent_pressure.so",
            "libleverage_plugin_prudent_pressure.so",
        ),
    ]);
    let server =
        TestServer::start_with_plugins(data.path(), plugins.path(), HostOptions::default()).await;
    let mut c = ScoringServiceClient::new(server.channel().await);

    let expected = [
        (
            ESCROW,
            source("tests/fixtures/plugins/escrow/cards/1.0.0.md"),
        ),
        (
            "plugins/pressure-index",
            source("docs/models/pressure-index/card.md"),
        ),
        (
            "plugins/prudent-pressure",
            source("docs/models/prudent-pressure/card.md"),
        ),
        ("plugins/fixture-abi-1-0", String::new()),
    ];
    let list = listed(&mut c).await;
    for (name, card) in &expected {
        let plugin = get(&mut c, name).await;
        assert_eq!(plugin.state, pb::PluginState::Ready as i32, "{plugin:?}");
        assert_eq!(&plugin.model_card, card, "GetPlugin {name}");
        let in_list = list.iter().find(|p| p.name == *name).unwrap();
        assert_eq!(&in_list.model_card, card, "ListPlugins {name}");
        if !card.is_empty() {
            // The card's version history has a line for the version the build declares.
            let line = format!("- {}:", plugin.version);
            assert!(
                card.lines().any(|l| l.starts_with(&line)),
                "{name} {}: no `{line}` in its card",
                plugin.version
            );
            assert_eq!(plugin.abi_version, "1.2", "{name}");
        }
    }
    let old = get(&mut c, "plugins/fixture-abi-1-0").await;
    assert_eq!(old.abi_version, "1.0", "an ABI 1.0 plugin still loads");
}

#[tokio::test]
async fn a_retained_build_serves_its_own_card_after_a_reload_and_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(&[("libfixture_escrow_v1.so", "libfixture_escrow.so")]);
    let archived = || HostOptions {
        archive_dir: Some(leverage_server::plugin_archive_dir(data.path())),
        ..HostOptions::default()
    };
    let server = TestServer::start_with_plugins(data.path(), plugins.path(), archived()).await;
    let mut c = ScoringServiceClient::new(server.channel().await);
    let v1_card = source("tests/fixtures/plugins/escrow/cards/1.0.0.md");
    let v2_card = source("tests/fixtures/plugins/escrow/cards/2.0.0.md");
    assert_ne!(v1_card, v2_card);

    // A build is kept once it has served a score.
    let first = c
        .score_scenario(pb::ScoreScenarioRequest {
            plugin: ESCROW.into(),
            scenario: Some(pb::Scenario {
                use_mode: pb::AssetAction::ReparationsLoan as i32,
                inputs: vec![pb::InputValue {
                    name: "escrow.share".into(),
                    value: 0.4,
                }],
                ..Default::default()
            }),
            parameters: Vec::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap();
    let v1 = first.plugin_build;
    assert_eq!(get(&mut c, ESCROW).await.model_card, v1_card);

    std::fs::copy(
        leverage_e2e::plugin_libraries().join("libfixture_escrow_v2.so"),
        plugins.path().join("libfixture_escrow.so"),
    )
    .unwrap();
    let report = c
        .reload_plugins(authorized(pb::ReloadPluginsRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(report.reloaded, ["fixture-escrow"]);

    let serving = get(&mut c, ESCROW).await;
    assert_eq!(serving.version, "2.0.0");
    assert_eq!(serving.model_card, v2_card, "the serving build's card");
    let named = format!("{ESCROW}@{v1}");
    let retained = get(&mut c, &named).await;
    assert_eq!(retained.state, pb::PluginState::Retained as i32);
    assert_eq!(retained.version, "1.0.0");
    assert_eq!(
        retained.model_card, v1_card,
        "the retained build's own card"
    );

    // After a restart the retained build is loaded from the archive, with its card.
    server.stop().await;
    let server = TestServer::start_with_plugins(data.path(), plugins.path(), archived()).await;
    let mut c = ScoringServiceClient::new(server.channel().await);
    assert_eq!(get(&mut c, &named).await.model_card, v1_card);
    assert_eq!(get(&mut c, ESCROW).await.model_card, v2_card);
}
