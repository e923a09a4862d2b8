//! Reload: copy, load, check, swap; calls in flight finish on the version they started on.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use leverage_plugin_host::{PluginHost, PluginState, RefuseReason, Replaced};

use crate::support::{CATALOG, fixture, fixture_v2, library_name, options, plugin_dir, scenario};

/// `fixture-slow` built with `--features v2`.
pub fn slow_v2() -> PathBuf {
    fixture_v2("slow")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_switches_to_the_new_version_while_a_call_in_flight_finishes_on_the_old() {
    let v2 = slow_v2();
    let dir = plugin_dir("reload", &[fixture("slow")]);
    let host = PluginHost::load_dir_with(
        &dir,
        CATALOG,
        options(&[("fixture-slow", "delay_ms = 800")]),
    )
    .expect("loads");
    assert_eq!(host.metadata("fixture-slow").expect("v1").version, "1.0.0");

    let in_flight = {
        let host = host.clone();
        tokio::spawn(async move {
            let result = host
                .score(
                    "fixture-slow",
                    scenario(&[]),
                    1,
                    Duration::from_secs(30),
                    Arc::new(AtomicBool::new(false)),
                )
                .await;
            (result, Instant::now())
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;

    std::fs::copy(&v2, dir.join(library_name("fixture_slow"))).expect("install v2");
    let report = host.reload_dir().expect("reloads");
    let reloaded_at = Instant::now();
    assert_eq!(
        report.replaced,
        vec![Replaced {
            id: "fixture-slow".to_owned(),
            old_version: "1.0.0".to_owned(),
            new_version: "2.0.0".to_owned(),
        }]
    );
    assert!(report.changed() && report.refused.is_empty(), "{report:?}");

    let new = host
        .score_blocking("fixture-slow", &scenario(&[]), 1, &AtomicBool::new(false))
        .expect("v2 scores");
    assert_eq!(
        new.get(0).expect("a row").expect("row").score,
        2.0,
        "new calls go to v2"
    );

    let (old, finished_at) = in_flight.await.expect("task");
    let old = old.expect("the in-flight call completes");
    assert_eq!(
        old.get(0).expect("a row").expect("row").score,
        1.0,
        "the in-flight call stayed on v1"
    );
    assert!(
        finished_at > reloaded_at,
        "the call was still running during the reload"
    );
}

#[test]
fn reloading_an_unchanged_directory_changes_nothing() {
    let dir = plugin_dir("reload-same", &[fixture("slow"), fixture("wrong_abi")]);
    let host = PluginHost::load_dir(&dir, CATALOG).expect("loads");
    let report = host.reload_dir().expect("reloads");
    assert!(!report.changed(), "{report:?}");
    assert_eq!(report.unchanged, vec!["fixture-slow"]);
    assert!(
        report.refused.is_empty(),
        "a known refusal is not reported again"
    );
    assert_eq!(host.plugins().len(), 2);
}

#[test]
fn a_refused_new_version_leaves_the_old_one_serving() {
    let dir = plugin_dir("reload-refused", &[fixture("slow")]);
    let host =
        PluginHost::load_dir_with(&dir, CATALOG, options(&[("fixture-slow", "delay_ms = 0")]))
            .expect("loads");
    std::fs::copy(fixture("wrong_abi"), dir.join(library_name("fixture_slow"))).expect("break it");
    let report = host.reload_dir().expect("reloads");
    assert_eq!(report.refused.len(), 1);
    assert!(matches!(
        report.refused[0].reason,
        RefuseReason::AbiMajor { .. }
    ));
    assert!(!report.changed());
    let rows = host
        .score_blocking("fixture-slow", &scenario(&[]), 1, &AtomicBool::new(false))
        .expect("the old version still serves");
    assert_eq!(rows.get(0).expect("a row").expect("row").score, 1.0);
    let states: Vec<_> = host.plugins().into_iter().map(|s| s.state).collect();
    assert!(states.contains(&PluginState::Ready));
    assert!(
        states
            .iter()
            .any(|s| matches!(s, PluginState::Refused { .. }))
    );

    for _ in 0..2 {
        let again = host.reload_dir().expect("reloads");
        assert!(
            again.refused.is_empty(),
            "the refused file is not retried until it changes: {again:?}"
        );
        assert_eq!(again.unchanged, vec!["fixture-slow"]);
        assert_eq!(host.plugins().len(), 2, "the old version and the refusal");
    }
}

#[test]
fn a_removed_file_is_no_longer_served() {
    let dir = plugin_dir("reload-removed", &[fixture("slow")]);
    let host = PluginHost::load_dir(&dir, CATALOG).expect("loads");
    std::fs::remove_file(dir.join(library_name("fixture_slow"))).expect("remove");
    let report = host.reload_dir().expect("reloads");
    assert_eq!(report.removed, vec!["fixture-slow"]);
    assert!(host.metadata("fixture-slow").is_none());
    assert!(host.plugins().is_empty());
}
