//! The reduction policy: what a histogram whose native buckets are past their maximum does
//! next, in the order Prometheus' Go client tries them.

use std::time::Duration;

use super::keys::upper_bound;
use super::settings::{MIN_SCHEMA, NativeBuckets};

/// One reduction of a histogram's native buckets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Reduction {
    /// Start every count again from zero at the configured schema and zero threshold, as a
    /// restart would.
    Reset,
    /// Widen the zero bucket to this threshold, taking the bucket closest to zero.
    WidenZeroBucket(f64),
    /// Halve the resolution: this schema (one lower), pairs of buckets merged.
    LowerSchema(i32),
}

impl Reduction {
    /// The next reduction for buckets at `schema` with zero threshold `threshold`, `since_reset`
    /// after the last reset, whose bucket closest to zero (of either sign) is `smallest`; `None`
    /// when nothing can be reduced. `smallest` is asked for only when the zero bucket may widen.
    pub(crate) fn choose(
        config: &NativeBuckets,
        schema: i32,
        threshold: f64,
        since_reset: Duration,
        smallest: impl FnOnce() -> Option<i32>,
    ) -> Option<Self> {
        if !config.min_reset.is_zero() && since_reset >= config.min_reset {
            return Some(Self::Reset);
        }
        if config.max_zero_threshold > threshold
            && let Some(key) = smallest()
        {
            let wider = upper_bound(key, schema);
            if wider <= config.max_zero_threshold {
                return Some(Self::WidenZeroBucket(wider));
            }
        }
        (schema > MIN_SCHEMA).then(|| Self::LowerSchema(schema - 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choose(
        config: &NativeBuckets,
        schema: i32,
        threshold: f64,
        since: u64,
    ) -> Option<Reduction> {
        Reduction::choose(
            config,
            schema,
            threshold,
            Duration::from_secs(since),
            || Some(-8),
        )
    }

    #[test]
    fn reductions_come_in_gos_order() {
        let plain = NativeBuckets::default();
        assert_eq!(
            choose(&plain, 3, 0.0, 1_000_000),
            Some(Reduction::LowerSchema(2))
        );
        assert_eq!(choose(&plain, -3, 0.0, 0), Some(Reduction::LowerSchema(-4)));
        assert_eq!(choose(&plain, -4, 0.0, 0), None);

        let resetting = plain.min_reset_duration(Duration::from_secs(60));
        assert_eq!(
            choose(&resetting, 3, 0.0, 59),
            Some(Reduction::LowerSchema(2))
        );
        assert_eq!(choose(&resetting, 3, 0.0, 60), Some(Reduction::Reset));
        assert_eq!(choose(&resetting, -4, 0.0, 60), Some(Reduction::Reset));

        // Key -8 at schema 3 ends at 2^(-8/8) = 0.5.
        let widening = plain.max_zero_threshold(0.5).unwrap();
        assert_eq!(
            choose(&widening, 3, 0.0, 0),
            Some(Reduction::WidenZeroBucket(0.5))
        );
        // Past the maximum zero threshold, or at it already: the schema goes down instead.
        let narrow = plain.max_zero_threshold(0.25).unwrap();
        assert_eq!(choose(&narrow, 3, 0.0, 0), Some(Reduction::LowerSchema(2)));
        assert_eq!(
            choose(&widening, 3, 0.5, 0),
            Some(Reduction::LowerSchema(2))
        );
        // No bucket to take: the schema goes down.
        assert_eq!(
            Reduction::choose(&widening, 3, 0.0, Duration::ZERO, || None),
            Some(Reduction::LowerSchema(2))
        );
    }
}
