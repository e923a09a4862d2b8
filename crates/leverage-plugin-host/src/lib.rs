//! Loads, checks, calls and reloads leverage scoring plugins.
//!
//! ```text
//! PluginHost::load_dir_with(dir, &catalog, options)   every *.so, each checked, refusals listed
//!   .plugins()                                        loaded (Ready | Disabled) and Refused, with reasons
//!   .score(id, rows, n_rows, deadline, cancel).await  bounded pool, deadline, checked outputs
//!   .score_blocking(id, &rows, n_rows, &cancel)       same, on the calling thread, no deadline
//!   .reload_dir()                                     load what changed, swap atomically
//!   .score_with(id, &CallOptions { build, .. }, ...)  a build by name: serving, or retained
//!   .build_status(id, build).await                    one build, retained ones loaded lazily
//! check_plugin(path, &catalog, &options)              everything `leverage plugin check` reports
//! ```
//!
//! The host knows nothing of the domain: the server passes the list of input names it can
//! supply (the catalog) and rows of that width; each plugin declares the names it reads, which
//! are resolved to columns once at load.
//!
//! Containment: every plugin function runs behind the SDK's panic guard; a panic fails the call,
//! drops the instance and counts against the plugin (disabled after `max_panics`); a call past
//! its deadline is abandoned (cancel flag set, thread replaced, instance never reused). What
//! in-process hosting cannot contain — a segfault, an `abort`, memory corruption, an endless
//! loop that ignores the cancel flag, unbounded allocation — is what sandbox mode is for:
//! plugin files listed in [`SandboxOptions`] run in worker processes ([`run_worker`], started
//! by the [`WorkerCommand`]), each with an address-space and a CPU-time cap; a worker that dies
//! costs a restart (and counts like a panic), one past its deadline is killed.
//!
//! Loading: before the dynamic loader sees a file, the file's structure is checked (loadable
//! segments and the dynamic section where the loader will look for them); then, when a worker
//! command is configured, a worker process loads the file first (the pre-load check,
//! [`SandboxOptions::preload_check`]) and the file is loaded into this process only once that
//! worker has described it, so that a damaged file that crashes the loader kills the worker,
//! not the caller (finding F6 of docs/fuzzing.md). The server passes its own binary
//! (`leverage plugin-worker`); a library caller without a worker binary opts out by configuring
//! no worker command (the default), or with `preload_check: false`, and relies on the checks of
//! the file's structure alone.
//!
//! Builds: a build is named by the first 16 hex digits of its file's SHA-256. With
//! [`HostOptions::archive_dir`], a build is copied there once it has served a score, and the
//! oldest beyond [`HostOptions::builds_kept`] per plugin go (never the one serving), so that a
//! replaced build stays callable by name, across reloads and restarts. A retained build is
//! loaded from the archive the first time a call names it — its file checked against its hash,
//! then through the same load path as any file — and kept for the calls after.

mod check;
mod elf;
mod error;
mod hash;
mod host;
mod inprocess;
mod instance;
mod library;
mod load;
mod plugin;
mod pool;
mod sandbox;
mod scored;
mod sync;
mod wire;
mod worker;

pub use check::{CheckOptions, CheckReport, check_plugin, model_card_summary};
pub use error::{BuildInfo, HostError, RefuseReason, RowError};
pub use hash::is_build_name;
pub use host::{
    BuildRecord, CallOptions, HostOptions, INLINE_ALL, PluginHost, PluginStatus, Refusal,
    ReloadReport, Replaced,
};
pub use leverage_plugin_api::PluginMetadata;
pub use leverage_plugin_api::info::{ComponentInfo, InputInfo, OwnInputInfo, ParameterInfo};
pub use plugin::PluginState;
pub use sandbox::{SANDBOX_ALL, SandboxOptions, WorkerCommand};
pub use scored::{RowView, Rows, Scored};
pub use worker::run_worker;
