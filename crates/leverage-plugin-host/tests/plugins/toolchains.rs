//! Plugins built another way than the host: by another rustc, with `panic = "abort"`, or as a
//! standalone crate from the template.

use std::process::Command;
use std::sync::atomic::AtomicBool;

use leverage_plugin_api::abi::{PANIC_ABORT, RUSTC_VERSION};
use leverage_plugin_host::{CheckOptions, PluginHost, PluginState, RefuseReason, check_plugin};

use crate::support::{
    CATALOG, cargo_build, library_name, options, plugin_dir, real, sample_rows, workspace_root,
};

fn nightly_available() -> Result<(), String> {
    let output = Command::new("rustup")
        .args(["toolchain", "list"])
        .output()
        .map_err(|error| format!("rustup cannot run: {error}"))?;
    let list = String::from_utf8_lossy(&output.stdout);
    if list.lines().any(|line| line.starts_with("nightly")) {
        Ok(())
    } else {
        Err(format!("`rustup toolchain list` has no nightly:\n{list}"))
    }
}

fn scores(host: &PluginHost) -> Vec<Vec<u64>> {
    let (rows, n) = sample_rows();
    let results = host
        .score_blocking("pressure-index", &rows, n, &AtomicBool::new(false))
        .expect("scores");
    results
        .iter()
        .map(|row| {
            let row = row.expect("row");
            std::iter::once(row.score)
                .chain(row.components().iter().copied())
                .map(f64::to_bits)
                .collect()
        })
        .collect()
}

/// Builds pressure-index with `cargo +nightly` (separate target dir) and proves this
/// stable-built host loads it and scores bit-identically to the stable build. Without a
/// nightly toolchain it prints why and passes without checking.
#[test]
fn nightly_built_plugin_scores_bit_identically_to_stable_or_skips_without_nightly() {
    if let Err(why) = nightly_available() {
        eprintln!("SKIPPED nightly_built_plugin_scores_bit_identically_to_stable: {why}");
        return;
    }
    let mut nightly = Command::new("rustup");
    nightly
        .args(["run", "nightly", "cargo"])
        // Whatever pinned the outer toolchain must not pin this one.
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("RUSTC")
        .env_remove("RUSTDOC");
    let dir = cargo_build(
        nightly,
        "plugin-tests-nightly",
        &["-p", "leverage-plugin-pressure-index"],
    );
    let nightly_so = dir.join(library_name("leverage_plugin_pressure_index"));

    let stable = PluginHost::load_dir(plugin_dir("stable", &[real("pressure_index")]), CATALOG)
        .expect("loads");
    let nightly =
        PluginHost::load_dir(plugin_dir("nightly", &[nightly_so]), CATALOG).expect("loads");
    let status = &nightly.plugins()[0];
    assert_eq!(status.state, PluginState::Ready, "{status:?}");
    let build = status.build.as_ref().expect("build info");
    assert!(build.rustc_version.contains("nightly"), "{build}");
    assert_ne!(
        build.rustc_version, RUSTC_VERSION,
        "really another compiler"
    );
    assert_eq!(scores(&stable), scores(&nightly));
}

/// A real plugin built with `-C panic=abort`: the export macro, evaluated in the plugin crate,
/// records it, and the host refuses the plugin.
#[test]
fn a_real_panic_abort_build_is_refused() {
    let mut command = Command::new(env!("CARGO"));
    let flags = std::env::var("RUSTFLAGS").unwrap_or_default();
    command
        .env("RUSTFLAGS", format!("{flags} -C panic=abort"))
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    let dir = cargo_build(
        command,
        "plugin-tests-abort",
        &["-p", "leverage-plugin-pressure-index"],
    );
    let so = dir.join(library_name("leverage_plugin_pressure_index"));
    let host = PluginHost::load_dir_with(plugin_dir("abort", &[so]), CATALOG, options(&[]))
        .expect("loads");
    match &host.plugins()[0].state {
        PluginState::Refused {
            reason: RefuseReason::PanicStrategy { build },
        } => assert_eq!(build.panic_strategy, PANIC_ABORT),
        other => panic!("{other:?}"),
    }
}

/// The template is a standalone crate (its own `[workspace]`): it builds on its own and passes
/// `check`.
#[test]
fn the_template_plugin_builds_standalone_and_passes_the_check() {
    let manifest = workspace_root().join("plugins/template/Cargo.toml");
    let manifest = manifest.to_string_lossy().into_owned();
    let dir = cargo_build(
        Command::new(env!("CARGO")),
        "plugin-tests-template",
        &["--manifest-path", &manifest],
    );
    let so = dir.join(library_name("leverage_plugin_template"));
    let report = check_plugin(
        &so,
        CATALOG,
        &CheckOptions {
            sample_rows: sample_rows().0,
            ..CheckOptions::default()
        },
    );
    assert!(report.is_acceptable(), "{report}");
}
