//! Sandbox mode, the host's side: a plugin served by worker processes.
//!
//! A sandboxed plugin file is never mapped into the host. The host copies it to a private path
//! and starts a worker (the configured command, e.g. the server's own binary with
//! `plugin-worker`, plus that path); the worker applies its resource limits, loads the plugin
//! with the same checks as the host would, and reports its build and metadata, then creates an
//! instance with the plugin's configuration. Calls then travel as frames over the worker's stdin
//! and stdout (see `wire`).
//!
//! ```text
//! score ─ gather columns ─► per-plugin thread ──SCORE──► worker: score_batch
//!   ▲                         (one per worker)  ◄─SCORED──  (own address space, rlimits)
//!   └──── checked rows ◄──── same checks as in-process
//! deadline: SIGKILL the worker, reap it, DEADLINE_EXCEEDED; the next call starts a fresh one
//! crash:    reap, name the signal, WorkerCrashed (counted like a panic); fresh worker next call
//! ```
//!
//! Processes: every worker is started by one long-lived thread, because `PR_SET_PDEATHSIG`
//! fires when the *thread* that forked the worker ends, not the process; and every worker is
//! reaped by the thread that owns it (or by the reaper thread when it is retired). A pid is only
//! ever signalled while its process is known not to have been reaped (a zombie keeps its pid),
//! so a kill can never reach an unrelated process that reused the pid.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs;
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

use leverage_plugin_api::PluginMetadata;
use leverage_plugin_api::abi::status;
use tokio::sync::oneshot;

use crate::error::{BuildInfo, HostError, RefuseReason};
use crate::load::{LoadFailure, LoadRequest};
use crate::plugin::{ERROR_CAPACITY, Plugin, RowResult};
use crate::pool::{Abandoned, CallState, Fate, WorkerPool};
use crate::sync::lock;
use crate::wire::{
    self, Init, MAX_HANDSHAKE_FRAME, ReadError, Reader, SCORED_CALLED, SCORED_CREATE_FAILED,
    Scored, Writer, tag,
};

/// [`SandboxOptions::files`] entry that sandboxes every plugin file.
pub const SANDBOX_ALL: &str = "*";

/// How often a waiting call looks at its cancel flag.
const CANCEL_POLL: Duration = Duration::from_millis(20);
/// How long a call killed at its deadline waits for its worker to be reaped before returning.
const REAP_GRACE: Duration = Duration::from_secs(1);
/// How long a worker whose pipe broke has to finish dying before it is killed.
const EXIT_GRACE: Duration = Duration::from_millis(200);
/// How long a retired worker has to exit after its stdin closes before it is killed.
const RETIRE_GRACE: Duration = Duration::from_secs(1);

/// The command that starts a sandbox worker. The host appends one argument, the path of its
/// private copy of the plugin file, and talks to the process over its stdin and stdout; stderr
/// is inherited (the plugin's own prints land there too).
///
/// For the server: its own executable and the worker subcommand,
/// `WorkerCommand::new(std::env::current_exe()?).arg("plugin-worker")`, whose handler calls
/// [`run_worker`](crate::run_worker) with that path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerCommand {
    program: PathBuf,
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
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

    fn display(&self) -> String {
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

// ---------------------------------------------------------------------------------------------
// Processes

/// How a worker process ended, from `wait4`.
#[derive(Clone, Copy, Debug)]
struct Exit {
    /// The raw wait status; `None` if the process was reaped elsewhere (`SIGCHLD` ignored).
    status: Option<i32>,
    max_rss_kib: u64,
    cpu: Duration,
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGSEGV => "SIGSEGV, invalid memory access",
        libc::SIGABRT => "SIGABRT, aborted: `abort`, or a failed allocation",
        libc::SIGBUS => "SIGBUS, bus error",
        libc::SIGILL => "SIGILL, illegal instruction",
        libc::SIGFPE => "SIGFPE, arithmetic exception",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGSYS => "SIGSYS, bad system call",
        libc::SIGKILL => "SIGKILL: the kernel's OOM killer, the CPU-time cap or an operator",
        libc::SIGXCPU => "SIGXCPU, CPU-time cap reached",
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        libc::SIGPIPE => "SIGPIPE",
        _ => "signal",
    }
}

impl Exit {
    /// The signal that ended the process, if one did.
    fn signal(&self) -> Option<i32> {
        self.status
            .and_then(|status| ExitStatus::from_raw(status).signal())
    }

    fn describe(&self) -> String {
        let how = match self.status.map(ExitStatus::from_raw) {
            Some(status) => match (status.signal(), status.code()) {
                (Some(signal), _) => format!(
                    "was killed by signal {signal} ({}){}",
                    signal_name(signal),
                    if status.core_dumped() {
                        ", core dumped"
                    } else {
                        ""
                    }
                ),
                (None, Some(code)) => format!("exited with status {code}"),
                (None, None) => format!("ended ({status})"),
            },
            None => "ended (its exit status was collected elsewhere)".to_owned(),
        };
        format!(
            "{how}; peak resident memory {} MiB, CPU time {:.2} s",
            self.max_rss_kib / 1024,
            self.cpu.as_secs_f64()
        )
    }
}

/// The pids of a plugin's live workers.
type LiveSet = Mutex<BTreeSet<u32>>;

/// A worker process, shared between its owner (who reaps it) and whoever may kill it.
#[derive(Debug)]
struct ProcHandle {
    pid: u32,
    /// `Some` once reaped: from then on the pid is no longer ours to signal.
    exit: Mutex<Option<Exit>>,
    live: Arc<LiveSet>,
}

fn timeval(tv: libc::timeval) -> Duration {
    Duration::from_secs(tv.tv_sec.max(0) as u64) + Duration::from_micros(tv.tv_usec.max(0) as u64)
}

impl ProcHandle {
    fn pid_t(&self) -> libc::pid_t {
        // Pids fit in `pid_t`: they come from the kernel as one.
        self.pid as libc::pid_t
    }

    /// Sends `SIGKILL`, unless the process was already reaped.
    fn kill(&self) {
        let exit = lock(&self.exit);
        if exit.is_none() {
            // SAFETY: `kill` takes two integers and touches no memory. The process has not been
            // reaped (checked under the lock that `collect` holds while reaping), so the pid is
            // still this process or its zombie, never a reused pid.
            unsafe { libc::kill(self.pid_t(), libc::SIGKILL) };
        }
    }

    /// Waits until the process has exited, without reaping it (the zombie keeps the pid ours).
    /// With `nohang`, returns at once whether it has.
    fn wait_exited(&self, nohang: bool) -> bool {
        if lock(&self.exit).is_some() {
            return true;
        }
        let flags = libc::WEXITED | libc::WNOWAIT | if nohang { libc::WNOHANG } else { 0 };
        loop {
            // SAFETY: `siginfo_t` is plain data, valid when zeroed.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            // SAFETY: `waitid` writes one `siginfo_t` into the struct we pass.
            let rc = unsafe { libc::waitid(libc::P_PID, self.pid, &mut info, flags) };
            if rc == 0 {
                // SAFETY: `waitid` succeeded, so `info` holds a `SIGCHLD` record (or zeroes
                // with WNOHANG when nothing has exited), for which `si_pid` is the valid field.
                return !nohang || unsafe { info.si_pid() } != 0;
            }
            if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                // ECHILD: nothing to wait for (reaped elsewhere); it is gone either way.
                return true;
            }
        }
    }

    /// Reaps the process, which must have exited (see [`ProcHandle::wait_exited`]).
    fn collect(&self) -> Exit {
        let mut slot = lock(&self.exit);
        if let Some(exit) = *slot {
            return exit;
        }
        let mut raw = 0;
        // SAFETY: `rusage` is plain data, valid when zeroed.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `wait4` writes one status and one `rusage` into what we pass. The process
        // has exited, so this returns at once.
        let rc = unsafe { libc::wait4(self.pid_t(), &mut raw, 0, &mut usage) };
        let exit = Exit {
            status: (rc == self.pid_t()).then_some(raw),
            max_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
            cpu: timeval(usage.ru_utime) + timeval(usage.ru_stime),
        };
        *slot = Some(exit);
        drop(slot);
        lock(&self.live).remove(&self.pid);
        exit
    }

    /// Kills and reaps the process.
    fn reap(&self) -> Exit {
        self.kill();
        self.wait_exited(false);
        self.collect()
    }

    /// Reaps the process if it has exited.
    fn try_reap(&self) -> Option<Exit> {
        self.wait_exited(true).then(|| self.collect())
    }

    fn is_reaped(&self) -> bool {
        lock(&self.exit).is_some()
    }
}

struct Pipes {
    stdin: ChildStdin,
    stdout: ChildStdout,
}

/// A running worker, owned by one thread at a time. Dropping it retires it: stdin closed (the
/// worker exits), reaped by the reaper thread.
struct WorkerProc {
    handle: Arc<ProcHandle>,
    pipes: Option<Pipes>,
    /// Frames read.
    buf: Vec<u8>,
    /// Frames written.
    out: Vec<u8>,
    scored: Scored,
}

impl std::fmt::Debug for WorkerProc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerProc")
            .field("pid", &self.handle.pid)
            .finish()
    }
}

impl Drop for WorkerProc {
    fn drop(&mut self) {
        if !self.handle.is_reaped() {
            retire(Arc::clone(&self.handle), self.pipes.take());
        }
    }
}

/// Why an exchange with a worker failed.
#[derive(Debug)]
enum Broken {
    /// A read or write failed: usually the worker died (end of stream, broken pipe).
    Io(String),
    /// No answer in time.
    TimedOut(Duration),
    /// The worker answered something that does not fit the protocol.
    Protocol(String),
}

impl From<ReadError> for Broken {
    fn from(error: ReadError) -> Self {
        match error {
            ReadError::Io(error) if error.kind() == io::ErrorKind::TimedOut => {
                Broken::TimedOut(Duration::ZERO)
            }
            ReadError::TooLong(_) => Broken::Protocol(error.to_string()),
            other => Broken::Io(other.to_string()),
        }
    }
}

impl From<wire::WireError> for Broken {
    fn from(error: wire::WireError) -> Self {
        Broken::Protocol(error.0)
    }
}

/// Reads from a worker's stdout, failing with `TimedOut` once `deadline` has passed.
struct Timed<'a> {
    stdout: &'a mut ChildStdout,
    deadline: Option<Instant>,
}

impl Read for Timed<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(deadline) = self.deadline else {
            return self.stdout.read(buf);
        };
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            let mut fd = libc::pollfd {
                fd: self.stdout.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = left.as_millis().clamp(1, i32::MAX as u128) as libc::c_int;
            // SAFETY: `poll` reads and writes the one `pollfd` we pass, as its length says.
            let rc = unsafe { libc::poll(&mut fd, 1, ms) };
            if rc < 0 {
                let error = io::Error::last_os_error();
                if error.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(error);
            }
            if rc > 0 {
                return self.stdout.read(buf);
            }
        }
    }
}

impl WorkerProc {
    fn pid(&self) -> u32 {
        self.handle.pid
    }

    /// Writes the frame in `self.out`.
    fn send(&mut self) -> Result<(), Broken> {
        let Self { pipes, out, .. } = self;
        let pipes = pipes
            .as_mut()
            .ok_or_else(|| Broken::Io("the worker's pipes are closed".to_owned()))?;
        wire::write_frame(&mut pipes.stdin, out).map_err(|error| Broken::Io(error.to_string()))
    }

    /// Reads one frame into `self.buf`; returns its tag (the payload is `self.buf[1..]`).
    fn recv(&mut self, max: usize, deadline: Option<Instant>) -> Result<u8, Broken> {
        let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let Self { pipes, buf, .. } = self;
        let pipes = pipes
            .as_mut()
            .ok_or_else(|| Broken::Io("the worker's pipes are closed".to_owned()))?;
        let mut timed = Timed {
            stdout: &mut pipes.stdout,
            deadline,
        };
        let result = wire::read_frame(&mut timed, buf, max).map(|(tag, _)| tag);
        result.map_err(|error| match Broken::from(error) {
            Broken::TimedOut(_) => Broken::TimedOut(timeout.unwrap_or_default()),
            other => other,
        })
    }

    fn payload(&self) -> &[u8] {
        self.buf.get(1..).unwrap_or(&[])
    }

    /// Kills and reaps the worker, and says what became of it.
    fn diagnose(self, broken: Broken) -> String {
        self.diagnose_death(broken).0
    }

    /// [`WorkerProc::diagnose`], with how the worker ended when it died on its own (not killed
    /// here).
    fn diagnose_death(mut self, broken: Broken) -> (String, Option<Exit>) {
        self.pipes = None;
        let pid = self.pid();
        let (what, exit) = match broken {
            Broken::Io(error) => {
                // A worker that died closed its pipes as it went: give it a moment to become a
                // zombie, so that its own signal or status is reported rather than our SIGKILL.
                let until = Instant::now() + EXIT_GRACE;
                loop {
                    if let Some(exit) = self.handle.try_reap() {
                        let text = format!("the worker process (pid {pid}) {}", exit.describe());
                        return (text, Some(exit));
                    }
                    if Instant::now() >= until {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                (format!("stopped answering ({error})"), self.handle.reap())
            }
            Broken::TimedOut(after) => (
                format!("did not answer within {after:?}"),
                self.handle.reap(),
            ),
            Broken::Protocol(what) => (format!("broke the protocol ({what})"), self.handle.reap()),
        };
        let text = format!(
            "the worker process (pid {pid}) {what} and was killed ({})",
            exit.describe()
        );
        (text, None)
    }
}

type SpawnReply = mpsc::SyncSender<io::Result<std::process::Child>>;

/// Starts every worker, from one thread that lives as long as the process: the death signal of
/// a worker is tied to the thread that forked it.
fn spawner() -> Result<&'static mpsc::Sender<(Command, SpawnReply)>, String> {
    static SPAWNER: OnceLock<Result<mpsc::Sender<(Command, SpawnReply)>, String>> = OnceLock::new();
    SPAWNER
        .get_or_init(|| {
            let (tx, rx) = mpsc::channel::<(Command, SpawnReply)>();
            std::thread::Builder::new()
                .name("leverage-sandbox-spawner".to_owned())
                .spawn(move || {
                    for (mut command, reply) in rx {
                        let _ = reply.send(command.spawn());
                    }
                })
                .map(|_| tx)
                .map_err(|error| format!("cannot start the sandbox spawner thread: {error}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Starts a worker for `library`.
fn start_process(
    command: &WorkerCommand,
    library: &Path,
    live: &Arc<LiveSet>,
) -> Result<WorkerProc, String> {
    let mut process = Command::new(&command.program);
    process
        .args(&command.args)
        .arg(library)
        .envs(command.envs.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        // Its own process group: a Ctrl-C at the server's terminal is the server's to handle
        // (drain, then stop), not a crash of every worker. The death signal still ends it.
        .process_group(0);
    let (reply, answer) = mpsc::sync_channel(1);
    spawner()?
        .send((process, reply))
        .map_err(|_| "the sandbox spawner thread is gone".to_owned())?;
    let mut child = answer
        .recv()
        .map_err(|_| "the sandbox spawner thread is gone".to_owned())?
        .map_err(|error| format!("cannot run `{}`: {error}", command.display()))?;
    let handle = Arc::new(ProcHandle {
        pid: child.id(),
        exit: Mutex::new(None),
        live: Arc::clone(live),
    });
    lock(live).insert(handle.pid);
    let pipes = match (child.stdin.take(), child.stdout.take()) {
        (Some(stdin), Some(stdout)) => {
            grow_pipe(stdin.as_raw_fd());
            grow_pipe(stdout.as_raw_fd());
            Some(Pipes { stdin, stdout })
        }
        _ => None,
    };
    // `child` is dropped without waiting: `handle` reaps it.
    Ok(WorkerProc {
        handle,
        pipes,
        buf: Vec::new(),
        out: Vec::new(),
        scored: Scored::default(),
    })
}

/// Asks for a 1 MiB pipe buffer (the default unprivileged maximum), so that a batch of a
/// thousand rows crosses in one write instead of sixteen 64 KiB turns. Best effort.
fn grow_pipe(fd: std::os::fd::RawFd) {
    #[cfg(target_os = "linux")]
    // SAFETY: `fcntl(F_SETPIPE_SZ)` takes a descriptor and an integer and touches no memory; on
    // failure the pipe keeps its size.
    unsafe {
        libc::fcntl(fd, libc::F_SETPIPE_SZ, PIPE_BUFFER);
    }
}

/// Pipe buffer size asked for.
#[cfg(target_os = "linux")]
const PIPE_BUFFER: libc::c_int = 1 << 20;

/// Retires a worker: closes its stdin (it exits), and reaps it on the reaper thread, killing it
/// if it has not exited after a grace period.
fn retire(handle: Arc<ProcHandle>, pipes: Option<Pipes>) {
    type Retired = (Arc<ProcHandle>, Option<Pipes>);
    static REAPER: OnceLock<Option<mpsc::Sender<Retired>>> = OnceLock::new();
    let reaper = REAPER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Retired>();
        std::thread::Builder::new()
            .name("leverage-sandbox-reaper".to_owned())
            .spawn(move || {
                for (handle, pipes) in rx {
                    drop(pipes);
                    let until = Instant::now() + RETIRE_GRACE;
                    while handle.try_reap().is_none() && Instant::now() < until {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    handle.reap();
                }
            })
            .ok()
            .map(|_| tx)
    });
    let pending = match reaper {
        Some(tx) => tx.send((handle, pipes)).err().map(|error| error.0),
        None => Some((handle, pipes)),
    };
    if let Some((handle, pipes)) = pending {
        drop(pipes);
        handle.reap();
    }
}

// ---------------------------------------------------------------------------------------------
// Starting a worker: INIT → DESCRIBED → CONFIGURE → READY

/// Why a worker did not become ready.
#[derive(Debug)]
enum StartError {
    /// No process could be started: not the plugin's doing.
    Unavailable(String),
    /// The worker died, hung or broke the protocol while loading the plugin.
    Failed(String),
    /// The worker refused the plugin.
    Refused(RefuseReason),
}

/// A refusal from a worker, with the plugin's build if it was read.
type WorkerRefusal = (RefuseReason, Option<BuildInfo>);

/// Sends INIT and reads the plugin's description (or why it is refused).
fn describe(
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
fn configure(
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
struct WorkerSpec {
    id: String,
    command: WorkerCommand,
    /// The host's private copy of the plugin file; removed with the spec.
    library: PathBuf,
    init: Vec<u8>,
    config: String,
    build: BuildInfo,
    metadata: Arc<PluginMetadata>,
    start_timeout: Duration,
    /// CPU time after which a worker is retired, in microseconds.
    retire_after_cpu_micros: Option<u64>,
    memory_limit: Option<u64>,
}

impl Drop for WorkerSpec {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.library);
    }
}

impl WorkerSpec {
    /// A crash's detail, with the caps the worker ran under.
    fn crash_detail(&self, detail: String) -> String {
        match self.memory_limit {
            Some(limit) => format!("{detail} (memory cap {} MiB)", limit >> 20),
            None => detail,
        }
    }

    /// Starts a worker for a call: attached to `call` before it loads anything, so that the
    /// call's deadline also bounds the start.
    fn start(&self, live: &Arc<LiveSet>, call: &SandboxCall) -> Result<WorkerProc, StartError> {
        let mut proc =
            start_process(&self.command, &self.library, live).map_err(StartError::Unavailable)?;
        call.attach(&proc.handle);
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

// ---------------------------------------------------------------------------------------------
// Loading

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

/// The INIT frame every worker is started with: this process, the caps of `options`, the catalog.
fn init_frame(options: &SandboxOptions, catalog: &[String]) -> Vec<u8> {
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

// ---------------------------------------------------------------------------------------------
// The pool of one plugin version

#[derive(Debug)]
struct Shared {
    spec: WorkerSpec,
    /// Workers waiting for a call.
    idle: Mutex<Vec<WorkerProc>>,
    /// Set when the plugin is replaced, removed or disabled: workers are retired, not reused.
    closed: AtomicBool,
    live: Arc<LiveSet>,
}

impl Shared {
    /// Retires the idle workers; the busy ones are retired when their call ends.
    fn close(&self) {
        let idle = {
            let mut idle = lock(&self.idle);
            self.closed.store(true, Ordering::Release);
            std::mem::take(&mut *idle)
        };
        drop(idle);
    }

    fn take_idle(&self) -> Option<WorkerProc> {
        lock(&self.idle).pop()
    }

    /// Returns a worker after a clean call, or retires it.
    fn put_back(&self, proc: WorkerProc) {
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
    threads: WorkerPool,
    shared: Arc<Shared>,
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

// ---------------------------------------------------------------------------------------------
// Calls

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
    /// Catalog rows, gathered by the thread.
    Rows(Vec<f64>),
    /// An encoded SCORE frame.
    Frame(Vec<u8>),
}

enum Reply {
    Async(oneshot::Sender<Result<Vec<RowResult>, HostError>>),
    Blocking(mpsc::SyncSender<Result<Vec<RowResult>, HostError>>),
}

impl Reply {
    fn send(self, result: Result<Vec<RowResult>, HostError>) {
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

/// Encodes a SCORE frame of the declared columns of `n_rows` catalog rows.
fn encode_score(plugin: &Plugin, rows: &[f64], n_rows: usize, buf: &mut Vec<u8>) {
    let n_inputs = plugin.n_inputs();
    let mut w = Writer::frame(buf, tag::SCORE);
    w.usize(n_rows).usize(n_inputs);
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
) -> Result<Vec<RowResult>, HostError> {
    plugin.ensure_ready()?;
    let killed = || HostError::Internal("the call was abandoned and its worker killed".to_owned());
    let mut proc = match shared.take_idle() {
        Some(proc) => {
            call.attach(&proc.handle);
            proc
        }
        None => match shared.spec.start(&shared.live, call) {
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
        Request::Rows(rows) => encode_score(plugin, &rows, n_rows, &mut proc.out),
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
                    plugin.outcome(scored.status, message, &scored.outputs, &scored.row_status)
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
    rows: Vec<f64>,
    n_rows: usize,
    deadline: Duration,
    cancel: Arc<AtomicBool>,
) -> Result<Vec<RowResult>, HostError> {
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
        Request::Rows(rows),
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
    rows: &[f64],
    n_rows: usize,
    cancel: &AtomicBool,
) -> Result<Vec<RowResult>, HostError> {
    let cancelled = || HostError::Cancelled {
        id: plugin.id().to_owned(),
    };
    if cancel.load(Ordering::Acquire) {
        return Err(cancelled());
    }
    let mut frame = Vec::new();
    encode_score(plugin, rows, n_rows, &mut frame);
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

    #[test]
    fn exits_name_the_signal() {
        let exit = Exit {
            status: Some(libc::SIGSEGV),
            max_rss_kib: 4096,
            cpu: Duration::from_millis(10),
        };
        let text = exit.describe();
        assert!(text.contains("signal 11 (SIGSEGV"), "{text}");
        assert!(text.contains("4 MiB"), "{text}");
        let exit = Exit {
            status: Some(3 << 8),
            ..exit
        };
        assert!(exit.describe().contains("exited with status 3"));
    }

    #[test]
    fn a_killed_process_is_reaped_once_and_never_signalled_after() {
        let live = Arc::new(LiveSet::default());
        let command = WorkerCommand::new("sleep");
        let proc = start_process(&command, Path::new("30"), &live).expect("sleep starts");
        let pid = proc.pid();
        assert_eq!(lock(&live).iter().copied().collect::<Vec<_>>(), [pid]);
        let text = proc.diagnose(Broken::Io(String::new()));
        assert!(text.contains("SIGKILL"), "{text}");
        assert!(lock(&live).is_empty());
        // Reaped: `/proc/<pid>` is gone (or belongs to a new process, not a zombie of ours).
        let status = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        assert!(!status.contains(") Z "), "{status}");
    }

    #[test]
    fn a_retired_process_exits_when_its_stdin_closes() {
        let live = Arc::new(LiveSet::default());
        let command = WorkerCommand::new("sh").arg("-c").arg("cat >/dev/null");
        let proc = start_process(&command, Path::new("ignored"), &live).expect("sh starts");
        drop(proc);
        let until = Instant::now() + Duration::from_secs(5);
        while !lock(&live).is_empty() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(lock(&live).is_empty(), "the retired worker was reaped");
    }
}
