//! What both benchmarks share: the catalog, 1000 scenarios, a release build of the
//! pressure-index plugin, and the median of several runs.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use leverage_pressure_model::v2::{INPUTS, REFERENCE_ROW, UseMode};

pub const ROWS: usize = 1000;
pub const RUNS: usize = 9;

/// The catalog, as the server supplies it (the model reads 13 of these 35 columns).
pub const CATALOG: &[&str] = &[
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
    "funding.era_eur_bn",
    "private.frozen_share_of_pool",
    "legal.risk.package_2026",
    "russia.reserves_latest_eur_bn",
    "windfall.received_12m_eur_bn",
    "funding.era_in_force_eur_bn",
    "funding.eu_loan_in_force_eur_bn",
    "legal.annulment.selected",
    "legal.retaliation.selected",
    "legal.damages_eur_bn",
    "exposure.enforceable_eur_bn",
];

pub fn build_release_plugin(label: &str) -> PathBuf {
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
    let dir = root.join("target/plugin-bench/dirs").join(label);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench dir");
    let name = "libleverage_plugin_pressure_index.so";
    std::fs::copy(target.join("release").join(name), dir.join(name)).expect("copy plugin");
    dir
}

/// 1000 different scenarios: every use mode, varied levers. Returns (model rows, catalog rows).
pub fn scenarios() -> (Vec<f64>, Vec<f64>) {
    let mut model_rows = Vec::with_capacity(ROWS * INPUTS.len());
    let mut catalog_rows = Vec::with_capacity(ROWS * CATALOG.len());
    for i in 0..ROWS {
        let mut row = REFERENCE_ROW;
        row[0] = (i % UseMode::ALL.len()) as f64;
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
pub fn median_ns(scenarios_per_run: usize, mut per_run: impl FnMut()) -> f64 {
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
