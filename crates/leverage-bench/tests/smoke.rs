//! Runs `leverage-bench smoke` (every part, tiny sizes, the debug server and plugins that
//! `cargo test --workspace` has just built, or, when they are missing or older than their
//! sources, ones built by a nested cargo into `target/bench-smoke`) and checks that each part
//! produced its rows and that every gate held. No timing is asserted: the figures of a smoke
//! run mean nothing.

use std::process::Command;

use serde_json::Value;

fn array<'a>(v: &'a Value, what: &str) -> &'a Vec<Value> {
    v.as_array()
        .unwrap_or_else(|| panic!("{what} is not an array: {v}"))
}

#[test]
fn smoke_run_produces_every_part_and_holds_every_gate() {
    let out = tempfile::tempdir().expect("temp dir");
    let run = Command::new(env!("CARGO_BIN_EXE_leverage-bench"))
        .arg("smoke")
        .arg("--out")
        .arg(out.path())
        .output()
        .expect("leverage-bench runs");
    assert!(
        run.status.success(),
        "smoke run failed ({})\n--- stdout\n{}\n--- stderr\n{}",
        run.status,
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let text = std::fs::read_to_string(out.path().join("smoke.json")).expect("smoke.json");
    let r: Value = serde_json::from_str(&text).expect("smoke.json is JSON");
    assert!(out.path().join("smoke.md").exists());

    let targets = array(&r["load"]["targets"], "load.targets");
    let names: Vec<&str> = targets
        .iter()
        .filter_map(|t| t["target"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "HelloWorld",
            "Health",
            "ScoreScenario",
            "SizedScoreScenario",
            "ScoreScenarioCold",
            "ListHoldings",
            "SizedListHoldings",
            "SummarizeHoldings",
            "SizedSummarizeHoldings",
            "AssessLegalRisk",
            "SizedAssessLegalRisk",
        ]
    );
    for t in targets {
        assert!(t["failure"].is_null(), "{t}");
        let runs = array(&t["runs"], "runs");
        assert!(!runs.is_empty(), "{t}");
        for run in runs {
            assert_eq!(run["failed_calls"], 0, "{run}");
            assert_eq!(run["bad_replies"], 0, "{run}");
            assert!(run["latency"]["calls"].as_u64() > Some(0), "{run}");
            assert!(
                run["calls_total"].as_u64() >= run["latency"]["calls"].as_u64(),
                "warm-up and measured calls all counted: {run}"
            );
        }
    }
    let bytes = |name: &str| {
        targets
            .iter()
            .find(|t| t["target"] == name)
            .and_then(|t| t["reply_bytes"].as_u64())
            .unwrap_or(0)
    };
    for (read, floor) in [
        ("ListHoldings", "SizedListHoldings"),
        ("SummarizeHoldings", "SizedSummarizeHoldings"),
        ("AssessLegalRisk", "SizedAssessLegalRisk"),
        ("ScoreScenario", "SizedScoreScenario"),
    ] {
        assert!(bytes(read) > 100, "{read} replied {} bytes", bytes(read));
        assert_eq!(bytes(floor), bytes(read), "{floor} against {read}");
    }
    let read = targets
        .iter()
        .find(|t| t["target"] == "AssessLegalRisk")
        .expect("AssessLegalRisk");
    assert!(read["floor_qps_ratio"].as_f64().is_some(), "{read}");
    assert!(read["floor_p99_ratio"].as_f64().is_some(), "{read}");
    assert!(r["load"]["config"]["max_generator_cores"].is_null());

    let rows = array(&r["boundary"]["rows"], "boundary.rows");
    let paths: Vec<(&str, u64)> = rows
        .iter()
        .filter_map(|row| Some((row["path"].as_str()?, row["batch"].as_u64()?)))
        .collect();
    assert_eq!(
        paths.len(),
        10,
        "native + raw, blocking host and async host × 3: {paths:?}"
    );
    for batch in [1, 10, 1000] {
        assert!(paths.contains(&("host (score, async)", batch)), "{paths:?}");
    }
    assert_eq!(r["boundary"]["outputs_agree"], true);

    assert_eq!(r["sweep"]["points"], 400);
    assert_eq!(r["sweep"]["in_order_complete"], true);

    assert_eq!(r["scale"]["answers_agree"], true);
    assert_eq!(r["scale"]["observations"], 400);
    assert!(r["scale"]["summarize"]["latency"]["calls"].as_u64() > Some(0));
    assert!(r["scale"]["list_amount_desc"]["latency"]["calls"].as_u64() > Some(0));
    assert!(!array(&r["scale"]["sqlite"], "scale.sqlite").is_empty());

    assert!(!array(&r["startup"]["fresh"]["runs_ms"], "fresh").is_empty());
    assert!(!array(&r["startup"]["existing"]["runs_ms"], "existing").is_empty());

    assert_eq!(r["binaries"]["bench_release"], false);
    assert_eq!(r["binaries"]["server_stale"], false);

    let gates = array(&r["gates"], "gates");
    assert!(gates.len() >= 16, "{gates:?}");
    for g in gates {
        assert_eq!(g["passed"], true, "gate failed: {g}");
    }
    assert!(!array(&r["summary"], "summary").is_empty());
}
