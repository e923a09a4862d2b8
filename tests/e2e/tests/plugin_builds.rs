//! Builds side by side over real gRPC: a result names the build that scored; after a reload to
//! another build, `plugins/{id}@{build}` with the same dataset version gives the first result
//! again, bit for bit, and so it does after the server restarts on the same data directory.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::path::Path;

use leverage_e2e::{TestServer, authorized, date, plugin_dir, violated_fields};
use leverage_plugin_host::HostOptions;
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::scoring_service_client::ScoringServiceClient;
use tokio_stream::StreamExt;
use tonic::Code;
use tonic::transport::Channel;

const ESCROW: &str = "plugins/fixture-escrow";

/// The host options `leverage serve` uses: builds kept in the data directory.
fn archived(data: &Path) -> HostOptions {
    HostOptions {
        archive_dir: Some(leverage_server::plugin_archive_dir(data)),
        ..HostOptions::default()
    }
}

fn scenario() -> pb::Scenario {
    pb::Scenario {
        use_mode: pb::AssetAction::ReparationsLoan as i32,
        as_of: date(2025, 12, 31),
        inputs: vec![pb::InputValue {
            name: "escrow.share".into(),
            value: 0.4,
        }],
        ..Default::default()
    }
}

/// A request pinned to dataset version `version`, when given.
fn pinned<T>(message: T, version: Option<&str>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(version) = version {
        request
            .metadata_mut()
            .insert("leverage-dataset-version", version.parse().unwrap());
    }
    request
}

async fn score(
    c: &mut ScoringServiceClient<Channel>,
    plugin: &str,
    version: Option<&str>,
) -> Result<pb::ScoreResult, tonic::Status> {
    let request = pb::ScoreScenarioRequest {
        plugin: plugin.into(),
        scenario: Some(scenario()),
        parameters: Vec::new(),
    };
    Ok(c.score_scenario(pinned(request, version))
        .await?
        .into_inner()
        .result
        .unwrap())
}

/// The bits of a result's score and components.
fn bits(result: &pb::ScoreResult) -> Vec<u64> {
    std::iter::once(result.score)
        .chain(result.components.iter().map(|c| c.value))
        .map(f64::to_bits)
        .collect()
}

async fn listed(c: &mut ScoringServiceClient<Channel>) -> pb::Plugin {
    let list = c
        .list_plugins(pb::ListPluginsRequest::default())
        .await
        .unwrap()
        .into_inner();
    list.plugins
        .into_iter()
        .find(|p| p.id == "fixture-escrow")
        .unwrap()
}

#[tokio::test]
async fn a_replaced_build_reproduces_its_score_bit_for_bit_after_a_reload_and_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(&[("libfixture_escrow_v1.so", "libfixture_escrow.so")]);
    let server =
        TestServer::start_with_plugins(data.path(), plugins.path(), archived(data.path())).await;
    let mut c = ScoringServiceClient::new(server.channel().await);

    let first = score(&mut c, ESCROW, None).await.unwrap();
    let version = first.dataset_version.clone();
    let v1 = first.plugin_build.clone();
    assert_eq!(v1.len(), 16, "{first:?}");
    assert_eq!(listed(&mut c).await.build, v1);

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

    let second = score(&mut c, ESCROW, Some(&version)).await.unwrap();
    let v2 = second.plugin_build.clone();
    assert_ne!(v2, v1);
    assert_eq!(second.plugin_version, "2.0.0");
    assert_ne!(bits(&second), bits(&first), "v2 scores differently");

    let named = format!("{ESCROW}@{v1}");
    let again = score(&mut c, &named, Some(&version)).await.unwrap();
    assert_eq!(bits(&again), bits(&first), "v1 again, bit for bit");
    assert_eq!(
        (
            again.plugin_build.as_str(),
            again.plugin_version.as_str(),
            again.dataset_version.as_str()
        ),
        (v1.as_str(), "1.0.0", version.as_str())
    );
    assert_eq!(again.inputs, first.inputs);
    assert_eq!(again.parameters, first.parameters);

    // ListPlugins: the build serving first, then the retained one.
    let plugin = listed(&mut c).await;
    assert_eq!(plugin.build, v2);
    let builds: Vec<_> = plugin
        .builds
        .iter()
        .map(|b| (b.name.as_str(), b.version.as_str(), b.current))
        .collect();
    assert_eq!(
        builds,
        [
            (format!("{ESCROW}@{v2}").as_str(), "2.0.0", true),
            (named.as_str(), "1.0.0", false)
        ]
    );
    for b in &plugin.builds {
        let t = &b.first_loaded;
        assert!(
            t.len() == 24 && t.ends_with('Z') && t.as_bytes()[10] == b'T',
            "RFC 3339 in UTC: {t}"
        );
    }

    // GetPlugin of the retained build.
    let retained = c
        .get_plugin(pb::GetPluginRequest {
            name: named.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(retained.state, pb::PluginState::Retained as i32);
    assert_eq!(
        (retained.name.as_str(), retained.version.as_str()),
        (named.as_str(), "1.0.0")
    );
    assert_eq!(retained.build, v1);

    // A comparison of both builds, and a sweep of the retained one, cite it too.
    let compared = c
        .compare_scenarios(pinned(
            pb::CompareScenariosRequest {
                plugins: vec![ESCROW.into(), named.clone()],
                scenarios: vec![scenario()],
            },
            Some(&version),
        ))
        .await
        .unwrap()
        .into_inner();
    let outcome = |row: usize| match &compared.rows[row].outcomes[0].outcome {
        Some(pb::scenario_outcome::Outcome::Result(r)) => r.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(bits(&outcome(0)), bits(&second));
    assert_eq!(bits(&outcome(1)), bits(&first));
    let sweep = pb::SweepScenarioRequest {
        plugin: named.clone(),
        base: Some(scenario()),
        axes: vec![pb::SweepAxis {
            input: "escrow.share".into(),
            start: 0.0,
            stop: 0.4,
            steps: 2,
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut stream = c
        .sweep_scenario(pinned(sweep, Some(&version)))
        .await
        .unwrap()
        .into_inner();
    let chunk = stream.next().await.unwrap().unwrap();
    assert_eq!(chunk.plugin_build, v1);
    assert_eq!(chunk.points[1].score.to_bits(), first.score.to_bits());

    // Names: malformed, unknown.
    for bad in [
        format!("{ESCROW}@"),
        format!("{ESCROW}@xyz"),
        format!("{ESCROW}@{}", v1.to_uppercase()),
        format!("plugins/@{v1}"),
    ] {
        let status = score(&mut c, &bad, None).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{bad}: {status:?}");
        assert_eq!(violated_fields(&status), ["plugin"], "{bad}");
    }
    let unknown = format!("{ESCROW}@0000000000000000");
    let status = score(&mut c, &unknown, None).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let status = c
        .get_plugin(pb::GetPluginRequest { name: unknown })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");

    // A restart on the same data directory: v1 is still there.
    server.stop().await;
    let server =
        TestServer::start_with_plugins(data.path(), plugins.path(), archived(data.path())).await;
    let mut c = ScoringServiceClient::new(server.channel().await);
    let after = score(&mut c, &named, Some(&version)).await.unwrap();
    assert_eq!(
        bits(&after),
        bits(&first),
        "v1 after a restart, bit for bit"
    );
    assert_eq!(listed(&mut c).await.builds, plugin.builds);
}
