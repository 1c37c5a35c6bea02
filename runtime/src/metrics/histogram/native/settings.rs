//! The public settings of native buckets and their checks.

use std::time::Duration;

use super::bounds::GROWTH_CEIL;
use crate::error::{Error, ErrorKind, Result};

/// The lowest and highest schemas Prometheus accepts.
pub(super) const MIN_SCHEMA: i32 = -4;
pub(super) const MAX_SCHEMA: i32 = 8;

/// How a histogram keeps native buckets: their resolution (schema), the zero bucket, and how many
/// buckets it may hold before it reduces them.
///
/// ```
/// use std::time::Duration;
/// use vitalsign::NativeBuckets;
///
/// // Each bucket at most 10% wider than the last: schema 3 (a factor of 2^(1/8), 1.0905).
/// assert_eq!(NativeBuckets::new(1.1)?.schema(), 3);
/// assert_eq!(NativeBuckets::new(2.0)?.schema(), 0);
/// assert!(NativeBuckets::new(1.0).is_err());
/// let custom = NativeBuckets::with_schema(5)?
///     .zero_threshold(1e-9)?
///     .max_buckets(200)
///     .min_reset_duration(Duration::from_secs(3600))
///     .max_zero_threshold(1e-6)?;
/// assert_eq!(custom.schema(), 5);
/// # Ok::<(), vitalsign::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NativeBuckets {
    pub(super) schema: i32,
    pub(super) zero_threshold: f64,
    pub(super) max_buckets: u32,
    pub(super) min_reset: Duration,
    pub(super) max_zero_threshold: f64,
}

/// 2^-128, Go's default zero threshold.
const DEFAULT_ZERO_THRESHOLD: f64 = 2.938_735_877_055_719e-39;

impl Default for NativeBuckets {
    /// Factor 1.1 (schema 3), zero threshold 2^-128, at most 100 buckets, then halving the
    /// resolution (no resets, no zero-bucket widening): what `#[instrument_metrics]` and the
    /// HTTP layer use.
    fn default() -> Self {
        Self {
            schema: 3,
            zero_threshold: DEFAULT_ZERO_THRESHOLD,
            max_buckets: 100,
            min_reset: Duration::ZERO,
            max_zero_threshold: 0.0,
        }
    }
}

impl NativeBuckets {
    /// The lowest resolution whose bucket growth factor, `2^(2^-schema)`, is at most `factor`
    /// (Go's `NativeHistogramBucketFactor`), compared exactly: 1.1 gives schema 3, 16 gives -2
    /// and the float just below 16 gives -1. Factors below 2^(2^-8) give schema 8, above 2^16
    /// schema -4. `factor` must be a finite number above 1.
    pub fn new(factor: f64) -> Result<Self> {
        if !(factor > 1.0 && factor.is_finite()) {
            return Err(Error::new(
                ErrorKind::InvalidBuckets,
                format!(
                    "invalid native histogram buckets: factor {factor}: a finite number above 1 is needed"
                ),
            ));
        }
        // Not `floor(log2(log2(factor)))`, which rounds to the next schema just below 16, 256
        // and 65536.
        let reaches = |schema: i32| match usize::try_from(schema) {
            Ok(0) | Err(_) => factor >= 2f64.powi(1 << -schema),
            Ok(s) => factor >= GROWTH_CEIL[s - 1],
        };
        // The widest buckets that still grow by at most `factor`.
        let schema = (MIN_SCHEMA..=MAX_SCHEMA)
            .find(|&s| reaches(s))
            .unwrap_or(MAX_SCHEMA);
        Ok(Self {
            schema,
            ..Self::default()
        })
    }

    /// A schema given directly, from -4 to 8.
    pub fn with_schema(schema: i32) -> Result<Self> {
        if !(MIN_SCHEMA..=MAX_SCHEMA).contains(&schema) {
            return Err(Error::new(
                ErrorKind::InvalidBuckets,
                format!("invalid native histogram buckets: schema {schema}: from -4 to 8"),
            ));
        }
        Ok(Self {
            schema,
            ..Self::default()
        })
    }

    /// The schema.
    pub fn schema(&self) -> i32 {
        self.schema
    }

    /// Values whose magnitude is at most `threshold` count in the zero bucket (default 2^-128).
    pub fn zero_threshold(mut self, threshold: f64) -> Result<Self> {
        self.zero_threshold = check_threshold("zero threshold", threshold)?;
        Ok(self)
    }

    /// The most buckets kept before reducing them (default 100, at least 1).
    #[must_use]
    pub fn max_buckets(mut self, max: u32) -> Self {
        self.max_buckets = max.clamp(1, 4096);
        self
    }

    /// A reduction resets the histogram instead when this long has passed since the last reset
    /// (default zero: never). A reset starts every count at zero, as a restart would.
    #[must_use]
    pub fn min_reset_duration(mut self, d: Duration) -> Self {
        self.min_reset = d;
        self
    }

    /// A reduction may widen the zero bucket up to this threshold before it lowers the schema
    /// (default zero: never).
    pub fn max_zero_threshold(mut self, threshold: f64) -> Result<Self> {
        self.max_zero_threshold = check_threshold("maximum zero threshold", threshold)?;
        Ok(self)
    }

    /// Slots per table, 12 bytes each: twice the maximum (room for what arrives while a
    /// reduction is under way), and at least every bucket the lowest schema has above the zero
    /// threshold, both signs, so that once nothing can be reduced every observation still
    /// finds a bucket, at any spread. 256 (3 KiB) for the default maximum and zero threshold;
    /// 512 with no zero bucket (subnormals too). (Loom models use tables of twice the maximum,
    /// so that they stay small enough to explore.)
    pub(super) fn capacity(&self) -> usize {
        let least = if cfg!(loom) {
            2
        } else {
            self.buckets_at_min_schema()
        };
        (self.max_buckets as usize * 2)
            .max(least)
            .next_power_of_two()
    }

    /// How many buckets schema -4 has for values past the zero threshold (infinities
    /// included), both signs: the most a table can ever need once nothing can be reduced. The
    /// zero bucket only widens, so the first threshold gives the most.
    fn buckets_at_min_schema(&self) -> usize {
        let smallest = f64::from_bits(self.zero_threshold.to_bits() + 1);
        let below = super::keys::key(smallest, MIN_SCHEMA);
        let above = super::keys::key(f64::INFINITY, MIN_SCHEMA);
        2 * usize::try_from(above - below + 1).unwrap_or(0)
    }
}

fn check_threshold(what: &str, t: f64) -> Result<f64> {
    if t >= 0.0 && t.is_finite() {
        Ok(t)
    } else {
        Err(Error::new(
            ErrorKind::InvalidBuckets,
            format!(
                "invalid native histogram buckets: {what} {t}: a finite number from 0 is needed"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_pick_go_schemas() {
        let schema = |f: f64| NativeBuckets::new(f).map(|n| n.schema());
        assert_eq!(schema(1.1), Ok(3));
        assert_eq!(schema(1.0905077326652577), Ok(3));
        assert_eq!(schema(1.09), Ok(4));
        assert_eq!(schema(2.0), Ok(0));
        assert_eq!(schema(4.0), Ok(-1));
        assert_eq!(schema(1.000001), Ok(8));
        assert_eq!(schema(1e300), Ok(-4));
        assert_eq!(
            NativeBuckets::new(f64::NAN).unwrap_err().to_string(),
            "invalid native histogram buckets: factor NaN: a finite number above 1 is needed"
        );
        assert_eq!(
            NativeBuckets::with_schema(9).unwrap_err().to_string(),
            "invalid native histogram buckets: schema 9: from -4 to 8"
        );
        assert_eq!(
            NativeBuckets::default()
                .zero_threshold(-1.0)
                .unwrap_err()
                .to_string(),
            "invalid native histogram buckets: zero threshold -1: a finite number from 0 is needed"
        );
    }
}
