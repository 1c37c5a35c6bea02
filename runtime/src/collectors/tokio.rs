//! `tokio_runtime_*` metrics from a tokio runtime's `RuntimeMetrics`, read at scrape time.

use tokio::runtime::Handle;

use crate::encoding::MetricType;
use crate::registry::{Collect, Collector, Descriptor};

/// Writes a tokio runtime's metrics at every scrape, from its stable `RuntimeMetrics`: workers,
/// alive tasks and the global queue's depth as gauges, and per worker (`worker="0"`, ...) the
/// seconds it was busy and the times it parked, as counters. Built with
/// `RUSTFLAGS="--cfg tokio_unstable"`, also the blocking pool (threads, idle threads, queue
/// depth), tasks spawned, and per worker its polls, steals and local queue depth. No task runs in
/// the background: everything is read when Prometheus asks.
///
/// ```
/// use vitalsign::{Format, Registry, TokioRuntimeCollector};
///
/// let runtime = tokio::runtime::Builder::new_multi_thread()
///     .worker_threads(2)
///     .build()
///     .unwrap();
/// let registry = Registry::new();
/// registry.register_collector(TokioRuntimeCollector::new(runtime.handle().clone()))?;
/// let text = registry.render(Format::Prometheus);
/// assert!(text.contains("\ntokio_runtime_workers 2\n"));
/// assert!(text.contains("\ntokio_runtime_worker_parks_total{worker=\"1\"} "));
/// # Ok::<(), vitalsign::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct TokioRuntimeCollector {
    handle: Handle,
    /// When the collector was made (seconds since the Unix epoch): the start its counters
    /// count from, as far as a scraper can know.
    started: f64,
}

impl TokioRuntimeCollector {
    /// A collector for the runtime `handle` belongs to (`Handle::current()` inside it). Its
    /// counters carry the time it was made as their start timestamp: make it when the runtime
    /// starts, as a service does before it serves.
    pub fn new(handle: Handle) -> Self {
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        Self { handle, started }
    }
}

const FAMILIES: &[(MetricType, &str, &str)] = &[
    (
        MetricType::Gauge,
        "tokio_runtime_workers",
        "Worker threads of the tokio runtime.",
    ),
    (
        MetricType::Gauge,
        "tokio_runtime_alive_tasks",
        "Tasks alive in the tokio runtime (spawned and not yet finished).",
    ),
    (
        MetricType::Gauge,
        "tokio_runtime_global_queue_depth",
        "Tasks waiting in the tokio runtime's global (injection) queue.",
    ),
    #[cfg(target_has_atomic = "64")]
    (
        MetricType::Counter,
        "tokio_runtime_worker_busy_seconds_total",
        "Seconds each tokio worker spent busy (polling tasks).",
    ),
    #[cfg(target_has_atomic = "64")]
    (
        MetricType::Counter,
        "tokio_runtime_worker_parks_total",
        "Times each tokio worker parked (ran out of work and went to sleep).",
    ),
    #[cfg(tokio_unstable)]
    (
        MetricType::Gauge,
        "tokio_runtime_blocking_threads",
        "Threads of the tokio runtime's blocking pool.",
    ),
    #[cfg(tokio_unstable)]
    (
        MetricType::Gauge,
        "tokio_runtime_idle_blocking_threads",
        "Idle threads of the tokio runtime's blocking pool.",
    ),
    #[cfg(tokio_unstable)]
    (
        MetricType::Gauge,
        "tokio_runtime_blocking_queue_depth",
        "Tasks waiting for a thread of the blocking pool.",
    ),
    #[cfg(all(tokio_unstable, target_has_atomic = "64"))]
    (
        MetricType::Counter,
        "tokio_runtime_spawned_tasks_total",
        "Tasks spawned in the tokio runtime.",
    ),
    #[cfg(all(tokio_unstable, target_has_atomic = "64"))]
    (
        MetricType::Counter,
        "tokio_runtime_worker_polls_total",
        "Task polls of each tokio worker.",
    ),
    #[cfg(all(tokio_unstable, target_has_atomic = "64"))]
    (
        MetricType::Counter,
        "tokio_runtime_worker_steals_total",
        "Tasks each tokio worker stole from another.",
    ),
    #[cfg(tokio_unstable)]
    (
        MetricType::Gauge,
        "tokio_runtime_worker_local_queue_depth",
        "Tasks waiting in each tokio worker's local queue.",
    ),
];

impl Collector for TokioRuntimeCollector {
    fn describe(&self) -> Vec<(MetricType, Descriptor)> {
        super::describe(FAMILIES)
    }

    fn series_bound(&self) -> Option<u64> {
        // The runtime's own families once, the worker families once per worker (a runtime's
        // worker count is fixed when it is built).
        let per_worker = FAMILIES
            .iter()
            .filter(|(_, name, _)| name.starts_with("tokio_runtime_worker_"))
            .count() as u64;
        let workers = self.handle.metrics().num_workers() as u64;
        Some(FAMILIES.len() as u64 - per_worker + per_worker * workers)
    }

    fn collect(
        &self,
        out: &mut Collect<'_>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let m = self.handle.metrics();
        let workers = m.num_workers();
        out.gauge("tokio_runtime_workers", &[], workers as u64)?;
        out.gauge("tokio_runtime_alive_tasks", &[], m.num_alive_tasks() as u64)?;
        out.gauge(
            "tokio_runtime_global_queue_depth",
            &[],
            m.global_queue_depth() as u64,
        )?;
        #[cfg(tokio_unstable)]
        {
            out.gauge(
                "tokio_runtime_blocking_threads",
                &[],
                m.num_blocking_threads() as u64,
            )?;
            out.gauge(
                "tokio_runtime_idle_blocking_threads",
                &[],
                m.num_idle_blocking_threads() as u64,
            )?;
            out.gauge(
                "tokio_runtime_blocking_queue_depth",
                &[],
                m.blocking_queue_depth() as u64,
            )?;
            #[cfg(target_has_atomic = "64")]
            out.counter_since(
                "tokio_runtime_spawned_tasks_total",
                &[],
                m.spawned_tasks_count(),
                self.started,
            )?;
        }
        for w in 0..workers {
            let worker = w.to_string();
            let labels = [("worker", worker.as_str())];
            #[cfg(target_has_atomic = "64")]
            {
                out.counter_since(
                    "tokio_runtime_worker_busy_seconds_total",
                    &labels,
                    m.worker_total_busy_duration(w).as_secs_f64(),
                    self.started,
                )?;
                out.counter_since(
                    "tokio_runtime_worker_parks_total",
                    &labels,
                    m.worker_park_count(w),
                    self.started,
                )?;
            }
            #[cfg(all(tokio_unstable, target_has_atomic = "64"))]
            {
                out.counter_since(
                    "tokio_runtime_worker_polls_total",
                    &labels,
                    m.worker_poll_count(w),
                    self.started,
                )?;
                out.counter_since(
                    "tokio_runtime_worker_steals_total",
                    &labels,
                    m.worker_steal_count(w),
                    self.started,
                )?;
            }
            #[cfg(tokio_unstable)]
            out.gauge(
                "tokio_runtime_worker_local_queue_depth",
                &labels,
                m.worker_local_queue_depth(w) as u64,
            )?;
            let _ = &labels;
        }
        Ok(())
    }
}
