//! Sandbox mode through the real server binary: a plugin that segfaults costs a worker
//! restart, never the server, and its crashes are reported.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use leverage_e2e::plugin_libraries;
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::scoring_service_client::ScoringServiceClient;
use tonic::transport::Channel;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
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
    let data = tempfile::tempdir().unwrap();
    let plugins = tempfile::tempdir().unwrap();
    for lib in [
        "libfixture_segfaults.so",
        "libleverage_plugin_pressure_index.so",
    ] {
        std::fs::copy(plugin_libraries().join(lib), plugins.path().join(lib)).unwrap();
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_leverage"))
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--sandbox-plugin",
                "libfixture_segfaults.so",
            ])
            .arg("--data-dir")
            .arg(data.path())
            .arg("--plugin-dir")
            .arg(plugins.path())
            .env("LEVERAGE_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let channel = loop {
        if let Ok(c) = Channel::from_shared(format!("http://127.0.0.1:{port}"))
            .unwrap()
            .connect()
            .await
        {
            break c;
        }
        assert!(Instant::now() < deadline, "server did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut c = ScoringServiceClient::new(channel);
    let score = |plugin: &str, mode| pb::ScoreScenarioRequest {
        plugin: format!("plugins/{plugin}"),
        scenario: scenario(mode),
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
