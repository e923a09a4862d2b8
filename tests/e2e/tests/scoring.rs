//! ScoringService over real gRPC with real plugin libraries: the bundled models, and fixtures
//! that panic, hang, or are built wrong.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use leverage_e2e::{
    TestServer, authorized, date, error_reason, plugin_dir, rate_by_sharing_sweep, violated_fields,
};
use leverage_plugin_host::HostOptions;
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::scoring_service_client::ScoringServiceClient;
use tokio_stream::StreamExt;
use tonic::Code;
use tonic::transport::Channel;

const REAL: [(&str, &str); 2] = [
    (
        "libleverage_plugin_pressure_index.so",
        "libleverage_plugin_pressure_index.so",
    ),
    (
        "libleverage_plugin_prudent_pressure.so",
        "libleverage_plugin_prudent_pressure.so",
    ),
];

async fn server_with(
    files: &[(&str, &str)],
    options: HostOptions,
) -> (
    TestServer,
    ScoringServiceClient<Channel>,
    [tempfile::TempDir; 2],
) {
    let data = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(files);
    let server = TestServer::start_with_plugins(data.path(), plugins.path(), options).await;
    let client = ScoringServiceClient::new(server.channel().await);
    (server, client, [data, plugins])
}

fn scenario(mode: pb::AssetAction) -> pb::Scenario {
    pb::Scenario {
        use_mode: mode as i32,
        as_of: date(2025, 12, 31),
        ..Default::default()
    }
}

fn score(plugin: &str, s: pb::Scenario) -> pb::ScoreScenarioRequest {
    pb::ScoreScenarioRequest {
        plugin: format!("plugins/{plugin}"),
        scenario: Some(s),
        ..Default::default()
    }
}

#[tokio::test]
async fn the_bundled_models_are_listed_loaded_from_their_libraries() {
    let (_s, mut c, _d) = server_with(&REAL, HostOptions::default()).await;
    let list = c
        .list_plugins(pb::ListPluginsRequest::default())
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<&str> = list.plugins.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["pressure-index", "prudent-pressure"]);
    for p in &list.plugins {
        assert_eq!(p.state, pb::PluginState::Ready as i32);
        assert!(p.file.ends_with(".so"), "{}", p.file);
        assert!(!p.components.is_empty() && !p.inputs.is_empty() && !p.rustc_version.is_empty());
        assert!(
            p.inputs.iter().all(|i| !i.description.is_empty()),
            "inputs come from the catalog"
        );
    }
}

#[tokio::test]
async fn the_default_directory_mode_loads_only_the_bundled_plugins() {
    let mut files = REAL.to_vec();
    files.push(("libfixture_panics.so", "libfixture_panics.so"));
    let options = HostOptions {
        name_prefix: Some("libleverage_plugin_".into()),
        ..HostOptions::default()
    };
    let (_s, mut c, _d) = server_with(&files, options).await;
    let list = c
        .list_plugins(pb::ListPluginsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.plugins.len(), 2);
}

#[tokio::test]
async fn the_two_models_score_the_same_scenario_differently_and_name_their_build() {
    let (_s, mut c, _d) = server_with(&REAL, HostOptions::default()).await;
    let compare = c
        .compare_scenarios(pb::CompareScenariosRequest {
            plugins: vec![
                "plugins/pressure-index".into(),
                "plugins/prudent-pressure".into(),
            ],
            scenarios: vec![
                scenario(pb::AssetAction::ReparationsLoan),
                scenario(pb::AssetAction::Confiscation),
            ],
        })
        .await
        .unwrap()
        .into_inner();
    let result = |row: usize, col: usize| match &compare.rows[row].outcomes[col].outcome {
        Some(pb::scenario_outcome::Outcome::Result(r)) => r.clone(),
        other => panic!("no result: {other:?}"),
    };
    for col in 0..2 {
        assert_ne!(
            result(0, col).score,
            result(1, col).score,
            "the models disagree"
        );
    }
    let r = result(0, 0);
    assert_eq!(r.plugin, "plugins/pressure-index");
    assert!(!r.plugin_version.is_empty() && !r.build_id.is_empty());
    // A fresh database holds the shipped dataset as its first version.
    assert_eq!(r.dataset_version, "1");
    assert!(!r.components.is_empty() && r.components.iter().all(|c| !c.unit.is_empty()));
    assert!(
        r.inputs
            .iter()
            .any(|i| i.name == "pool.eur_bn" && i.value > 190.0)
    );
}

#[tokio::test]
async fn the_same_request_twice_gives_bit_identical_scores() {
    let (_s, mut c, _d) = server_with(&REAL, HostOptions::default()).await;
    for plugin in ["pressure-index", "prudent-pressure"] {
        let mut s = scenario(pb::AssetAction::WindfallProfits);
        s.interest_rate_pct = Some(3.1);
        let a = c
            .score_scenario(score(plugin, s.clone()))
            .await
            .unwrap()
            .into_inner()
            .result
            .unwrap();
        let b = c
            .score_scenario(score(plugin, s))
            .await
            .unwrap()
            .into_inner()
            .result
            .unwrap();
        assert_eq!(a.score.to_bits(), b.score.to_bits());
        let bits = |r: &pb::ScoreResult| {
            r.components
                .iter()
                .map(|c| c.value.to_bits())
                .collect::<Vec<_>>()
        };
        assert_eq!(bits(&a), bits(&b));
    }
}

#[tokio::test]
async fn an_invalid_scenario_names_each_bad_field() {
    let (_s, mut c, _d) = server_with(&REAL, HostOptions::default()).await;
    let s = pb::Scenario {
        use_mode: 0,
        interest_rate_pct: Some(-2.0),
        horizon_years: Some(100),
        participation: vec![pb::Participation {
            jurisdiction: "XX".into(),
            fraction: 2.0,
        }],
        as_of: date(2025, 13, 1),
        ..Default::default()
    };
    let err = c
        .score_scenario(score("pressure-index", s.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let mut fields = violated_fields(&err);
    fields.sort();
    assert_eq!(
        fields,
        [
            "scenario.as_of",
            "scenario.horizon_years",
            "scenario.interest_rate_pct",
            "scenario.participation[0].fraction",
            "scenario.participation[0].jurisdiction",
            "scenario.use_mode",
        ]
    );
    // In a batch, the bad scenario gets its own error and the good one its score.
    let batch = c
        .score_scenarios(pb::ScoreScenariosRequest {
            plugin: "plugins/pressure-index".into(),
            scenarios: vec![s, scenario(pb::AssetAction::Immobilisation)],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    match &batch.outcomes[0].outcome {
        Some(pb::scenario_outcome::Outcome::Error(e)) => {
            assert_eq!(e.code, Code::InvalidArgument as i32);
            assert!(
                e.field_violations
                    .iter()
                    .any(|f| f.field == "scenarios[0].use_mode")
            );
        }
        other => panic!("expected an error: {other:?}"),
    }
    assert!(matches!(
        batch.outcomes[1].outcome,
        Some(pb::scenario_outcome::Outcome::Result(_))
    ));
    let err = c
        .score_scenario(score(
            "no-such-plugin",
            scenario(pb::AssetAction::Confiscation),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

#[tokio::test]
async fn misbuilt_plugins_are_refused_with_the_exact_cause() {
    let files = [
        ("libfixture_wrong_abi.so", "libfixture_wrong_abi.so"),
        ("libfixture_bad_layout.so", "libfixture_bad_layout.so"),
        (
            "libfixture_unknown_inputs.so",
            "libfixture_unknown_inputs.so",
        ),
        ("libfixture_aborts.so", "libfixture_aborts.so"),
        REAL[0],
    ];
    let (_s, mut c, _d) = server_with(&files, HostOptions::default()).await;
    let list = c
        .list_plugins(pb::ListPluginsRequest::default())
        .await
        .unwrap()
        .into_inner();
    let reason = |file: &str| {
        let p = list
            .plugins
            .iter()
            .find(|p| p.file.ends_with(file))
            .unwrap_or_else(|| panic!("{file} not listed"));
        assert_eq!(p.state, pb::PluginState::Refused as i32, "{file}");
        p.state_reason.to_lowercase()
    };
    assert!(reason("libfixture_wrong_abi.so").contains("abi"));
    assert!(reason("libfixture_bad_layout.so").contains("layout"));
    let unknown = reason("libfixture_unknown_inputs.so");
    assert!(
        unknown.contains("lever.moon_phase") && unknown.contains("known inputs: lever.use_mode"),
        "names the unknown and the known inputs: {unknown}"
    );
    assert!(reason("libfixture_aborts.so").contains("abort"));
    let ready: Vec<_> = list
        .plugins
        .iter()
        .filter(|p| p.state == pb::PluginState::Ready as i32)
        .collect();
    assert_eq!(ready.len(), 1, "the good plugin still loads");
}

#[tokio::test]
async fn a_panicking_plugin_fails_its_calls_and_is_disabled_while_others_keep_working() {
    let files = [("libfixture_panics.so", "libfixture_panics.so"), REAL[0]];
    let (_s, mut c, _d) = server_with(
        &files,
        HostOptions {
            max_panics: 3,
            ..HostOptions::default()
        },
    )
    .await;
    for _ in 0..3 {
        let err = c
            .score_scenario(score(
                "fixture-panics",
                scenario(pb::AssetAction::Confiscation),
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Internal);
        assert_eq!(error_reason(&err).as_deref(), Some("PLUGIN_PANICKED"));
        assert!(err.message().contains("panicked"), "{}", err.message());
        c.score_scenario(score(
            "pressure-index",
            scenario(pb::AssetAction::Confiscation),
        ))
        .await
        .unwrap();
    }
    let err = c
        .score_scenario(score(
            "fixture-panics",
            scenario(pb::AssetAction::Confiscation),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    let p = c
        .get_plugin(pb::GetPluginRequest {
            name: "plugins/fixture-panics".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(p.state, pb::PluginState::Disabled as i32);
    assert_eq!(p.panic_count, 3);
    c.score_scenario(score(
        "pressure-index",
        scenario(pb::AssetAction::Confiscation),
    ))
    .await
    .unwrap();
}

#[tokio::test]
async fn a_hanging_plugin_gets_deadline_exceeded_and_the_server_keeps_serving() {
    let files = [("libfixture_hangs.so", "libfixture_hangs.so"), REAL[0]];
    let (_s, mut c, _d) = server_with(&files, HostOptions::default()).await;
    let deadline = Duration::from_millis(500);
    let mut request = tonic::Request::new(score(
        "fixture-hangs",
        scenario(pb::AssetAction::Confiscation),
    ));
    request.set_timeout(deadline);
    let started = Instant::now();
    let err = c.score_scenario(request).await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    // A generous bound: the point is that it returns, not how fast a loaded machine is.
    assert!(took < deadline + Duration::from_secs(5), "took {took:?}");
    for _ in 0..3 {
        c.score_scenario(score(
            "pressure-index",
            scenario(pb::AssetAction::Confiscation),
        ))
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn reload_switches_new_calls_while_a_call_in_flight_finishes_on_the_old_version() {
    let files = [("libfixture_slow_v1.so", "libfixture_slow.so")];
    let configs = HashMap::from([("fixture-slow".to_owned(), "delay_ms = 1500".to_owned())]);
    let (_s, c, dirs) = server_with(
        &files,
        HostOptions {
            configs,
            ..HostOptions::default()
        },
    )
    .await;
    let mut in_flight = c.clone();
    let old = tokio::spawn(async move {
        in_flight
            .score_scenario(score(
                "fixture-slow",
                scenario(pb::AssetAction::Immobilisation),
            ))
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let plugin_dir = dirs[1].path();
    std::fs::copy(
        leverage_e2e::plugin_libraries().join("libfixture_slow_v2.so"),
        plugin_dir.join("libfixture_slow.so"),
    )
    .unwrap();
    let mut c2 = c.clone();
    let report = c2
        .reload_plugins(authorized(pb::ReloadPluginsRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(report.reloaded, ["fixture-slow"]);
    let new = c2
        .score_scenario(score(
            "fixture-slow",
            scenario(pb::AssetAction::Immobilisation),
        ))
        .await
        .unwrap();
    assert_eq!(
        new.into_inner().result.unwrap().score,
        2.0,
        "new calls use version 2"
    );
    let old = old.await.unwrap().unwrap().into_inner().result.unwrap();
    assert_eq!(old.score, 1.0, "the call in flight finished on version 1");
    let err = c2
        .reload_plugins(pb::ReloadPluginsRequest {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn a_sweep_of_100000_scenarios_streams_every_result_in_order_with_progress() {
    let (_s, mut c, _d) = server_with(&REAL, HostOptions::default()).await;
    let request = rate_by_sharing_sweep(500, 200, 5000);
    let mut stream = c.sweep_scenario(request).await.unwrap().into_inner();
    let mut next = 0i64;
    let mut last_done = 0;
    let mut names = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        if next == 0 {
            names = chunk.component_names.clone();
        }
        for p in &chunk.points {
            assert_eq!(p.index, next, "in order");
            assert!(p.error.is_none());
            assert_eq!(p.components.len(), names.len());
            next += 1;
        }
        let progress = chunk.progress.unwrap();
        assert_eq!(progress.total, 100_000);
        assert_eq!(progress.done, next);
        assert!(progress.done > last_done);
        last_done = progress.done;
    }
    assert_eq!(next, 100_000);
    assert!(!names.is_empty());
}

#[tokio::test]
async fn a_cancelled_sweep_stops_its_work() {
    let files = [("libfixture_slow_v1.so", "libfixture_slow.so")];
    let configs = HashMap::from([("fixture-slow".to_owned(), "delay_ms = 50".to_owned())]);
    let (_s, mut c, _d) = server_with(
        &files,
        HostOptions {
            configs,
            ..HostOptions::default()
        },
    )
    .await;
    let request = pb::SweepScenarioRequest {
        plugin: "plugins/fixture-slow".into(),
        base: Some(scenario(pb::AssetAction::Immobilisation)),
        axes: vec![pb::SweepAxis {
            lever: pb::Lever::SafeTakeup as i32,
            start: 0.0,
            stop: 1.0,
            steps: 1000,
            ..Default::default()
        }],
        chunk_size: 10,
        ..Default::default()
    };
    let mut stream = c.sweep_scenario(request).await.unwrap().into_inner();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.points.len(), 10);
    drop(stream);
    let calls = |c: &mut ScoringServiceClient<Channel>| {
        let mut c = c.clone();
        async move {
            c.get_plugin(pb::GetPluginRequest {
                name: "plugins/fixture-slow".into(),
            })
            .await
            .unwrap()
            .into_inner()
            .call_count
        }
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after_cancel = calls(&mut c).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let later = calls(&mut c).await;
    assert_eq!(
        after_cancel, later,
        "no scenario was scored after the client went away"
    );
    assert!(
        later < 1000,
        "the sweep stopped early ({later} of 1000 scored)"
    );
}

#[tokio::test]
async fn sweeps_validate_their_axes() {
    let (_s, mut c, _d) = server_with(&REAL, HostOptions::default()).await;
    let request = pb::SweepScenarioRequest {
        plugin: "plugins/pressure-index".into(),
        base: Some(scenario(pb::AssetAction::ReparationsLoan)),
        axes: vec![
            pb::SweepAxis {
                lever: pb::Lever::InterestRatePct as i32,
                start: -1.0,
                stop: 10.0,
                steps: 1,
                ..Default::default()
            },
            pb::SweepAxis {
                lever: 0,
                start: 0.0,
                stop: 1.0,
                steps: 2_000_000,
                ..Default::default()
            },
        ],
        chunk_size: 0,
        ..Default::default()
    };
    let err = c.sweep_scenario(request).await.unwrap_err();
    let fields = violated_fields(&err);
    for f in ["axes[0].steps", "axes[0].start", "axes[1].lever", "axes"] {
        assert!(fields.contains(&f.to_owned()), "{f} not in {fields:?}");
    }
}

#[tokio::test]
async fn an_inline_plugin_scores_exactly_as_through_the_pool_and_says_it_is_inline() {
    let (_s, mut pooled, _d) = server_with(&REAL, HostOptions::default()).await;
    let (_s2, mut inline, _d2) = server_with(
        &REAL,
        HostOptions {
            inline: ["libleverage_plugin_pressure_index.so".to_owned()].into(),
            ..HostOptions::default()
        },
    )
    .await;
    for mode in [
        pb::AssetAction::Immobilisation,
        pb::AssetAction::ReparationsLoan,
        pb::AssetAction::Confiscation,
    ] {
        let a = pooled
            .score_scenario(score("pressure-index", scenario(mode)))
            .await
            .unwrap()
            .into_inner();
        let b = inline
            .score_scenario(score("pressure-index", scenario(mode)))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(a, b, "{mode:?}");
    }
    let plugin = |c: &mut ScoringServiceClient<Channel>| {
        let mut c = c.clone();
        async move {
            c.get_plugin(pb::GetPluginRequest {
                name: "plugins/pressure-index".into(),
            })
            .await
            .unwrap()
            .into_inner()
        }
    };
    assert!(plugin(&mut inline).await.inline);
    assert!(!plugin(&mut pooled).await.inline);
}
