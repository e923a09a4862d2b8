//! Calls: containment of panics, hangs and bad outputs; determinism; the real models.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use leverage_plugin_host::{HostError, HostOptions, PluginHost, PluginState, RowError, Scored};

use crate::support::{fixture, host, options, real, sample_rows, scenario};

fn no_cancel() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(false))
}

async fn score_one(host: &PluginHost, id: &str, row: Vec<f64>) -> Result<Scored, HostError> {
    host.score(id, row, 1, Duration::from_secs(30), no_cancel())
        .await
}

fn bits(results: &Scored) -> Vec<Vec<u64>> {
    results
        .iter()
        .map(|row| {
            let row = row.as_ref().expect("row scored");
            std::iter::once(row.score)
                .chain(row.components().iter().copied())
                .map(f64::to_bits)
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_plugin_fails_its_call_while_other_plugins_keep_succeeding() {
    let host = host(
        "panic-contained",
        &[fixture("panics"), real("pressure_index")],
        options(&[]),
    );
    for _ in 0..2 {
        match score_one(&host, "fixture-panics", scenario(&[])).await {
            Err(HostError::Panicked { message, .. }) => {
                assert!(message.contains("deliberate panic in score"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let rows = score_one(&host, "pressure-index", scenario(&[]))
            .await
            .expect("scores");
        assert!(rows.get(0).expect("a row").is_ok(), "{rows:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_is_disabled_after_k_panics() {
    let host = host(
        "panic-disabled",
        &[fixture("panics")],
        HostOptions {
            max_panics: 3,
            ..options(&[])
        },
    );
    for attempt in 1..=3 {
        match score_one(&host, "fixture-panics", scenario(&[])).await {
            Err(HostError::Panicked {
                panics, disabled, ..
            }) => {
                assert_eq!(panics, attempt);
                assert_eq!(disabled, attempt == 3);
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(matches!(
        score_one(&host, "fixture-panics", scenario(&[])).await,
        Err(HostError::Disabled { .. })
    ));
    match host.state("fixture-panics") {
        Some(PluginState::Disabled { reason }) => {
            assert!(reason.contains("panicked 3 times"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let listed = &host.plugins()[0];
    assert_eq!(listed.panics, 3);
}

#[test]
fn the_instance_is_dropped_and_recreated_after_a_panic() {
    let host = host(
        "panic-recreated",
        &[fixture("panics")],
        options(&[("fixture-panics", "calm_calls = 1")]),
    );
    let cancel = AtomicBool::new(false);
    let serial = |host: &PluginHost| {
        host.score_blocking("fixture-panics", &scenario(&[]), 1, &cancel)
            .map(|rows| rows.get(0).expect("a row").expect("row").score)
    };
    let first = serial(&host).expect("the first instance answers once");
    assert!(matches!(serial(&host), Err(HostError::Panicked { .. })));
    let second = serial(&host).expect("a new instance answers");
    assert_ne!(first, second, "the panicked instance was reused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_plugin_returns_deadline_exceeded_within_the_deadline_plus_a_margin() {
    let host = host(
        "hangs",
        &[fixture("hangs"), real("pressure_index")],
        HostOptions {
            workers: 2,
            max_stuck_calls: 3,
            ..options(&[])
        },
    );
    let deadline = Duration::from_millis(200);
    for _ in 0..3 {
        let cancel = no_cancel();
        let start = Instant::now();
        let result = host
            .score(
                "fixture-hangs",
                scenario(&[]),
                1,
                deadline,
                Arc::clone(&cancel),
            )
            .await;
        let elapsed = start.elapsed();
        assert!(
            matches!(result, Err(HostError::DeadlineExceeded { .. })),
            "{result:?}"
        );
        // Generous: a loaded 2-core machine. The point is "returns", not "returns fast".
        assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
        assert!(cancel.load(Ordering::Acquire), "the cancel flag was set");
    }
    // Three threads are stuck for good, with a pool of two: the pool replaced them.
    let rows = host
        .score(
            "pressure-index",
            scenario(&[]),
            1,
            Duration::from_secs(10),
            no_cancel(),
        )
        .await
        .expect("other plugins still run");
    assert!(rows.get(0).expect("a row").is_ok());
    assert!(
        matches!(
            host.state("fixture-hangs"),
            Some(PluginState::Disabled { .. })
        ),
        "three stuck calls disable the plugin"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_overran_its_deadline_leaves_its_instance_unused() {
    let host = host(
        "overrun",
        &[fixture("slow")],
        options(&[("fixture-slow", "delay_ms = 300")]),
    );
    let instance = |rows: Scored| rows.get(0).expect("a row").expect("row").components()[0];
    let first = instance(
        score_one(&host, "fixture-slow", scenario(&[]))
            .await
            .expect("scores"),
    );
    let overrun = host
        .score(
            "fixture-slow",
            scenario(&[]),
            1,
            Duration::from_millis(20),
            no_cancel(),
        )
        .await;
    assert!(
        matches!(overrun, Err(HostError::DeadlineExceeded { .. })),
        "{overrun:?}"
    );
    // The slow fixture honours the cancel flag, so the overrun call ends soon; either way the
    // next call must not get the instance the overrun call had.
    let next = instance(
        score_one(&host, "fixture-slow", scenario(&[]))
            .await
            .expect("scores"),
    );
    assert_ne!(first, next);
    assert_eq!(host.state("fixture-slow"), Some(PluginState::Ready));
}

#[test]
fn outputs_outside_their_range_or_not_finite_are_row_errors_naming_the_component() {
    let host = host("out-of-range", &[fixture("out_of_range")], options(&[]));
    let rows: Vec<f64> = [0.0, 1.0, 2.0]
        .iter()
        .flat_map(|mode| scenario(&[("lever.use_mode", *mode)]))
        .collect();
    let results = host
        .score_blocking("fixture-out-of-range", &rows, 3, &AtomicBool::new(false))
        .expect("call succeeds");
    assert_eq!(
        results.get(0),
        Some(Err(&RowError::OutOfRange {
            name: "score".to_owned(),
            value: 150.0,
            min: 0.0,
            max: 100.0
        }))
    );
    match results.get(1).expect("a row") {
        Err(RowError::NotFinite { name, value }) => {
            assert_eq!(name, "share");
            assert!(value.is_nan());
        }
        other => panic!("{other:?}"),
    }
    assert!(results.get(2).expect("a row").is_ok());
    assert!(
        results
            .get(1)
            .expect("a row")
            .expect_err("nan")
            .to_string()
            .contains("`share` = NaN")
    );
}

#[test]
fn one_bad_row_does_not_fail_the_batch() {
    let host = host("bad-row", &[real("pressure_index")], options(&[]));
    let mut rows = scenario(&[]);
    rows.extend(scenario(&[("lever.use_mode", 7.0)]));
    rows.extend(scenario(&[]));
    let results = host
        .score_blocking("pressure-index", &rows, 3, &AtomicBool::new(false))
        .expect("call succeeds");
    assert!(results.get(0).expect("a row").is_ok() && results.get(2).expect("a row").is_ok());
    match results.get(1).expect("a row") {
        Err(RowError::Plugin { message }) => {
            assert!(message.contains("lever.use_mode = 7"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_cancel_flag_set_before_the_call_cancels_it() {
    let host = host("cancelled", &[real("pressure_index")], options(&[]));
    let (rows, n) = sample_rows();
    let result = host.score_blocking("pressure-index", &rows, n, &AtomicBool::new(true));
    assert!(
        matches!(result, Err(HostError::Cancelled { .. })),
        "{result:?}"
    );
}

#[test]
fn requests_that_do_not_fit_are_rejected_before_reaching_a_plugin() {
    let host = host("invalid", &[real("pressure_index")], options(&[]));
    let cancel = AtomicBool::new(false);
    assert!(matches!(
        host.score_blocking("pressure-index", &[1.0, 2.0], 1, &cancel),
        Err(HostError::InvalidRequest(_))
    ));
    assert!(matches!(
        host.score_blocking("no-such-plugin", &scenario(&[]), 1, &cancel),
        Err(HostError::UnknownPlugin(_))
    ));
    let empty = host
        .score_blocking("pressure-index", &[], 0, &cancel)
        .expect("zero rows is a valid, empty batch");
    assert!(empty.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_request_twice_gives_bit_identical_scores() {
    let host = host(
        "deterministic",
        &[real("pressure_index"), real("prudent_pressure")],
        options(&[]),
    );
    let (rows, n) = sample_rows();
    for id in ["pressure-index", "prudent-pressure"] {
        let first = host
            .score(id, rows.clone(), n, Duration::from_secs(30), no_cancel())
            .await
            .expect("scores");
        let second = host
            .score(id, rows.clone(), n, Duration::from_secs(30), no_cancel())
            .await
            .expect("scores");
        let blocking = host
            .score_blocking(id, &rows, n, &AtomicBool::new(false))
            .expect("scores");
        assert_eq!(bits(&first), bits(&second), "{id}");
        assert_eq!(bits(&first), bits(&blocking), "{id}");
    }
}

#[test]
fn the_two_real_models_give_different_answers_on_the_same_scenario() {
    let host = host(
        "models",
        &[real("pressure_index"), real("prudent_pressure")],
        options(&[]),
    );
    let (rows, n) = sample_rows();
    let cancel = AtomicBool::new(false);
    let index = host
        .score_blocking("pressure-index", &rows, n, &cancel)
        .expect("scores");
    let prudent = host
        .score_blocking("prudent-pressure", &rows, n, &cancel)
        .expect("scores");
    for (row, (a, b)) in index.iter().zip(&prudent).enumerate() {
        let (a, b) = (a.as_ref().expect("index"), b.as_ref().expect("prudent"));
        assert_eq!(
            b.components()[0],
            a.score,
            "row {row}: prudent's base is the index"
        );
        assert!(
            b.score < a.score,
            "row {row}: prudence discounts ({} vs {})",
            b.score,
            a.score
        );
    }
    let metadata = host.metadata("pressure-index").expect("loaded");
    let names: Vec<_> = metadata
        .components
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "money_denied",
            "money_to_ukraine",
            "speed",
            "sanctions_breadth",
            "european_defence_capacity"
        ]
    );
}

#[test]
fn configured_weights_change_the_index() {
    let only_denied = "weight.money_to_ukraine = 0\nweight.speed = 0\nweight.sanctions_breadth = 0\nweight.money_denied = 1";
    let host = host(
        "configured",
        &[real("pressure_index")],
        options(&[("pressure-index", only_denied)]),
    );
    let rows = host
        .score_blocking("pressure-index", &scenario(&[]), 1, &AtomicBool::new(false))
        .expect("scores");
    let row = rows.get(0).expect("a row").expect("row");
    assert_eq!(row.score, row.components()[0]);
}

#[tokio::test(flavor = "current_thread")]
async fn an_inline_plugin_is_called_on_the_calling_thread_without_a_deadline() {
    let slow = fixture("slow");
    let slow_file = slow.file_name().expect("file name").to_string_lossy();
    let configs = [("fixture-slow", "delay_ms = 50")];
    let inline = host(
        "inline-slow",
        &[slow.clone(), real("pressure_index")],
        HostOptions {
            inline: [slow_file.into_owned()].into(),
            ..options(&configs)
        },
    );
    let pooled = host("pooled-slow", &[slow], options(&configs));
    let deadline = Duration::from_millis(1);

    // On the pool, the deadline ends the call; inline, nothing does: it returns when the plugin
    // does, on this (single) runtime thread.
    assert!(matches!(
        pooled
            .score("fixture-slow", scenario(&[]), 1, deadline, no_cancel())
            .await,
        Err(HostError::DeadlineExceeded { .. })
    ));
    let rows = inline
        .score("fixture-slow", scenario(&[]), 1, deadline, no_cancel())
        .await
        .expect("an inline call has no deadline");
    assert!(rows.get(0).expect("a row").is_ok(), "{rows:?}");

    let statuses = inline.plugins();
    let inline_of = |id: &str| {
        statuses
            .iter()
            .find(|status| status.id.as_deref() == Some(id))
            .map(|status| status.inline)
    };
    assert_eq!(inline_of("fixture-slow"), Some(true));
    assert_eq!(inline_of("pressure-index"), Some(false));
}
