//! The workers of one sandboxed plugin version between calls, and the threads that talk to them.
//!
//! A worker is kept after a clean call because starting one costs a process start and a plugin
//! load; it is retired instead once its plugin is closed (replaced, removed or disabled) or it has
//! used half of its CPU-time cap, so that no call starts on a worker about to be killed by it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::channel::WorkerProc;
use super::handshake::WorkerSpec;
use super::process::LiveSet;
use crate::pool::WorkerPool;
use crate::sync::lock;

/// What the pool's threads share: how to start a worker, and the workers not in a call.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) spec: WorkerSpec,
    /// Workers waiting for a call.
    pub(super) idle: Mutex<Vec<WorkerProc>>,
    /// Set when the plugin is replaced, removed or disabled: workers are retired, not reused.
    pub(super) closed: AtomicBool,
    pub(super) live: Arc<LiveSet>,
}

impl Shared {
    /// Retires the idle workers; the busy ones are retired when their call ends.
    pub(super) fn close(&self) {
        let idle = {
            let mut idle = lock(&self.idle);
            self.closed.store(true, Ordering::Release);
            std::mem::take(&mut *idle)
        };
        drop(idle);
    }

    pub(super) fn take_idle(&self) -> Option<WorkerProc> {
        lock(&self.idle).pop()
    }

    /// Returns a worker after a clean call, or retires it.
    pub(super) fn put_back(&self, proc: WorkerProc) {
        let worn = self
            .spec
            .retire_after_cpu_micros
            .is_some_and(|limit| proc.scored.cpu_micros > limit);
        let mut idle = lock(&self.idle);
        if worn || self.closed.load(Ordering::Acquire) {
            drop(idle);
            if worn {
                tracing::info!(plugin = %self.spec.id, pid = proc.pid(), "sandbox worker retired: it used half of its CPU-time cap");
            }
            drop(proc);
        } else {
            idle.push(proc);
        }
    }
}

/// The worker processes of one sandboxed plugin version, and the threads that talk to them (one
/// per worker at most: a call holds its worker from request to reply).
#[derive(Debug)]
pub(crate) struct SandboxPool {
    pub(super) threads: WorkerPool,
    pub(super) shared: Arc<Shared>,
}

impl SandboxPool {
    /// Retires the idle workers and stops the threads; calls in flight finish first, then their
    /// workers are retired too.
    pub(crate) fn shutdown(&self) {
        self.shared.close();
        self.threads.shutdown();
    }

    /// The pids of the live worker processes.
    pub(crate) fn pids(&self) -> Vec<u32> {
        lock(&self.shared.live).iter().copied().collect()
    }
}

impl Drop for SandboxPool {
    fn drop(&mut self) {
        self.shutdown();
    }
}
