//! `leverage plugin check`: the exit code says whether the server would load the plugin.

use std::process::Command;

use leverage_e2e::plugin_libraries;

fn check(file: &str) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_leverage"))
        .args(["plugin", "check"])
        .arg(plugin_libraries().join(file))
        .output()
        .expect("run leverage");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
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
