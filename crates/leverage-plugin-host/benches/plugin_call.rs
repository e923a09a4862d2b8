//! What a call through the plugin boundary costs, per scenario: the pressure-index model called
//! natively (linked as an rlib) against the same model in its `.so`, called through
//! `PluginHost::score_blocking`, batched (1000 and 10 rows per call) and unbatched (one row per
//! call).
//!
//! `cargo bench -p leverage-plugin-host --bench plugin_call`. The `.so` is built in release
//! mode by a nested cargo into `target/plugin-bench`. Prints the median of several runs.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use leverage_plugin_api::{Config, Output, ScoringPlugin};
use leverage_plugin_host::PluginHost;
use leverage_plugin_pressure_index::PressureIndex;
use leverage_pressure_model::{INPUTS, PARAMETERS, REFERENCE_ROW};

const ROWS: usize = 1000;
const RUNS: usize = 9;

/// The catalog, as the server supplies it (the model reads 10 of these 24 columns).
const CATALOG: &[&str] = &[
    "lever.use_mode",
    "lever.participation",
    "lever.interest_rate_pct",
    "lever.sanctions_tightening",
    "lever.safe_takeup",
    "lever.defence_spending_gdp_pct",
    "lever.ceasefire",
    "lever.guarantee_sharing",
    "lever.horizon_years",
    "pool.eur_bn",
    "pool.immobilised_eur_bn",
    "windfall.annual_eur_bn",
    "legal.risk.immobilisation",
    "legal.risk.windfall_profits",
    "legal.risk.profits_backed_loan",
    "legal.risk.reparations_loan",
    "legal.risk.confiscation",
    "legal.risk.selected",
    "exposure.retaliation_eur_bn",
    "private.frozen_eur_bn",
    "funding.safe_eur_bn",
    "funding.ukraine_need_eur_bn",
    "russia.reserves_eur_bn",
    "russia.military_spending_eur_bn",
];

fn build_release_plugin() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = root.join("target/plugin-bench");
    let status = Command::new(env!("CARGO"))
        .current_dir(&root)
        .args([
            "build",
            "--release",
            "-p",
            "leverage-plugin-pressure-index",
            "--target-dir",
        ])
        .arg(&target)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the plugin failed");
    let dir = root.join("target/plugin-bench/dirs/bench");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench dir");
    let name = "libleverage_plugin_pressure_index.so";
    std::fs::copy(target.join("release").join(name), dir.join(name)).expect("copy plugin");
    dir
}

/// 1000 different scenarios: every use mode, varied levers. Returns (model rows, catalog rows).
fn scenarios() -> (Vec<f64>, Vec<f64>) {
    let mut model_rows = Vec::with_capacity(ROWS * INPUTS.len());
    let mut catalog_rows = Vec::with_capacity(ROWS * CATALOG.len());
    for i in 0..ROWS {
        let mut row = REFERENCE_ROW;
        row[0] = (i % 5) as f64;
        row[1] = (i % 11) as f64 / 10.0;
        row[4] = 1.0 + (i % 30) as f64;
        model_rows.extend(row);
        for name in CATALOG {
            let value = INPUTS
                .iter()
                .position(|input| input.name() == *name)
                .map_or(0.5, |column| row[column]);
            catalog_rows.push(value);
        }
    }
    (model_rows, catalog_rows)
}

/// Median over `RUNS` runs of `per_run()`'s nanoseconds per scenario.
fn median_ns(scenarios_per_run: usize, mut per_run: impl FnMut()) -> f64 {
    per_run(); // warm-up
    let mut samples: Vec<f64> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            per_run();
            start.elapsed().as_nanos() as f64 / scenarios_per_run as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[RUNS / 2]
}

fn main() {
    let dir = build_release_plugin();
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
