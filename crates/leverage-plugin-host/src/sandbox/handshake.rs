//! Starting a worker: INIT → DESCRIBED → CONFIGURE → READY.
//!
//! The same exchange serves a first load, the pre-load check and every later start, so that a
//! worker started for a call is held to what the first one said: a plugin whose `metadata`
//! changes between processes is treated as a failed start, not trusted.

use std::fs;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use leverage_plugin_api::PluginMetadata;

use super::channel::{Broken, WorkerProc, start_process};
use super::options::{SandboxOptions, WorkerCommand};
use super::process::{LiveSet, ProcHandle};
use crate::error::{BuildInfo, RefuseReason};
use crate::wire::{self, Init, MAX_HANDSHAKE_FRAME, Reader, Writer, tag};

/// Why a worker did not become ready.
#[derive(Debug)]
pub(super) enum StartError {
    /// No process could be started: not the plugin's doing.
    Unavailable(String),
    /// The worker died, hung or broke the protocol while loading the plugin.
    Failed(String),
    /// The worker refused the plugin.
    Refused(RefuseReason),
}

/// A refusal from a worker, with the plugin's build if it was read.
pub(super) type WorkerRefusal = (RefuseReason, Option<BuildInfo>);

/// Sends INIT and reads the plugin's description (or why it is refused).
pub(super) fn describe(
    proc: &mut WorkerProc,
    init: &[u8],
    deadline: Instant,
) -> Result<Result<(BuildInfo, PluginMetadata), WorkerRefusal>, Broken> {
    proc.out.clear();
    proc.out.extend_from_slice(init);
    proc.send()?;
    match proc.recv(MAX_HANDSHAKE_FRAME, Some(deadline))? {
        tag::DESCRIBED => Ok(Ok(wire::decode_described(proc.payload())?)),
        tag::REFUSED => Ok(Err(wire::decode_refused(proc.payload())?)),
        other => Err(Broken::Protocol(format!(
            "answered INIT with frame {other}"
        ))),
    }
}

/// Sends the configuration; `Ok(None)` once the worker has an instance.
pub(super) fn configure(
    proc: &mut WorkerProc,
    config: &str,
    deadline: Instant,
) -> Result<Option<WorkerRefusal>, Broken> {
    let mut w = Writer::frame(&mut proc.out, tag::CONFIGURE);
    w.str(config);
    w.finish();
    proc.send()?;
    match proc.recv(MAX_HANDSHAKE_FRAME, Some(deadline))? {
        tag::READY => {
            Reader::new(proc.payload()).end("ready")?;
            Ok(None)
        }
        tag::REFUSED => Ok(Some(wire::decode_refused(proc.payload())?)),
        other => Err(Broken::Protocol(format!(
            "answered CONFIGURE with frame {other}"
        ))),
    }
}

/// What every worker of one plugin version is started with.
#[derive(Debug)]
pub(super) struct WorkerSpec {
    pub(super) id: String,
    pub(super) command: WorkerCommand,
    /// The host's private copy of the plugin file; removed with the spec.
    pub(super) library: PathBuf,
    pub(super) init: Vec<u8>,
    pub(super) config: String,
    pub(super) build: BuildInfo,
    pub(super) metadata: Arc<PluginMetadata>,
    pub(super) start_timeout: Duration,
    /// CPU time after which a worker is retired, in microseconds.
    pub(super) retire_after_cpu_micros: Option<u64>,
    pub(super) memory_limit: Option<u64>,
}

impl Drop for WorkerSpec {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.library);
    }
}

impl WorkerSpec {
    /// A crash's detail, with the caps the worker ran under.
    pub(super) fn crash_detail(&self, detail: String) -> String {
        match self.memory_limit {
            Some(limit) => format!("{detail} (memory cap {} MiB)", limit >> 20),
            None => detail,
        }
    }

    /// Starts a worker for a call: handed to the call (`attach`) before it loads anything, so
    /// that the call's deadline also bounds the start.
    pub(super) fn start(
        &self,
        live: &Arc<LiveSet>,
        attach: impl FnOnce(&Arc<ProcHandle>),
    ) -> Result<WorkerProc, StartError> {
        let mut proc =
            start_process(&self.command, &self.library, live).map_err(StartError::Unavailable)?;
        attach(&proc.handle);
        let deadline = Instant::now() + self.start_timeout;
        let described = match describe(&mut proc, &self.init, deadline) {
            Ok(described) => described,
            Err(broken) => return Err(StartError::Failed(proc.diagnose(broken))),
        };
        match described {
            Err((reason, _)) => return Err(StartError::Refused(reason)),
            Ok((build, metadata)) => {
                if build != self.build || metadata != *self.metadata {
                    return Err(StartError::Failed(format!(
                        "the worker process (pid {}) describes the plugin differently from its \
                         first worker (its `metadata` is not constant)",
                        proc.pid()
                    )));
                }
            }
        }
        match configure(&mut proc, &self.config, deadline) {
            Ok(None) => Ok(proc),
            Ok(Some((reason, _))) => Err(StartError::Refused(reason)),
            Err(broken) => Err(StartError::Failed(proc.diagnose(broken))),
        }
    }
}

/// The INIT frame every worker is started with: this process, the caps of `options`, the catalog.
pub(super) fn init_frame(options: &SandboxOptions, catalog: &[String]) -> Vec<u8> {
    let mut init = Vec::new();
    Init {
        host_pid: std::process::id(),
        memory_limit: options.memory_limit.unwrap_or(0),
        cpu_limit_secs: options
            .cpu_limit
            .map_or(0, |limit| limit.as_secs_f64().ceil().max(1.0) as u64),
        catalog: catalog.to_vec(),
    }
    .encode(&mut init);
    init
}
