//! Histograms and their buckets. The core they share with summaries, which makes every scrape a
//! consistent snapshot, is in `core`: classic histograms count in per-thread cells (`cells`),
//! native ones in the split-counter stripes.

mod buckets;
mod cells;
mod core;
mod native;

pub use buckets::Buckets;
pub(crate) use buckets::{DEFAULT_LATENCY_BOUNDS, first_bad_bound};

pub use crate::encoding::NativeSnapshot;
pub use native::NativeBuckets;

pub(crate) use self::core::Core;

use std::time::Duration;

use crate::clock;
use crate::encoding::{HistogramView, Labels, MetricEncoder, MetricType};
use crate::metrics::Series;

/// Observations counted into buckets, with their count and sum.
///
/// Durations are summed as integer nanoseconds ([`observe_duration`](Self::observe_duration),
/// [`start_timer`](Self::start_timer)) and compared against bounds converted to nanoseconds once.
///
/// ```
/// use std::time::Duration;
/// use vitalsign::{Buckets, Format, Histogram, Registry};
///
/// let registry = Registry::new();
/// let h = registry.register(
///     "payment_duration_seconds",
///     "Time to charge a card.",
///     Histogram::new(Buckets::new([0.1, 0.5])?),
/// )?;
/// h.observe(0.05);
/// h.observe_duration(Duration::from_millis(300));
/// h.observe(7.0);
/// assert_eq!(registry.render(Format::OpenMetrics), r#"# HELP payment_duration_seconds Time to charge a card.
/// ## TYPE payment_duration_seconds histogram
/// ## UNIT payment_duration_seconds seconds
/// payment_duration_seconds_bucket{le="0.1"} 1
/// payment_duration_seconds_bucket{le="0.5"} 2
/// payment_duration_seconds_bucket{le="+Inf"} 3
/// payment_duration_seconds_count 3
/// payment_duration_seconds_sum 7.35
/// ## EOF
/// "#);
/// assert_eq!(registry.render(Format::Prometheus), r#"# HELP payment_duration_seconds Time to charge a card.
/// ## TYPE payment_duration_seconds histogram
/// payment_duration_seconds_bucket{le="0.1"} 1
/// payment_duration_seconds_bucket{le="0.5"} 2
/// payment_duration_seconds_bucket{le="+Inf"} 3
/// payment_duration_seconds_count 3
/// payment_duration_seconds_sum 7.35
/// "#);
/// # Ok::<(), vitalsign::Error>(())
/// ```
pub struct Histogram {
    core: Core,
}

impl Histogram {
    /// A histogram with these buckets.
    pub fn new(buckets: Buckets) -> Self {
        Self {
            core: Core::new(buckets),
        }
    }

    /// A histogram with these classic buckets and native ones: the text formats carry the
    /// classic buckets, protobuf both (Prometheus with `--enable-feature=native-histograms`
    /// stores the native ones).
    ///
    /// ```
    /// use vitalsign::{Buckets, Histogram, NativeBuckets, Registry};
    ///
    /// let registry = Registry::new();
    /// let h = registry.register(
    ///     "payment_seconds",
    ///     "Payment latency.",
    ///     Histogram::with_native(Buckets::new([0.25, 1.0])?, NativeBuckets::new(1.1)?),
    /// )?;
    /// for v in [0.1, 0.11, 0.3, 2.0] {
    ///     h.observe(v);
    /// }
    /// let snapshot = h.snapshot();
    /// assert_eq!(snapshot.buckets, [(0.25, 2), (1.0, 3), (f64::INFINITY, 4)]);
    /// let native = snapshot.native.unwrap();
    /// // Bucket k ends at 2^(k/8): 0.1 is in bucket -26 (up to 0.1051), 0.11 in -25, 0.3 in -13
    /// // and 2.0 in 8.
    /// assert_eq!(native.schema, 3);
    /// assert_eq!(native.positive, [(-26, 1), (-25, 1), (-13, 1), (8, 1)]);
    /// # Ok::<(), vitalsign::Error>(())
    /// ```
    pub fn with_native(buckets: Buckets, native: NativeBuckets) -> Self {
        Self {
            core: Core::with_native(buckets, 0, Some(native)),
        }
    }

    /// A histogram with native buckets only: the text formats carry its count and sum (and the
    /// `+Inf` bucket).
    pub fn native(native: NativeBuckets) -> Self {
        Self {
            core: Core::with_native(Buckets::none(), 0, Some(native)),
        }
    }

    /// Moves the time of the native buckets' last reset `by` into the past, as if that much time
    /// had passed since (for tests of [`NativeBuckets::min_reset_duration`], which would
    /// otherwise wait it out). A histogram without native buckets ignores it.
    #[doc(hidden)]
    pub fn backdate_reset(&self, by: std::time::Duration) {
        self.core
            .backdate_reset(u64::try_from(by.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Records one observation. NaN lands in the `+Inf` bucket and makes the sum NaN, as in
    /// Prometheus' own clients. OpenMetrics cannot carry a NaN or negative `_sum`, nor any `_sum`
    /// beside negative bucket bounds: such a histogram is written with its buckets only in that
    /// format, and in full in the 0.0.4 format.
    #[inline]
    pub fn observe(&self, v: f64) {
        self.core.observe(v, true);
    }

    /// Records a duration, in seconds, summed as integer nanoseconds.
    #[inline]
    pub fn observe_duration(&self, d: Duration) {
        self.observe_ns(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Records a duration given in nanoseconds (reported in seconds).
    #[inline]
    pub fn observe_ns(&self, ns: u64) {
        self.core.observe_ns(ns, true);
    }

    /// A histogram that also counts `outcomes` kinds of observation, read with
    /// [`snapshot_outcomes`](Self::snapshot_outcomes).
    pub(crate) fn with_outcomes(
        buckets: Buckets,
        outcomes: usize,
        native: Option<NativeBuckets>,
    ) -> Self {
        Self {
            core: Core::with_native(buckets, outcomes, native),
        }
    }

    /// Records a duration in nanoseconds, counted as `outcome` if given.
    #[inline]
    pub(crate) fn observe_ns_as(&self, ns: u64, outcome: Option<usize>) {
        self.core.observe_ns_as(ns, true, outcome);
    }

    /// The count, and how many observations had each of the first `into.len()` outcomes, from
    /// one consistent snapshot.
    pub(crate) fn snapshot_outcomes(&self, into: &mut [u64]) -> u64 {
        self.core.snapshot(|s| {
            for (o, n) in into.iter_mut().enumerate() {
                *n = s.outcome(o);
            }
            s.count
        })
    }

    /// Starts a timer that records the elapsed time when dropped.
    pub fn start_timer(&self) -> HistogramTimer<'_> {
        HistogramTimer {
            histogram: self,
            start: clock::now(),
        }
    }

    /// The buckets.
    pub fn buckets(&self) -> &Buckets {
        self.core.buckets()
    }

    /// A consistent snapshot: every bucket's cumulative count, the count and the sum of the
    /// same observations.
    pub fn snapshot(&self) -> HistogramSnapshot {
        self.core.snapshot(|s| {
            let bounds = self
                .core
                .buckets()
                .bounds()
                .iter()
                .copied()
                .chain([f64::INFINITY]);
            HistogramSnapshot {
                buckets: bounds.zip(s.buckets()).collect(),
                count: s.count,
                sum: s.sum,
                native: s.native(),
            }
        })
    }
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("buckets", self.core.buckets())
            .finish_non_exhaustive()
    }
}

impl Series for Histogram {
    const TYPE: MetricType = MetricType::Histogram;

    fn encode_series(&self, labels: Labels<'_>, encoder: &mut MetricEncoder<'_>) {
        let buckets = self.core.buckets();
        let bounds = buckets.bounds();
        // The cumulative counts on the stack for up to 32 bounds (Prometheus' defaults are 11).
        let mut stack = [0u64; 32];
        let mut heap = Vec::new();
        let cumulative: &mut [u64] = match stack.get_mut(..bounds.len()) {
            Some(on_stack) => on_stack,
            None => {
                heap.resize(bounds.len(), 0);
                &mut heap
            }
        };
        self.core.snapshot(|s| {
            for (into, c) in cumulative.iter_mut().zip(s.buckets()) {
                *into = c;
            }
            let native = if encoder.writes_lines() {
                None
            } else {
                s.native()
            };
            let exemplar = |i| self.core.exemplar_of(i);
            let view = HistogramView::new(s.count, s.sum, bounds, cumulative)
                .exemplars(&exemplar)
                .native(native.as_ref())
                .with_le(buckets.le());
            encoder.histogram(labels, &view);
        });
    }
}

/// What [`Histogram::snapshot`] read: all of it from the same observations.
///
/// ```
/// use vitalsign::{Buckets, Histogram, NativeBuckets};
///
/// let h = Histogram::with_native(Buckets::new([1.0])?, NativeBuckets::with_schema(0)?);
/// h.observe(0.3);
/// h.observe(3.0);
/// let s = h.snapshot();
/// assert_eq!((s.count, s.sum), (2, 3.3));
/// assert_eq!(s.buckets, [(1.0, 1), (f64::INFINITY, 2)]);
/// // At schema 0, bucket k holds (2^(k-1), 2^k]: 0.3 is in -1, 3.0 in 2.
/// let native = s.native.unwrap();
/// assert_eq!((native.schema, native.zero), (0, 0));
/// assert_eq!(native.positive, [(-1, 1), (2, 1)]);
/// # Ok::<(), vitalsign::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct HistogramSnapshot {
    /// `(upper_bound, cumulative_count)` per bucket, `+Inf` last (its count is `count`).
    pub buckets: Vec<(f64, u64)>,
    /// How many observations.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
    /// The native buckets of the same observations, for a histogram that keeps them.
    pub native: Option<NativeSnapshot>,
}

impl HistogramSnapshot {
    /// `(buckets, count, sum)`, for destructuring.
    pub fn into_parts(self) -> (Vec<(f64, u64)>, u64, f64) {
        (self.buckets, self.count, self.sum)
    }
}

/// Records the time since [`Histogram::start_timer`] when dropped.
#[derive(Debug)]
#[must_use = "the timer records when dropped; dropping it at once records zero"]
pub struct HistogramTimer<'a> {
    histogram: &'a Histogram,
    start: u64,
}

impl HistogramTimer<'_> {
    /// Records now instead of at drop.
    pub fn observe(self) {}
}

impl Drop for HistogramTimer<'_> {
    fn drop(&mut self) {
        self.histogram.observe_ns(clock::elapsed_ns(self.start));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_fold_shards_together() {
        let h = Histogram::new(Buckets::new([1.0]).unwrap());
        for round in 1..=5u64 {
            h.observe(0.5);
            h.observe_ns(2_000_000_000);
            let (buckets, count, sum) = h.snapshot().into_parts();
            assert_eq!(buckets, [(1.0, round), (f64::INFINITY, 2 * round)]);
            assert_eq!(count, 2 * round);
            assert_eq!(sum, 2.5 * round as f64);
        }
    }
}
