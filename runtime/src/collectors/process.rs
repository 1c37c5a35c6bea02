//! `process_*` metrics from Linux's `/proc/self`, with the names Prometheus' other clients use so
//! existing dashboards work. Elsewhere the collector describes and writes nothing.

use crate::encoding::MetricType;
use crate::registry::{Collect, Collector, Descriptor};

/// Linux reports process times in `USER_HZ` ticks, 100 per second on every architecture that
/// exposes them to user space.
const TICKS_PER_SECOND: f64 = 100.0;

/// Writes `process_cpu_seconds_total`, `process_resident_memory_bytes`,
/// `process_virtual_memory_bytes`, `process_open_fds`, `process_max_fds`,
/// `process_start_time_seconds` and `process_threads`, read from `/proc` at every scrape.
///
/// ```
/// use vitalsign::{Format, ProcessCollector, Registry};
///
/// let registry = Registry::new();
/// registry.register_collector(ProcessCollector::new())?;
/// let text = registry.render(Format::Prometheus);
/// # #[cfg(target_os = "linux")]
/// assert!(text.contains("\n# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes "));
/// # Ok::<(), vitalsign::Error>(())
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct ProcessCollector {
    _private: (),
}

impl ProcessCollector {
    /// A collector for the current process.
    pub fn new() -> Self {
        Self::default()
    }
}

const FAMILIES: &[(MetricType, &str, &str)] = &[
    (
        MetricType::Counter,
        "process_cpu_seconds_total",
        "Total user and system CPU time spent in seconds.",
    ),
    (
        MetricType::Gauge,
        "process_resident_memory_bytes",
        "Resident memory size in bytes.",
    ),
    (
        MetricType::Gauge,
        "process_virtual_memory_bytes",
        "Virtual memory size in bytes.",
    ),
    (
        MetricType::Gauge,
        "process_open_fds",
        "Number of open file descriptors.",
    ),
    (
        MetricType::Gauge,
        "process_max_fds",
        "Maximum number of open file descriptors.",
    ),
    (
        MetricType::Gauge,
        "process_start_time_seconds",
        "Start time of the process since unix epoch in seconds.",
    ),
    (
        MetricType::Gauge,
        "process_threads",
        "Number of OS threads in the process.",
    ),
];

impl Collector for ProcessCollector {
    fn describe(&self) -> Vec<(MetricType, Descriptor)> {
        if !cfg!(target_os = "linux") {
            return Vec::new();
        }
        super::describe(FAMILIES)
    }

    fn series_bound(&self) -> Option<u64> {
        // One unlabelled series per family.
        Some(if cfg!(target_os = "linux") {
            FAMILIES.len() as u64
        } else {
            0
        })
    }

    fn collect(
        &self,
        out: &mut Collect<'_>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if !cfg!(target_os = "linux") {
            return Ok(());
        }
        let p = read_proc()?;
        out.counter_since(
            "process_cpu_seconds_total",
            &[],
            p.cpu_seconds,
            p.start_time_seconds,
        )?;
        out.gauge("process_resident_memory_bytes", &[], p.resident_bytes)?;
        out.gauge("process_virtual_memory_bytes", &[], p.virtual_bytes)?;
        out.gauge("process_open_fds", &[], p.open_fds)?;
        out.gauge("process_max_fds", &[], p.max_fds)?;
        out.gauge("process_start_time_seconds", &[], p.start_time_seconds)?;
        out.gauge("process_threads", &[], p.threads)?;
        Ok(())
    }
}

#[derive(Debug, Default, PartialEq)]
struct Proc {
    cpu_seconds: f64,
    resident_bytes: u64,
    virtual_bytes: u64,
    open_fds: u64,
    max_fds: u64,
    start_time_seconds: f64,
    threads: u64,
}

fn read_proc() -> std::io::Result<Proc> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let status = std::fs::read_to_string("/proc/self/status")?;
    let limits = std::fs::read_to_string("/proc/self/limits")?;
    let boot = std::fs::read_to_string("/proc/stat")?;
    let open_fds = std::fs::read_dir("/proc/self/fd")?.count() as u64;
    parse(&stat, &status, &limits, &boot, open_fds)
        .ok_or_else(|| std::io::Error::other("unexpected /proc format"))
}

fn parse(stat: &str, status: &str, limits: &str, boot: &str, open_fds: u64) -> Option<Proc> {
    // The command name in parentheses may hold spaces; fields are counted after its `)`.
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Field 3 of stat(5) is fields[0] here: utime is field 14, stime 15, starttime 22.
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    // The first number after `key` in `/proc/self/status` (a size in kB, or a count).
    let number = |key: &str| {
        let line = status.lines().find(|l| l.starts_with(key))?;
        line[key.len()..]
            .split_whitespace()
            .next()?
            .parse::<u64>()
            .ok()
    };
    let max_fds = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()?;
    let btime: u64 = boot
        .lines()
        .find(|l| l.starts_with("btime "))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(Proc {
        cpu_seconds: (field(14)? + field(15)?) as f64 / TICKS_PER_SECOND,
        resident_bytes: number("VmRSS:")? * 1024,
        virtual_bytes: number("VmSize:")? * 1024,
        open_fds,
        max_fds,
        start_time_seconds: btime as f64 + field(22)? as f64 / TICKS_PER_SECOND,
        threads: number("Threads:")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_files() {
        let stat = "4242 (my (odd) app) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 125 0 0 20 0 \
                    7 0 500 123456 789 18446744073709551615";
        let status = "Name:\tapp\nVmSize:\t  123456 kB\nVmRSS:\t    2048 kB\nThreads:\t7\n";
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1024                 524288               files\n";
        let boot = "cpu  1 2 3\nbtime 1700000000\n";
        assert_eq!(
            parse(stat, status, limits, boot, 12),
            Some(Proc {
                cpu_seconds: 3.75,
                resident_bytes: 2048 * 1024,
                virtual_bytes: 123456 * 1024,
                open_fds: 12,
                max_fds: 1024,
                start_time_seconds: 1_700_000_005.0,
                threads: 7,
            })
        );
        assert_eq!(parse("garbage", status, limits, boot, 1), None);
    }
}
