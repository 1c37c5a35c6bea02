//! Metric types. Each value type ([`Counter`], [`Gauge`], [`Histogram`], ...) is one series; a
//! [`Family`] holds one per member of a [`LabelSet`](crate::LabelSet), and a [`SparseFamily`]
//! holds series for open label values up to a cap.

mod callback;
mod counter;
pub(crate) mod exemplar;
mod family;
mod gauge;
mod histogram;
mod info;
pub(crate) mod sparse;
mod stateset;
mod summary;

pub use callback::CallbackGauge;
pub use counter::{Counter, FloatCounter};
pub use family::{Family, MAX_DENSE_SERIES};
pub use gauge::{FloatGauge, Gauge};
pub use histogram::{
    Buckets, Histogram, HistogramSnapshot, HistogramTimer, NativeBuckets, NativeSnapshot,
};
pub(crate) use histogram::{DEFAULT_LATENCY_BOUNDS, first_bad_bound};
pub use info::Info;
pub use sparse::{OVERFLOW_VALUE, SparseFamily};
pub use stateset::StateSet;
pub use summary::{Summary, SummarySnapshot};

use crate::encoding::{Labels, MetricEncoder, MetricType};

/// A metric family's samples: what a registry holds and encodes.
///
/// Implemented by every value type (as one unlabelled series), by [`Family`] and by
/// [`SparseFamily`]. Custom sources are usually better written as a
/// [`Collector`](crate::Collector).
pub trait Metric: Send + Sync {
    /// The family's type.
    fn metric_type(&self) -> MetricType;

    /// Calls `f` with each label name the family's series carry (for validation).
    fn label_names(&self, f: &mut dyn FnMut(&str)) {
        let _ = f;
    }

    /// Calls `f` with each label name the family's series carry and, where the family bounds
    /// them, every value that label can take (a dense [`Family`]'s label set); `None` where the
    /// values are open. For the [catalogue](crate::catalog); the default knows no values.
    fn label_values(&self, f: &mut dyn FnMut(&str, Option<Vec<String>>)) {
        self.label_names(&mut |name| f(name, None));
    }

    /// Checks what [`label_names`](Metric::label_names) cannot show, such as two series that
    /// would be written with the same labels. A registry refuses a metric that fails.
    fn validate(&self) -> crate::error::Result<()> {
        Ok(())
    }

    /// Writes every series.
    fn encode(&self, encoder: &mut MetricEncoder<'_>);

    /// For a family with a series cap (a sparse family), the lookups its cap has sent to the
    /// overflow series so far; `None` for one without a cap. A registry writes it as
    /// `vitalsign_series_overflow_total`, at zero from the start.
    fn overflowed(&self) -> Option<u64> {
        None
    }

    /// For a family whose series can be removed (a sparse family with labels), how many were
    /// removed so far (`remove`, `retain`, `clear`; a held one once its last holder let go);
    /// `None` otherwise. A registry writes it as `vitalsign_series_removed_total`, at zero from
    /// the start.
    fn removed(&self) -> Option<u64> {
        None
    }

    /// Whether writing the family can fail (a callback that panics), so that a scrape may
    /// leave it out; a registry then writes `vitalsign_collect_errors_total` for it, at zero
    /// from the start. Families of vitalsign's own types cannot fail but for callbacks; the
    /// default, for other implementations, is `true`.
    fn fallible(&self) -> bool {
        true
    }

    /// Series dropped after an idle timeout so far, for a family that has one (`None`
    /// otherwise); a registry writes it as `vitalsign_series_expired_total`.
    fn expired(&self) -> Option<u64> {
        None
    }

    /// The most series this metric can ever write in one scrape, counting label sets (a
    /// histogram's buckets, `_sum` and `_count` are one series here; a state set has one per
    /// state), or `None` if it cannot say. Feeds [`Registry::series_bound`].
    ///
    /// [`Registry::series_bound`]: crate::Registry::series_bound
    fn series_bound(&self) -> Option<u64> {
        None
    }
}

/// One series of a metric type: what families are made of.
pub trait Series: Send + Sync {
    /// The type of a family of these series.
    const TYPE: MetricType;

    /// Label names each series adds by itself (an [`Info`]'s labels).
    fn own_label_names(&self, f: &mut dyn FnMut(&str)) {
        let _ = f;
    }

    /// Checks what a registry cannot see from label names (as [`Metric::validate`]).
    fn validate_series(&self) -> crate::error::Result<()> {
        Ok(())
    }

    /// Writes this series with the given labels.
    fn encode_series(&self, labels: Labels<'_>, encoder: &mut MetricEncoder<'_>);

    /// For a series written as one line (`{name}{suffix}{labels} value`, as counters and gauges
    /// are): that suffix and the value. Families then render each series' line prefix once and
    /// keep it across scrapes; the default, `None`, writes every scrape through
    /// [`encode_series`](Series::encode_series).
    fn single_sample(&self) -> Option<(&'static str, crate::encoding::Value)> {
        None
    }

    /// The exemplar of a series written as one line, if it has one (a [`Counter`]'s).
    fn exemplar(&self) -> Option<crate::trace::Exemplar> {
        None
    }

    /// How many label sets this series writes: one, except for a [`StateSet`] (one per state).
    fn label_sets(&self) -> u64 {
        1
    }

    /// Whether writing it can fail (a [`CallbackGauge`]'s callback may panic); see
    /// [`Metric::fallible`].
    fn fallible_series(&self) -> bool {
        false
    }
}

impl<S: Series> Metric for S {
    fn metric_type(&self) -> MetricType {
        S::TYPE
    }

    fn label_names(&self, f: &mut dyn FnMut(&str)) {
        self.own_label_names(f);
    }

    fn validate(&self) -> crate::error::Result<()> {
        self.validate_series()
    }

    fn encode(&self, encoder: &mut MetricEncoder<'_>) {
        self.encode_series(Labels::NONE, encoder);
    }

    fn series_bound(&self) -> Option<u64> {
        Some(self.label_sets())
    }

    fn fallible(&self) -> bool {
        self.fallible_series()
    }
}
