//! What sandbox mode costs, per scenario: the pressure-index model's `.so` called in-process
//! and in a worker process, through `PluginHost::score` (the server's path: async, pool thread,
//! deadline) and `PluginHost::score_blocking`, batched (1000 rows per call) and unbatched (one
//! row per call).
//!
//! `cargo bench -p leverage-plugin-host --bench sandbox_call`. The `.so` is built in release
//! mode by a nested cargo into `target/plugin-bench`; the worker is this crate's
//! `leverage-plugin-worker`, built by the same `cargo bench`. Prints the median of several runs.

mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use common::{CATALOG, ROWS, RUNS, build_release_plugin, median_ns, scenarios};
use leverage_plugin_host::{HostOptions, PluginHost, SANDBOX_ALL, SandboxOptions, WorkerCommand};

const ID: &str = "pressure-index";

/// ns per scenario: (1000 rows per call, 1 row per call), for `score` and `score_blocking`.
struct Figures {
    async_batched: f64,
    async_single: f64,
    blocking_batched: f64,
    blocking_single: f64,
}

fn measure(host: &PluginHost, rows: &[f64], runtime: &tokio::runtime::Runtime) -> Figures {
    let width = CATALOG.len();
    let cancel = Arc::new(AtomicBool::new(false));
    let deadline = Duration::from_secs(30);
    let async_batched = median_ns(ROWS * 10, || {
        runtime.block_on(async {
            for _ in 0..10 {
                let results = host
                    .score(ID, rows.to_vec(), ROWS, deadline, Arc::clone(&cancel))
                    .await
                    .expect("scores");
                black_box(results);
            }
        });
    });
    let async_single = median_ns(ROWS, || {
        runtime.block_on(async {
            for row in rows.chunks_exact(width) {
                let results = host
                    .score(ID, row.to_vec(), 1, deadline, Arc::clone(&cancel))
                    .await
                    .expect("scores");
                black_box(results);
            }
        });
    });
    let blocking_batched = median_ns(ROWS * 10, || {
        for _ in 0..10 {
            let results = host
                .score_blocking(ID, black_box(rows), ROWS, &cancel)
                .expect("scores");
            black_box(results);
        }
    });
    let blocking_single = median_ns(ROWS, || {
        for row in rows.chunks_exact(width) {
            let results = host
                .score_blocking(ID, black_box(row), 1, &cancel)
                .expect("scores");
            black_box(results);
        }
    });
    Figures {
        async_batched,
        async_single,
        blocking_batched,
        blocking_single,
    }
}

fn main() {
    let dir = build_release_plugin("sandbox");
    let (_, rows) = scenarios();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");

    let sandbox_options = || HostOptions {
        sandbox: SandboxOptions {
            files: [SANDBOX_ALL.to_owned()].into(),
            worker_command: Some(WorkerCommand::new(env!(
                "CARGO_BIN_EXE_leverage-plugin-worker"
            ))),
            ..SandboxOptions::default()
        },
        ..HostOptions::default()
    };
    // Loading: in-process, a copy and a dlopen; sandboxed, a copy and a worker started (spawn,
    // exec, dlopen in the worker, two round trips). A worker restart after a crash costs the
    // same start.
    let load_local_ms = median_ns(1, || {
        black_box(PluginHost::load_dir(&dir, CATALOG).expect("host"));
    }) / 1e6;
    let load_sandboxed_ms = median_ns(1, || {
        black_box(PluginHost::load_dir_with(&dir, CATALOG, sandbox_options()).expect("host"));
    }) / 1e6;
    let local = PluginHost::load_dir(&dir, CATALOG).expect("host");
    let sandboxed = PluginHost::load_dir_with(&dir, CATALOG, sandbox_options()).expect("host");
    assert!(
        sandboxed.plugins().iter().all(|status| status.sandboxed),
        "{:?}",
        sandboxed.plugins()
    );

    let local = measure(&local, &rows, &runtime);
    let remote = measure(&sandboxed, &rows, &runtime);
    let line = |what: &str, local: f64, remote: f64| {
        println!(
            "  {what:<34} {local:10.1} {remote:12.1} {:+12.1}",
            remote - local
        );
    };
    println!("pressure-index, ns per scenario, median of {RUNS} runs:");
    println!(
        "  {:<34} {:>10} {:>12} {:>12}",
        "", "in-process", "sandboxed", "overhead"
    );
    line(
        "score, 1000 rows per call",
        local.async_batched,
        remote.async_batched,
    );
    line(
        "score, 1 row per call",
        local.async_single,
        remote.async_single,
    );
    line(
        "score_blocking, 1000 rows per call",
        local.blocking_batched,
        remote.blocking_batched,
    );
    line(
        "score_blocking, 1 row per call",
        local.blocking_single,
        remote.blocking_single,
    );
    println!(
        "loading the plugin (sandboxed: starting its worker), ms: in-process {load_local_ms:.2}, \
         sandboxed {load_sandboxed_ms:.2}"
    );
}
