//! Worker processes through the real server binary (`leverage plugin-worker`): a sandboxed
//! plugin that segfaults costs a worker restart, never the server, and its crashes are
//! reported; a damaged plugin file that crashes the loader is refused, at start and at a
//! reload, by the worker that loads it first (finding F6 of docs/fuzzing.md).

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

#[allow(dead_code)]
#[path = "../../leverage-plugin-host/tests/plugins/damage.rs"]
mod damage;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use leverage_e2e::plugin_libraries;
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::scoring_service_client::ScoringServiceClient;
use tonic::transport::Channel;

use damage::{crashes_the_loader, f6_input};

mod common;
use common::free_port;

/// The admin token of the test servers.
const TOKEN: &str = "admin-token-0123456789";

/// A `leverage serve` process with a database of its own; killed on drop.
struct Server {
    child: Child,
    _data: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `leverage serve` on the plugins of `plugins`, with `args` more, and connects.
    async fn start(plugins: &Path, args: &[&str]) -> (Server, Channel) {
        let data = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_leverage"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--tokens", &format!("admin:admin={TOKEN}")])
            .args(args)
            .arg("--data-dir")
            .arg(data.path())
            .arg("--plugin-dir")
            .arg(plugins)
            .env("LEVERAGE_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut server = Server { child, _data: data };
        let deadline = Instant::now() + Duration::from_secs(30);
        let channel = loop {
            if let Ok(c) = Channel::from_shared(format!("http://127.0.0.1:{port}"))
                .unwrap()
                .connect()
                .await
            {
                break c;
            }
            assert!(
                server.child.try_wait().unwrap().is_none(),
                "the server exited"
            );
            assert!(Instant::now() < deadline, "server did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        (server, channel)
    }
}

fn scenario(mode: pb::AssetAction) -> Option<pb::Scenario> {
    Some(pb::Scenario {
        use_mode: mode as i32,
        as_of: Some(pb::Date {
            year: 2025,
            month: 12,
            day: 31,
        }),
        ..Default::default()
    })
}

#[tokio::test]
async fn a_segfaulting_sandboxed_plugin_costs_a_worker_not_the_server() {
    let plugins = tempfile::tempdir().unwrap();
    for lib in [
        "libfixture_segfaults.so",
        "libleverage_plugin_pressure_index.so",
    ] {
        std::fs::copy(plugin_libraries().join(lib), plugins.path().join(lib)).unwrap();
    }
    let (_server, channel) = Server::start(
        plugins.path(),
        &["--sandbox-plugin", "libfixture_segfaults.so"],
    )
    .await;
    let mut c = ScoringServiceClient::new(channel);
    let score = |plugin: &str, mode| pb::ScoreScenarioRequest {
        plugin: format!("plugins/{plugin}"),
        scenario: scenario(mode),
        ..Default::default()
    };

    // Any use mode but confiscation scores normally, in a worker.
    c.score_scenario(score("fixture-segfaults", pb::AssetAction::Immobilisation))
        .await
        .unwrap();
    // Confiscation makes the fixture segfault: the call fails, the server does not.
    let err = c
        .score_scenario(score("fixture-segfaults", pb::AssetAction::Confiscation))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Internal);
    assert!(err.message().contains("SIGSEGV"), "{}", err.message());
    c.score_scenario(score("pressure-index", pb::AssetAction::Confiscation))
        .await
        .unwrap();
    c.score_scenario(score("fixture-segfaults", pb::AssetAction::Immobilisation))
        .await
        .unwrap();
    let p = c
        .get_plugin(pb::GetPluginRequest {
            name: "plugins/fixture-segfaults".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(p.sandboxed);
    assert_eq!(p.crash_count, 1);
}

/// The plugins the server lists, by file name: (state, reason).
async fn listed(c: &mut ScoringServiceClient<Channel>) -> Vec<(String, i32, String)> {
    let response = c
        .list_plugins(pb::ListPluginsRequest::default())
        .await
        .unwrap()
        .into_inner();
    response
        .plugins
        .into_iter()
        .map(|p| {
            let file = Path::new(&p.file).file_name().unwrap();
            (file.to_string_lossy().into_owned(), p.state, p.state_reason)
        })
        .collect()
}

/// Finding F6: damaged plugin files crashed the dynamic loader inside the server. In the
/// plugin directory at start, or arriving before a reload, they are refused with the reason —
/// the input of F6 by the check of the file's structure, a file with a damaged relocation table
/// by the worker process that loads it first — and the server keeps serving the rest.
#[tokio::test]
async fn damaged_plugin_files_are_refused_and_the_server_keeps_serving() {
    let plugins = tempfile::tempdir().unwrap();
    let good = "libleverage_plugin_pressure_index.so";
    std::fs::copy(plugin_libraries().join(good), plugins.path().join(good)).unwrap();
    std::fs::copy(f6_input(), plugins.path().join("libf6.so")).unwrap();
    let damaged = crashes_the_loader(&std::fs::read(plugin_libraries().join(good)).unwrap());
    std::fs::write(plugins.path().join("libcrashes_loader.so"), &damaged).unwrap();
    let (mut server, channel) = Server::start(plugins.path(), &[]).await;
    let mut c = ScoringServiceClient::new(channel);

    let refused = pb::PluginState::Refused as i32;
    let list = listed(&mut c).await;
    let state = |file: &str| list.iter().find(|p| p.0 == file).cloned().unwrap();
    assert_eq!(state(good).1, pb::PluginState::Ready as i32, "{list:?}");
    let (_, f6_state, f6_reason) = state("libf6.so");
    assert_eq!(f6_state, refused);
    assert!(
        f6_reason.contains("damaged library file, not loaded: the dynamic section"),
        "{f6_reason}"
    );
    let (_, crash_state, crash_reason) = state("libcrashes_loader.so");
    assert_eq!(crash_state, refused);
    assert!(
        crash_reason.contains("crashed the loader (signal 11)"),
        "{crash_reason}"
    );
    let score = pb::ScoreScenarioRequest {
        plugin: "plugins/pressure-index".into(),
        scenario: scenario(pb::AssetAction::Immobilisation),
        ..Default::default()
    };
    c.score_scenario(score.clone()).await.unwrap();

    // A damaged file arriving later is refused by the reload that finds it.
    std::fs::write(plugins.path().join("libarrived_later.so"), &damaged).unwrap();
    let mut reload = tonic::Request::new(pb::ReloadPluginsRequest {});
    reload
        .metadata_mut()
        .insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    let report = c.reload_plugins(reload).await.unwrap().into_inner();
    assert_eq!(report.refused.len(), 1, "{report:?}");
    assert!(report.refused[0].file.ends_with("libarrived_later.so"));
    assert!(
        report.refused[0]
            .reason
            .contains("crashed the loader (signal 11)"),
        "{report:?}"
    );
    c.score_scenario(score).await.unwrap();
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server runs"
    );
}

#[tokio::test]
async fn a_sandboxed_plugin_takes_its_own_inputs_and_per_call_parameters_like_an_in_process_one() {
    let plugins = tempfile::tempdir().unwrap();
    std::fs::copy(
        plugin_libraries().join("libfixture_escrow_v1.so"),
        plugins.path().join("libfixture_escrow.so"),
    )
    .unwrap();
    let configs = tempfile::tempdir().unwrap();
    std::fs::write(
        configs.path().join("fixture-escrow.conf"),
        "yield_pct = 4.5\n",
    )
    .unwrap();
    let config_dir = configs.path().to_str().unwrap();
    let (_sandboxed, channel) = Server::start(
        plugins.path(),
        &[
            "--sandbox-plugin",
            "libfixture_escrow.so",
            "--plugin-config-dir",
            config_dir,
        ],
    )
    .await;
    let (_in_process, reference) =
        Server::start(plugins.path(), &["--plugin-config-dir", config_dir]).await;
    let mut sandboxed = ScoringServiceClient::new(channel);
    let mut reference = ScoringServiceClient::new(reference);
    let request = |weight: Option<f64>| pb::ScoreScenarioRequest {
        plugin: "plugins/fixture-escrow".into(),
        scenario: scenario(pb::AssetAction::ReparationsLoan).map(|s| pb::Scenario {
            inputs: vec![pb::InputValue {
                name: "escrow.share".into(),
                value: 0.35,
            }],
            ..s
        }),
        parameters: weight
            .map(|value| pb::ParameterValue {
                name: "weight".into(),
                value,
            })
            .into_iter()
            .collect(),
    };
    // With a parameter of the call's own, then without: the worker's instance for the call is
    // not the one later calls get.
    for weight in [Some(0.15), None, Some(0.9), None] {
        let a = sandboxed
            .score_scenario(request(weight))
            .await
            .unwrap()
            .into_inner()
            .result
            .unwrap();
        let b = reference
            .score_scenario(request(weight))
            .await
            .unwrap()
            .into_inner()
            .result
            .unwrap();
        assert_eq!(a.score.to_bits(), b.score.to_bits(), "{weight:?}");
        assert_eq!(a.parameters, b.parameters);
        let used: Vec<(String, f64)> = a
            .parameters
            .iter()
            .map(|p| (p.name.clone(), p.value))
            .collect();
        assert_eq!(
            used,
            [
                ("weight".to_owned(), weight.unwrap_or(0.6)),
                ("yield_pct".to_owned(), 4.5)
            ]
        );
    }
}
