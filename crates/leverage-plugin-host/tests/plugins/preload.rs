//! The pre-load check (finding F6 of docs/fuzzing.md): with a worker command configured, every
//! file that is to run in this process is loaded first in a worker process (this crate's
//! `leverage-plugin-worker`), and loaded here only once that worker has described it. A file
//! that crashes the loader costs that worker, never this process.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use leverage_plugin_host::{
    HostOptions, PluginHost, PluginState, RefuseReason, SandboxOptions, WorkerCommand,
};

use crate::damage::{crashes_the_loader, f6_input};
use crate::sandbox::worker_command;
use crate::support::{CATALOG, host, library_name, options, plugin_dir, real, scenario};

/// `base` with the pre-load check: no file sandboxed, a worker command set.
fn preloaded(base: HostOptions) -> HostOptions {
    HostOptions {
        sandbox: SandboxOptions {
            worker_command: Some(worker_command()),
            ..SandboxOptions::default()
        },
        ..base
    }
}

/// Why the file named `file` in the host's directory was refused.
fn refusal_of(host: &PluginHost, file: &str) -> RefuseReason {
    host.plugins()
        .into_iter()
        .filter(|status| status.path.file_name().is_some_and(|name| name == file))
        .find_map(|status| match status.state {
            PluginState::Refused { reason } => Some(reason),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{file} was not refused: {:#?}", host.plugins()))
}

fn score(host: &PluginHost, id: &str) -> f64 {
    host.score_blocking(id, &scenario(&[]), 1, &AtomicBool::new(false))
        .expect("scores")
        .get(0)
        .expect("a row")
        .expect("row scores")
        .score
}

#[test]
fn damaged_files_are_refused_and_whole_ones_load_in_this_process() {
    let original = std::fs::read(real("pressure_index")).expect("plugin file");
    let dir = plugin_dir(
        "preload",
        &[real("pressure_index"), real("prudent_pressure")],
    );
    std::fs::write(
        dir.join("libcrashes_loader.so"),
        crashes_the_loader(&original),
    )
    .expect("write");
    std::fs::copy(f6_input(), dir.join("libf6.so")).expect("copy");
    let host = PluginHost::load_dir_with(&dir, CATALOG, preloaded(options(&[]))).expect("loads");

    for id in ["pressure-index", "prudent-pressure"] {
        let status = host
            .plugins()
            .into_iter()
            .find(|status| status.id.as_deref() == Some(id))
            .expect("loaded");
        assert_eq!(status.state, PluginState::Ready);
        assert!(
            !status.sandboxed && status.worker_pids.is_empty(),
            "served by this process: {status:?}"
        );
        assert!(score(&host, id).is_finite());
    }
    let crashed = refusal_of(&host, "libcrashes_loader.so");
    assert!(
        crashed
            .to_string()
            .starts_with("crashed the loader (signal 11)"),
        "{crashed}"
    );
    assert!(
        matches!(&crashed, RefuseReason::LoaderCrashed { signal: 11, detail } if detail.contains("SIGSEGV")),
        "{crashed:?}"
    );
    // The input of F6 never reaches a loader: the check of the file's structure refuses it.
    let f6 = refusal_of(&host, "libf6.so");
    assert!(
        matches!(&f6, RefuseReason::Damaged { problem } if problem.contains("dynamic section")),
        "{f6:?}"
    );

    // A reload that finds a damaged new version of a loaded plugin refuses it; the version
    // loaded before keeps serving.
    let before = score(&host, "pressure-index");
    let file = library_name("leverage_plugin_pressure_index");
    std::fs::write(dir.join(&file), crashes_the_loader(&original)).expect("damage");
    let report = host.reload_dir().expect("reloads");
    assert_eq!(report.refused.len(), 1, "{report:?}");
    assert!(
        matches!(
            &report.refused[0].reason,
            RefuseReason::LoaderCrashed { signal: 11, .. }
        ),
        "{report:?}"
    );
    assert!(report.unchanged.contains(&"pressure-index".to_owned()));
    assert_eq!(host.state("pressure-index"), Some(PluginState::Ready));
    assert_eq!(score(&host, "pressure-index").to_bits(), before.to_bits());
}

#[test]
fn a_pre_load_check_that_does_not_conclude_refuses_the_file_unless_opted_out() {
    // Stand-ins for the worker (`sh -c SCRIPT PLUGIN_PATH`), for a whole plugin file: whatever
    // keeps the check from concluding refuses the file; only a death by a signal of the
    // worker's own is a crash of the loader (a worker killed at the timeout is not).
    let sh = |script: &str| WorkerCommand::new("sh").arg("-c").arg(script);
    let cases = [
        (
            WorkerCommand::new("/nonexistent/leverage"),
            "no worker process could be started",
            false,
        ),
        (sh("exit 3"), "exited with status 3", false),
        (sh("exec sleep 30"), "did not answer within", false),
        (sh("kill -SEGV $$"), "crashed the loader (signal 11)", true),
    ];
    for (command, expected, crash) in cases {
        let mut options = preloaded(options(&[]));
        options.sandbox.worker_command = Some(command.clone());
        options.sandbox.start_timeout = Duration::from_millis(500);
        let refused = host(
            "preload-bad-worker",
            &[real("pressure_index")],
            options.clone(),
        );
        let listed = refused.plugins();
        assert_eq!(listed.len(), 1, "{command:?}: {listed:?}");
        match &listed[0].state {
            PluginState::Refused { reason } => {
                assert!(
                    reason.to_string().contains(expected),
                    "{command:?}: {reason}"
                );
                assert_eq!(
                    matches!(reason, RefuseReason::LoaderCrashed { .. }),
                    crash,
                    "{command:?}: {reason:?}"
                );
                assert_eq!(
                    matches!(reason, RefuseReason::PreloadFailed { .. }),
                    !crash,
                    "{command:?}: {reason:?}"
                );
            }
            other => panic!("{command:?}: {other:?}"),
        }
        // Opted out, the same file loads directly.
        options.sandbox.preload_check = false;
        let loaded = host("preload-off", &[real("pressure_index")], options);
        assert_eq!(loaded.state("pressure-index"), Some(PluginState::Ready));
    }
}
