//! What a call through the plugin boundary costs, per scenario: the pressure-index model called
//! natively (linked as an rlib) against the same model in its `.so`, called through
//! `PluginHost::score_blocking`, batched (1000 and 10 rows per call) and unbatched (one row per
//! call).
//!
//! `cargo bench -p leverage-plugin-host --bench plugin_call`. The `.so` is built in release
//! mode by a nested cargo into `target/plugin-bench`. Prints the median of several runs.

mod common;

use std::hint::black_box;
use std::sync::atomic::AtomicBool;

use common::{CATALOG, ROWS, RUNS, build_release_plugin, median_ns, scenarios};
use leverage_plugin_api::{Config, Output, ScoringPlugin};
use leverage_plugin_host::PluginHost;
use leverage_plugin_pressure_index::PressureIndex;
use leverage_pressure_model::v2::{INPUTS, PARAMETERS};

fn main() {
    let dir = build_release_plugin("bench");
    let (model_rows, catalog_rows) = scenarios();
    let width = CATALOG.len();

    let mut native = PressureIndex::new(&Config::defaults(&PARAMETERS)).expect("model");
    let mut out = vec![0.0; 6];
    let native_ns = median_ns(ROWS * 100, || {
        for _ in 0..100 {
            for row in model_rows.chunks_exact(INPUTS.len()) {
                let mut output = Output::new(&mut out);
                native.score(black_box(row), &mut output).expect("scores");
                black_box(&out);
            }
        }
    });

    let host = PluginHost::load_dir(&dir, CATALOG).expect("host");
    let cancel = AtomicBool::new(false);
    let batched_ns = median_ns(ROWS * 10, || {
        for _ in 0..10 {
            let results = host
                .score_blocking("pressure-index", black_box(&catalog_rows), ROWS, &cancel)
                .expect("scores");
            black_box(results);
        }
    });
    let batch10_ns = median_ns(ROWS, || {
        for rows in catalog_rows.chunks_exact(width * 10) {
            let results = host
                .score_blocking("pressure-index", black_box(rows), 10, &cancel)
                .expect("scores");
            black_box(results);
        }
    });
    let unbatched_ns = median_ns(ROWS, || {
        for row in catalog_rows.chunks_exact(width) {
            let results = host
                .score_blocking("pressure-index", black_box(row), 1, &cancel)
                .expect("scores");
            black_box(results);
        }
    });

    println!("pressure-index, ns per scenario, median of {RUNS} runs:");
    println!("  native (rlib, Output over a reused buffer)   {native_ns:8.1}");
    println!("  .so via score_blocking, {ROWS} rows per call  {batched_ns:8.1}");
    println!("  .so via score_blocking, 10 rows per call     {batch10_ns:8.1}");
    println!("  .so via score_blocking, 1 row per call       {unbatched_ns:8.1}");
}
