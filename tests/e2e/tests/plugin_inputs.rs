//! The open plugin contract over real gRPC with real libraries: a plugin that declares inputs
//! the server does not know (`fixture-escrow`: `escrow.share` required, `escrow.enforcement`
//! optional), per-call parameter values, and a plugin built for ABI 1.0 that still loads.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::collections::HashMap;

use leverage_e2e::{TestServer, date, plugin_dir, violated_fields};
use leverage_plugin_host::HostOptions;
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::scoring_service_client::ScoringServiceClient;
use tokio_stream::StreamExt;
use tonic::Code;
use tonic::transport::Channel;

const ESCROW: &str = "plugins/fixture-escrow";

async fn server(
    options: HostOptions,
) -> (
    TestServer,
    ScoringServiceClient<Channel>,
    [tempfile::TempDir; 2],
) {
    let data = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(&[
        ("libfixture_escrow_v1.so", "libfixture_escrow.so"),
        ("libfixture_abi_1_0.so", "libfixture_abi_1_0.so"),
        (
            "libleverage_plugin_pressure_index.so",
            "libleverage_plugin_pressure_index.so",
        ),
    ]);
    let server = TestServer::start_with_plugins(data.path(), plugins.path(), options).await;
    let client = ScoringServiceClient::new(server.channel().await);
    (server, client, [data, plugins])
}

fn input(name: &str, value: f64) -> pb::InputValue {
    pb::InputValue {
        name: name.into(),
        value,
    }
}

fn parameter(name: &str, value: f64) -> pb::ParameterValue {
    pb::ParameterValue {
        name: name.into(),
        value,
    }
}

fn scenario(inputs: Vec<pb::InputValue>) -> pb::Scenario {
    pb::Scenario {
        use_mode: pb::AssetAction::ReparationsLoan as i32,
        as_of: date(2025, 12, 31),
        inputs,
        ..Default::default()
    }
}

fn request(
    plugin: &str,
    inputs: Vec<pb::InputValue>,
    parameters: Vec<pb::ParameterValue>,
) -> pb::ScoreScenarioRequest {
    pb::ScoreScenarioRequest {
        plugin: plugin.into(),
        scenario: Some(scenario(inputs)),
        parameters,
    }
}

fn values(list: &[pb::NamedValue]) -> HashMap<&str, f64> {
    list.iter().map(|v| (v.name.as_str(), v.value)).collect()
}

/// The fixture's model (v1), from the inputs and parameters a result lists: what the score and
/// components must be, to the bit.
fn escrow_model(result: &pb::ScoreResult) -> (f64, f64, f64) {
    let i = values(&result.inputs);
    let p = values(&result.parameters);
    let (pool, risk, horizon) = (
        i["pool.eur_bn"],
        i["legal.risk.selected"],
        i["lever.horizon_years"],
    );
    let (share, enforcement) = (i["escrow.share"], i["escrow.enforcement"]);
    let (weight, yield_pct) = (p["weight"], p["yield_pct"]);
    let escrowed = pool * share;
    let returns = escrowed * (yield_pct / 100.0) * horizon;
    let safety = 1.0 - (risk * 1.0).min(1.0);
    let score = 100.0 * (weight * share * enforcement + (1.0 - weight) * safety);
    (score.clamp(0.0, 100.0), escrowed, returns)
}

fn assert_follows_the_model(result: &pb::ScoreResult) {
    let (score, escrowed, returns) = escrow_model(result);
    assert_eq!(result.score.to_bits(), score.to_bits(), "{result:?}");
    assert_eq!(result.components[0].value.to_bits(), escrowed.to_bits());
    assert_eq!(result.components[1].value.to_bits(), returns.to_bits());
}

async fn score(
    c: &mut ScoringServiceClient<Channel>,
    r: pb::ScoreScenarioRequest,
) -> Result<pb::ScoreResult, tonic::Status> {
    Ok(c.score_scenario(r).await?.into_inner().result.unwrap())
}

fn description_of(status: &tonic::Status, field: &str) -> String {
    use tonic_types::StatusExt;
    status
        .get_details_bad_request()
        .and_then(|b| {
            b.field_violations
                .into_iter()
                .find(|v| v.field == field)
                .map(|v| v.description)
        })
        .unwrap_or_else(|| panic!("no violation of {field}: {status:?}"))
}

#[tokio::test]
async fn a_plugin_declaring_inputs_the_server_does_not_know_loads_and_lists_them() {
    let (_s, mut c, _d) = server(HostOptions::default()).await;
    let plugin = c
        .get_plugin(pb::GetPluginRequest {
            name: ESCROW.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(plugin.state, pb::PluginState::Ready as i32);
    assert_eq!(plugin.abi_version, "1.2");
    let names: Vec<&str> = plugin.inputs.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "pool.eur_bn",
            "legal.risk.selected",
            "lever.horizon_years",
            "escrow.share",
            "escrow.enforcement"
        ]
    );
    let share = &plugin.inputs[3];
    assert!(share.plugin_declared && share.required);
    assert_eq!((share.min, share.max), (0.0, 1.0));
    assert!(!share.description.is_empty());
    let enforcement = &plugin.inputs[4];
    assert!(enforcement.plugin_declared && !enforcement.required);
    assert_eq!(enforcement.default_value, 0.5);
    assert!(!plugin.inputs[0].plugin_declared);
}

#[tokio::test]
async fn a_required_input_left_unset_is_named_and_once_set_the_plugin_scores() {
    let (_s, mut c, _d) = server(HostOptions::default()).await;
    let err = score(&mut c, request(ESCROW, vec![], vec![]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&err), ["scenario.inputs"]);
    let said = description_of(&err, "scenario.inputs");
    assert!(
        said.contains("escrow.share") && said.contains("required"),
        "{said}"
    );

    let result = score(
        &mut c,
        request(ESCROW, vec![input("escrow.share", 0.4)], vec![]),
    )
    .await
    .unwrap();
    let i = values(&result.inputs);
    assert_eq!(i["escrow.share"], 0.4);
    assert_eq!(i["escrow.enforcement"], 0.5, "the declared default");
    assert!(
        i["pool.eur_bn"] > 100.0,
        "catalog inputs come from the dataset"
    );
    assert_follows_the_model(&result);
    let p = values(&result.parameters);
    assert_eq!((p["weight"], p["yield_pct"]), (0.6, 3.0));
}

#[tokio::test]
async fn undeclared_repeated_and_out_of_range_values_are_each_named_never_dropped() {
    let (_s, mut c, _d) = server(HostOptions::default()).await;
    let err = score(
        &mut c,
        request(
            ESCROW,
            vec![
                input("escrow.share", 1.5),
                input("escrow.shares", 0.1),
                input("escrow.enforcement", 0.2),
                input("escrow.enforcement", 0.3),
            ],
            vec![],
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let mut fields = violated_fields(&err);
    fields.sort();
    assert_eq!(
        fields,
        [
            "scenario.inputs[0].value",
            "scenario.inputs[1].name",
            "scenario.inputs[3].name",
        ]
    );
    let said = description_of(&err, "scenario.inputs[1].name");
    assert!(
        said.contains("escrow.shares") && said.contains("escrow.share,"),
        "names the mistake and the declared inputs: {said}"
    );
    assert!(description_of(&err, "scenario.inputs[0].value").contains("between 0 and 1"));
    assert!(description_of(&err, "scenario.inputs[3].name").contains("twice"));

    // A required input given a bad value is named once, for its value.
    let err = score(
        &mut c,
        request(ESCROW, vec![input("escrow.share", -0.1)], vec![]),
    )
    .await
    .unwrap_err();
    assert_eq!(violated_fields(&err), ["scenario.inputs[0].value"]);

    // A plugin without inputs of its own refuses the value too.
    let err = score(
        &mut c,
        request(
            "plugins/pressure-index",
            vec![input("escrow.share", 0.4)],
            vec![],
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(violated_fields(&err), ["scenario.inputs[0].name"]);
    assert!(description_of(&err, "scenario.inputs[0].name").contains("no inputs of its own"));

    // In a batch, each scenario has its own outcome, named by its index.
    let batch = c
        .score_scenarios(pb::ScoreScenariosRequest {
            plugin: ESCROW.into(),
            scenarios: vec![
                scenario(vec![input("escrow.share", 0.3)]),
                scenario(vec![input("oil.price_cap", 60.0)]),
            ],
            parameters: vec![],
        })
        .await
        .unwrap()
        .into_inner();
    assert!(matches!(
        batch.outcomes[0].outcome,
        Some(pb::scenario_outcome::Outcome::Result(_))
    ));
    let Some(pb::scenario_outcome::Outcome::Error(e)) = &batch.outcomes[1].outcome else {
        panic!("{:?}", batch.outcomes[1]);
    };
    let mut fields: Vec<&str> = e
        .field_violations
        .iter()
        .map(|v| v.field.as_str())
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        ["scenarios[1].inputs", "scenarios[1].inputs[0].name"]
    );
}

#[tokio::test]
async fn a_per_call_parameter_changes_the_score_as_the_model_says_and_is_echoed() {
    let mut options = HostOptions::default();
    options
        .configs
        .insert("fixture-escrow".into(), "yield_pct = 4.5\n".into());
    let (_s, mut c, _d) = server(options).await;
    let inputs = || vec![input("escrow.share", 0.7)];
    let configured = score(&mut c, request(ESCROW, inputs(), vec![]))
        .await
        .unwrap();
    let p = values(&configured.parameters);
    assert_eq!(
        (p["weight"], p["yield_pct"]),
        (0.6, 4.5),
        "the server's configuration is the default"
    );
    let listed = c
        .get_plugin(pb::GetPluginRequest {
            name: ESCROW.into(),
        })
        .await
        .unwrap()
        .into_inner();
    let defaults: Vec<(&str, f64)> = listed
        .parameters
        .iter()
        .map(|p| (p.name.as_str(), p.default_value))
        .collect();
    assert_eq!(defaults, [("weight", 0.6), ("yield_pct", 4.5)]);
    assert_follows_the_model(&configured);

    let overridden = score(
        &mut c,
        request(ESCROW, inputs(), vec![parameter("weight", 0.2)]),
    )
    .await
    .unwrap();
    let p = values(&overridden.parameters);
    assert_eq!((p["weight"], p["yield_pct"]), (0.2, 4.5));
    assert_follows_the_model(&overridden);
    assert_ne!(overridden.score, configured.score);

    // The override was for that call only.
    let again = score(&mut c, request(ESCROW, inputs(), vec![]))
        .await
        .unwrap();
    assert_eq!(again.score.to_bits(), configured.score.to_bits());

    let err = score(
        &mut c,
        request(
            ESCROW,
            inputs(),
            vec![parameter("weight", 1.2), parameter("wieght", 0.1)],
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let mut fields = violated_fields(&err);
    fields.sort();
    assert_eq!(fields, ["parameters[0].value", "parameters[1].name"]);
    assert!(description_of(&err, "parameters[0].value").contains("weight"));
    assert!(description_of(&err, "parameters[1].name").contains("weight, yield_pct"));
}

#[tokio::test]
async fn a_sweep_over_plugin_declared_inputs_streams_in_order_with_the_single_call_scores() {
    let (_s, mut c, _d) = server(HostOptions::default()).await;
    let axis = |name: &str, steps| pb::SweepAxis {
        input: name.into(),
        start: 0.0,
        stop: 1.0,
        steps,
        ..Default::default()
    };
    // The base leaves the required input to its axis.
    let mut stream = c
        .sweep_scenario(pb::SweepScenarioRequest {
            plugin: ESCROW.into(),
            base: Some(scenario(vec![])),
            axes: vec![axis("escrow.share", 11), axis("escrow.enforcement", 5)],
            chunk_size: 7,
            parameters: vec![parameter("weight", 0.3)],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut points = Vec::new();
    let mut first = None;
    while let Some(message) = stream.next().await {
        let message = message.unwrap();
        first.get_or_insert_with(|| message.clone());
        points.extend(message.points);
    }
    let first = first.unwrap();
    assert_eq!(values(&first.parameters)["weight"], 0.3);
    let indices: Vec<i64> = points.iter().map(|p| p.index).collect();
    assert_eq!(indices, (0..55).collect::<Vec<_>>());
    for point in points.iter().step_by(6) {
        let (share, enforcement) = (point.lever_values[0], point.lever_values[1]);
        assert_eq!(share, (point.index / 5) as f64 / 10.0);
        assert_eq!(enforcement, (point.index % 5) as f64 / 4.0);
        let single = score(
            &mut c,
            request(
                ESCROW,
                vec![
                    input("escrow.share", share),
                    input("escrow.enforcement", enforcement),
                ],
                vec![parameter("weight", 0.3)],
            ),
        )
        .await
        .unwrap();
        assert_eq!(point.score.to_bits(), single.score.to_bits());
        assert_follows_the_model(&single);
    }

    // Its mistakes are named: an input the plugin does not declare, a value outside the
    // declared range, a lever and an input on one axis.
    let bad = |axes| pb::SweepScenarioRequest {
        plugin: ESCROW.into(),
        base: Some(scenario(vec![input("escrow.share", 0.5)])),
        axes,
        ..Default::default()
    };
    let err = c
        .sweep_scenario(bad(vec![
            axis("escrow.sharez", 3),
            pb::SweepAxis {
                stop: 2.0,
                ..axis("escrow.enforcement", 3)
            },
        ]))
        .await
        .unwrap_err();
    let mut fields = violated_fields(&err);
    fields.sort();
    assert_eq!(fields, ["axes[0].input", "axes[1].stop"]);
    // A required input left to an axis that starts outside its range: the axis's mistake,
    // named once.
    let err = c
        .sweep_scenario(pb::SweepScenarioRequest {
            base: Some(scenario(vec![])),
            ..bad(vec![pb::SweepAxis {
                start: -1.0,
                ..axis("escrow.share", 3)
            }])
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), ["axes[0].start"]);
    let err = c
        .sweep_scenario(bad(vec![pb::SweepAxis {
            lever: pb::Lever::InterestRatePct as i32,
            ..axis("escrow.share", 3)
        }]))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), ["axes[0].input"]);
}

#[tokio::test]
async fn a_comparison_gives_each_plugin_the_inputs_it_declares_and_refuses_what_none_does() {
    let (_s, mut c, _d) = server(HostOptions::default()).await;
    let compare = |inputs| pb::CompareScenariosRequest {
        plugins: vec![ESCROW.into(), "plugins/pressure-index".into()],
        scenarios: vec![scenario(inputs)],
    };
    let rows = c
        .compare_scenarios(compare(vec![input("escrow.share", 0.25)]))
        .await
        .unwrap()
        .into_inner()
        .rows;
    for row in &rows {
        let Some(pb::scenario_outcome::Outcome::Result(r)) = &row.outcomes[0].outcome else {
            panic!("{row:?}");
        };
        if row.plugin == ESCROW {
            assert_follows_the_model(r);
        } else {
            assert!(!r.inputs.iter().any(|i| i.name.starts_with("escrow.")));
        }
    }
    let rows = c
        .compare_scenarios(compare(vec![
            input("escrow.share", 0.25),
            input("oil.price_cap", 60.0),
        ]))
        .await
        .unwrap()
        .into_inner()
        .rows;
    for row in &rows {
        let Some(pb::scenario_outcome::Outcome::Error(e)) = &row.outcomes[0].outcome else {
            panic!("{row:?}");
        };
        assert_eq!(e.code, Code::InvalidArgument as i32);
        assert_eq!(e.field_violations[0].field, "scenarios[0].inputs[1].name");
    }
}

#[tokio::test]
async fn a_plugin_built_for_abi_1_0_still_loads_and_scores() {
    let (_s, mut c, _d) = server(HostOptions::default()).await;
    let plugin = c
        .get_plugin(pb::GetPluginRequest {
            name: "plugins/fixture-abi-1-0".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(plugin.state, pb::PluginState::Ready as i32, "{plugin:?}");
    assert_eq!(plugin.abi_version, "1.0");
    assert!(plugin.inputs.iter().all(|i| !i.plugin_declared));
    let result = score(&mut c, request("plugins/fixture-abi-1-0", vec![], vec![]))
        .await
        .unwrap();
    let pool = values(&result.inputs)["pool.eur_bn"];
    assert_eq!(
        result.score.to_bits(),
        (pool / 10.0).clamp(0.0, 100.0).to_bits()
    );
}
