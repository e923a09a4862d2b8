//! Loading a plugin file through a worker process: for a sandboxed plugin, the worker that
//! starts its pool; for the others, the pre-load check.
//!
//! Both let a worker touch the file before this process does, so that whatever the file does to
//! the process that loads it (a loader crash, a crashing initialiser) happens to the worker.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::channel::start_process;
use super::handshake::{WorkerSpec, configure, describe, init_frame};
use super::options::SandboxOptions;
use super::pool::{SandboxPool, Shared};
use super::process::LiveSet;
use crate::error::RefuseReason;
use crate::load::{LoadFailure, LoadRequest};
use crate::plugin::Plugin;
use crate::pool::WorkerPool;

/// Loads the plugin file of `request` in a worker process: the host never maps it.
pub(crate) fn load(
    request: &LoadRequest<'_>,
    options: &SandboxOptions,
    max_queued: usize,
) -> Result<(Plugin, SandboxPool), Box<LoadFailure>> {
    let failed =
        |detail: String| -> Box<LoadFailure> { RefuseReason::WorkerFailed { detail }.into() };
    let Some(command) = options.worker_command.clone() else {
        return Err(failed(
            "sandbox mode is configured for this file, but no worker command is".to_owned(),
        ));
    };
    // Removed unless the plugin is loaded.
    let mut copy = request.private_copy()?;
    let library = copy.path().to_path_buf();

    let init = init_frame(options, request.catalog);
    let live = Arc::new(LiveSet::default());
    let mut proc = start_process(&command, &library, &live).map_err(failed)?;
    let deadline = Instant::now() + options.start_timeout;
    let (build, metadata) = match describe(&mut proc, &init, deadline) {
        Ok(Ok(described)) => described,
        Ok(Err((reason, build))) => {
            return Err(Box::new(LoadFailure {
                reason,
                build,
                metadata: None,
            }));
        }
        Err(broken) => return Err(failed(proc.diagnose(broken))),
    };
    let metadata = Arc::new(metadata);
    let refuse = |reason: RefuseReason| LoadFailure::described(reason, &build, &metadata);
    // The worker checked the metadata already; it is re-checked here because nothing a worker
    // says is trusted.
    let problems = metadata.problems();
    if !problems.is_empty() {
        return Err(refuse(RefuseReason::BadMetadata { problems }));
    }
    let plugin = request.plugin(&build, &metadata)?;
    let config = (request.config_for)(&metadata.id);
    match configure(&mut proc, &config, deadline) {
        Ok(None) => {}
        Ok(Some((reason, _))) => return Err(refuse(reason)),
        Err(broken) => {
            return Err(refuse(RefuseReason::WorkerFailed {
                detail: proc.diagnose(broken),
            }));
        }
    }

    let spec = WorkerSpec {
        id: metadata.id.clone(),
        command,
        library: copy.keep(),
        init,
        config,
        build: build.clone(),
        metadata: Arc::clone(&metadata),
        start_timeout: options.start_timeout,
        retire_after_cpu_micros: options
            .cpu_limit
            .map(|limit| (limit.as_micros() / 2).min(u128::from(u64::MAX)) as u64),
        memory_limit: options.memory_limit,
    };
    tracing::info!(plugin = %spec.id, pid = proc.pid(), "sandbox worker started");
    let pool = SandboxPool {
        threads: WorkerPool::new(options.workers_per_plugin.max(1), max_queued),
        shared: Arc::new(Shared {
            spec,
            idle: Mutex::new(vec![proc]),
            closed: AtomicBool::new(false),
            live,
        }),
    };
    Ok((plugin, pool))
}

/// The pre-load check (finding F6 of docs/fuzzing.md): before this process loads `library` (a
/// private copy of a plugin file), a worker process loads it first, with the INIT → DESCRIBED
/// exchange that starts a sandboxed plugin, and this returns once the worker has described it.
/// Otherwise the file is refused:
///
/// * the worker was killed by a signal: [`RefuseReason::LoaderCrashed`] — the file crashes the
///   dynamic loader (or its initialisers or `metadata` crash), and would have killed this
///   process;
/// * the worker refused it: that refusal (this process would refuse it for the same reason, but
///   only after mapping it for good);
/// * no worker could be started, it did not answer within `start_timeout`, exited or broke the
///   protocol: [`RefuseReason::PreloadFailed`] — never a load on the strength of a check that
///   did not happen.
///
/// The worker is then retired (its stdin closed, it exits, the reaper thread collects it): one
/// process start per load, nothing per call. Does nothing when `options.preload_check` is off or
/// no worker command is configured.
pub(crate) fn preload(
    library: &Path,
    catalog: &[String],
    options: &SandboxOptions,
) -> Result<(), Box<LoadFailure>> {
    let Some(command) = options
        .worker_command
        .as_ref()
        .filter(|_| options.preload_check)
    else {
        return Ok(());
    };
    let failed = |detail: String| Box::<LoadFailure>::from(RefuseReason::PreloadFailed { detail });
    let started = Instant::now();
    let live = Arc::new(LiveSet::default());
    let mut proc = start_process(command, library, &live)
        .map_err(|error| failed(format!("no worker process could be started: {error}")))?;
    let deadline = started + options.start_timeout;
    match describe(&mut proc, &init_frame(options, catalog), deadline) {
        Ok(Ok((_, metadata))) => {
            let elapsed_us = started.elapsed().as_micros() as u64;
            tracing::debug!(plugin = %metadata.id, pid = proc.pid(), elapsed_us, "pre-load check passed");
            Ok(())
        }
        Ok(Err((reason, build))) => Err(Box::new(LoadFailure {
            reason,
            build,
            metadata: None,
        })),
        Err(broken) => {
            let (detail, death) = proc.diagnose_death(broken);
            Err(match death.and_then(|exit| exit.signal()) {
                Some(signal) => RefuseReason::LoaderCrashed { signal, detail }.into(),
                None => failed(detail),
            })
        }
    }
}
