//! A worker process's life, apart from what is said over its pipes: started, killed, reaped.
//!
//! Every worker is started by one long-lived thread, because `PR_SET_PDEATHSIG` fires when the
//! *thread* that forked the worker ends, not the process; and every worker is reaped by the
//! thread that owns it (or by the reaper thread when it is retired). A pid is only ever
//! signalled while its process is known not to have been reaped (a zombie keeps its pid), so a
//! kill can never reach an unrelated process that reused the pid.

use std::collections::BTreeSet;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

use super::options::WorkerCommand;
use crate::sync::lock;

/// How long a retired worker has to exit after its stdin closes before it is killed.
const RETIRE_GRACE: Duration = Duration::from_secs(1);

/// How a worker process ended, from `wait4`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Exit {
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
    pub(super) fn signal(&self) -> Option<i32> {
        self.status
            .and_then(|status| ExitStatus::from_raw(status).signal())
    }

    pub(super) fn describe(&self) -> String {
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
pub(super) type LiveSet = Mutex<BTreeSet<u32>>;

/// A worker process, shared between its owner (who reaps it) and whoever may kill it.
#[derive(Debug)]
pub(super) struct ProcHandle {
    pub(super) pid: u32,
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
    pub(super) fn kill(&self) {
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
    pub(super) fn reap(&self) -> Exit {
        self.kill();
        self.wait_exited(false);
        self.collect()
    }

    /// Reaps the process if it has exited.
    pub(super) fn try_reap(&self) -> Option<Exit> {
        self.wait_exited(true).then(|| self.collect())
    }

    pub(super) fn is_reaped(&self) -> bool {
        lock(&self.exit).is_some()
    }
}

pub(super) struct Pipes {
    pub(super) stdin: ChildStdin,
    pub(super) stdout: ChildStdout,
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

/// Starts a worker process for `library`: its handle (counted in `live` until it is reaped) and
/// its pipes.
pub(super) fn spawn(
    command: &WorkerCommand,
    library: &Path,
    live: &Arc<LiveSet>,
) -> Result<(Arc<ProcHandle>, Option<Pipes>), String> {
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
    Ok((handle, pipes))
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
pub(super) fn retire(handle: Arc<ProcHandle>, pipes: Option<Pipes>) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
