//! Runs the Python client's pytest suite (`clients/python/tests`) against the REAL `leverage`
//! binary with the two bundled plugins and the fixture `fixture-escrow`, so that
//! `cargo test --workspace` covers the Python client too.
//!
//! Python is `LEVERAGE_PYTHON` when set, else the clone's `.venv/bin/python` when `.ci/run` (or
//! a developer) made one, else `python3`. Without it, or without the packages of
//! `clients/python/requirements-dev.txt`, the test fails when `CI` is set (CI must never skip
//! silently) and otherwise says why it skips and passes.

use std::process::Command;

mod common;
use common::{PLUGINS, PYTHON_HELP, python, python_ready, skip_or_fail, workspace};

/// The modules the suite imports; each comes from `clients/python/requirements-dev.txt`.
const MODULES: &[&str] = &[
    "grpc",
    "grpc_tools",
    "grpc_status",
    "grpc_reflection",
    "google.rpc.error_details_pb2",
    "pytest",
    "setuptools",
    // The client's optional pandas extra, whose to_frame() the suite tests (test_frames.py).
    "pandas",
];

/// pyproject.toml's license field needs setuptools 77 to build the package.
const SETUPTOOLS_CHECK: &str = "assert int(setuptools.__version__.split('.')[0]) >= 77, \
     f'setuptools {setuptools.__version__} is older than 77'\n";

#[test]
fn python_client_suite_passes_against_the_real_server() {
    const TEST: &str = "python_client_suite_passes_against_the_real_server";
    let python = python();
    if let Err(why) = python_ready(&python, MODULES, SETUPTOOLS_CHECK) {
        skip_or_fail(TEST, &why, PYTHON_HELP);
        return;
    }

    let plugins = tempfile::tempdir().expect("temp dir");
    let built = leverage_e2e::plugin_libraries();
    // The bundled plugins, and fixture-escrow: inputs of its own and parameters, for the
    // scenario builder's tests (tests/test_plugin_inputs.py).
    let escrow = [("libfixture_escrow_v1.so", "libfixture_escrow.so")];
    let bundled = PLUGINS.iter().map(|name| (*name, *name));
    for (from, to) in bundled.chain(escrow) {
        std::fs::copy(built.join(from), plugins.path().join(to))
            .unwrap_or_else(|e| panic!("copy {from}: {e}"));
    }

    let root = workspace();
    let out = Command::new(&python)
        .current_dir(&root)
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "clients/python/tests",
        ])
        .env("LEVERAGE_BIN", env!("CARGO_BIN_EXE_leverage"))
        .env("LEVERAGE_PLUGIN_DIR", plugins.path())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("run pytest");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{}\n{stdout}{stderr}", python.display());
    assert!(
        out.status.success(),
        "pytest failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    // pytest exits 5 when it collected nothing, which the check above refuses; make sure the
    // summary names passed tests and no skip hid a missing piece.
    let summary = stdout.lines().last().unwrap_or("");
    assert!(
        summary.contains(" passed") && !summary.contains("skipped"),
        "unexpected pytest summary: {summary}"
    );
}
