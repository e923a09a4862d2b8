//! What an operator chooses about sandbox mode: which files, which worker command, which caps.
//!
//! Kept apart from the machinery so that the public settings read on their own: everything
//! here is plain data, checked and used by the other sandbox modules.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[cfg(doc)]
use crate::error::RefuseReason;

/// [`SandboxOptions::files`] entry that sandboxes every plugin file.
pub const SANDBOX_ALL: &str = "*";

/// The command that starts a sandbox worker. The host appends one argument, the path of its
/// private copy of the plugin file, and talks to the process over its stdin and stdout; stderr
/// is inherited (the plugin's own prints land there too).
///
/// For the server: its own executable and the worker subcommand,
/// `WorkerCommand::new(std::env::current_exe()?).arg("plugin-worker")`, whose handler calls
/// [`run_worker`](crate::run_worker) with that path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerCommand {
    pub(super) program: PathBuf,
    pub(super) args: Vec<OsString>,
    pub(super) envs: Vec<(OsString, OsString)>,
}

impl WorkerCommand {
    /// A command running `program`.
    pub fn new(program: impl Into<PathBuf>) -> WorkerCommand {
        WorkerCommand {
            program: program.into(),
            args: Vec::new(),
            envs: Vec::new(),
        }
    }

    /// Sets an environment variable for the worker (on top of the server's environment).
    #[must_use]
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> WorkerCommand {
        self.envs.push((key.into(), value.into()));
        self
    }

    /// Adds an argument (before the plugin path the host appends).
    #[must_use]
    pub fn arg(mut self, arg: impl Into<OsString>) -> WorkerCommand {
        self.args.push(arg.into());
        self
    }

    /// The program.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// The arguments before the plugin path.
    pub fn args(&self) -> &[OsString] {
        &self.args
    }

    /// The command line, for messages.
    pub(super) fn display(&self) -> String {
        std::iter::once(self.program.as_os_str())
            .chain(self.args.iter().map(OsString::as_os_str))
            .map(|part| part.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Which plugins run in worker processes, and how those are started and limited.
///
/// Plugins are chosen by **file name** in the plugin directory (`libvendor_model.so`), not by
/// plugin id: the id is only known by running the plugin's own code (its `metadata` function),
/// and a sandboxed plugin's code must never run in the host, not even once at load. A file
/// whose name is listed is never mapped into the host; its worker reports the id.
#[derive(Clone, Debug)]
pub struct SandboxOptions {
    /// File names of the plugins to sandbox; [`SANDBOX_ALL`] (`*`) sandboxes every file.
    /// Empty by default: every plugin runs in the host's process.
    pub files: BTreeSet<String>,
    /// How to start a worker. Required when `files` is not empty: without it, the listed files
    /// are refused (never loaded in-process instead). Also runs the pre-load check of the other
    /// files (`preload_check`).
    pub worker_command: Option<WorkerCommand>,
    /// Worker processes per sandboxed plugin, at most; one is started at load, more as
    /// concurrent calls need them. Default 2, at least 1.
    pub workers_per_plugin: usize,
    /// Address-space cap of each worker (`RLIMIT_AS`), in bytes: an allocation past it fails,
    /// which aborts a Rust plugin. Default 1 GiB. `None`: no cap.
    pub memory_limit: Option<u64>,
    /// CPU-time cap of each worker process over its life (`RLIMIT_CPU`; `SIGXCPU`, then
    /// `SIGKILL` 5 s later), a backstop behind the call deadline for calls made without one.
    /// A worker that has used half of it is retired after its call and replaced. Default
    /// 10 minutes. `None`: no cap.
    pub cpu_limit: Option<Duration>,
    /// How long a worker may take to start, load the plugin and create an instance. Default
    /// 10 s.
    pub start_timeout: Duration,
    /// The pre-load check, for the files that run in this process: load each one first in a
    /// worker process (started with `worker_command`, under the caps above, `start_timeout`
    /// to describe the plugin), and load it here only once that worker has described it. A
    /// file that crashes the dynamic loader — a damaged dynamic section, relocation or symbol
    /// table, which no check of the file can rule out (finding F6 of docs/fuzzing.md) — or
    /// whose initialisers crash kills the worker and is refused
    /// ([`RefuseReason::LoaderCrashed`], "crashed the loader (signal 11)") instead of killing
    /// this process. It costs one process start per load or reload of a changed file (a few
    /// milliseconds), nothing per call. Default `true`; it needs `worker_command`. Opting out:
    /// `false`, or no worker command (a library caller without a worker binary): files are
    /// then loaded directly, after the checks of the file's structure only.
    pub preload_check: bool,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            files: BTreeSet::new(),
            worker_command: None,
            workers_per_plugin: 2,
            memory_limit: Some(1 << 30),
            cpu_limit: Some(Duration::from_secs(600)),
            start_timeout: Duration::from_secs(10),
            preload_check: true,
        }
    }
}

impl SandboxOptions {
    /// Whether the plugin file named `file_name` is sandboxed.
    pub fn covers(&self, file_name: &str) -> bool {
        self.files.contains(SANDBOX_ALL) || self.files.contains(file_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_select_files_by_name_or_all() {
        let mut options = SandboxOptions::default();
        assert!(!options.covers("liba.so"));
        options.files.insert("liba.so".to_owned());
        assert!(options.covers("liba.so") && !options.covers("libb.so"));
        options.files.insert(SANDBOX_ALL.to_owned());
        assert!(options.covers("libb.so"));
    }
}
