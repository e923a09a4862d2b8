//! A call to a sandboxed plugin: sent to a worker from a pool thread, waited for by the caller,
//! and abandoned (its worker killed) at the deadline, on cancellation or when the caller's future
//! is dropped.
//!
//! ```text
//! score ─ gather columns ─► per-plugin thread ──SCORE──► worker: score_batch
//!   ▲                         (one per worker)  ◄─SCORED──  (own address space, rlimits)
//!   └──── checked rows ◄──── same checks as in-process
//! deadline: SIGKILL the worker, reap it, DEADLINE_EXCEEDED; the next call starts a fresh one
//! crash:    reap, name the signal, WorkerCrashed (counted like a panic); fresh worker next call
//! ```
//!
//! Killing is the only way to stop plugin code in another process, so a call that is given up
//! kills its worker; the caller waits briefly for the reap, so that the worker is gone by the
//! time the error is returned.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use leverage_plugin_api::abi::status;
use tokio::sync::oneshot;

use super::channel::{Broken, WorkerProc};
use super::handshake::StartError;
use super::pool::{SandboxPool, Shared};
use super::process::ProcHandle;
use crate::error::HostError;
use crate::plugin::{ERROR_CAPACITY, Plugin};
use crate::pool::{Abandoned, CallState, Fate};
use crate::scored::Scored;
use crate::sync::lock;
use crate::wire::{SCORED_CALLED, SCORED_CREATE_FAILED, Writer, tag};

/// How often a waiting call looks at its cancel flag.
const CANCEL_POLL: Duration = Duration::from_millis(20);
/// How long a call killed at its deadline waits for its worker to be reaped before returning.
const REAP_GRACE: Duration = Duration::from_secs(1);

/// One call, shared by the caller (who may abandon it) and the thread running it.
#[derive(Debug, Default)]
struct SandboxCall {
    state: CallState,
    /// The worker serving the call, while it does.
    proc: Mutex<Option<Arc<ProcHandle>>>,
    /// The caller gave up on the call (deadline, cancellation, dropped future) and killed its
    /// worker: the worker's death is not a crash.
    killed: AtomicBool,
}

impl SandboxCall {
    fn attach(&self, handle: &Arc<ProcHandle>) {
        let mut slot = lock(&self.proc);
        *slot = Some(Arc::clone(handle));
        if self.state.is_abandoned() {
            self.killed.store(true, Ordering::Release);
            handle.kill();
        }
    }

    fn detach(&self) {
        lock(&self.proc).take();
    }

    /// Gives up on the call: if a worker is serving it, that worker is killed.
    fn abandon(&self) -> Abandoned {
        self.killed.store(true, Ordering::Release);
        let abandoned = self.state.abandon();
        if abandoned == Abandoned::WhileRunning
            && let Some(handle) = lock(&self.proc).as_ref()
        {
            handle.kill();
        }
        abandoned
    }

    fn was_killed(&self) -> bool {
        self.killed.load(Ordering::Acquire)
    }
}

/// Abandons (and so kills) the call unless disarmed: a dropped `score` future kills its worker.
struct KillOnDrop {
    call: Arc<SandboxCall>,
    armed: bool,
}

impl KillOnDrop {
    fn abandon(&mut self) -> Abandoned {
        if std::mem::replace(&mut self.armed, false) {
            self.call.abandon()
        } else {
            Abandoned::AfterDone
        }
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        self.abandon();
    }
}

/// What the call carries to its thread.
enum Request {
    /// Request rows, gathered by the thread, and the call's own configuration, if any.
    Rows(Vec<f64>, Option<Arc<str>>),
    /// An encoded SCORE frame.
    Frame(Vec<u8>),
}

enum Reply {
    Async(oneshot::Sender<Result<Scored, HostError>>),
    Blocking(mpsc::SyncSender<Result<Scored, HostError>>),
}

impl Reply {
    fn send(self, result: Result<Scored, HostError>) {
        match self {
            Reply::Async(tx) => {
                let _ = tx.send(result);
            }
            Reply::Blocking(tx) => {
                let _ = tx.send(result);
            }
        }
    }
}

/// Encodes a SCORE frame of the declared columns of `n_rows` request rows, with the call's
/// own configuration text when it sets parameters.
fn encode_score(
    plugin: &Plugin,
    config: Option<&str>,
    rows: &[f64],
    n_rows: usize,
    buf: &mut Vec<u8>,
) {
    let n_inputs = plugin.n_inputs();
    let mut w = Writer::frame(buf, tag::SCORE);
    w.usize(n_rows).usize(n_inputs);
    match config {
        Some(config) => w.u8(1).str(config),
        None => w.u8(0),
    };
    let mut inputs = Vec::with_capacity(n_inputs);
    let bytes = w.bytes();
    bytes.reserve(n_rows * n_inputs * 8);
    // Row by row, through a small buffer: no copy of the whole batch.
    let width = rows.len().checked_div(n_rows).unwrap_or(0).max(1);
    for row in rows.chunks_exact(width).take(n_rows) {
        inputs.clear();
        plugin.gather(row, 1, &mut inputs);
        for value in &inputs {
            bytes.extend_from_slice(&value.to_le_bytes());
        }
    }
    w.finish();
}

fn submit(
    plugin: &Arc<Plugin>,
    pool: &SandboxPool,
    call: &Arc<SandboxCall>,
    request: Request,
    n_rows: usize,
    reply: Reply,
) -> Result<(), HostError> {
    let job = {
        let (plugin, call) = (Arc::clone(plugin), Arc::clone(call));
        let (shared, threads) = (Arc::clone(&pool.shared), pool.threads.clone());
        Box::new(move || {
            if call.state.start() {
                let result = run(&plugin, &shared, &call, request, n_rows);
                if plugin.is_disabled() {
                    shared.close();
                    threads.shutdown();
                }
                call.detach();
                call.state.finish();
                reply.send(result);
            }
            Fate::Continue
        })
    };
    pool.threads.submit(job).map_err(HostError::Overloaded)
}

/// Runs one call on a pool thread: a worker (idle, or started now), the exchange, the checks.
fn run(
    plugin: &Plugin,
    shared: &Shared,
    call: &SandboxCall,
    request: Request,
    n_rows: usize,
) -> Result<Scored, HostError> {
    plugin.ensure_ready()?;
    let killed = || HostError::Internal("the call was abandoned and its worker killed".to_owned());
    let mut proc = match shared.take_idle() {
        Some(proc) => {
            call.attach(&proc.handle);
            proc
        }
        None => match shared
            .spec
            .start(&shared.live, |handle| call.attach(handle))
        {
            Ok(proc) => {
                tracing::info!(
                    plugin = plugin.id(),
                    pid = proc.pid(),
                    "sandbox worker started"
                );
                proc
            }
            Err(StartError::Unavailable(detail)) => {
                return Err(HostError::SandboxUnavailable {
                    id: plugin.id().to_owned(),
                    detail,
                });
            }
            Err(_) if call.was_killed() => return Err(killed()),
            Err(StartError::Failed(detail)) => {
                let detail = shared.spec.crash_detail(detail);
                return Err(plugin.record_crash(format!("a new worker failed to start: {detail}")));
            }
            Err(StartError::Refused(reason)) => {
                return Err(plugin.record_crash(format!(
                    "a new worker refused the plugin it loaded before: {reason}"
                )));
            }
        },
    };
    match request {
        Request::Rows(rows, config) => {
            encode_score(plugin, config.as_deref(), &rows, n_rows, &mut proc.out)
        }
        Request::Frame(frame) => proc.out = frame,
    }
    let width = plugin.metadata.output_width();
    let exchanged = exchange(&mut proc, n_rows, width);
    call.detach();
    match exchanged {
        Ok(()) => {
            let scored = &mut proc.scored;
            let message = std::mem::take(&mut scored.message);
            let result = match scored.kind {
                SCORED_CALLED => {
                    let outputs = std::mem::take(&mut scored.outputs);
                    plugin.outcome(scored.status, message, outputs, &scored.row_status)
                }
                _ => Err(plugin.create_failed(scored.status, message)),
            };
            shared.put_back(proc);
            result
        }
        Err(broken) => {
            let detail = proc.diagnose(broken);
            if call.was_killed() {
                Err(killed())
            } else {
                Err(plugin.record_crash(shared.spec.crash_detail(detail)))
            }
        }
    }
}

/// Sends the SCORE frame in `proc.out` and reads the reply into `proc.scored`.
fn exchange(proc: &mut WorkerProc, n_rows: usize, width: usize) -> Result<(), Broken> {
    proc.send()?;
    // The reply's size is known: bound it before reading.
    let max = 64 + 4 * ERROR_CAPACITY + n_rows.saturating_mul(4 + 8 * width);
    match proc.recv(max, None)? {
        tag::SCORED => {
            let payload = proc.buf.get(1..).unwrap_or(&[]);
            proc.scored.decode_into(payload, n_rows, width)?;
            if proc.scored.kind != SCORED_CALLED && proc.scored.kind != SCORED_CREATE_FAILED {
                return Err(Broken::Protocol(format!(
                    "unknown reply kind {}",
                    proc.scored.kind
                )));
            }
            if proc.scored.kind == SCORED_CALLED
                && proc.scored.status == status::OK
                && proc.scored.row_status.len() != n_rows
            {
                return Err(Broken::Protocol(
                    "a row count that does not match".to_owned(),
                ));
            }
            Ok(())
        }
        other => Err(Broken::Protocol(format!(
            "answered SCORE with frame {other}"
        ))),
    }
}

/// [`PluginHost::score`](crate::PluginHost::score) for a sandboxed plugin.
pub(crate) async fn score(
    plugin: Arc<Plugin>,
    pool: &SandboxPool,
    config: Option<Arc<str>>,
    rows: Vec<f64>,
    n_rows: usize,
    deadline: Duration,
    cancel: Arc<AtomicBool>,
) -> Result<Scored, HostError> {
    if cancel.load(Ordering::Acquire) {
        return Err(HostError::Cancelled {
            id: plugin.id().to_owned(),
        });
    }
    let started = Instant::now();
    let call = Arc::new(SandboxCall::default());
    let (tx, mut rx) = oneshot::channel();
    submit(
        &plugin,
        pool,
        &call,
        Request::Rows(rows, config),
        n_rows,
        Reply::Async(tx),
    )?;
    let mut guard = KillOnDrop {
        call: Arc::clone(&call),
        armed: true,
    };
    let cancelled = loop {
        let left = deadline.saturating_sub(started.elapsed());
        if left.is_zero() {
            break false;
        }
        match tokio::time::timeout(left.min(CANCEL_POLL), &mut rx).await {
            Ok(Ok(result)) => {
                guard.armed = false;
                return result;
            }
            Ok(Err(_)) => {
                guard.armed = false;
                return Err(HostError::Internal(
                    "the sandbox dropped the call without a result".to_owned(),
                ));
            }
            Err(_) if cancel.load(Ordering::Acquire) => break true,
            Err(_) => {}
        }
    };
    if guard.abandon() == Abandoned::WhileRunning {
        // The worker was killed: let its thread reap it before answering.
        let _ = tokio::time::timeout(REAP_GRACE, rx).await;
    }
    if cancelled {
        return Err(HostError::Cancelled {
            id: plugin.id().to_owned(),
        });
    }
    tracing::warn!(
        plugin = plugin.id(),
        ?deadline,
        "sandboxed plugin call exceeded its deadline; worker killed"
    );
    Err(HostError::DeadlineExceeded {
        id: plugin.id().to_owned(),
        deadline,
    })
}

/// [`PluginHost::score_blocking`](crate::PluginHost::score_blocking) for a sandboxed plugin:
/// no deadline; setting `cancel` kills the worker and fails the call.
pub(crate) fn score_blocking(
    plugin: &Arc<Plugin>,
    pool: &SandboxPool,
    config: Option<&str>,
    rows: &[f64],
    n_rows: usize,
    cancel: &AtomicBool,
) -> Result<Scored, HostError> {
    let cancelled = || HostError::Cancelled {
        id: plugin.id().to_owned(),
    };
    if cancel.load(Ordering::Acquire) {
        return Err(cancelled());
    }
    let mut frame = Vec::new();
    encode_score(plugin, config, rows, n_rows, &mut frame);
    let call = Arc::new(SandboxCall::default());
    let (tx, rx) = mpsc::sync_channel(1);
    submit(
        plugin,
        pool,
        &call,
        Request::Frame(frame),
        n_rows,
        Reply::Blocking(tx),
    )?;
    let mut guard = KillOnDrop {
        call: Arc::clone(&call),
        armed: true,
    };
    loop {
        match rx.recv_timeout(CANCEL_POLL) {
            Ok(result) => {
                guard.armed = false;
                return result;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                guard.armed = false;
                return Err(HostError::Internal(
                    "the sandbox dropped the call without a result".to_owned(),
                ));
            }
            Err(mpsc::RecvTimeoutError::Timeout) if cancel.load(Ordering::Acquire) => {
                if guard.abandon() == Abandoned::WhileRunning {
                    let _ = rx.recv_timeout(REAP_GRACE);
                }
                return Err(cancelled());
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
    }
}
