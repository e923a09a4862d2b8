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

/// What dashboards and alerts depend on in an exposition: for each series name (the name in a
/// sample line, as PromQL sees it), the type of the family it belongs to and its label names.
/// Values, label values, HELP texts and the order of lines are left out: they vary or do not
/// matter to a query.
fn shape(exposition: &str) -> std::collections::BTreeMap<String, (String, Vec<String>)> {
    let mut series = std::collections::BTreeMap::new();
    // The families declared so far by `# TYPE`, newest last: a sample belongs to the newest
    // family whose name starts its own (`leverage_calls` for `leverage_calls_total` in
    // OpenMetrics, `leverage_calls_total` itself in the older text format).
    let mut families: Vec<(String, String)> = Vec::new();
    for line in exposition.lines() {
        if let Some(declaration) = line.strip_prefix("# TYPE ") {
            let mut words = declaration.split_whitespace();
            let (Some(family), Some(kind)) = (words.next(), words.next()) else {
                panic!("a TYPE line without a type: {line}");
            };
            families.push((family.to_owned(), kind.to_owned()));
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        let name = &line[..name_end];
        let labels = match line[name_end..].strip_prefix('{') {
            Some(rest) => label_names(rest),
            None => Vec::new(),
        };
        let kind = families
            .iter()
            .rev()
            .find(|(family, _)| name.starts_with(family.as_str()))
            .map_or_else(|| "untyped".to_owned(), |(_, kind)| kind.clone());
        if let Some((old_kind, old_labels)) = series.insert(name.to_owned(), (kind, labels)) {
            let (kind, labels) = &series[name];
            assert!(
                (kind, labels) == (&old_kind, &old_labels),
                "{name} is exposed with two shapes: {old_kind} {old_labels:?} and {kind} {labels:?}"
            );
        }
    }
    series
}

/// The sorted label names of a sample whose label set starts `rest` (just past the `{`).
fn label_names(rest: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut chars = rest.chars();
    loop {
        let name: String = chars
            .by_ref()
            .take_while(|c| *c != '=')
            .collect::<String>()
            .trim_start_matches(',')
            .to_owned();
        if name.starts_with('}') || name.is_empty() {
            break;
        }
        names.push(name);
        // The value: a quoted string in which `\"` does not end it.
        assert_eq!(
            chars.next(),
            Some('"'),
            "a label value without quotes in {rest}"
        );
        let mut escaped = false;
        for c in chars.by_ref() {
            match (escaped, c) {
                (false, '\\') => escaped = true,
                (false, '"') => break,
                _ => escaped = false,
            }
        }
        match chars.next() {
            Some(',') => {}
            Some('}') | None => break,
            Some(other) => panic!("unexpected {other:?} after a label value in {rest}"),
        }
    }
    names.sort();
    names
}

fn render_shape(shape: &std::collections::BTreeMap<String, (String, Vec<String>)>) -> String {
    shape
        .iter()
        .map(|(name, (kind, labels))| format!("{name} {kind} {}\n", labels.join(",")))
        .collect()
}

/// The golden description: comment lines, then lines as [`render_shape`] writes them.
fn parse_golden(text: &str) -> std::collections::BTreeMap<String, (String, Vec<String>)> {
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let mut words = line.split(' ');
            let (Some(name), Some(kind)) = (words.next(), words.next()) else {
                panic!("a golden line without a type: {line}");
            };
            let labels = words
                .next()
                .filter(|l| !l.is_empty())
                .map(|l| l.split(',').map(str::to_owned).collect())
                .unwrap_or_default();
            (name.to_owned(), (kind.to_owned(), labels))
        })
        .collect()
}

/// The series of `golden` that `exposed` lacks or exposes with another type or other labels,
/// one line each; empty when every dashboard query on the golden series still finds them.
/// Series that only `exposed` has (new metrics) are no break and are not listed.
fn breaks(
    golden: &std::collections::BTreeMap<String, (String, Vec<String>)>,
    exposed: &std::collections::BTreeMap<String, (String, Vec<String>)>,
) -> Vec<String> {
    golden
        .iter()
        .filter_map(|(name, want)| match exposed.get(name) {
            None => Some(format!("{name}: gone")),
            Some(got) if got != want => Some(format!(
                "{name}: was {} {:?}, is {} {:?}",
                want.0, want.1, got.0, got.1
            )),
            Some(_) => None,
        })
        .collect()
}

fn golden_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("golden/metrics-exposition.txt")
}

const GOLDEN_HEADER: &str = "\
# The series names, family types and label names (sorted) of the server's Prometheus exposition
# as dashboards see them, captured from the hand-written exposition before issue 16 moved it to
# the prometheus-client library. tests/e2e/tests/metrics.rs checks the exposition against it.
# Rewrite it only on purpose (a new metric dashboards should rely on), with
# LEVERAGE_WRITE_METRICS_GOLDEN=1: renaming or dropping a line here breaks dashboards.
";

/// The exposition of a real server after calls that touch every metric: a good and a refused
/// call, a scored scenario and a plugin that panics.
async fn exposition_after_calls() -> String {
    let data = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(&[
        (
            "libleverage_plugin_pressure_index.so",
            "libleverage_plugin_pressure_index.so",
        ),
        ("libfixture_panics.so", "libfixture_panics.so"),
    ]);
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
    for (plugin, succeeds) in [("pressure-index", true), ("fixture-panics", false)] {
        let reply = scoring
            .score_scenario(pb::ScoreScenarioRequest {
                plugin: format!("plugins/{plugin}"),
                scenario: Some(pb::Scenario {
                    use_mode: pb::AssetAction::Confiscation as i32,
                    as_of: date(2025, 12, 31),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await;
        assert_eq!(reply.is_ok(), succeeds, "{plugin}: {reply:?}");
    }
    let response = scrape(server.metrics_addr.unwrap()).await;
    server.stop().await;
    let (_headers, body) = response.split_once("\r\n\r\n").unwrap();
    body.to_owned()
}

#[tokio::test]
async fn the_exposition_keeps_the_series_names_types_and_labels_dashboards_use() {
    let text = exposition_after_calls().await;
    let exposed = shape(&text);
    if std::env::var_os("LEVERAGE_WRITE_METRICS_GOLDEN").is_some() {
        std::fs::write(
            golden_path(),
            format!("{GOLDEN_HEADER}{}", render_shape(&exposed)),
        )
        .unwrap();
    }
    let golden = parse_golden(&std::fs::read_to_string(golden_path()).unwrap());
    assert!(
        golden.len() >= 10,
        "the golden file lists too few series: {golden:?}"
    );
    let broken = breaks(&golden, &exposed);
    assert!(
        broken.is_empty(),
        "series dashboards use changed:\n{}\nexposition:\n{text}",
        broken.join("\n")
    );
    // New since issue 16: the process metrics of the Prometheus conventions.
    for (name, kind) in [
        ("process_cpu_seconds_total", "counter"),
        ("process_resident_memory_bytes", "gauge"),
        ("process_virtual_memory_bytes", "gauge"),
        ("process_open_fds", "gauge"),
        ("process_max_fds", "gauge"),
        ("process_start_time_seconds", "gauge"),
    ] {
        assert_eq!(
            exposed.get(name),
            Some(&(kind.to_owned(), Vec::new())),
            "{name} in\n{text}"
        );
        let value: f64 = text
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{name} ")))
            .unwrap()
            .parse()
            .unwrap();
        assert!(value > 0.0, "{name} is {value}");
    }
    if std::env::var_os("LEVERAGE_SHOW_METRICS").is_some() {
        println!("{text}");
    }
}

/// The comparison catches what would break a dashboard: a renamed label, a renamed series, a
/// changed type. Shown on the golden file itself, edited as a careless change would.
#[test]
fn the_comparison_fails_on_a_renamed_label_series_or_type() {
    let golden_text = std::fs::read_to_string(golden_path()).unwrap();
    let golden = parse_golden(&golden_text);
    // The golden file as an exposition in the older text format: a TYPE line per series.
    let as_exposition = |golden: &std::collections::BTreeMap<String, (String, Vec<String>)>| {
        golden
            .iter()
            .map(|(name, (kind, labels))| {
                let labels: Vec<String> = labels.iter().map(|l| format!("{l}=\"x\"")).collect();
                format!("# TYPE {name} {kind}\n{name}{{{}}} 1\n", labels.join(","))
            })
            .collect::<String>()
    };
    assert!(breaks(&golden, &shape(&as_exposition(&golden))).is_empty());

    let mut renamed_label = golden.clone();
    let calls = renamed_label.get_mut("leverage_calls_total").unwrap();
    assert!(calls.1.contains(&"code".to_owned()), "{calls:?}");
    calls.1 = vec!["method".into(), "status".into()];
    assert_eq!(
        breaks(&golden, &shape(&as_exposition(&renamed_label))),
        [
            r#"leverage_calls_total: was counter ["code", "method"], is counter ["method", "status"]"#
        ]
    );

    let mut renamed_series = golden.clone();
    let plugin_calls = renamed_series
        .remove("leverage_plugin_calls_total")
        .unwrap();
    renamed_series.insert("leverage_plugin_invocations_total".into(), plugin_calls);
    assert_eq!(
        breaks(&golden, &shape(&as_exposition(&renamed_series))),
        ["leverage_plugin_calls_total: gone"]
    );

    let mut retyped = golden.clone();
    retyped.get_mut("leverage_uptime_seconds").unwrap().0 = "counter".into();
    assert_eq!(breaks(&golden, &shape(&as_exposition(&retyped))).len(), 1);
}
