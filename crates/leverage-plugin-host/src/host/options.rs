//! How an operator configures the host: limits, configurations, and which files run where.
//!
//! Plain public data, apart from the machinery that reads it.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use crate::sandbox::SandboxOptions;

#[cfg(doc)]
use crate::error::HostError;

/// How the host loads and runs plugins.
#[derive(Clone, Debug)]
pub struct HostOptions {
    /// Load only files whose name starts with this (e.g. `libleverage_plugin_` when loading
    /// from the server's own directory). Files must always end in the platform's library suffix
    /// (`.so`).
    pub name_prefix: Option<String>,
    /// Panics after which a plugin is disabled. Default 3. For a sandboxed plugin, crashes of
    /// its worker process count too (panics and crashes together).
    pub max_panics: u32,
    /// Calls still running after being abandoned (deadline or cancellation) at which a plugin is
    /// disabled. Default 3.
    pub max_stuck_calls: u32,
    /// Threads running plugin calls at once. Default: the number of CPUs.
    pub workers: usize,
    /// Calls that may wait for a thread before [`HostError::Overloaded`]. Default 1024.
    pub max_queued_calls: usize,
    /// Configuration text per plugin id (`key = value` lines); plugins without an entry get "".
    pub configs: HashMap<String, String>,
    /// Where private copies of plugin files are made before loading. Default: a directory in
    /// the system temp dir. Must not be mounted `noexec`.
    pub copy_dir: Option<PathBuf>,
    /// Which plugin files run in worker processes instead of this one, and how. Default: none.
    pub sandbox: SandboxOptions,
    /// File names of trusted plugins whose calls through
    /// [`PluginHost::score`](crate::PluginHost::score) run on the calling thread instead of the
    /// host's pool; [`INLINE_ALL`] (`*`) names every file. Default: none.
    ///
    /// It saves the hop to a pool thread and back (two thread wake-ups), which is most of a
    /// small call's cost. The price is containment: nothing bounds an inline call. Its
    /// deadline is not enforced (the call returns when the plugin does; `cancel` still works if
    /// the plugin honours it), and a plugin that hangs holds the calling thread — in an async
    /// server, a runtime worker — for good. A panic is still caught and counted. Choose it only
    /// for plugins trusted to return promptly. Chosen by file name, like sandbox mode, and
    /// ignored for a sandboxed file (its calls go to its worker processes).
    pub inline: BTreeSet<String>,
    /// Where builds that served a score are kept, so that any of them can be called again by
    /// its build name ([`CallOptions::build`](crate::CallOptions::build)), after a reload
    /// replaced it or a restart: `<archive_dir>/<plugin id>/<build>.so` with a record beside
    /// it (`<build>.meta`). Default: none (only the build serving is callable).
    pub archive_dir: Option<PathBuf>,
    /// Builds kept in the archive per plugin id, the one serving included (at least 1); when a
    /// build is archived beyond it, the oldest (by first load) go. The build serving is never
    /// removed. Default 10.
    pub builds_kept: usize,
}

/// [`HostOptions::inline`] entry that runs every in-process plugin on the calling thread.
pub const INLINE_ALL: &str = "*";

impl Default for HostOptions {
    fn default() -> Self {
        HostOptions {
            name_prefix: None,
            max_panics: 3,
            max_stuck_calls: 3,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_queued_calls: 1024,
            configs: HashMap::new(),
            copy_dir: None,
            sandbox: SandboxOptions::default(),
            inline: BTreeSet::new(),
            archive_dir: None,
            builds_kept: 10,
        }
    }
}
