//! Talking to one running worker: a frame out, a frame back within a deadline, and when the
//! worker stops making sense, what became of it.
//!
//! A dead worker and a hung one look alike from the pipe (an error, or silence), so every failed
//! exchange ends with the process killed and reaped, and the diagnosis names how it ended: the
//! operator needs the signal or the exit status, not "broken pipe".

use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::ChildStdout;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::options::WorkerCommand;
use super::process::{Exit, LiveSet, Pipes, ProcHandle, retire, spawn};
use crate::wire::{self, ReadError, Scored};

/// How long a worker whose pipe broke has to finish dying before it is killed.
const EXIT_GRACE: Duration = Duration::from_millis(200);

/// A running worker, owned by one thread at a time. Dropping it retires it: stdin closed (the
/// worker exits), reaped by the reaper thread.
pub(super) struct WorkerProc {
    pub(super) handle: Arc<ProcHandle>,
    pipes: Option<Pipes>,
    /// Frames read.
    pub(super) buf: Vec<u8>,
    /// Frames written.
    pub(super) out: Vec<u8>,
    pub(super) scored: Scored,
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
pub(super) enum Broken {
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
    pub(super) fn pid(&self) -> u32 {
        self.handle.pid
    }

    /// Writes the frame in `self.out`.
    pub(super) fn send(&mut self) -> Result<(), Broken> {
        let Self { pipes, out, .. } = self;
        let pipes = pipes
            .as_mut()
            .ok_or_else(|| Broken::Io("the worker's pipes are closed".to_owned()))?;
        wire::write_frame(&mut pipes.stdin, out).map_err(|error| Broken::Io(error.to_string()))
    }

    /// Reads one frame into `self.buf`; returns its tag (the payload is `self.buf[1..]`).
    pub(super) fn recv(&mut self, max: usize, deadline: Option<Instant>) -> Result<u8, Broken> {
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

    pub(super) fn payload(&self) -> &[u8] {
        self.buf.get(1..).unwrap_or(&[])
    }

    /// Kills and reaps the worker, and says what became of it.
    pub(super) fn diagnose(self, broken: Broken) -> String {
        self.diagnose_death(broken).0
    }

    /// [`WorkerProc::diagnose`], with how the worker ended when it died on its own (not killed
    /// here).
    pub(super) fn diagnose_death(mut self, broken: Broken) -> (String, Option<Exit>) {
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

/// Starts a worker for `library`.
pub(super) fn start_process(
    command: &WorkerCommand,
    library: &Path,
    live: &Arc<LiveSet>,
) -> Result<WorkerProc, String> {
    let (handle, pipes) = spawn(command, library, live)?;
    Ok(WorkerProc {
        handle,
        pipes,
        buf: Vec::new(),
        out: Vec::new(),
        scored: Scored::default(),
    })
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::sync::lock;

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
