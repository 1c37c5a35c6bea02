use crate::encoding::{Labels, MetricEncoder, MetricType, Value};
use crate::metrics::Series;

/// A gauge whose value is read by calling a function at scrape time: queue lengths, pool sizes,
/// anything another structure already knows.
///
/// If the function panics, the scrape leaves this family out and counts the failure in
/// `vitalsign_collect_errors_total`; the rest of the scrape is unaffected.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use vitalsign::{CallbackGauge, Format, Registry};
///
/// let pool = Arc::new(AtomicUsize::new(7));
/// let registry = Registry::new();
/// let p = pool.clone();
/// registry.register("pool_idle", "Idle connections.", CallbackGauge::new(move || p.load(Ordering::Relaxed) as f64))?;
/// assert_eq!(registry.render(Format::Prometheus), "\
/// ## HELP pool_idle Idle connections.
/// ## TYPE pool_idle gauge
/// pool_idle 7
/// ## HELP vitalsign_collect_errors_total Scrapes that left a family out because its metric or collector failed.
/// ## TYPE vitalsign_collect_errors_total counter
/// vitalsign_collect_errors_total{metric=\"pool_idle\"} 0
/// ");
/// # Ok::<(), vitalsign::Error>(())
/// ```
pub struct CallbackGauge {
    read: Box<dyn Fn() -> f64 + Send + Sync>,
}

impl CallbackGauge {
    /// A gauge that reads `read()` at every scrape.
    pub fn new(read: impl Fn() -> f64 + Send + Sync + 'static) -> Self {
        Self {
            read: Box::new(read),
        }
    }

    /// Calls the function.
    pub fn get(&self) -> f64 {
        (self.read)()
    }
}

impl std::fmt::Debug for CallbackGauge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackGauge").finish_non_exhaustive()
    }
}

impl Series for CallbackGauge {
    const TYPE: MetricType = MetricType::Gauge;

    fn encode_series(&self, labels: Labels<'_>, encoder: &mut MetricEncoder<'_>) {
        encoder.gauge(labels, Value::F64(self.get()));
    }

    fn fallible_series(&self) -> bool {
        true
    }
}
