//! `leverage plugin check`: the exit code says whether the server would load the plugin.

#[allow(dead_code)]
#[path = "../../leverage-plugin-host/tests/plugins/damage.rs"]
mod damage;

use std::path::Path;
use std::process::{Command, ExitStatus};

use leverage_e2e::plugin_libraries;

use damage::{crashes_the_loader, f6_input};

fn check_path(path: &Path) -> (ExitStatus, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_leverage"))
        .args(["plugin", "check"])
        .arg(path)
        .output()
        .expect("run leverage");
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn check(file: &str) -> (bool, String) {
    let (status, text) = check_path(&plugin_libraries().join(file));
    (status.success(), text)
}

#[test]
fn a_real_model_passes_with_its_metadata_and_sample_scores() {
    let (ok, text) = check("libleverage_plugin_prudent_pressure.so");
    assert!(ok, "{text}");
    assert!(text.contains("plugin: prudent-pressure"), "{text}");
    assert!(text.contains("sample 0: score"), "{text}");
    assert!(
        text.contains("ok: the server would load this plugin"),
        "{text}"
    );
}

#[test]
fn a_plugin_the_server_would_refuse_fails_with_the_cause() {
    let (ok, text) = check("libfixture_unknown_inputs.so");
    assert!(!ok);
    assert!(text.contains("lever.moon_phase"), "{text}");
    let (ok, text) = check("libfixture_wrong_abi.so");
    assert!(!ok);
    assert!(text.to_lowercase().contains("abi"), "{text}");
    let (ok, text) = check("libfixture_panics.so");
    assert!(
        !ok,
        "a plugin that panics on every sample is reported: {text}"
    );
}

#[test]
fn a_plugin_declaring_its_own_inputs_is_checked_and_refused_with_the_exact_cause() {
    let (ok, text) = check("libfixture_escrow_v1.so");
    assert!(ok, "{text}");
    assert!(
        text.contains("own input escrow.share [fraction 0..1] in [0, 1], required"),
        "{text}"
    );
    assert!(text.contains("own input escrow.enforcement"), "{text}");
    assert!(text.contains("parameter weight = 0.6"), "{text}");
    assert!(
        text.contains("  model card: present, ")
            && text.contains("bytes: \"Fixture: escrow pressure — model card\""),
        "{text}"
    );

    // A plugin of ABI 1.0 carries no card: said, and still acceptable.
    let (ok, text) = check("libfixture_abi_1_0.so");
    assert!(ok, "{text}");
    assert!(text.contains("  model card: none (warning: "), "{text}");

    let (ok, text) = check("libfixture_bad_own_inputs.so");
    assert!(!ok, "{text}");
    for cause in [
        "own input `escrow.rate`: min 5 > max 1",
        "own input `escrow.share`: default 1.5 is outside [0, 1]",
        "duplicate input name `escrow.share`",
        "duplicate input name `pool.eur_bn`",
    ] {
        assert!(text.contains(cause), "{cause:?} in:\n{text}");
    }
}

/// Finding F6 (docs/fuzzing.md): damaged files that crashed the loader inside `leverage plugin
/// check` are reported, with exit status 1, like any plugin the server would refuse: the input
/// of F6 by the check of the file's structure, a file with a damaged relocation table by the
/// worker process (`leverage plugin-worker`) that loads it first.
#[test]
fn damaged_files_are_reported_not_fatal() {
    let (status, text) = check_path(&f6_input());
    assert_eq!(status.code(), Some(1), "{status}: {text}");
    assert!(
        text.contains("damaged library file, not loaded: the dynamic section"),
        "{text}"
    );

    let original = std::fs::read(plugin_libraries().join("libleverage_plugin_pressure_index.so"))
        .expect("plugin file");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("libcrashes_loader.so");
    std::fs::write(&path, crashes_the_loader(&original)).expect("write");
    let (status, text) = check_path(&path);
    assert_eq!(status.code(), Some(1), "{status}: {text}");
    assert!(text.contains("crashed the loader (signal 11)"), "{text}");
    assert!(text.contains("SIGSEGV"), "{text}");
}
