//! Browsers: the REAL `leverage` binary started with `--web`, the two bundled plugins and the
//! fixture `fixture-escrow` (inputs of its own, one required, and parameters).
//!
//! - gRPC-Web over HTTP/1.1 with CORS, spoken byte by byte from here (no browser needed), and
//!   the embedded page at `GET /`; without `--web`, neither.
//! - The page itself in headless Chromium: `web/test/page.test.mjs` (Node, playwright-core,
//!   Debian's `/usr/bin/chromium`) loads it, checks the form it builds from each plugin's
//!   schema, each plugin's model card (HTML in fixture-escrow's shown as text), the
//!   required-input and out-of-range errors (its own and the server's), scores a
//!   scenario with and without a per-call parameter, sweeps a lever and an input of
//!   fixture-escrow's own, checks the charts, and compares every number with direct gRPC-Web
//!   calls and with what this test got over plain gRPC (tonic) for the same requests.
//!
//! How the page tests run, and what they need: `common/page.rs`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::scoring_service_client::ScoringServiceClient;
use serde_json::{Value, json};

mod common;
use common::page::{self, start_server};
use common::workspace;

/// An HTTP/1.1 response: status code, headers (lower-case names) and the de-chunked body.
#[derive(Debug)]
struct Http1 {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Http1 {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = find(raw, b"\r\n").expect("chunk size line");
        let size_text = std::str::from_utf8(&raw[..line_end]).expect("chunk size");
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .expect("hex chunk size");
        raw = &raw[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

/// Sends one HTTP/1.1 request and reads the whole response (the connection is closed after it).
fn http1(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Http1> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let head_end = find(&raw, b"\r\n\r\n").ok_or_else(|| {
        std::io::Error::other(format!(
            "no HTTP/1.1 response head in {:?}",
            String::from_utf8_lossy(&raw)
        ))
    })?;
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line in {head:?}")))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = &raw[head_end + 4..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    Ok(Http1 {
        status,
        headers,
        body,
    })
}

/// A gRPC-Web frame: flag, 4-byte big-endian length, payload.
fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0];
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// The frames of a gRPC-Web body: (flag, payload).
fn frames(mut body: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while !body.is_empty() {
        assert!(body.len() >= 5, "truncated frame header");
        let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
        out.push((body[0], body[5..5 + len].to_vec()));
        body = &body[5 + len..];
    }
    out
}

const GRPC_WEB: &[(&str, &str)] = &[
    ("content-type", "application/grpc-web+proto"),
    ("x-grpc-web", "1"),
    ("x-user-agent", "leverage-browser-test"),
    ("origin", "http://analyst.example"),
];

/// The grpc-status of a gRPC-Web response: from the trailers frame, or from the headers of a
/// trailers-only response.
fn grpc_status(r: &Http1) -> Option<String> {
    if let Some(s) = r.header("grpc-status") {
        return Some(s.to_owned());
    }
    frames(&r.body)
        .into_iter()
        .filter(|(flag, _)| flag & 0x80 != 0)
        .flat_map(|(_, t)| {
            String::from_utf8_lossy(&t)
                .split("\r\n")
                .filter_map(|l| l.split_once(':'))
                .filter(|(n, _)| n.trim().eq_ignore_ascii_case("grpc-status"))
                .map(|(_, v)| v.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .next()
}

#[test]
fn grpc_web_over_http1_with_cors_and_the_page() {
    let server = start_server(true, &[]);
    let addr = server.addr;

    let page = http1(addr, "GET", "/", &[], b"").expect("GET /");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = String::from_utf8_lossy(&page.body);
    assert!(html.contains("<title>Leverage"), "{html}");
    for (path, kind) in [("/app.js", "text/javascript"), ("/style.css", "text/css")] {
        let r = http1(addr, "GET", path, &[], b"").expect(path);
        assert_eq!(r.status, 200, "{path}");
        assert!(
            r.header("content-type")
                .is_some_and(|c| c.starts_with(kind))
        );
        assert!(!r.body.is_empty());
    }
    assert_eq!(
        http1(addr, "GET", "/missing", &[], b"")
            .expect("GET /missing")
            .status,
        404
    );

    // CORS preflight, as a browser on another origin sends it.
    let preflight = http1(
        addr,
        "OPTIONS",
        "/leverage.v1.ScoringService/ListPlugins",
        &[
            ("origin", "http://analyst.example"),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "content-type,x-grpc-web,x-user-agent,grpc-timeout,authorization",
            ),
        ],
        b"",
    )
    .expect("preflight");
    assert!(
        (200..300).contains(&preflight.status),
        "preflight: {preflight:?}"
    );
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
    let allowed = preflight
        .header("access-control-allow-headers")
        .unwrap_or("")
        .to_ascii_lowercase();
    for h in [
        "x-grpc-web",
        "content-type",
        "x-user-agent",
        "grpc-timeout",
        "authorization",
    ] {
        assert!(allowed.contains(h), "{h} not allowed: {allowed}");
    }
    assert!(
        preflight
            .header("access-control-allow-methods")
            .is_some_and(|m| m.contains("POST"))
    );

    // A unary call over HTTP/1.1: ListPlugins with an empty request.
    let listed = http1(
        addr,
        "POST",
        "/leverage.v1.ScoringService/ListPlugins",
        GRPC_WEB,
        &frame(b""),
    )
    .expect("ListPlugins");
    assert_eq!(listed.status, 200, "{listed:?}");
    assert!(
        listed
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/grpc-web")),
        "{listed:?}"
    );
    assert_eq!(listed.header("access-control-allow-origin"), Some("*"));
    let exposed = listed
        .header("access-control-expose-headers")
        .unwrap_or("")
        .to_ascii_lowercase();
    for h in ["grpc-status", "grpc-message", "grpc-status-details-bin"] {
        assert!(exposed.contains(h), "{h} not exposed: {exposed}");
    }
    let got = frames(&listed.body);
    let data: Vec<u8> = got
        .iter()
        .filter(|(flag, _)| *flag == 0)
        .flat_map(|(_, p)| p.clone())
        .collect();
    for name in ["plugins/pressure-index", "plugins/prudent-pressure"] {
        assert!(find(&data, name.as_bytes()).is_some(), "{name} not listed");
    }
    assert_eq!(
        got.last().map(|(flag, _)| *flag),
        Some(0x80),
        "trailers last"
    );
    assert_eq!(grpc_status(&listed).as_deref(), Some("0"));

    // An error arrives as a gRPC status the browser can read: GetPlugin of an unknown plugin.
    let name = b"plugins/nope";
    let mut request = vec![0x0a, name.len() as u8];
    request.extend_from_slice(name);
    let missing = http1(
        addr,
        "POST",
        "/leverage.v1.ScoringService/GetPlugin",
        GRPC_WEB,
        &frame(&request),
    )
    .expect("GetPlugin");
    assert_eq!(missing.status, 200);
    assert_eq!(grpc_status(&missing).as_deref(), Some("5"), "{missing:?}");

    // The page asks for no compression, so its replies come plain: also the large list that a
    // gRPC caller has just had gzip-compressed (the reply cache must keep the two apart).
    let list = pb::ListHoldingsRequest {
        page_size: 50,
        as_of: Some(pb::Date {
            year: 2025,
            month: 12,
            day: 31,
        }),
        ..Default::default()
    };
    let request = list.clone();
    let gzipped = page::over_grpc(&server, |channel| async move {
        let gzip = tonic::codec::CompressionEncoding::Gzip;
        let reply = pb::asset_service_client::AssetServiceClient::new(channel)
            .accept_compressed(gzip)
            .list_holdings(request)
            .await
            .expect("ListHoldings over gRPC with gzip");
        let encoding = reply.metadata().get("grpc-encoding").cloned();
        assert_eq!(
            encoding.as_ref().map(|e| e.to_str().unwrap_or("")),
            Some("gzip")
        );
        reply.into_inner()
    });
    let listed = http1(
        addr,
        "POST",
        "/leverage.v1.AssetService/ListHoldings",
        GRPC_WEB,
        &frame(&prost::Message::encode_to_vec(&list)),
    )
    .expect("ListHoldings over gRPC-Web");
    assert_eq!(grpc_status(&listed).as_deref(), Some("0"), "{listed:?}");
    assert_eq!(listed.header("grpc-encoding"), None, "{listed:?}");
    let got = frames(&listed.body);
    assert_eq!(
        got.iter().map(|(flag, _)| *flag).collect::<Vec<_>>(),
        [0, 0x80],
        "one plain message, then the trailers"
    );
    let message: pb::ListHoldingsResponse =
        prost::Message::decode(got[0].1.as_slice()).expect("a plain ListHoldingsResponse");
    assert_eq!(message, gzipped);
}

#[test]
fn without_web_there_is_no_http1_and_no_page() {
    let server = start_server(false, &[]);
    // The server speaks HTTP/2 only: an HTTP/1.1 request gets no HTTP/1.1 answer.
    match http1(server.addr, "GET", "/", &[], b"") {
        Ok(r) => panic!("an HTTP/1.1 answer without --web: {r:?}"),
        Err(e) => println!("refused as expected: {e}"),
    }
}

/// The scenario `web/test/page.test.mjs` enters in the form (its SCENARIO), with `inputs`.
fn page_scenario(inputs: Vec<pb::InputValue>) -> pb::Scenario {
    pb::Scenario {
        use_mode: pb::AssetAction::ReparationsLoan as i32,
        interest_rate_pct: Some(3.0),
        horizon_years: Some(7),
        as_of: leverage_e2e::date(2026, 1, 15),
        inputs,
        ..Default::default()
    }
}

fn named<'a>(values: impl IntoIterator<Item = (&'a str, f64)>) -> Value {
    values
        .into_iter()
        .map(|(name, value)| json!({ "name": name, "value": value }))
        .collect()
}

/// What the API answers over plain gRPC (tonic and prost, not the page's JavaScript client) to
/// the requests the page test makes of fixture-escrow: the field violation of its required
/// input left unset; the score of `escrow.share` 0.4, without and with the per-call parameter
/// `weight` 0.2; and the sweep of `escrow.share` from 0 to 1 in 11 points with that parameter.
/// The page must show the same numbers, to the bit.
fn escrow_expectations(server: &page::Server) -> Value {
    const ESCROW: &str = "plugins/fixture-escrow";
    page::over_grpc(server, |channel| async move {
        let mut c = ScoringServiceClient::new(channel);
        let share = || {
            vec![pb::InputValue {
                name: "escrow.share".into(),
                value: 0.4,
            }]
        };
        let weight = || {
            vec![pb::ParameterValue {
                name: "weight".into(),
                value: 0.2,
            }]
        };
        let score = |inputs, parameters| pb::ScoreScenarioRequest {
            plugin: ESCROW.into(),
            scenario: Some(page_scenario(inputs)),
            parameters,
        };
        let refused = c
            .score_scenario(score(vec![], vec![]))
            .await
            .expect_err("escrow.share is required");
        let required = page::field_violations(&refused);
        assert!(!required.is_empty(), "{refused:?}");
        let model_card = c
            .get_plugin(pb::GetPluginRequest {
                name: ESCROW.into(),
            })
            .await
            .expect("GetPlugin")
            .into_inner()
            .model_card;
        let source = workspace().join("tests/fixtures/plugins/escrow/cards/1.0.0.md");
        assert_eq!(
            model_card,
            std::fs::read_to_string(&source).expect("the fixture's card"),
            "the card served is the one compiled into the build"
        );
        let mut scores = Vec::new();
        for parameters in [vec![], weight()] {
            let r = c
                .score_scenario(score(share(), parameters))
                .await
                .expect("ScoreScenario")
                .into_inner()
                .result
                .expect("a result");
            scores.push(json!({
                "score": r.score,
                "components": named(r.components.iter().map(|v| (v.name.as_str(), v.value))),
                "parameters": named(r.parameters.iter().map(|v| (v.name.as_str(), v.value))),
                "plugin_build": r.plugin_build,
            }));
        }
        let mut stream = c
            .sweep_scenario(pb::SweepScenarioRequest {
                plugin: ESCROW.into(),
                base: Some(page_scenario(vec![])),
                axes: vec![pb::SweepAxis {
                    input: "escrow.share".into(),
                    start: 0.0,
                    stop: 1.0,
                    steps: 11,
                    ..Default::default()
                }],
                parameters: weight(),
                ..Default::default()
            })
            .await
            .expect("SweepScenario")
            .into_inner();
        let (mut points, mut parameters) = (Vec::new(), None);
        while let Some(chunk) = stream.message().await.expect("a sweep chunk") {
            parameters.get_or_insert_with(|| {
                named(chunk.parameters.iter().map(|v| (v.name.as_str(), v.value)))
            });
            points.extend(chunk.points.iter().map(|p| {
                json!({
                    "index": p.index,
                    "lever_values": p.lever_values,
                    "score": p.score,
                    "components": p.components,
                })
            }));
        }
        // The page's comparison: its scenario (with escrow.share) once per use of the assets,
        // by every plugin.
        let compared = c
            .compare_scenarios(pb::CompareScenariosRequest {
                plugins: [ESCROW, "plugins/pressure-index", "plugins/prudent-pressure"]
                    .map(String::from)
                    .to_vec(),
                scenarios: (1..=6)
                    .map(|use_mode| pb::Scenario {
                        use_mode,
                        ..page_scenario(share())
                    })
                    .collect(),
            })
            .await
            .expect("CompareScenarios")
            .into_inner();
        let compare: Vec<Value> = compared
            .rows
            .iter()
            .map(|row| {
                let scores: Vec<Value> = row
                    .outcomes
                    .iter()
                    .map(|o| match &o.outcome {
                        Some(pb::scenario_outcome::Outcome::Result(r)) => json!(r.score),
                        _ => Value::Null,
                    })
                    .collect();
                json!({ "plugin": row.plugin, "scores": scores })
            })
            .collect();
        json!({
            "required": required,
            "score": scores[0],
            "score_weight": scores[1],
            "sweep": { "points": points, "parameters": parameters },
            "compare": compare,
            "model_card": model_card,
        })
    })
}

#[test]
fn the_page_in_headless_chromium_matches_the_api() {
    let Some(browser) = page::browser("the_page_in_headless_chromium_matches_the_api") else {
        return;
    };
    let server = start_server(true, &[]);
    let expected = escrow_expectations(&server);
    page::run_script(&browser, "page.test.mjs", &server, &expected, "scoring.png");
}
