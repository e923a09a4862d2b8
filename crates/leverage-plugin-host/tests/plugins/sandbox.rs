//! Sandbox mode: plugins in worker processes (this crate's `leverage-plugin-worker` binary, a
//! real separate process). A segfault, an abort, unbounded allocation or an endless loop costs a
//! worker, never this test process.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use leverage_plugin_host::{
    HostError, HostOptions, PluginHost, PluginState, PluginStatus, RefuseReason, Replaced,
    RowError, SANDBOX_ALL, SandboxOptions, Scored, WorkerCommand,
};

use crate::support::{
    CATALOG, fixture, host, library_name, options, plugin_dir, real, sample_rows, scenario,
    workspace_root,
};

/// The `lever.use_mode` value at which the crash fixtures crash.
const CRASH: f64 = 4.0;

pub(crate) fn worker_command() -> WorkerCommand {
    WorkerCommand::new(env!("CARGO_BIN_EXE_leverage-plugin-worker"))
}

/// `base` with every plugin file sandboxed, workers capped at 512 MiB.
fn sandboxed(base: HostOptions) -> HostOptions {
    HostOptions {
        sandbox: SandboxOptions {
            files: [SANDBOX_ALL.to_owned()].into(),
            worker_command: Some(worker_command()),
            memory_limit: Some(512 << 20),
            ..SandboxOptions::default()
        },
        ..base
    }
}

fn no_cancel() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(false))
}

async fn score_mode(host: &PluginHost, id: &str, mode: f64) -> Result<Scored, HostError> {
    host.score(
        id,
        scenario(&[("lever.use_mode", mode)]),
        1,
        Duration::from_secs(30),
        no_cancel(),
    )
    .await
}

/// The pid a crash fixture reports: the process that scored.
fn pid_of(rows: &Scored) -> u32 {
    rows.get(0).expect("a row").expect("row scored").score as u32
}

fn status(host: &PluginHost, id: &str) -> PluginStatus {
    host.plugins()
        .into_iter()
        .find(|status| status.id.as_deref() == Some(id))
        .expect("loaded")
}

/// Whether a process is gone: no `/proc` entry, or one that is not ours any more (its pid
/// reused by an unrelated process is not a zombie of ours).
fn process_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => {
            let ppid = stat
                .rsplit(") ")
                .next()
                .and_then(|rest| rest.split_whitespace().nth(1))
                .and_then(|ppid| ppid.parse::<u32>().ok());
            ppid != Some(std::process::id())
        }
    }
}

fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < until, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn bits(results: &Scored) -> Vec<Result<Vec<u64>, RowError>> {
    results
        .iter()
        .map(|row| {
            row.map(|row| {
                std::iter::once(row.score)
                    .chain(row.components().iter().copied())
                    .map(f64::to_bits)
                    .collect()
            })
            .map_err(Clone::clone)
        })
        .collect()
}

/// A crash fixture: a call that crashes fails naming `signal`, the worker is gone, the next call
/// is served by a fresh worker, and the host and its other plugins carry on.
async fn a_crash_costs_one_worker(fixture_name: &str, id: &str, signals: &[&str]) {
    let host = host(
        &format!("sandbox-{id}"),
        &[fixture(fixture_name), real("pressure_index")],
        sandboxed(options(&[])),
    );
    let listed = status(&host, id);
    assert!(listed.sandboxed, "{listed:?}");
    assert_eq!(listed.worker_pids.len(), 1, "one worker started at load");
    let first = pid_of(&score_mode(&host, id, 0.0).await.expect("scores"));
    assert_eq!(listed.worker_pids, [first], "the call ran in the worker");
    assert_ne!(first, std::process::id(), "not in this process");

    let started = Instant::now();
    match score_mode(&host, id, CRASH).await {
        Err(HostError::WorkerCrashed {
            id: crashed,
            detail,
            failures,
            disabled,
            ..
        }) => {
            eprintln!("{id}: {detail}");
            assert_eq!(crashed, id);
            assert!(
                signals.iter().any(|signal| detail.contains(signal)),
                "none of {signals:?} in: {detail}"
            );
            assert!(detail.contains(&format!("pid {first}")), "{detail}");
            assert_eq!((failures, disabled), (1, false));
        }
        other => panic!("{other:?}"),
    }
    eprintln!("{id}: the crash was reported after {:?}", started.elapsed());
    assert!(process_gone(first), "the crashed worker was reaped");

    let second = pid_of(
        &score_mode(&host, id, 0.0)
            .await
            .expect("a fresh worker scores"),
    );
    assert_ne!(second, first, "a new worker");
    let listed = status(&host, id);
    assert_eq!(listed.state, PluginState::Ready);
    assert_eq!((listed.crashes, listed.panics), (1, 0));
    assert_eq!(listed.worker_pids, [second]);
    let rows = score_mode(&host, "pressure-index", 0.0)
        .await
        .expect("other plugins score");
    assert!(rows.get(0).expect("a row").is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_segfault_costs_a_worker_and_names_the_signal() {
    a_crash_costs_one_worker("segfaults", "fixture-segfaults", &["SIGSEGV"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abort_costs_a_worker_and_names_the_signal() {
    a_crash_costs_one_worker("aborts_process", "fixture-aborts-process", &["SIGABRT"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbounded_allocation_stops_at_the_memory_cap_and_costs_a_worker() {
    // A failed Rust allocation aborts; were the kernel to step in first, it would be SIGKILL.
    a_crash_costs_one_worker(
        "allocates",
        "fixture-allocates",
        &["SIGABRT", "SIGSEGV", "SIGKILL"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_plugin_is_killed_at_the_deadline_and_does_not_count_against_it() {
    let host = host(
        "sandbox-hangs",
        &[fixture("hangs")],
        sandboxed(HostOptions {
            max_panics: 2,
            ..options(&[])
        }),
    );
    let deadline = Duration::from_millis(600);
    for _ in 0..3 {
        let started = Instant::now();
        let call = {
            let host = host.clone();
            tokio::spawn(async move {
                host.score("fixture-hangs", scenario(&[]), 1, deadline, no_cancel())
                    .await
            })
        };
        // The first call runs on the worker started at load, the others on a fresh one each.
        tokio::time::sleep(deadline / 2).await;
        let pids = status(&host, "fixture-hangs").worker_pids;
        assert_eq!(pids.len(), 1, "the worker running the call");
        let result = call.await.expect("task");
        let elapsed = started.elapsed();
        assert!(
            matches!(result, Err(HostError::DeadlineExceeded { .. })),
            "{result:?}"
        );
        // Generous: a loaded 2-core machine. The point is "returns", not "returns fast".
        assert!(
            elapsed < deadline + Duration::from_secs(3),
            "took {elapsed:?}"
        );
        assert!(
            process_gone(pids[0]),
            "worker {} was killed and reaped",
            pids[0]
        );
    }
    let listed = status(&host, "fixture-hangs");
    assert_eq!(
        listed.state,
        PluginState::Ready,
        "a killed call is not a crash"
    );
    assert!(listed.worker_pids.is_empty(), "{listed:?}");
}

#[test]
fn cancelling_a_blocking_call_kills_its_worker() {
    let host = host(
        "sandbox-cancel",
        &[fixture("hangs")],
        sandboxed(options(&[])),
    );
    let pids = status(&host, "fixture-hangs").worker_pids;
    let cancel = Arc::new(AtomicBool::new(false));
    let setter = {
        let cancel = Arc::clone(&cancel);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            cancel.store(true, Ordering::Release);
        })
    };
    let started = Instant::now();
    let result = host.score_blocking("fixture-hangs", &scenario(&[]), 1, &cancel);
    assert!(
        matches!(result, Err(HostError::Cancelled { .. })),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    setter.join().expect("setter");
    for pid in pids {
        assert!(process_gone(pid));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sandboxed_model_gives_bit_identical_results_to_in_process() {
    let files = [real("pressure_index"), real("prudent_pressure")];
    let local = host("sandbox-same-local", &files, options(&[]));
    let remote = host("sandbox-same-remote", &files, sandboxed(options(&[])));
    let (mut rows, mut n) = sample_rows();
    // A row the model rejects: the same row error, with the plugin's message.
    rows.extend(scenario(&[("lever.use_mode", 7.0)]));
    n += 1;
    for id in ["pressure-index", "prudent-pressure"] {
        assert!(!status(&local, id).sandboxed && status(&remote, id).sandboxed);
        assert_eq!(local.metadata(id), remote.metadata(id), "same metadata");
        // The model card came through the worker's DESCRIBED frame, not only an empty string.
        let card = remote.metadata(id).expect("loaded").model_card.clone();
        let source = workspace_root().join(format!("docs/models/{id}/card.md"));
        assert_eq!(
            card,
            std::fs::read_to_string(source).expect("the card's file")
        );
        let expected = bits(
            &local
                .score(id, rows.clone(), n, Duration::from_secs(30), no_cancel())
                .await
                .expect("scores"),
        );
        let sandboxed = remote
            .score(id, rows.clone(), n, Duration::from_secs(30), no_cancel())
            .await
            .expect("scores");
        assert_eq!(bits(&sandboxed), expected, "{id}, batched");
        assert!(
            matches!(sandboxed.get(n - 1).expect("a row"), Err(RowError::Plugin { message }) if message.contains("lever.use_mode = 7"))
        );
        let blocking = remote
            .score_blocking(id, &rows, n, &AtomicBool::new(false))
            .expect("scores");
        assert_eq!(bits(&blocking), expected, "{id}, blocking");
        let width = CATALOG.len();
        for row in 0..n {
            let one = remote
                .score(
                    id,
                    rows[row * width..(row + 1) * width].to_vec(),
                    1,
                    Duration::from_secs(30),
                    no_cancel(),
                )
                .await
                .expect("scores");
            assert_eq!(bits(&one), expected[row..=row], "{id}, row {row} alone");
        }
    }
    let empty = remote
        .score_blocking("pressure-index", &[], 0, &AtomicBool::new(false))
        .expect("zero rows is a valid, empty batch");
    assert!(empty.is_empty());
}

#[test]
fn outputs_from_a_worker_are_checked_like_in_process_ones() {
    let host = host(
        "sandbox-out-of-range",
        &[fixture("out_of_range")],
        sandboxed(options(&[])),
    );
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
    assert!(
        matches!(results.get(1).expect("a row"), Err(RowError::NotFinite { name, .. }) if name == "share")
    );
    assert!(results.get(2).expect("a row").is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_k_crashes_the_plugin_is_disabled_and_its_workers_retired() {
    let host = host(
        "sandbox-disabled",
        &[fixture("segfaults")],
        sandboxed(HostOptions {
            max_panics: 3,
            ..options(&[])
        }),
    );
    for attempt in 1..=3 {
        match score_mode(&host, "fixture-segfaults", CRASH).await {
            Err(HostError::WorkerCrashed {
                failures, disabled, ..
            }) => {
                assert_eq!(failures, attempt);
                assert_eq!(disabled, attempt == 3);
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(matches!(
        score_mode(&host, "fixture-segfaults", 0.0).await,
        Err(HostError::Disabled { .. })
    ));
    let listed = status(&host, "fixture-segfaults");
    match &listed.state {
        PluginState::Disabled { reason } => {
            assert!(
                reason.contains("crashed its sandbox worker 3 times"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(listed.crashes, 3);
    wait_until("no worker is left", || {
        status(&host, "fixture-segfaults").worker_pids.is_empty()
    });
}

#[test]
fn panics_in_a_worker_count_and_the_instance_is_recreated_there() {
    let host = host(
        "sandbox-panics",
        &[fixture("panics")],
        sandboxed(options(&[("fixture-panics", "calm_calls = 1")])),
    );
    let cancel = AtomicBool::new(false);
    let serial = |host: &PluginHost| {
        host.score_blocking("fixture-panics", &scenario(&[]), 1, &cancel)
            .map(|rows| rows.get(0).expect("a row").expect("row").score)
    };
    let first = serial(&host).expect("the first instance answers once");
    match serial(&host) {
        Err(HostError::Panicked {
            message, panics, ..
        }) => {
            assert!(message.contains("deliberate panic in score"), "{message}");
            assert_eq!(panics, 1);
        }
        other => panic!("{other:?}"),
    }
    let second = serial(&host).expect("a new instance answers");
    assert_ne!(first, second, "the panicked instance was reused");
    let listed = status(&host, "fixture-panics");
    assert_eq!((listed.panics, listed.crashes), (1, 0));
    assert_eq!(
        listed.worker_pids.len(),
        1,
        "a panic does not cost the worker"
    );
}

#[test]
fn refusals_through_a_worker_are_the_in_process_ones() {
    let dir = plugin_dir(
        "sandbox-refusals",
        &[
            fixture("wrong_abi"),
            fixture("unknown_inputs"),
            fixture("aborts"),
            fixture("panics"),
        ],
    );
    let host = PluginHost::load_dir_with(
        &dir,
        CATALOG,
        sandboxed(options(&[("fixture-panics", "calm_calls = many")])),
    )
    .expect("host");
    let refusals: Vec<RefuseReason> = host
        .plugins()
        .into_iter()
        .map(|status| {
            assert!(status.sandboxed);
            match status.state {
                PluginState::Refused { reason } => reason,
                other => panic!("{other:?}"),
            }
        })
        .collect();
    assert!(
        matches!(refusals[0], RefuseReason::PanicStrategy { .. }),
        "{refusals:?}"
    );
    assert!(
        matches!(&refusals[1], RefuseReason::ConfigRejected { message, .. } if message.contains("calm_calls")),
        "{refusals:?}"
    );
    assert!(
        matches!(&refusals[2], RefuseReason::UnknownInputs { unknown, .. } if !unknown.is_empty()),
        "{refusals:?}"
    );
    assert!(
        matches!(refusals[3], RefuseReason::AbiMajor { .. }),
        "{refusals:?}"
    );
}

#[test]
fn a_sandboxed_file_without_a_worker_command_is_refused_not_loaded_in_process() {
    let mut options = sandboxed(options(&[]));
    options.sandbox.worker_command = None;
    let host = host("sandbox-no-command", &[real("pressure_index")], options);
    let listed = host.plugins();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].sandboxed);
    match &listed[0].state {
        PluginState::Refused {
            reason: RefuseReason::WorkerFailed { detail },
        } => assert!(detail.contains("no worker command"), "{detail}"),
        other => panic!("{other:?}"),
    }
    let missing = HostOptions {
        sandbox: SandboxOptions {
            worker_command: Some(WorkerCommand::new("/nonexistent/leverage")),
            ..sandboxed(HostOptions::default()).sandbox
        },
        ..HostOptions::default()
    };
    let host = self::host("sandbox-bad-command", &[real("pressure_index")], missing);
    match &host.plugins()[0].state {
        PluginState::Refused {
            reason: RefuseReason::WorkerFailed { detail },
        } => assert!(detail.contains("/nonexistent/leverage"), "{detail}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn only_the_listed_files_are_sandboxed() {
    let mut options = sandboxed(options(&[]));
    options.sandbox.files = [library_name("leverage_plugin_prudent_pressure")].into();
    let host = host(
        "sandbox-listed",
        &[real("pressure_index"), real("prudent_pressure")],
        options,
    );
    assert!(!status(&host, "pressure-index").sandboxed);
    assert!(status(&host, "prudent-pressure").sandboxed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_use_at_most_the_configured_workers() {
    let mut options = sandboxed(options(&[("fixture-slow", "delay_ms = 100")]));
    options.sandbox.workers_per_plugin = 2;
    let host = host("sandbox-concurrent", &[fixture("slow")], options);
    let calls: Vec<_> = (0..6)
        .map(|_| {
            let host = host.clone();
            tokio::spawn(async move { score_mode(&host, "fixture-slow", 0.0).await })
        })
        .collect();
    for call in calls {
        let rows = call.await.expect("task").expect("scores");
        assert_eq!(rows.get(0).expect("a row").expect("row").score, 1.0);
    }
    let workers = status(&host, "fixture-slow").worker_pids.len();
    assert!((1..=2).contains(&workers), "{workers} workers");
}

/// `fixture-slow` built with `--features v2` (the reload module builds it).
fn slow_v2() -> PathBuf {
    crate::reload::slow_v2()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_starts_new_workers_while_the_old_one_finishes_its_call_then_exits() {
    let v2 = slow_v2();
    let dir = plugin_dir("sandbox-reload", &[fixture("slow")]);
    let host = PluginHost::load_dir_with(
        &dir,
        CATALOG,
        sandboxed(options(&[("fixture-slow", "delay_ms = 800")])),
    )
    .expect("loads");
    let old_pids = status(&host, "fixture-slow").worker_pids;
    assert_eq!(old_pids.len(), 1);

    let in_flight = {
        let host = host.clone();
        tokio::spawn(async move { score_mode(&host, "fixture-slow", 0.0).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    std::fs::copy(&v2, dir.join(library_name("fixture_slow"))).expect("install v2");
    let report = host.reload_dir().expect("reloads");
    assert_eq!(
        report.replaced,
        vec![Replaced {
            id: "fixture-slow".to_owned(),
            old_version: "1.0.0".to_owned(),
            new_version: "2.0.0".to_owned(),
        }]
    );
    let new_pids = status(&host, "fixture-slow").worker_pids;
    assert_eq!(new_pids.len(), 1);
    assert!(!old_pids.contains(&new_pids[0]), "a new worker for v2");

    let new = host
        .score_blocking("fixture-slow", &scenario(&[]), 1, &AtomicBool::new(false))
        .expect("v2 scores");
    assert_eq!(new.get(0).expect("a row").expect("row").score, 2.0);
    let old = in_flight
        .await
        .expect("task")
        .expect("the in-flight call completes");
    assert_eq!(
        old.get(0).expect("a row").expect("row").score,
        1.0,
        "the in-flight call stayed on v1"
    );
    wait_until("the old worker exited", || {
        old_pids.iter().all(|pid| process_gone(*pid))
    });
}

#[test]
fn the_worker_binary_refuses_to_run_without_a_host() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_leverage-plugin-worker"))
        .output()
        .expect("runs");
    assert!(!output.status.success());
    // With a plugin path and stdin closed at once, it exits cleanly without loading anything.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_leverage-plugin-worker"))
        .arg(Path::new("/nonexistent.so"))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("runs");
    assert!(output.status.success(), "{output:?}");
}

#[test]
fn a_worker_that_hangs_dies_or_babbles_while_loading_is_refused_with_the_cause() {
    // Stand-ins for a worker whose plugin hangs or crashes in its initialisers, or that was
    // corrupted: `sh -c SCRIPT PLUGIN_PATH`.
    let cases = [
        ("exec sleep 30", "did not answer within"),
        ("kill -SEGV $$", "SIGSEGV"),
        (
            "printf '\\377\\377\\377\\377'; exec sleep 30",
            "broke the protocol",
        ),
    ];
    for (script, expected) in cases {
        let mut options = sandboxed(options(&[]));
        options.sandbox.worker_command = Some(WorkerCommand::new("sh").arg("-c").arg(script));
        options.sandbox.start_timeout = Duration::from_millis(500);
        let started = Instant::now();
        let host = host("sandbox-bad-worker", &[real("pressure_index")], options);
        assert!(started.elapsed() < Duration::from_secs(5));
        match &host.plugins()[0].state {
            PluginState::Refused {
                reason: RefuseReason::WorkerFailed { detail },
            } => assert!(detail.contains(expected), "{script}: {detail}"),
            other => panic!("{script}: {other:?}"),
        }
    }
}
