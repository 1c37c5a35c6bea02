//! What the three layers' builders share: the duration histograms' buckets (classic bounds and,
//! unless turned off, native buckets beside them) and the default series cap.

use vitalsign::{Buckets, Histogram, NativeBuckets};

/// How many label sets each HTTP family keeps before new ones share its overflow series (gRPC
/// keeps its own cap).
#[cfg(any(feature = "server", feature = "client"))]
pub(crate) const DEFAULT_MAX_SERIES: usize = 2_000;

/// The buckets of a layer's duration histograms.
#[derive(Clone, Debug)]
pub(crate) struct DurationBuckets {
    pub(crate) classic: Buckets,
    pub(crate) native: Option<NativeBuckets>,
}

impl Default for DurationBuckets {
    /// Prometheus' latency bounds, and native buckets at `NativeBuckets::default()`: a
    /// Prometheus with native histograms turned on stores the native ones, any other the classic.
    fn default() -> Self {
        Self {
            classic: Buckets::latency(),
            native: Some(NativeBuckets::default()),
        }
    }
}

impl DurationBuckets {
    /// A new histogram with these buckets.
    pub(crate) fn histogram(&self) -> Histogram {
        match self.native {
            Some(n) => Histogram::with_native(self.classic.clone(), n),
            None => Histogram::new(self.classic.clone()),
        }
    }

    /// What makes each series of a duration family.
    pub(crate) fn maker(self) -> impl Fn() -> Histogram + Send + Sync + 'static {
        move || self.histogram()
    }
}

/// The builder methods that set a layer's [`DurationBuckets`] (the builder's `durations` field),
/// the same on the three builders.
macro_rules! duration_bucket_options {
    () => {
        /// Duration buckets, in seconds (default: Prometheus' latency buckets).
        pub fn buckets(mut self, buckets: vitalsign::Buckets) -> Self {
            self.durations.classic = buckets;
            self
        }

        /// Native buckets beside the classic ones (default: `NativeBuckets::default()`): a
        /// Prometheus with `--enable-feature=native-histograms` stores them, any other the
        /// classic buckets.
        pub fn native(mut self, native: vitalsign::NativeBuckets) -> Self {
            self.durations.native = Some(native);
            self
        }

        /// Classic buckets only: no native buckets beside them.
        pub fn classic_only(mut self) -> Self {
            self.durations.native = None;
            self
        }
    };
}
pub(crate) use duration_bucket_options;
