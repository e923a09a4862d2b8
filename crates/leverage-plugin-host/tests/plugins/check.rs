//! `check_plugin`, the engine of `leverage plugin check`.

use std::time::Duration;

use leverage_plugin_host::{CheckOptions, check_plugin};

use crate::sandbox::worker_command;
use crate::support::{CATALOG, fixture, real, sample_rows};

fn samples() -> CheckOptions {
    CheckOptions {
        sample_rows: sample_rows().0,
        ..CheckOptions::default()
    }
}

#[test]
fn the_real_plugins_pass_the_check() {
    // With and without the pre-load check in a worker process.
    for (name, worker_command) in [
        ("pressure_index", None),
        ("prudent_pressure", None),
        ("pressure_index", Some(worker_command())),
        ("prudent_pressure", Some(worker_command())),
    ] {
        let options = CheckOptions {
            worker_command,
            ..samples()
        };
        let report = check_plugin(&real(name), CATALOG, &options);
        assert!(report.is_acceptable(), "{report}");
        assert_eq!(report.samples.len(), sample_rows().1);
        let text = report.to_string();
        assert!(text.contains("result:      acceptable"), "{text}");
        assert!(
            text.contains("inputs:") && text.contains("parameters:"),
            "{text}"
        );
    }
}

#[test]
fn check_reports_why_the_server_would_refuse_a_plugin() {
    let report = check_plugin(&fixture("unknown_inputs"), CATALOG, &samples());
    assert!(!report.is_acceptable());
    assert!(report.refusal.is_some());
    assert_eq!(
        report.metadata.as_ref().map(|m| m.id.as_str()),
        Some("fixture-unknown-inputs"),
        "the metadata is still shown"
    );
    assert!(report.problems[0].contains("lever.moon_phase"), "{report}");

    let report = check_plugin(&fixture("bad_metadata"), CATALOG, &samples());
    assert!(report.problems.len() >= 3, "{report}");
}

#[test]
fn check_reports_bad_rows_and_panics() {
    let report = check_plugin(&fixture("out_of_range"), CATALOG, &samples());
    assert!(!report.is_acceptable());
    assert!(
        report.problems.iter().any(|p| p.contains("`score` = 150")),
        "{report}"
    );

    let report = check_plugin(&fixture("panics"), CATALOG, &samples());
    assert!(
        report.problems.iter().any(|p| p.contains("panicked")),
        "{report}"
    );
}

#[test]
fn check_gives_up_on_a_plugin_that_does_not_return() {
    let options = CheckOptions {
        deadline: Duration::from_millis(200),
        ..samples()
    };
    let report = check_plugin(&fixture("hangs"), CATALOG, &options);
    assert!(
        report.problems.iter().any(|p| p.contains("did not finish")),
        "{report}"
    );
}

#[test]
fn check_without_sample_rows_is_not_acceptable() {
    let report = check_plugin(&real("pressure_index"), CATALOG, &CheckOptions::default());
    assert!(!report.is_acceptable());
    assert!(report.metadata.is_some());
}

#[test]
fn check_names_every_mistake_in_the_declaration_of_a_plugins_own_inputs() {
    let report = check_plugin(&fixture("bad_own_inputs"), CATALOG, &samples());
    assert!(!report.is_acceptable());
    assert!(report.refusal.is_some(), "the server would refuse it too");
    let problems = report.problems.join("\n");
    for expected in [
        "own input `escrow.rate`: min 5 > max 1",
        "own input `escrow.share`: default 1.5 is outside [0, 1]",
        "duplicate input name `escrow.share`",
        "duplicate input name `pool.eur_bn`",
        "own input `escrow share`: a name is made of a-z, A-Z, 0-9, `-`, `_` and `.`",
    ] {
        assert!(problems.contains(expected), "{expected:?} in:\n{problems}");
    }
}

#[test]
fn check_scores_a_plugin_with_inputs_of_its_own_across_their_range() {
    let report = check_plugin(&fixture("escrow"), CATALOG, &samples());
    assert!(report.is_acceptable(), "{report}");
    let text = report.to_string();
    assert!(
        text.contains("escrow.share [fraction 0..1] in [0, 1], required"),
        "{text}"
    );
    assert!(text.contains("escrow.enforcement"), "{text}");
    // Samples run from each own input's minimum to its maximum: the first row escrows
    // nothing, the last the whole pool.
    let first = report.samples.iter().next().unwrap().unwrap();
    assert_eq!(first.components()[0], 0.0);
}
