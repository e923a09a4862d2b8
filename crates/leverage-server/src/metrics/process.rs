//! The standard `process_*` metrics of the Prometheus conventions (CPU seconds, resident and
//! virtual memory, open and maximum file descriptors, start time), read from /proc at each
//! scrape. The names, types and help texts are those the official clients use, so that the
//! dashboards operators already have for any process work here too. Elsewhere than on Linux
//! there is no /proc and the collector exposes nothing.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// Reads the process's figures on each scrape.
#[derive(Debug)]
pub(super) struct ProcessCollector;

/// One reading of the process.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct ProcessStats {
    pub cpu_seconds: f64,
    pub resident_memory_bytes: u64,
    pub virtual_memory_bytes: u64,
    pub open_fds: u64,
    pub max_fds: Option<u64>,
    pub start_time_seconds: f64,
}

/// The fields of /proc/self/stat that the metrics need, in their raw units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stat {
    /// User and system time, in clock ticks.
    utime: u64,
    stime: u64,
    /// Clock ticks from boot to the start of the process.
    starttime: u64,
    vsize_bytes: u64,
    rss_pages: u64,
}

/// Parses /proc/self/stat. The command name (field 2) is in parentheses and may hold spaces
/// and parentheses itself, so the fields are counted from the last `)`.
fn parse_stat(text: &str) -> Option<Stat> {
    let after_name = &text[text.rfind(')')? + 1..];
    // Fields from 3 (state) on; field n is at index n - 3.
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(Stat {
        utime: field(14)?,
        stime: field(15)?,
        starttime: field(22)?,
        vsize_bytes: field(23)?,
        rss_pages: field(24)?,
    })
}

/// The boot time, in seconds since the epoch, from the `btime` line of /proc/stat.
fn parse_boot_time(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()
}

/// The soft limit on open files from /proc/self/limits; `None` when unlimited.
fn parse_max_fds(text: &str) -> Option<u64> {
    let line = text
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(target_os = "linux")]
impl ProcessStats {
    pub(super) fn read() -> Option<Self> {
        let stat = parse_stat(&std::fs::read_to_string("/proc/self/stat").ok()?)?;
        let boot_time = parse_boot_time(&std::fs::read_to_string("/proc/stat").ok()?)?;
        let max_fds = std::fs::read_to_string("/proc/self/limits")
            .ok()
            .and_then(|text| parse_max_fds(&text));
        // The directory being read holds a descriptor of its own while it is read, as in the
        // official clients, which count the same way.
        let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
        // SAFETY: sysconf only reads a configuration value; it has no preconditions.
        let (ticks_per_second, page_size) = unsafe {
            (
                libc::sysconf(libc::_SC_CLK_TCK),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        let ticks_per_second = u64::try_from(ticks_per_second).ok().filter(|t| *t > 0)? as f64;
        let page_size = u64::try_from(page_size).ok()?;
        Some(Self {
            cpu_seconds: (stat.utime + stat.stime) as f64 / ticks_per_second,
            resident_memory_bytes: stat.rss_pages * page_size,
            virtual_memory_bytes: stat.vsize_bytes,
            open_fds,
            max_fds,
            start_time_seconds: boot_time as f64 + stat.starttime as f64 / ticks_per_second,
        })
    }
}

#[cfg(not(target_os = "linux"))]
impl ProcessStats {
    pub(super) fn read() -> Option<Self> {
        None
    }
}

fn encode_gauge<N: prometheus_client::encoding::EncodeGaugeValue>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: N,
) -> Result<(), std::fmt::Error> {
    let gauge = ConstGauge::new(value);
    gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(stats) = ProcessStats::read() else {
            return Ok(());
        };
        let cpu = ConstCounter::new(stats.cpu_seconds);
        cpu.encode(encoder.encode_descriptor(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds.",
            None,
            cpu.metric_type(),
        )?)?;
        encode_gauge(
            &mut encoder,
            "process_resident_memory_bytes",
            "Resident memory size in bytes.",
            stats.resident_memory_bytes,
        )?;
        encode_gauge(
            &mut encoder,
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes.",
            stats.virtual_memory_bytes,
        )?;
        encode_gauge(
            &mut encoder,
            "process_open_fds",
            "Number of open file descriptors.",
            stats.open_fds,
        )?;
        if let Some(max_fds) = stats.max_fds {
            encode_gauge(
                &mut encoder,
                "process_max_fds",
                "Maximum number of open file descriptors.",
                max_fds,
            )?;
        }
        encode_gauge(
            &mut encoder,
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds.",
            stats.start_time_seconds,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line as the kernel writes it, for a command whose name holds a space and a `)`.
    const STAT: &str = "4242 (leverage) x) S 1 4242 4242 0 -1 4194560 2000 0 0 0 \
        150 75 0 0 20 0 9 0 123456 987654321 5120 18446744073709551615 1 1 0 0 0 0 0 \
        4096 17642 0 0 0 17 1 0 0 0 0 0\n";

    #[test]
    fn parses_stat_past_a_command_name_with_parentheses() {
        assert_eq!(
            parse_stat(STAT),
            Some(Stat {
                utime: 150,
                stime: 75,
                starttime: 123456,
                vsize_bytes: 987654321,
                rss_pages: 5120,
            })
        );
        assert_eq!(parse_stat("4242 (truncated) S 1 2"), None);
    }

    #[test]
    fn parses_boot_time_and_the_open_files_limit() {
        assert_eq!(
            parse_boot_time("cpu  1 2 3\nintr 5\nbtime 1764806400\nprocesses 9\n"),
            Some(1764806400)
        );
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
            Max processes             94000                94000                processes \n\
            Max open files            1024                 524288               files     \n";
        assert_eq!(parse_max_fds(limits), Some(1024));
        assert_eq!(
            parse_max_fds(
                "Max open files            unlimited            unlimited            files\n"
            ),
            None
        );
    }

    /// This test process, read for real: it runs, holds memory and files, and started after
    /// the machine booted and not after now.
    #[cfg(target_os = "linux")]
    #[test]
    fn reads_this_process() {
        let stats = ProcessStats::read().expect("/proc is readable");
        assert!(stats.resident_memory_bytes > 0, "{stats:?}");
        assert!(
            stats.virtual_memory_bytes >= stats.resident_memory_bytes,
            "{stats:?}"
        );
        assert!(stats.open_fds >= 3, "stdin, stdout, stderr: {stats:?}");
        assert!(
            stats.max_fds.is_none_or(|max| max >= stats.open_fds),
            "{stats:?}"
        );
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after the epoch")
            .as_secs_f64();
        let boot_time = parse_boot_time(&std::fs::read_to_string("/proc/stat").expect("stat"))
            .expect("btime") as f64;
        assert!(
            boot_time <= stats.start_time_seconds && stats.start_time_seconds <= now + 1.0,
            "{stats:?}"
        );
    }
}
