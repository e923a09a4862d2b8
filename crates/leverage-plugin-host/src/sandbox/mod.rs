//! Sandbox mode, the host's side: a plugin served by worker processes.
//!
//! A sandboxed plugin file is never mapped into the host. The host copies it to a private path
//! and starts a worker (the configured command, e.g. the server's own binary with
//! `plugin-worker`, plus that path); the worker applies its resource limits, loads the plugin
//! with the same checks as the host would, and reports its build and metadata, then creates an
//! instance with the plugin's configuration. Calls then travel as frames over the worker's stdin
//! and stdout (see `wire`).
//!
//! By job, each depending only on those before it:
//!
//! ```text
//! options    what the operator chooses (public)
//! process    a worker process's life: started, killed, reaped
//! channel    frames to and from one worker, and what became of it when that fails
//! handshake  INIT → DESCRIBED → CONFIGURE → READY, for every worker started
//! pool       the workers of one plugin version between calls
//! load       loading a file through a worker: a sandboxed plugin, or the pre-load check
//! call       one call: sent, waited for, abandoned
//! ```
//!
//! This file only declares and re-exports them: a child never imports from here.

mod call;
mod channel;
mod handshake;
mod load;
mod options;
mod pool;
mod process;

pub(crate) use call::{score, score_blocking};
pub(crate) use load::{load, preload};
pub use options::{SANDBOX_ALL, SandboxOptions, WorkerCommand};
pub(crate) use pool::SandboxPool;
