//! Every way a plugin file is refused, each with a message naming the exact cause.

use leverage_plugin_api::abi::{
    ABI_MAJOR, ABI_MINOR, LAYOUT_FINGERPRINT, PANIC_ABORT, RUSTC_VERSION,
};
use leverage_plugin_host::{PluginHost, PluginState, RefuseReason};

use crate::support::{CATALOG, fixture, host, options, plugin_dir, real};

/// Loads `files` and returns the refusal of the one file expected to be refused.
fn only_refusal(label: &str, files: &[std::path::PathBuf]) -> (RefuseReason, String) {
    let host = host(label, files, options(&[]));
    let refused: Vec<_> = host
        .plugins()
        .into_iter()
        .filter_map(|status| match status.state {
            PluginState::Refused { reason } => Some(reason),
            _ => None,
        })
        .collect();
    assert_eq!(refused.len(), 1, "{refused:#?}");
    let message = refused[0].to_string();
    (refused[0].clone(), message)
}

#[test]
fn another_abi_major_is_refused_naming_both_versions_and_the_plugins_build() {
    let (reason, message) = only_refusal("wrong-abi", &[fixture("wrong_abi")]);
    assert!(
        matches!(reason, RefuseReason::AbiMajor { .. }),
        "{reason:?}"
    );
    let plugin_abi = format!("plugin ABI {}.0", ABI_MAJOR + 1);
    let host_abi = format!("speaks {ABI_MAJOR}.{ABI_MINOR}");
    for expected in [
        plugin_abi.as_str(),
        host_abi.as_str(),
        "leverage-plugin-api 2.0.0",
        RUSTC_VERSION,
    ] {
        assert!(
            message.contains(expected),
            "`{expected}` missing from: {message}"
        );
    }
}

#[test]
fn a_layout_fingerprint_mismatch_is_refused_with_both_fingerprints() {
    let (reason, message) = only_refusal("bad-layout", &[fixture("bad_layout")]);
    assert!(
        matches!(reason, RefuseReason::LayoutMismatch { .. }),
        "{reason:?}"
    );
    let expected = format!("{LAYOUT_FINGERPRINT:#018x}");
    let found = format!("{:#018x}", LAYOUT_FINGERPRINT ^ 0x00ff_00ff_00ff_00ff);
    assert!(
        message.contains(&expected) && message.contains(&found),
        "{message}"
    );
}

#[test]
fn a_panic_abort_header_is_refused() {
    let (reason, message) = only_refusal("aborts", &[fixture("aborts")]);
    match &reason {
        RefuseReason::PanicStrategy { build } => assert_eq!(build.panic_strategy, PANIC_ABORT),
        other => panic!("{other:?}"),
    }
    assert!(message.contains("panic = abort"), "{message}");
}

#[test]
fn unknown_inputs_are_refused_listing_the_unknown_and_the_known_names() {
    let (reason, message) = only_refusal("unknown-inputs", &[fixture("unknown_inputs")]);
    match reason {
        RefuseReason::UnknownInputs { unknown, known } => {
            assert_eq!(unknown, vec!["lever.moon_phase", "pool.eur_tn"]);
            assert_eq!(known.len(), CATALOG.len());
        }
        other => panic!("{other:?}"),
    }
    assert!(
        message.contains("lever.moon_phase, pool.eur_tn"),
        "{message}"
    );
    assert!(
        message.contains("known inputs: lever.use_mode, lever.participation"),
        "{message}"
    );
}

#[test]
fn a_library_without_the_entry_symbol_is_refused() {
    let (reason, message) = only_refusal("no-entry", &[fixture("no_entry")]);
    assert!(
        matches!(reason, RefuseReason::MissingEntry { .. }),
        "{reason:?}"
    );
    assert!(message.contains("leverage_plugin_entry"), "{message}");
}

#[test]
fn a_file_that_is_not_a_library_is_refused() {
    let dir = plugin_dir("not-a-library", &[]);
    std::fs::write(dir.join("libnotes.so"), "these are notes, not code").expect("write");
    let host = PluginHost::load_dir(&dir, CATALOG).expect("loads");
    let statuses = host.plugins();
    assert_eq!(statuses.len(), 1);
    match &statuses[0].state {
        PluginState::Refused {
            reason: RefuseReason::NotALibrary { error },
        } => assert!(!error.is_empty()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_metadata_is_refused_listing_every_problem() {
    let (reason, message) = only_refusal("bad-metadata", &[fixture("bad_metadata")]);
    assert!(
        matches!(reason, RefuseReason::BadMetadata { .. }),
        "{reason:?}"
    );
    for expected in [
        "duplicate component name `share`",
        "min 5 > max 1",
        "parameter `weight`: default 2 is outside [0, 1]",
    ] {
        assert!(
            message.contains(expected),
            "`{expected}` missing from: {message}"
        );
    }
}

#[test]
fn a_duplicate_plugin_id_is_refused_naming_the_file_that_has_it() {
    let dir = plugin_dir("duplicate", &[real("pressure_index")]);
    std::fs::copy(real("pressure_index"), dir.join("libzz_copy.so")).expect("copy");
    let host = PluginHost::load_dir(&dir, CATALOG).expect("loads");
    let statuses = host.plugins();
    let refused: Vec<_> = statuses
        .iter()
        .filter_map(|s| match &s.state {
            PluginState::Refused { reason } => Some((s.path.clone(), reason.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(refused.len(), 1, "{statuses:#?}");
    assert!(refused[0].0.ends_with("libzz_copy.so"));
    match &refused[0].1 {
        RefuseReason::DuplicateId { id, other } => {
            assert_eq!(id, "pressure-index");
            assert!(
                other.ends_with("libleverage_plugin_pressure_index.so"),
                "{other:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(host.state("pressure-index"), Some(PluginState::Ready));
}

#[test]
fn an_unknown_configuration_key_is_refused_with_the_known_keys() {
    let host = host(
        "bad-config",
        &[real("pressure_index")],
        options(&[("pressure-index", "weight.speeed = 0.5")]),
    );
    match &host.plugins()[0].state {
        PluginState::Refused {
            reason: reason @ RefuseReason::ConfigRejected { .. },
        } => {
            let message = reason.to_string();
            assert!(message.contains("`weight.speeed`"), "{message}");
            assert!(message.contains("known: weight.money_denied"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn refused_files_are_listed_alongside_loaded_plugins() {
    let host = host(
        "mixed",
        &[
            real("pressure_index"),
            real("prudent_pressure"),
            fixture("wrong_abi"),
            fixture("aborts"),
        ],
        options(&[]),
    );
    let statuses = host.plugins();
    let ready: Vec<_> = statuses
        .iter()
        .filter(|s| s.state == PluginState::Ready)
        .filter_map(|s| s.id.clone())
        .collect();
    assert_eq!(ready, vec!["pressure-index", "prudent-pressure"]);
    let refused: Vec<_> = statuses
        .iter()
        .filter(|s| matches!(s.state, PluginState::Refused { .. }))
        .map(|s| s.path.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    assert_eq!(
        refused,
        vec![
            Some("libfixture_aborts.so".to_owned()),
            Some("libfixture_wrong_abi.so".to_owned())
        ]
    );
}

#[test]
fn a_name_prefix_loads_only_matching_files() {
    let host = host(
        "prefix",
        &[
            real("pressure_index"),
            real("prudent_pressure"),
            fixture("wrong_abi"),
            fixture("panics"),
        ],
        leverage_plugin_host::HostOptions {
            name_prefix: Some("libleverage_plugin_".to_owned()),
            ..options(&[])
        },
    );
    let ids: Vec<_> = host
        .plugins()
        .into_iter()
        .map(|s| (s.id, s.state))
        .collect();
    assert_eq!(
        ids,
        vec![
            (Some("pressure-index".to_owned()), PluginState::Ready),
            (Some("prudent-pressure".to_owned()), PluginState::Ready)
        ]
    );
}

#[test]
fn a_missing_directory_is_an_error() {
    let missing = plugin_dir("missing", &[]).join("nope");
    assert!(PluginHost::load_dir(missing, CATALOG).is_err());
}
