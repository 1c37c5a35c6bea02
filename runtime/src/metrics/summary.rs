use std::time::Duration;

use crate::encoding::{Labels, MetricEncoder, MetricType};
use crate::metrics::Series;
use crate::metrics::histogram::{Buckets, Core};

/// Observations' count and sum, without quantiles (the form Prometheus' own clients recommend:
/// quantiles cannot be aggregated across instances; use a [`Histogram`](crate::Histogram) for
/// those). Count and sum are always of the same observations.
///
/// ```
/// use vitalsign::{Format, Registry, Summary};
///
/// let registry = Registry::new();
/// let s = registry.register("request_size_bytes", "Request sizes.", Summary::new())?;
/// s.observe(512.0);
/// s.observe(1536.0);
/// assert_eq!(registry.render(Format::OpenMetrics), "\
/// ## HELP request_size_bytes Request sizes.
/// ## TYPE request_size_bytes summary
/// ## UNIT request_size_bytes bytes
/// request_size_bytes_count 2
/// request_size_bytes_sum 2048
/// ## EOF
/// ");
/// assert_eq!(registry.render(Format::Prometheus), "\
/// ## HELP request_size_bytes Request sizes.
/// ## TYPE request_size_bytes summary
/// request_size_bytes_count 2
/// request_size_bytes_sum 2048
/// ");
/// # Ok::<(), vitalsign::Error>(())
/// ```
pub struct Summary {
    core: Core,
}

impl Summary {
    /// A summary with no observations.
    pub fn new() -> Self {
        Self {
            core: Core::new(Buckets::none()),
        }
    }

    /// Records one observation.
    #[inline]
    pub fn observe(&self, v: f64) {
        self.core.observe(v, false);
    }

    /// Records a duration, in seconds, summed as integer nanoseconds.
    #[inline]
    pub fn observe_duration(&self, d: Duration) {
        self.core
            .observe_ns(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX), false);
    }

    /// The count and sum, consistent with each other.
    ///
    /// ```
    /// use vitalsign::{Summary, SummarySnapshot};
    ///
    /// let s = Summary::new();
    /// s.observe(0.25);
    /// s.observe(0.5);
    /// assert_eq!(s.snapshot(), SummarySnapshot { count: 2, sum: 0.75 });
    /// ```
    pub fn snapshot(&self) -> SummarySnapshot {
        self.core.snapshot(|s| SummarySnapshot {
            count: s.count,
            sum: s.sum,
        })
    }
}

/// What [`Summary::snapshot`] read: a count and the sum of the same observations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SummarySnapshot {
    /// How many observations.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
}

impl Default for Summary {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let SummarySnapshot { count, sum } = self.snapshot();
        f.debug_struct("Summary")
            .field("count", &count)
            .field("sum", &sum)
            .finish()
    }
}

impl Series for Summary {
    const TYPE: MetricType = MetricType::Summary;

    fn encode_series(&self, labels: Labels<'_>, encoder: &mut MetricEncoder<'_>) {
        self.core
            .snapshot(|s| encoder.summary(labels, s.count, s.sum));
    }
}
