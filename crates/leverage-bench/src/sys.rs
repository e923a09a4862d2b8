//! What the benchmark reads from Linux: CPU affinity, CPU time per process and per core
//! (`/proc/PID/stat`, `/proc/stat`), memory (`/proc/PID/status`), the load average; and the
//! server processes it starts, pinned to a core, and stops again.

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Serialize;

/// Number of CPUs the kernel has online (not this process's affinity).
pub fn online_cpus() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(n).unwrap_or(1).max(1)
}

/// Clock ticks per second of the CPU times in `/proc` (USER_HZ, 100 almost everywhere).
fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if n > 0 { n as f64 } else { 100.0 }
}

fn cpu_set(cpu: usize) -> libc::cpu_set_t {
    // SAFETY: cpu_set_t is plain data; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `cpu` is below CPU_SETSIZE for any machine this runs on (checked by the caller).
    unsafe { libc::CPU_SET(cpu, &mut set) };
    set
}

/// Pins the calling thread, and every thread it creates afterwards, to one CPU.
pub fn pin_current_thread(cpu: usize) -> anyhow::Result<()> {
    if cpu >= online_cpus() {
        bail!("cannot pin to CPU {cpu}: {} CPUs online", online_cpus());
    }
    let set = cpu_set(cpu);
    // SAFETY: pid 0 is the calling thread; `set` is a valid cpu_set_t of the size passed.
    let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    if rc != 0 {
        bail!(
            "sched_setaffinity({cpu}) failed: {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

/// Makes `command` start its process pinned to `cpu`, as `taskset -c CPU` would, without the
/// extra exec (which would otherwise count in start-up times).
pub fn pin_command(command: &mut Command, cpu: usize) {
    let set = cpu_set(cpu);
    // SAFETY: the closure only makes one async-signal-safe system call on data it owns.
    unsafe {
        command.pre_exec(move || {
            let rc = libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
            if rc != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// `Cpus_allowed_list` of a process (or `self`), e.g. "0" or "0-1".
pub fn cpus_allowed(pid: &str) -> String {
    status_field(pid, "Cpus_allowed_list:").unwrap_or_default()
}

fn status_field(pid: &str, key: &str) -> Option<String> {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .map(|v| v.trim().to_owned())
}

/// A memory figure of `/proc/PID/status` (`VmRSS`, `VmHWM`) in MB (10^6 bytes, the unit of
/// issue 4's "40 MB").
pub fn memory_mb(pid: u32, key: &str) -> Option<f64> {
    let value = status_field(&pid.to_string(), &format!("{key}:"))?;
    let kib: f64 = value.split_whitespace().next()?.parse().ok()?;
    Some(kib * 1024.0 / 1e6)
}

/// Open file descriptors of a process (entries of `/proc/PID/fd`).
pub fn open_fds(pid: u32) -> Option<usize> {
    Some(fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
}

/// The 1-minute load average.
pub fn loadavg1() -> f64 {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|t| t.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(f64::NAN)
}

/// User + system CPU seconds of a process, all its threads together.
pub fn process_cpu_seconds(pid: &str) -> f64 {
    let Ok(text) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // The command name is in parentheses and may hold spaces: fields count from the last ')'.
    let Some(rest) = text.rfind(')').map(|i| &text[i + 1..]) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')': state is field 3 of the man page, utime 14 and stime 15.
    let get = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<f64>().ok());
    match (get(14), get(15)) {
        (Some(u), Some(s)) => (u + s) / ticks_per_second(),
        _ => 0.0,
    }
}

/// CPU seconds per core and for the whole machine, from `/proc/stat`.
#[derive(Clone, Debug, Default)]
pub struct CpuTimes {
    /// user + nice + system, all CPUs (what processes ran).
    pub task: f64,
    /// irq + softirq, all CPUs (loopback networking is mostly here).
    pub irq: f64,
    /// steal, all CPUs (the hypervisor gave our vCPU to someone else).
    pub steal: f64,
    /// Busy seconds (everything but idle and iowait) per CPU.
    pub busy_per_cpu: Vec<f64>,
}

impl CpuTimes {
    pub fn read() -> CpuTimes {
        let hz = ticks_per_second();
        let mut out = CpuTimes::default();
        let Ok(text) = fs::read_to_string("/proc/stat") else {
            return out;
        };
        for line in text.lines() {
            let mut parts = line.split_whitespace();
            let Some(name) = parts.next() else { continue };
            if !name.starts_with("cpu") {
                continue;
            }
            let v: Vec<f64> = parts.filter_map(|p| p.parse().ok()).collect();
            let at = |i: usize| v.get(i).copied().unwrap_or(0.0) / hz;
            let (user, nice, system, idle, iowait) = (at(0), at(1), at(2), at(3), at(4));
            let (irq, softirq, steal) = (at(5), at(6), at(7));
            if name == "cpu" {
                out.task = user + nice + system;
                out.irq = irq + softirq;
                out.steal = steal;
            } else {
                let _ = (idle, iowait);
                out.busy_per_cpu
                    .push(user + nice + system + irq + softirq + steal);
            }
        }
        out
    }
}

/// CPU use over a measured window, in cores (1.0 = one core fully busy).
#[derive(Clone, Debug, Default, Serialize)]
pub struct CpuUse {
    /// The server process under load.
    pub server: f64,
    /// This benchmark process (the load generator or the client).
    pub client: f64,
    /// Every other process: noise (trap 3). The other idle server of the bench counts here.
    pub others: f64,
    /// Interrupt and softirq time, all CPUs (mostly loopback TCP).
    pub irq: f64,
    /// Time the hypervisor took from our vCPUs.
    pub steal: f64,
    /// Busy fraction of each core, index = CPU number.
    pub per_core: Vec<f64>,
}

/// Samples taken at the start of a window, to be compared with the end.
#[derive(Clone, Debug)]
pub struct CpuSample {
    at: Instant,
    server: f64,
    client: f64,
    machine: CpuTimes,
}

impl CpuSample {
    pub fn take(server_pid: Option<u32>) -> CpuSample {
        CpuSample {
            at: Instant::now(),
            server: server_pid.map_or(0.0, |p| process_cpu_seconds(&p.to_string())),
            client: process_cpu_seconds("self"),
            machine: CpuTimes::read(),
        }
    }

    /// CPU use from `self` to `end`, both taken with the same server pid.
    pub fn until(&self, end: &CpuSample) -> CpuUse {
        let secs = end.at.duration_since(self.at).as_secs_f64().max(1e-9);
        let server = (end.server - self.server) / secs;
        let client = (end.client - self.client) / secs;
        let task = (end.machine.task - self.machine.task) / secs;
        CpuUse {
            server,
            client,
            others: (task - server - client).max(0.0),
            irq: (end.machine.irq - self.machine.irq) / secs,
            steal: (end.machine.steal - self.machine.steal) / secs,
            per_core: end
                .machine
                .busy_per_cpu
                .iter()
                .zip(&self.machine.busy_per_cpu)
                .map(|(b, a)| (b - a) / secs)
                .collect(),
        }
    }
}

/// A free TCP port on the loopback interface (free when asked; the server binds it next).
pub fn free_local_addr() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding a probe port")?;
    Ok(listener.local_addr()?)
}

/// A server process the bench started; killed if still running when dropped.
#[derive(Debug)]
pub struct ServerProcess {
    pub name: String,
    pub addr: SocketAddr,
    pub child: Child,
    pub log: PathBuf,
    pub spawned_at: Instant,
}

impl ServerProcess {
    /// Starts `command` pinned to `cpu` (when given) with one tokio worker, stderr and stdout
    /// to `log`.
    pub fn spawn(
        name: &str,
        mut command: Command,
        addr: SocketAddr,
        cpu: Option<usize>,
        log: &Path,
    ) -> anyhow::Result<ServerProcess> {
        let out = fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        command
            .env("TOKIO_WORKER_THREADS", "1")
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        if let Some(cpu) = cpu {
            pin_command(&mut command, cpu);
        }
        let spawned_at = Instant::now();
        let child = command
            .spawn()
            .with_context(|| format!("starting {name}: {command:?}"))?;
        Ok(ServerProcess {
            name: name.to_owned(),
            addr,
            child,
            log: log.to_owned(),
            spawned_at,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails with the end of the server's log if it has exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "{} exited ({status}); end of its log {}:\n{}",
                self.name,
                self.log.display(),
                self.log_tail(30)
            );
        }
        Ok(())
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let mut text = String::new();
        if let Ok(mut f) = fs::File::open(&self.log) {
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            let _ = f.seek(SeekFrom::Start(len.saturating_sub(16 * 1024)));
            let _ = f.read_to_string(&mut text);
        }
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// SIGTERM, then SIGKILL after `grace`; waits for the process to end. Async, so that the
    /// bench's own runtime keeps serving its client connections (which the server's graceful
    /// shutdown waits to see closed) meanwhile.
    pub async fn stop(mut self, grace: Duration) -> anyhow::Result<()> {
        if self.child.try_wait()?.is_some() {
            return Ok(());
        }
        let pid = libc::pid_t::try_from(self.child.id()).context("pid")?;
        // SAFETY: signalling our own child, which has not been reaped yet.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let until = Instant::now() + grace;
        while Instant::now() < until {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        eprintln!(
            "[server] {} still running {grace:?} after SIGTERM: killing it",
            self.name
        );
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What the machine is, for the record.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory_gib: f64,
    pub kernel: String,
}

impl Machine {
    pub fn describe() -> Machine {
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            .unwrap_or_default();
        let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_gib = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
        let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_owned();
        Machine {
            cpus: online_cpus(),
            cpu_model,
            memory_gib,
            kernel,
        }
    }
}
