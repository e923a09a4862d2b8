//! Builds the fixture and real plugins with a nested cargo, once per test binary, and makes
//! plugin directories out of them.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use leverage_plugin_host::{HostOptions, PluginHost};

/// The inputs the server supplies, in column order (the contract with plugin authors).
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

/// A scenario near the situation of early 2026, in catalog order.
const REFERENCE: &[(&str, f64)] = &[
    ("lever.use_mode", 1.0),
    ("lever.participation", 0.8),
    ("lever.interest_rate_pct", 2.0),
    ("lever.sanctions_tightening", 0.2),
    ("lever.safe_takeup", 0.75),
    ("lever.defence_spending_gdp_pct", 2.1),
    ("lever.ceasefire", 0.0),
    ("lever.guarantee_sharing", 0.25),
    ("lever.horizon_years", 5.0),
    ("pool.eur_bn", 185.0),
    ("pool.immobilised_eur_bn", 260.0),
    ("windfall.annual_eur_bn", 2.75),
    ("legal.risk.immobilisation", 0.2),
    ("legal.risk.windfall_profits", 0.25),
    ("legal.risk.profits_backed_loan", 0.35),
    ("legal.risk.reparations_loan", 0.55),
    ("legal.risk.confiscation", 0.85),
    ("legal.risk.selected", 0.25),
    ("exposure.retaliation_eur_bn", 16.0),
    ("private.frozen_eur_bn", 53.0),
    ("funding.safe_eur_bn", 150.0),
    ("funding.ukraine_need_eur_bn", 135.0),
    ("russia.reserves_eur_bn", 580.0),
    ("russia.military_spending_eur_bn", 120.0),
    ("funding.era_eur_bn", 45.0),
    ("private.frozen_share_of_pool", 0.29),
    ("legal.risk.package_2026", 0.25),
    ("russia.reserves_latest_eur_bn", 700.0),
    ("windfall.received_12m_eur_bn", 3.0),
    ("funding.era_in_force_eur_bn", 45.0),
    ("funding.eu_loan_in_force_eur_bn", 90.0),
    ("legal.annulment.selected", 0.15),
    ("legal.retaliation.selected", 0.5),
    ("legal.damages_eur_bn", 200.0),
    ("exposure.enforceable_eur_bn", 10.0),
];

/// One catalog row: the reference scenario with `changes` applied.
pub fn scenario(changes: &[(&str, f64)]) -> Vec<f64> {
    CATALOG
        .iter()
        .map(|name| {
            changes
                .iter()
                .chain(REFERENCE)
                .find(|(key, _)| key == name)
                .map(|(_, value)| *value)
                .expect("every catalog name has a reference value")
        })
        .collect()
}

/// Rows for every use mode (the 2026 package included), with and without a ceasefire, at two
/// horizons: 24 scenarios.
pub fn sample_rows() -> (Vec<f64>, usize) {
    let mut rows = Vec::new();
    let mut n = 0;
    for mode in 0..6 {
        for ceasefire in [0.0, 1.0] {
            for horizon in [2.0, 10.0] {
                let risk = [0.2, 0.25, 0.35, 0.55, 0.85, 0.25][mode];
                rows.extend(scenario(&[
                    ("lever.use_mode", mode as f64),
                    ("lever.ceasefire", ceasefire),
                    ("lever.horizon_years", horizon),
                    ("legal.risk.selected", risk),
                ]));
                n += 1;
            }
        }
    }
    (rows, n)
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// Runs a nested cargo build into `target/<target_dir>` and returns its `debug` directory.
///
/// A dedicated target directory means no lock conflict with the cargo that runs these tests.
pub fn cargo_build(mut command: Command, target_dir: &str, args: &[&str]) -> PathBuf {
    let root = workspace_root();
    let target = root.join("target").join(target_dir);
    command
        .current_dir(&root)
        .arg("build")
        .arg("--target-dir")
        .arg(&target)
        .args(args)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET_DIR");
    eprintln!("building plugins: {command:?}");
    let output = command.output().expect("cargo runs");
    assert!(
        output.status.success(),
        "nested cargo build failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    target.join("debug")
}

/// Every fixture and both real plugins, built once per test binary with the same cargo that
/// runs the tests.
pub fn artifacts() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let mut args = vec![
            "-p",
            "leverage-plugin-pressure-index",
            "-p",
            "leverage-plugin-prudent-pressure",
        ];
        let fixtures = workspace_root().join("tests/fixtures/plugins");
        let names: Vec<String> = std::fs::read_dir(&fixtures)
            .expect("fixtures directory")
            .map(|entry| {
                let name = entry.expect("entry").file_name();
                format!("fixture-{}", name.to_string_lossy())
            })
            .collect();
        for name in &names {
            args.push("-p");
            args.push(name);
        }
        cargo_build(Command::new(env!("CARGO")), "plugin-tests", &args)
    })
}

/// The file name of a built library: `fixture-slow` → `libfixture_slow.so`.
pub fn library_name(package: &str) -> String {
    format!(
        "{}{}{}",
        std::env::consts::DLL_PREFIX,
        package.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    )
}

pub fn real(name: &str) -> PathBuf {
    artifacts().join(library_name(&format!("leverage_plugin_{name}")))
}

pub fn fixture(name: &str) -> PathBuf {
    artifacts().join(library_name(&format!("fixture_{name}")))
}

/// Fixture `name` built with `--features v2` into its own target directory, once per test
/// binary: `fixture_v2("slow")` → `…/plugin-tests-v2/debug/libfixture_slow.so`.
pub fn fixture_v2(name: &str) -> PathBuf {
    static FILES: Mutex<BTreeMap<String, PathBuf>> = Mutex::new(BTreeMap::new());
    // Held while building: the builds share a target directory.
    let mut files = FILES.lock().unwrap_or_else(PoisonError::into_inner);
    files
        .entry(name.to_owned())
        .or_insert_with(|| {
            let package = format!("fixture-{name}");
            let feature = format!("{package}/v2");
            let args = ["-p", package.as_str(), "--features", feature.as_str()];
            cargo_build(Command::new(env!("CARGO")), "plugin-tests-v2", &args)
                .join(library_name(&package))
        })
        .clone()
}

/// A fresh, empty directory under `target/plugin-tests/dirs`.
pub fn empty_dir(label: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = workspace_root()
        .join("target/plugin-tests/dirs")
        .join(format!(
            "{label}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create test dir");
    dir
}

/// A plugin directory holding copies of `files`.
pub fn plugin_dir(label: &str, files: &[PathBuf]) -> PathBuf {
    let dir = empty_dir(label);
    for file in files {
        let name = file.file_name().expect("file name");
        std::fs::copy(file, dir.join(name)).expect("copy plugin");
    }
    dir
}

/// Options with the given plugin configurations.
pub fn options(configs: &[(&str, &str)]) -> HostOptions {
    HostOptions {
        configs: configs
            .iter()
            .map(|(id, text)| ((*id).to_owned(), (*text).to_owned()))
            .collect::<HashMap<_, _>>(),
        ..HostOptions::default()
    }
}

/// A host over copies of `files`.
pub fn host(label: &str, files: &[PathBuf], options: HostOptions) -> PluginHost {
    PluginHost::load_dir_with(plugin_dir(label, files), CATALOG, options).expect("host loads")
}
