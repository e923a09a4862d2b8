//! Sandbox mode, the worker's side: one process, one plugin, batches in and out over stdin and
//! stdout until stdin closes.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::inprocess::InProcess;
use crate::instance::keeps_instance;
use crate::library;
use crate::plugin::{Limits, Plugin};
use crate::wire::{
    self, Init, MAX_HANDSHAKE_FRAME, MAX_REQUEST_FRAME, ReadError, Reader, SCORED_CALLED,
    SCORED_CREATE_FAILED, ScoredView, Writer, tag,
};

/// Exit status when the plugin was refused (the reason was sent to the host).
const EXIT_REFUSED: u8 = 2;
/// Exit status when the host is gone before the worker started.
const EXIT_ORPHANED: u8 = 3;
/// Exit status for a broken protocol or an I/O error.
const EXIT_BROKEN: u8 = 70;
/// Seconds between the soft CPU-time cap (`SIGXCPU`) and the hard one (`SIGKILL`).
const CPU_HARD_MARGIN_SECS: u64 = 5;

/// Runs a sandbox worker for the plugin library at `library` (the host passes the path as the
/// last argument of the worker command), speaking the host's protocol on stdin and stdout.
/// Returns when stdin closes (success) or on a protocol error; call it from `main` and return
/// its exit code. Do nothing before it that writes to stdout.
///
/// The worker dies with the process that started it (`PR_SET_PDEATHSIG`), applies the limits
/// the host sends (`RLIMIT_AS`, `RLIMIT_CPU`, no core dumps) before the plugin is loaded,
/// moves the protocol off file descriptors 0 and 1 (so that whatever the plugin prints goes to
/// stderr), then loads the plugin with the same checks as the host and serves its batches.
pub fn run_worker(library: &Path) -> ExitCode {
    match serve(library) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("leverage plugin worker ({}): {message}", library.display());
            ExitCode::from(EXIT_BROKEN)
        }
    }
}

fn serve(library: &Path) -> Result<ExitCode, String> {
    die_with_parent();
    let (mut input, mut output) =
        protocol_streams().map_err(|error| format!("cannot set up the protocol: {error}"))?;
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let broken = |error: ReadError| format!("reading from the host: {error}");
    let send = |output: &mut File, out: &[u8]| {
        wire::write_frame(output, out).map_err(|error| format!("writing to the host: {error}"))
    };

    let init = match wire::read_frame(&mut input, &mut buf, MAX_HANDSHAKE_FRAME) {
        Ok((tag::INIT, payload)) => Init::decode(payload).map_err(|error| error.0)?,
        Ok((other, _)) => return Err(format!("expected INIT, got frame {other}")),
        Err(ReadError::Closed) => return Ok(ExitCode::SUCCESS),
        Err(error) => return Err(broken(error)),
    };
    if std::os::unix::process::parent_id() != init.host_pid {
        // The host died before the death signal was armed.
        return Ok(ExitCode::from(EXIT_ORPHANED));
    }
    apply_limits(&init).map_err(|error| format!("cannot apply the resource limits: {error}"))?;

    let opened = match library::open(library) {
        Ok(opened) => opened,
        Err(failure) => {
            wire::encode_refused(&mut out, &failure.reason, failure.build.as_ref());
            send(&mut output, &out)?;
            return Ok(ExitCode::from(EXIT_REFUSED));
        }
    };
    let build = opened.build.clone();
    wire::encode_described(&mut out, &build, &opened.metadata);
    send(&mut output, &out)?;

    let config = match wire::read_frame(&mut input, &mut buf, MAX_HANDSHAKE_FRAME) {
        Ok((tag::CONFIGURE, payload)) => {
            let mut reader = Reader::new(payload);
            let config = reader.str("config").map_err(|error| error.0)?;
            reader.end("configure").map_err(|error| error.0)?;
            config
        }
        Ok((other, _)) => return Err(format!("expected CONFIGURE, got frame {other}")),
        Err(ReadError::Closed) => return Ok(ExitCode::SUCCESS),
        Err(error) => return Err(broken(error)),
    };
    // The host keeps the health accounting; here nothing is ever disabled.
    let limits = Limits {
        max_panics: u32::MAX,
        max_stuck_calls: u32::MAX,
    };
    let metadata = Arc::new(opened.metadata);
    let loaded = Plugin::new(
        library.to_path_buf(),
        crate::hash::FileHash::default(),
        build.clone(),
        metadata,
        &init.catalog,
        limits,
    )
    .and_then(|plugin| Ok((plugin, InProcess::new(opened.vtable, config)?)));
    let (plugin, backend) = match loaded {
        Ok(loaded) => loaded,
        Err(reason) => {
            wire::encode_refused(&mut out, &reason, Some(&build));
            send(&mut output, &out)?;
            return Ok(ExitCode::from(EXIT_REFUSED));
        }
    };
    Writer::frame(&mut out, tag::READY).finish();
    send(&mut output, &out)?;

    let never = AtomicBool::new(false);
    let width = plugin.metadata.output_width();
    let n_inputs = plugin.n_inputs();
    loop {
        let payload = match wire::read_frame(&mut input, &mut buf, MAX_REQUEST_FRAME) {
            Ok((tag::SCORE, payload)) => payload,
            Ok((other, _)) => return Err(format!("expected SCORE, got frame {other}")),
            Err(ReadError::Closed) => return Ok(ExitCode::SUCCESS),
            Err(error) => return Err(broken(error)),
        };
        let mut reader = Reader::new(payload);
        let n_rows = reader
            .usize("rows", MAX_REQUEST_FRAME / 8)
            .map_err(|error| error.0)?;
        let cols = reader
            .usize("inputs", MAX_REQUEST_FRAME / 8)
            .map_err(|error| error.0)?;
        if cols != n_inputs {
            return Err(format!(
                "the host sent rows of {cols} inputs, the plugin reads {n_inputs}"
            ));
        }
        // A call that sets parameters of its own gets an instance of its own, never reused.
        let config = match reader.u8("has configuration").map_err(|error| error.0)? {
            0 => None,
            _ => Some(reader.str("configuration").map_err(|error| error.0)?),
        };
        match backend.instance_for(config.as_deref()) {
            Err((code, message)) => ScoredView {
                kind: SCORED_CREATE_FAILED,
                status: code,
                cpu_micros: cpu_micros(),
                message: &message,
                row_status: &[],
                width,
                outputs: &[],
            }
            .encode(&mut out),
            Ok(mut instance) => {
                let inputs = instance.inputs_mut();
                inputs.clear();
                reader
                    .f64s_into(n_rows.saturating_mul(cols), inputs, "inputs")
                    .map_err(|error| error.0)?;
                reader.end("score").map_err(|error| error.0)?;
                let (code, message) = instance.call(n_rows, n_inputs, width, &never);
                ScoredView {
                    kind: SCORED_CALLED,
                    status: code,
                    cpu_micros: cpu_micros(),
                    message: &message,
                    row_status: instance.row_status(),
                    width,
                    outputs: instance.outputs(),
                }
                .encode(&mut out);
                if keeps_instance(code) && config.is_none() {
                    backend.recycle(&plugin, instance);
                }
            }
        }
        send(&mut output, &out)?;
    }
}

/// Asks the kernel to kill this process when the thread that started it ends (the host starts
/// workers from a thread that lives as long as the host).
fn die_with_parent() {
    #[cfg(target_os = "linux")]
    // SAFETY: `prctl(PR_SET_PDEATHSIG, signal)` takes integers and touches no memory.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
    }
}

/// Moves the protocol to new descriptors and points fd 1 at stderr and fd 0 at `/dev/null`, so
/// that a plugin that prints or reads stdin cannot corrupt the protocol.
fn protocol_streams() -> io::Result<(File, File)> {
    let input = duplicate(0)?;
    let output = duplicate(1)?;
    redirect(2, 1)?;
    let null = File::open("/dev/null")?;
    redirect(null.as_raw_fd(), 0)?;
    Ok((input, output))
}

/// A close-on-exec duplicate of `fd`, owned by the returned file.
fn duplicate(fd: RawFd) -> io::Result<File> {
    // SAFETY: `fcntl(F_DUPFD_CLOEXEC)` duplicates a descriptor and touches no memory.
    let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    if new < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `new` is a descriptor that was just created and that nothing else owns.
    Ok(unsafe { File::from_raw_fd(new) })
}

/// Makes `to` a duplicate of `from`.
fn redirect(from: RawFd, to: RawFd) -> io::Result<()> {
    // SAFETY: `dup2` takes two descriptors and touches no memory; `to` is a standard stream of
    // this process, which no Rust object owns exclusively.
    if unsafe { libc::dup2(from, to) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
type Resource = libc::__rlimit_resource_t;
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
type Resource = libc::c_int;

/// Sets a resource limit, never above the current hard limit (which only root may raise).
fn set_limit(resource: Resource, soft: u64, hard: u64) -> io::Result<()> {
    let mut current = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` writes one `rlimit` into the struct we pass.
    if unsafe { libc::getrlimit(resource, &mut current) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let hard = (hard as libc::rlim_t).min(current.rlim_max);
    let limit = libc::rlimit {
        rlim_cur: (soft as libc::rlim_t).min(hard),
        rlim_max: hard,
    };
    // SAFETY: `setrlimit` reads the one `rlimit` we pass.
    if unsafe { libc::setrlimit(resource, &limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn apply_limits(init: &Init) -> io::Result<()> {
    // A crash must cost a restart, not the time and disk of a core dump.
    set_limit(libc::RLIMIT_CORE, 0, 0)?;
    if init.memory_limit > 0 {
        set_limit(libc::RLIMIT_AS, init.memory_limit, init.memory_limit)?;
    }
    if init.cpu_limit_secs > 0 {
        let hard = init.cpu_limit_secs.saturating_add(CPU_HARD_MARGIN_SECS);
        set_limit(libc::RLIMIT_CPU, init.cpu_limit_secs, hard)?;
    }
    Ok(())
}

/// CPU time this process has used, in microseconds.
fn cpu_micros() -> u64 {
    // SAFETY: `rusage` is plain data, valid when zeroed.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `getrusage` writes one `rusage` into the struct we pass.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0;
    }
    let micros = |tv: libc::timeval| {
        u64::try_from(tv.tv_sec).unwrap_or(0) * 1_000_000 + u64::try_from(tv.tv_usec).unwrap_or(0)
    };
    micros(usage.ru_utime) + micros(usage.ru_stime)
}
