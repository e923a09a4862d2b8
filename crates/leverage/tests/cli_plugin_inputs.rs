//! The CLI and a plugin's own schema, through the real binary against real servers with real
//! plugin libraries (`fixture-escrow`: own inputs `escrow.share`, required, 0..1, and
//! `escrow.enforcement`, default 0.5; parameters `weight` and `yield_pct`):
//! `leverage plugin describe` (with the plugin's model card), `leverage score` and
//! `leverage sweep` with `--input` and `--param`, a sweep over an own input on one server and
//! split over two, and every mistake refused before sending, in the words the server uses for
//! it.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use leverage_e2e::{TestServer, date, plugin_dir};
use leverage_plugin_host::HostOptions;
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::scoring_service_client::ScoringServiceClient;
use tempfile::TempDir;
use tokio_stream::StreamExt;
use tonic::transport::Channel;

mod common;
use common::{cli, succeeded};

const ESCROW: &str = "plugins/fixture-escrow";

struct Server {
    server: TestServer,
    url: String,
    _dirs: [TempDir; 2],
}

impl Server {
    async fn scoring(&self) -> ScoringServiceClient<Channel> {
        ScoringServiceClient::new(self.server.channel().await)
    }
}

/// A server with fixture-escrow (its `yield_pct` configured to 4.5 when `configured`) and
/// pressure-index.
async fn server(configured: bool) -> Server {
    let data = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(&[
        ("libfixture_escrow_v1.so", "libfixture_escrow.so"),
        (
            "libleverage_plugin_pressure_index.so",
            "libleverage_plugin_pressure_index.so",
        ),
    ]);
    let mut host = HostOptions::default();
    if configured {
        host.configs
            .insert("fixture-escrow".into(), "yield_pct = 4.5\n".into());
    }
    let server = TestServer::start_with_plugins(data.path(), plugins.path(), host).await;
    Server {
        url: format!("http://{}", server.addr),
        server,
        _dirs: [data, plugins],
    }
}

/// The standard error of a command that must have failed.
fn failed(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "the command succeeded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// A scenario file: the reparations loan as of 2025-12-31, with `extra` lines after.
fn scenario_file(dir: &TempDir, extra: &str) -> PathBuf {
    let path = dir.path().join("scenario.toml");
    std::fs::write(
        &path,
        format!("use_mode = \"reparations_loan\"\nas_of = \"2025-12-31\"\n{extra}"),
    )
    .unwrap();
    path
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn scenario(inputs: &[(&str, f64)]) -> pb::Scenario {
    pb::Scenario {
        use_mode: pb::AssetAction::ReparationsLoan as i32,
        as_of: date(2025, 12, 31),
        inputs: inputs
            .iter()
            .map(|(name, value)| pb::InputValue {
                name: (*name).into(),
                value: *value,
            })
            .collect(),
        ..Default::default()
    }
}

fn parameters(values: &[(&str, f64)]) -> Vec<pb::ParameterValue> {
    values
        .iter()
        .map(|(name, value)| pb::ParameterValue {
            name: (*name).into(),
            value: *value,
        })
        .collect()
}

/// The `score` of a score printed as JSON, read as printed (serde_json may read a float one
/// bit off; Rust's parse does not).
fn printed_score(json: &str) -> f64 {
    json.lines()
        .find_map(|l| l.trim().strip_prefix("\"score\": "))
        .unwrap_or_else(|| panic!("no score in {json}"))
        .trim_end_matches(',')
        .parse()
        .unwrap()
}

/// Named values, as a test writes them.
type Values = Vec<(&'static str, f64)>;

/// The fixture's score of the reparations loan with these own inputs and parameters, through
/// gRPC.
async fn score_escrow(
    grpc: &mut ScoringServiceClient<Channel>,
    inputs: &[(&str, f64)],
    params: &[(&str, f64)],
) -> pb::ScoreResult {
    grpc.score_scenario(pb::ScoreScenarioRequest {
        plugin: ESCROW.into(),
        scenario: Some(scenario(inputs)),
        parameters: parameters(params),
    })
    .await
    .unwrap()
    .into_inner()
    .result
    .unwrap()
}

/// Each field violation of an INVALID_ARGUMENT status: (field, description).
fn violations(status: &tonic::Status) -> Vec<(String, String)> {
    use tonic_types::StatusExt;
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    status
        .get_details_bad_request()
        .unwrap()
        .field_violations
        .into_iter()
        .map(|v| (v.field, v.description))
        .collect()
}

/// The problems the CLI listed before sending nothing: the lines after its first.
fn listed(stderr: &str) -> Vec<&str> {
    assert!(
        stderr.contains("would refuse this call (INVALID_ARGUMENT), so it was not sent"),
        "{stderr}"
    );
    stderr
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("(`leverage plugin describe"))
        .map(|l| l.strip_prefix("  ").unwrap_or(l))
        .collect()
}

/// The CLI refused what the server refuses, and said of each mistake what the server says of
/// it: one problem per violation, each with the server's description.
fn assert_says_what_the_server_says(stderr: &str, server: &[(String, String)]) {
    let listed = listed(stderr);
    assert_eq!(
        listed.len(),
        server.len(),
        "{listed:#?} against {server:#?}"
    );
    for (field, description) in server {
        assert!(
            listed.iter().any(|l| l.contains(description.as_str())),
            "the server says of {field}: {description}\nthe CLI said:\n{stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_describe_prints_the_schema_as_a_table_and_as_json() {
    let s = server(true).await;
    let plugin = s
        .scoring()
        .await
        .get_plugin(pb::GetPluginRequest {
            name: ESCROW.into(),
        })
        .await
        .unwrap()
        .into_inner();

    let text = succeeded(&cli(&["plugin", "describe", "fixture-escrow", "--server", &s.url]).await);
    assert!(
        text.starts_with("plugins/fixture-escrow: Fixture: escrow pressure (version 1.0.0, READY)"),
        "{text}"
    );
    assert!(text.contains(", ABI 1.2, "), "{text}");
    let line = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no line for {name}:\n{text}"))
            .split("  ")
            .map(str::trim)
            .filter(|cell| !cell.is_empty())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        line("escrow.share"),
        [
            "escrow.share",
            "fraction 0..1",
            "0 to 1",
            "required",
            "share of the mobilised pool moved to an escrow account"
        ]
    );
    assert_eq!(line("escrow.enforcement")[2..4], ["0 to 1", "0.5"]);
    // The parameter's value in force is the server's configured one.
    assert_eq!(line("yield_pct")[1..4], ["% per year", "0 to 10", "4.5"]);
    assert_eq!(line("weight")[2..4], ["0 to 1", "0.6"]);
    assert_eq!(line("escrowed_eur_bn")[1..3], ["EUR bn", "0 to 1000000"]);
    assert!(line("pool.eur_bn").len() >= 2, "catalog inputs are listed");
    assert!(
        text.contains("score: index 0..100 in [0, 100]: escrow pressure"),
        "{text}"
    );
    // The model card last, as the server serves it: the markdown the plugin compiled in.
    assert!(!plugin.model_card.is_empty());
    assert!(
        text.ends_with(&format!("\nmodel card:\n{}", plugin.model_card)),
        "{text}"
    );

    let json = succeeded(
        &cli(&[
            "plugin",
            "describe",
            "plugins/fixture-escrow",
            "--json",
            "--server",
            &s.url,
        ])
        .await,
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["name"], ESCROW);
    assert_eq!(v["abi_version"], "1.2");
    assert_eq!(v["build"], plugin.build.as_str());
    assert_eq!(v["state"], "READY");
    let catalog: Vec<&str> = v["catalog_inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        catalog,
        ["pool.eur_bn", "legal.risk.selected", "lever.horizon_years"]
    );
    let own = v["own_inputs"].as_array().unwrap();
    assert_eq!(own[0]["name"], "escrow.share");
    assert_eq!(own[0]["required"], true);
    assert!(own[0]["default"].is_null());
    assert_eq!(
        (own[0]["min"].as_f64(), own[0]["max"].as_f64()),
        (Some(0.0), Some(1.0))
    );
    assert_eq!(own[1]["default"].as_f64(), Some(0.5));
    let params: HashMap<&str, f64> = v["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["value"].as_f64().unwrap()))
        .collect();
    assert_eq!(params, HashMap::from([("weight", 0.6), ("yield_pct", 4.5)]));
    assert_eq!(v["score"]["max"].as_f64(), Some(100.0));
    assert_eq!(v["components"][1]["name"], "returns_eur_bn");
    assert_eq!(v["builds"][0]["build"], plugin.build.as_str());
    assert_eq!(v["builds"][0]["current"], true);
    assert_eq!(v["model_card"], plugin.model_card.as_str());

    // A build by name passes through: `ID@BUILD` is `plugins/ID@BUILD`.
    let pinned = format!("fixture-escrow@{}", plugin.build);
    let json =
        succeeded(&cli(&["plugin", "describe", &pinned, "--json", "--server", &s.url]).await);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["name"], format!("plugins/{pinned}"));
    assert_eq!(v["own_inputs"][0]["name"], "escrow.share");

    // A plugin without inputs of its own says so; an unknown one is the server's NOT_FOUND.
    let text = succeeded(&cli(&["plugin", "describe", "pressure-index", "--server", &s.url]).await);
    assert!(
        text.contains("own inputs (--input NAME=VALUE, or the scenario file's [inputs]):\nnone"),
        "{text}"
    );
    let said = failed(&cli(&["plugin", "describe", "no-such-plugin", "--server", &s.url]).await);
    assert!(
        said.contains("NotFound") && said.contains("plugins/no-such-plugin"),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn score_takes_own_inputs_and_parameters_and_prints_the_values_it_used() {
    let s = server(false).await;
    let dir = tempfile::tempdir().unwrap();
    // The file sets both own inputs; `--input` replaces its value of escrow.share.
    let file = scenario_file(
        &dir,
        "[inputs]\nescrow.share = 0.9\nescrow.enforcement = 0.25\n",
    );
    let args = |json: bool| {
        let mut a = vec![
            "score",
            "--plugin",
            "fixture-escrow",
            "--input",
            "escrow.share=0.4",
            "--param",
            "weight=0.3",
            path(&file),
            "--server",
            &s.url,
        ];
        if json {
            a.push("--json");
        }
        a
    };
    let expected = score_escrow(
        &mut s.scoring().await,
        &[("escrow.share", 0.4), ("escrow.enforcement", 0.25)],
        &[("weight", 0.3)],
    )
    .await;

    let json = succeeded(&cli(&args(true)).await);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let score = printed_score(&json);
    assert_eq!(score.to_bits(), expected.score.to_bits(), "{json}");
    assert_eq!(v["plugin_build"], expected.plugin_build.as_str());
    let used: Vec<(&str, f64)> = v["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["value"].as_f64().unwrap()))
        .collect();
    assert_eq!(used, [("weight", 0.3), ("yield_pct", 3.0)]);
    let inputs: HashMap<&str, f64> = v["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["value"].as_f64().unwrap()))
        .collect();
    assert_eq!(
        (inputs["escrow.share"], inputs["escrow.enforcement"]),
        (0.4, 0.25)
    );

    // Named by its build, the plugin scores the same, to the bit.
    let pinned = format!("plugins/fixture-escrow@{}", expected.plugin_build);
    let mut by_build = args(true);
    by_build[2] = &pinned;
    let json = succeeded(&cli(&by_build).await);
    assert_eq!(printed_score(&json).to_bits(), expected.score.to_bits());

    let text = succeeded(&cli(&args(false)).await);
    assert!(
        text.starts_with(&format!(
            "plugins/fixture-escrow: {:.2} index",
            expected.score
        )),
        "{text}"
    );
    if !expected.plugin_build.is_empty() {
        assert!(
            text.contains(&format!("build {}", expected.plugin_build)),
            "{text}"
        );
    }
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    for row in [
        vec!["escrow.share", "0.4", "fraction", "0..1"],
        vec!["escrow.enforcement", "0.25", "probability", "0..1"],
        vec!["weight", "0.3", "0..1"],
        vec!["yield_pct", "3", "%", "per", "year"],
    ] {
        assert!(rows.contains(&row), "no row {row:?} in:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mistakes_are_refused_before_sending_in_the_words_the_server_uses() {
    let s = server(false).await;
    let mut grpc = s.scoring().await;
    let dir = tempfile::tempdir().unwrap();
    let file = scenario_file(&dir, "");
    let score = |extra: &'static [&'static str]| {
        let mut a = vec![
            "score",
            "--plugin",
            "fixture-escrow",
            path(&file),
            "--server",
            &s.url,
        ];
        a.extend(extra);
        a
    };
    // Each case: the CLI's arguments, and the same values sent straight to the server.
    let cases: [(&[&str], Values, Values); 4] = [
        (&[], vec![], vec![]),
        (
            &[
                "--input",
                "escrow.shares=0.1",
                "--input",
                "escrow.share=1.5",
            ],
            vec![("escrow.shares", 0.1), ("escrow.share", 1.5)],
            vec![],
        ),
        (
            &[
                "--input",
                "escrow.share=0.5",
                "--input",
                "escrow.enforcement=0.2",
                "--input",
                "escrow.enforcement=0.3",
            ],
            vec![
                ("escrow.share", 0.5),
                ("escrow.enforcement", 0.2),
                ("escrow.enforcement", 0.3),
            ],
            vec![],
        ),
        (
            &[
                "--input",
                "escrow.share=0.5",
                "--param",
                "weight=1.2",
                "--param",
                "wieght=0.1",
            ],
            vec![("escrow.share", 0.5)],
            vec![("weight", 1.2), ("wieght", 0.1)],
        ),
    ];
    for (extra, inputs, params) in cases {
        let err = grpc
            .score_scenario(pb::ScoreScenarioRequest {
                plugin: ESCROW.into(),
                scenario: Some(scenario(&inputs)),
                parameters: parameters(&params),
            })
            .await
            .unwrap_err();
        let said = failed(&cli(&score(extra)).await);
        assert_says_what_the_server_says(&said, &violations(&err));
    }
    // Spot checks of the words: the declared inputs listed, the range, the missing input.
    let said = failed(&cli(&score(&["--input", "escrow.shares=0.1"])).await);
    assert!(
        said.contains(
            "--input escrow.shares: `escrow.shares` is not an input of plugins/fixture-escrow: \
             its own inputs are escrow.share, escrow.enforcement"
        ),
        "{said}"
    );
    let said = failed(&cli(&score(&["--input", "escrow.share=1.5"])).await);
    assert!(
        said.contains("--input escrow.share: `escrow.share` must be between 0 and 1, got 1.5"),
        "{said}"
    );
    let said = failed(&cli(&score(&[])).await);
    assert!(
        said.contains(
            "`escrow.share` (fraction 0..1, 0 to 1) is required by plugins/fixture-escrow"
        ),
        "{said}"
    );
    // A plugin without inputs of its own refuses any.
    let said = failed(
        &cli(&[
            "score",
            "--plugin",
            "pressure-index",
            path(&file),
            "--input",
            "escrow.share=0.4",
            "--server",
            &s.url,
        ])
        .await,
    );
    assert!(said.contains("it declares no inputs of its own"), "{said}");
    // What the server accepts, the CLI sends: the ends of the ranges.
    succeeded(
        &cli(&score(&[
            "--input",
            "escrow.share=0",
            "--param",
            "weight=1",
        ]))
        .await,
    );
    succeeded(
        &cli(&score(&[
            "--input",
            "escrow.share=1",
            "--param",
            "yield_pct=10",
        ]))
        .await,
    );

    // A sweep's axis over an own input: a name the plugin does not declare, a value out of its
    // range.
    let sweep = |lever: &'static str, to: &'static str| {
        vec![
            "sweep",
            "--plugin",
            "fixture-escrow",
            "--scenario",
            path(&file),
            "--lever",
            lever,
            "--from",
            "0",
            "--to",
            to,
            "--steps",
            "3",
            "--server",
            &s.url,
        ]
    };
    for (lever, to, stop) in [("escrow.sharez", "1", 1.0), ("escrow.share", "2", 2.0)] {
        let err = grpc
            .sweep_scenario(pb::SweepScenarioRequest {
                plugin: ESCROW.into(),
                base: Some(scenario(&[])),
                axes: vec![pb::SweepAxis {
                    input: lever.into(),
                    start: 0.0,
                    stop,
                    steps: 3,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .await
            .unwrap_err();
        let server = violations(&err);
        let said = failed(&cli(&sweep(lever, to)).await);
        assert_says_what_the_server_says(&said, &server);
    }
    let said = failed(&cli(&sweep("escrow.sharez", "1")).await);
    assert!(
        said.contains("--lever escrow.sharez:")
            && said.contains("the levers are interest_rate_pct"),
        "{said}"
    );
}

/// The CSV of a sweep of escrow.share over 11 values with weight 0.3.
async fn escrow_sweep(file: &Path, servers: [&str; 2]) -> Output {
    cli(&[
        "sweep",
        "--plugin",
        "fixture-escrow",
        "--scenario",
        path(file),
        "--lever",
        "escrow.share",
        "--from",
        "0",
        "--to",
        "1",
        "--steps",
        "11",
        "--param",
        "weight=0.3",
        "--input",
        "escrow.enforcement=0.75",
        "--chunk-size",
        "4",
        "--csv",
        servers[0],
        servers[1],
    ])
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_over_an_own_input_gives_the_single_scores_on_one_server_or_two() {
    let (a, b) = (server(false).await, server(false).await);
    let dir = tempfile::tempdir().unwrap();
    // The required input is left to the axis.
    let file = scenario_file(&dir, "");
    let one = escrow_sweep(&file, ["--server", &a.url]).await;
    let csv = succeeded(&one);
    let progress = String::from_utf8_lossy(&one.stderr);
    assert!(
        progress.contains("with parameters weight = 0.3, yield_pct = 3"),
        "{progress}"
    );
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("index,escrow.share,score,escrowed_eur_bn,returns_eur_bn")
    );
    let mut grpc = a.scoring().await;
    let mut rows = 0;
    for (index, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells[0], index.to_string());
        let share: f64 = cells[1].parse().unwrap();
        assert_eq!(share, index as f64 / 10.0);
        let single = score_escrow(
            &mut grpc,
            &[("escrow.share", share), ("escrow.enforcement", 0.75)],
            &[("weight", 0.3)],
        )
        .await;
        assert_eq!(cells[2], single.score.to_string(), "point {index}");
        rows += 1;
    }
    assert_eq!(rows, 11);

    // The same sweep split over two servers prints the same, bit for bit.
    let two = escrow_sweep(&file, ["--servers", &format!("{},{}", a.url, b.url)]).await;
    assert_eq!(succeeded(&two), csv);

    // The gRPC sweep agrees too, and says which parameters it used.
    let mut stream = grpc
        .sweep_scenario(pb::SweepScenarioRequest {
            plugin: ESCROW.into(),
            base: Some(scenario(&[("escrow.enforcement", 0.75)])),
            axes: vec![pb::SweepAxis {
                input: "escrow.share".into(),
                start: 0.0,
                stop: 1.0,
                steps: 11,
                ..Default::default()
            }],
            parameters: parameters(&[("weight", 0.3)]),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut scores = Vec::new();
    while let Some(message) = stream.next().await {
        scores.extend(message.unwrap().points.into_iter().map(|p| p.score));
    }
    let printed: Vec<String> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap().to_owned())
        .collect();
    assert_eq!(
        printed,
        scores.iter().map(f64::to_string).collect::<Vec<_>>()
    );
}
