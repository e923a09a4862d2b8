//! A plugin written in C in the real server: `tests/fixtures/c/escrow.c` (`fixture-escrow-c`),
//! built here with the system C compiler, next to its Rust twin `fixture-escrow` (v1). The same
//! 10,000 random scenarios (every lever, the use mode, participation, the date, and both inputs
//! the plugins declare, across their ranges) are scored by each over gRPC with
//! `ScoreScenarios`, in two calls of 5,000, the second with random per-call parameters: every
//! outcome must be the same, every score and component the same bits.
//!
//! Without a C compiler the test prints why and passes without checking, except under CI.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

#[path = "../../fixtures/c/twin.rs"]
mod twin;

use std::path::Path;
use std::time::Instant;

use leverage_e2e::{TestServer, date, plugin_dir};
use leverage_plugin_host::HostOptions;
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::scoring_service_client::ScoringServiceClient;
use tonic::transport::Channel;

use twin::Rng;

const RUST: &str = "plugins/fixture-escrow";
const C: &str = "plugins/fixture-escrow-c";
const SCENARIOS_PER_CALL: usize = 5_000;

/// Jurisdictions holding located central-bank assets, for random participation.
const JURISDICTIONS: &[&str] = &["BE", "FR", "LU", "CH", "GB", "US", "JP", "CA", "DE"];

const USE_MODES: &[pb::AssetAction] = &[
    pb::AssetAction::Immobilisation,
    pb::AssetAction::WindfallProfits,
    pb::AssetAction::ProfitsBackedLoan,
    pb::AssetAction::ReparationsLoan,
    pb::AssetAction::Confiscation,
];

fn input(name: &str, value: f64) -> pb::InputValue {
    pb::InputValue {
        name: name.into(),
        value,
    }
}

/// A scenario with every lever drawn across its range, a random participation (now and then
/// the default: every jurisdiction, fully), one of four data dates, `escrow.share` (required)
/// and, one time in two, `escrow.enforcement` (else its default, 0.5).
fn random_scenario(rng: &mut Rng) -> pb::Scenario {
    let mut participation = Vec::new();
    if rng.below(4) != 0 {
        for code in JURISDICTIONS {
            if rng.below(3) != 0 {
                participation.push(pb::Participation {
                    jurisdiction: (*code).into(),
                    fraction: rng.in_range(0.0, 1.0),
                });
            }
        }
    }
    let mut inputs = vec![input("escrow.share", rng.in_range(0.0, 1.0))];
    if rng.below(2) == 0 {
        inputs.push(input("escrow.enforcement", rng.in_range(0.0, 1.0)));
        if rng.below(2) == 0 {
            inputs.reverse();
        }
    }
    let (year, month, day) =
        [(2024, 12, 31), (2025, 6, 30), (2025, 12, 31), (2026, 3, 1)][rng.below(4)];
    pb::Scenario {
        use_mode: USE_MODES[rng.below(USE_MODES.len())] as i32,
        participation,
        interest_rate_pct: Some(rng.in_range(0.0, 20.0)),
        sanctions_tightening: Some(rng.in_range(0.0, 1.0)),
        safe_takeup: Some(rng.in_range(0.0, 1.0)),
        defence_spending_gdp_pct: Some(rng.in_range(0.0, 10.0)),
        ceasefire: rng.below(2) == 0,
        guarantee_sharing: Some(rng.in_range(0.0, 1.0)),
        horizon_years: Some(1 + rng.below(30) as i32),
        as_of: date(year, month, day),
        inputs,
    }
}

async fn score_all(
    client: &mut ScoringServiceClient<Channel>,
    plugin: &str,
    scenarios: &[pb::Scenario],
    parameters: &[pb::ParameterValue],
) -> Vec<pb::ScenarioOutcome> {
    client
        .score_scenarios(pb::ScoreScenariosRequest {
            plugin: plugin.into(),
            scenarios: scenarios.to_vec(),
            parameters: parameters.to_vec(),
        })
        .await
        .unwrap_or_else(|status| panic!("{plugin}: {status:?}"))
        .into_inner()
        .outcomes
}

/// Asserts that two outcomes are the same to the bit, but for the plugin's name and build.
/// Returns whether it was a score.
fn assert_same(index: usize, rust: &pb::ScenarioOutcome, c: &pb::ScenarioOutcome) -> bool {
    use pb::scenario_outcome::Outcome;
    assert_eq!(rust.index, c.index);
    match (&rust.outcome, &c.outcome) {
        (Some(Outcome::Result(r)), Some(Outcome::Result(c))) => {
            let bits = |result: &pb::ScoreResult| -> Vec<(String, u64)> {
                std::iter::once(("score".to_owned(), result.score.to_bits()))
                    .chain(
                        result
                            .components
                            .iter()
                            .map(|v| (v.name.clone(), v.value.to_bits())),
                    )
                    .collect()
            };
            let values = |list: &[pb::NamedValue]| -> Vec<(String, u64)> {
                list.iter()
                    .map(|v| (v.name.clone(), v.value.to_bits()))
                    .collect()
            };
            assert_eq!(bits(r), bits(c), "scenario {index}: {r:?} against {c:?}");
            assert_eq!(values(&r.inputs), values(&c.inputs), "scenario {index}");
            assert_eq!(
                values(&r.parameters),
                values(&c.parameters),
                "scenario {index}"
            );
            assert_eq!(
                (&r.dataset_version, &r.as_of),
                (&c.dataset_version, &c.as_of)
            );
            true
        }
        (Some(Outcome::Error(r)), Some(Outcome::Error(c))) => {
            assert_eq!(
                (r.code, &r.reason, &r.field_violations),
                (c.code, &c.reason, &c.field_violations),
                "scenario {index}: {} against {}",
                r.message,
                c.message
            );
            false
        }
        other => panic!("scenario {index}: the twins disagree: {other:?}"),
    }
}

#[tokio::test]
async fn ten_thousand_random_scenarios_score_the_same_bits_in_the_c_plugin_and_its_rust_twin() {
    let cc = match twin::c_compiler() {
        Ok(cc) => cc,
        Err(why) => {
            eprintln!("SKIPPED (the C twin of fixture-escrow is not built): {why}");
            return;
        }
    };
    let data = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(&[("libfixture_escrow_v1.so", "libfixture_escrow.so")]);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    twin::compile_c_fixture(
        &cc,
        &root,
        "escrow",
        plugins.path(),
        "libfixture_escrow_c.so",
    );
    let server =
        TestServer::start_with_plugins(data.path(), plugins.path(), HostOptions::default()).await;
    // 5,000 results with every input listed are more than tonic's default 4 MiB.
    let mut client =
        ScoringServiceClient::new(server.channel().await).max_decoding_message_size(64 << 20);

    let started = Instant::now();
    let mut rng = Rng::new(0x0e5c_0c0c);
    let (mut scored, mut refused) = (0, 0);
    for call in 0..2 {
        let scenarios: Vec<pb::Scenario> = (0..SCENARIOS_PER_CALL)
            .map(|_| random_scenario(&mut rng))
            .collect();
        // The second call sets both parameters to random values within their ranges.
        let parameters = if call == 0 {
            Vec::new()
        } else {
            vec![
                pb::ParameterValue {
                    name: "weight".into(),
                    value: rng.in_range(0.0, 1.0),
                },
                pb::ParameterValue {
                    name: "yield_pct".into(),
                    value: rng.in_range(0.0, 10.0),
                },
            ]
        };
        let rust = score_all(&mut client, RUST, &scenarios, &parameters).await;
        let c = score_all(&mut client, C, &scenarios, &parameters).await;
        assert_eq!(
            (rust.len(), c.len()),
            (SCENARIOS_PER_CALL, SCENARIOS_PER_CALL)
        );
        for (index, (r, c)) in rust.iter().zip(&c).enumerate() {
            if assert_same(index, r, c) {
                scored += 1;
            } else {
                refused += 1;
            }
        }
    }
    eprintln!(
        "{} scenarios over gRPC: {scored} scored alike, {refused} refused alike, in {:?}",
        2 * SCENARIOS_PER_CALL,
        started.elapsed()
    );
    assert!(
        scored > 9 * SCENARIOS_PER_CALL / 5,
        "only {scored} of {} scenarios scored",
        2 * SCENARIOS_PER_CALL
    );
}
