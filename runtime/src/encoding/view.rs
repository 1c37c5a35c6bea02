//! One histogram series as an encoder takes it.

use crate::trace::Exemplar;

/// One histogram series as an encoder takes it: count, sum, numeric buckets with their
/// exemplars, and the native buckets of the same observations.
///
/// ```
/// use vitalsign::encoding::HistogramView;
///
/// // Bounds 0.1 and 1 (`+Inf` is implicit): 2 observations up to 0.1, 3 up to 1, 4 in all.
/// let view = HistogramView::new(4, 2.5, &[0.1, 1.0], &[2, 3]);
/// assert_eq!(view.buckets().collect::<Vec<_>>(), [(0.1, 2), (1.0, 3), (f64::INFINITY, 4)]);
/// ```
#[derive(Clone, Copy)]
#[must_use]
pub struct HistogramView<'a> {
    pub(super) count: u64,
    pub(super) sum: f64,
    pub(super) bounds: &'a [f64],
    pub(super) cumulative: &'a [u64],
    /// `le="..."` per finite bound and `+Inf` last, rendered once by the buckets (text formats).
    pub(super) le: Option<&'a [Box<str>]>,
    pub(super) exemplars: Option<&'a dyn Fn(usize) -> Option<Exemplar>>,
    pub(super) native: Option<&'a NativeSnapshot>,
}

impl<'a> HistogramView<'a> {
    /// A histogram of `count` observations summing to `sum`, with finite upper `bounds` (strictly
    /// increasing) and the `cumulative` count at each (as many as bounds; the `+Inf` bucket is
    /// the count).
    pub fn new(count: u64, sum: f64, bounds: &'a [f64], cumulative: &'a [u64]) -> Self {
        Self {
            count,
            sum,
            bounds,
            cumulative,
            le: None,
            exemplars: None,
            native: None,
        }
    }

    /// The exemplar of bucket `i` (from 0, `+Inf` last), written in OpenMetrics and protobuf.
    pub fn exemplars(self, exemplar: &'a dyn Fn(usize) -> Option<Exemplar>) -> Self {
        Self {
            exemplars: Some(exemplar),
            ..self
        }
    }

    /// The native buckets of the same observations, written in protobuf.
    pub fn native(self, native: Option<&'a NativeSnapshot>) -> Self {
        Self { native, ..self }
    }

    pub(crate) fn with_le(self, le: &'a [Box<str>]) -> Self {
        Self {
            le: Some(le),
            ..self
        }
    }

    /// How many observations.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Their sum.
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// `(upper_bound, cumulative_count)` per bucket, `+Inf` last (its count is the count).
    pub fn buckets(&self) -> impl Iterator<Item = (f64, u64)> + 'a {
        let count = self.count;
        self.bounds
            .iter()
            .copied()
            .zip(self.cumulative.iter().copied())
            .chain([(f64::INFINITY, count)])
    }

    pub(super) fn exemplar(&self, i: usize) -> Option<Exemplar> {
        self.exemplars.and_then(|e| e(i))
    }

    pub(super) fn negative_bounds(&self) -> bool {
        self.bounds.first().is_some_and(|&b| b < 0.0)
    }
}

impl std::fmt::Debug for HistogramView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistogramView")
            .field("count", &self.count)
            .field("sum", &self.sum)
            .field("buckets", &self.buckets().collect::<Vec<_>>())
            .field("native", &self.native)
            .finish_non_exhaustive()
    }
}

/// The native buckets of one snapshot of a histogram.
#[derive(Debug, Clone, PartialEq)]
pub struct NativeSnapshot {
    /// The schema of every bucket below.
    pub schema: i32,
    /// The zero bucket's threshold.
    pub zero_threshold: f64,
    /// Observations in the zero bucket.
    pub zero: u64,
    /// `(key, count)` of each positive bucket holding observations, by key.
    pub positive: Vec<(i32, u64)>,
    /// `(key, count)` of each negative bucket holding observations, by key.
    pub negative: Vec<(i32, u64)>,
}
