//! [`Buckets`]: the classic bounds of a histogram, validated and rendered once, and the search
//! that finds an observation's bucket on the hot path.

use std::sync::{Arc, LazyLock};

use crate::encoding::number;
use crate::error::{Error, ErrorKind, Result};

/// Bucket upper bounds for a [`Histogram`](crate::Histogram), validated and pre-rendered once, shared by every
/// series that uses them. The `+Inf` bucket is implicit.
#[derive(Clone)]
pub struct Buckets(Arc<BucketsInner>);

struct BucketsInner {
    bounds: Box<[f64]>,
    /// The bounds in integer nanoseconds, for durations.
    bounds_ns: Box<[i64]>,
    /// `le="..."` for every bucket, `+Inf` last.
    le: Box<[Box<str>]>,
    /// Up to [`SMALL`] bounds, the same padded to a fixed length, for the bucket search.
    small: Option<Small>,
}

/// Bucket counts up to which the bucket search compares a fixed-length array: the compiler then
/// unrolls and vectorises it.
const SMALL: usize = 16;

/// The bounds padded with `+Inf`, which no observation is below, in seconds and in nanoseconds.
/// Nanoseconds are compared as `f64` too: SSE2 has no 64-bit integer compare, so a padded `i64`
/// array is compared one by one (measured slower than the slice), while below 2^53 ns (104 days)
/// every integer is exact in an `f64` and the comparisons are the integers'.
struct Small {
    bounds: [f64; SMALL],
    ns: [f64; SMALL],
}

/// Durations from here on are searched among the integer bounds.
const EXACT_NS: u64 = 1 << 53;

impl std::fmt::Debug for Buckets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Buckets").field(&self.0.bounds).finish()
    }
}

/// Prometheus' default latency bounds, in seconds.
pub(crate) const DEFAULT_LATENCY_BOUNDS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static LATENCY: LazyLock<Buckets> = LazyLock::new(|| Buckets::build(DEFAULT_LATENCY_BOUNDS.into()));

static NONE: LazyLock<Buckets> = LazyLock::new(|| Buckets::build(Box::new([])));

impl Buckets {
    /// The most finite bounds a histogram may have. Every series keeps two counters per bucket,
    /// and a scrape writes a line per bucket; more than this is never what a user meant.
    pub const MAX: usize = 4096;

    /// Buckets with these upper bounds, which must be finite and strictly increasing; a trailing
    /// `+Inf` is accepted and dropped (it is always there).
    ///
    /// ```
    /// use vitalsign::Buckets;
    /// assert_eq!(Buckets::new([0.1, 0.5, 1.0])?.bounds(), [0.1, 0.5, 1.0]);
    /// assert_eq!(
    ///     Buckets::new([0.5, 0.1]).unwrap_err().to_string(),
    ///     "invalid histogram buckets: bounds must be strictly increasing, but 0.1 at position 1 follows 0.5"
    /// );
    /// # Ok::<(), vitalsign::Error>(())
    /// ```
    pub fn new(bounds: impl IntoIterator<Item = f64>) -> Result<Self> {
        // One past the most, plus a trailing `+Inf`, is enough to tell "too many".
        let mut bounds: Vec<f64> = bounds.into_iter().take(Self::MAX + 2).collect();
        if bounds.last() == Some(&f64::INFINITY) {
            bounds.pop();
        }
        if bounds.is_empty() {
            return Err(invalid("at least one finite bound is needed".to_owned()));
        }
        if bounds.len() > Self::MAX {
            return Err(too_many(bounds.len()));
        }
        if let Some(i) = first_bad_bound(&bounds) {
            let b = bounds[i];
            if !b.is_finite() {
                return Err(invalid(format!("bound {b} at position {i} is not finite")));
            }
            let prev = bounds[i - 1];
            return Err(invalid(format!(
                "bounds must be strictly increasing, but {b} at position {i} follows {prev}"
            )));
        }
        Ok(Self::build(bounds.into_boxed_slice()))
    }

    /// `count` buckets `start, start + width, ...`.
    ///
    /// ```
    /// use vitalsign::Buckets;
    /// assert_eq!(Buckets::linear(1.0, 0.5, 3)?.bounds(), [1.0, 1.5, 2.0]);
    /// # Ok::<(), vitalsign::Error>(())
    /// ```
    pub fn linear(start: f64, width: f64, count: usize) -> Result<Self> {
        if count > Self::MAX {
            return Err(too_many(count));
        }
        if width.is_nan() || width <= 0.0 || count == 0 {
            return Err(invalid(format!(
                "linear buckets need a positive width and count, got width {width}, count {count}"
            )));
        }
        Self::new((0..count).map(|i| start + width * i as f64))
    }

    /// `count` buckets `start, start * factor, ...`.
    ///
    /// ```
    /// use vitalsign::Buckets;
    /// assert_eq!(Buckets::exponential(0.001, 10.0, 4)?.bounds(), [0.001, 0.01, 0.1, 1.0]);
    /// # Ok::<(), vitalsign::Error>(())
    /// ```
    pub fn exponential(start: f64, factor: f64, count: usize) -> Result<Self> {
        if count > Self::MAX {
            return Err(too_many(count));
        }
        if start.is_nan() || start <= 0.0 || factor.is_nan() || factor <= 1.0 || count == 0 {
            return Err(invalid(format!(
                "exponential buckets need start > 0, factor > 1 and count > 0, \
                 got start {start}, factor {factor}, count {count}"
            )));
        }
        // Rounded to 15 significant digits so 0.001 * 10^3 is written `1.0`, not `1.0000000000000002`.
        Self::new((0..count).map(|i| round15(start * factor.powi(i as i32))))
    }

    /// Prometheus' default latency buckets, in seconds: 5 ms to 10 s.
    pub fn latency() -> Self {
        LATENCY.clone()
    }

    /// No buckets at all, for the summary core.
    pub(crate) fn none() -> Self {
        NONE.clone()
    }

    fn build(bounds: Box<[f64]>) -> Self {
        let bounds_ns: Box<[i64]> = bounds.iter().map(|&b| (b * 1e9).round() as i64).collect();
        let le = bounds
            .iter()
            .copied()
            .chain([f64::INFINITY])
            .map(|b| format!("le=\"{}\"", number::canonical_f64(b)).into_boxed_str())
            .collect();
        let small = (bounds.len() <= SMALL).then(|| {
            let mut small = Small {
                bounds: [f64::INFINITY; SMALL],
                ns: [f64::INFINITY; SMALL],
            };
            small.bounds[..bounds.len()].copy_from_slice(&bounds);
            for (padded, &b) in small.ns.iter_mut().zip(bounds_ns.iter()) {
                *padded = b as f64;
            }
            small
        });
        Self(Arc::new(BucketsInner {
            bounds,
            bounds_ns,
            le,
            small,
        }))
    }

    /// The finite upper bounds.
    pub fn bounds(&self) -> &[f64] {
        &self.0.bounds
    }

    /// `le="..."` for every bucket, `+Inf` last: what the text formats write.
    pub(crate) fn le(&self) -> &[Box<str>] {
        &self.0.le
    }

    /// How many buckets there are, `+Inf` included.
    #[inline]
    pub(super) fn count(&self) -> usize {
        self.0.le.len()
    }

    /// The bucket `v` falls in (the `+Inf` bucket for NaN, as Prometheus does).
    ///
    /// Up to 32 bounds, the count of bounds below `v`, with no branch to mispredict when
    /// successive values land in different buckets (over a fixed-length padded copy up to 16);
    /// a binary search past that.
    #[inline]
    pub(super) fn index_of(&self, v: f64) -> usize {
        let bounds = &*self.0.bounds;
        if let Some(small) = &self.0.small {
            let below: usize = small.bounds.iter().map(|&b| usize::from(b < v)).sum();
            // NaN lands past every bound.
            return if v.is_nan() { bounds.len() } else { below };
        }
        if bounds.len() <= BRANCHLESS_MAX {
            // NaN lands past every bound.
            let nan = v.is_nan();
            bounds.iter().map(|&b| usize::from(b < v || nan)).sum()
        } else if v.is_nan() {
            bounds.len()
        } else {
            bounds.partition_point(|&b| b < v)
        }
    }

    #[inline]
    pub(super) fn index_of_ns(&self, ns: u64) -> usize {
        if let Some(small) = &self.0.small
            && ns < EXACT_NS
        {
            let x = ns as i64 as f64;
            return small.ns.iter().map(|&b| usize::from(b < x)).sum();
        }
        let ns = i64::try_from(ns).unwrap_or(i64::MAX);
        let bounds = &*self.0.bounds_ns;
        if bounds.len() <= BRANCHLESS_MAX {
            bounds.iter().map(|&b| usize::from(b < ns)).sum()
        } else {
            bounds.partition_point(|&b| b < ns)
        }
    }
}

/// The position of the first bound that is not finite or not above the one before it.
pub(crate) const fn first_bad_bound(bounds: &[f64]) -> Option<usize> {
    let mut i = 0;
    while i < bounds.len() {
        if !bounds[i].is_finite() || (i > 0 && bounds[i - 1] >= bounds[i]) {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn invalid(why: String) -> Error {
    Error::new(
        ErrorKind::InvalidBuckets,
        format!("invalid histogram buckets: {why}"),
    )
}

fn too_many(count: usize) -> Error {
    invalid(format!(
        "{count} bounds is more than the {} a histogram may have",
        Buckets::MAX
    ))
}

fn round15(v: f64) -> f64 {
    format!("{v:.14e}").parse().unwrap_or(v)
}

/// Bucket counts up to which the bucket search is a branchless count.
const BRANCHLESS_MAX: usize = 32;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Histogram;

    #[test]
    fn bucket_errors_say_what_and_where() {
        let err = |b: &[f64]| Buckets::new(b.iter().copied()).unwrap_err().to_string();
        assert_eq!(
            err(&[]),
            "invalid histogram buckets: at least one finite bound is needed"
        );
        assert_eq!(
            err(&[0.1, 0.1]),
            "invalid histogram buckets: bounds must be strictly increasing, but 0.1 at position 1 follows 0.1"
        );
        assert_eq!(
            err(&[0.1, f64::NAN]),
            "invalid histogram buckets: bound NaN at position 1 is not finite"
        );
        assert_eq!(
            Buckets::linear(0.0, 0.0, 3).unwrap_err().to_string(),
            "invalid histogram buckets: linear buckets need a positive width and count, got width 0, count 3"
        );
        assert_eq!(
            Buckets::exponential(1.0, 1.0, 3).unwrap_err().kind(),
            ErrorKind::InvalidBuckets
        );
        assert_eq!(Buckets::new([1.0, f64::INFINITY]).unwrap().bounds(), [1.0]);
    }

    #[test]
    fn boundaries_are_inclusive_in_both_units() {
        let h = Histogram::new(Buckets::new([0.005, 1.0]).unwrap());
        h.observe(0.005);
        h.observe_ns(5_000_000);
        h.observe_ns(5_000_001);
        h.observe(f64::NAN);
        let (buckets, count, _) = h.snapshot().into_parts();
        assert_eq!(buckets, [(0.005, 2), (1.0, 3), (f64::INFINITY, 4)]);
        assert_eq!(count, 4);
    }

    /// The padded search (up to 16 bounds), the branchless count (up to 32) and the binary
    /// search agree, at the bounds, between them, past them, at `+Inf`, NaN and the largest
    /// duration.
    #[test]
    fn every_bucket_search_finds_the_same_bucket() {
        for n in [1u32, 11, 16, 17, 32, 33, 60] {
            let b = Buckets::new((1..=n).map(f64::from)).unwrap();
            for i in 0..=n {
                let v = f64::from(i);
                // Bound `k` is `k` and inclusive: `k` lands in bucket `k - 1`, 0 in bucket 0.
                let want = i.saturating_sub(1) as usize;
                assert_eq!(b.index_of(v), want, "{v} of {n}");
                assert_eq!(b.index_of(v + 0.5), i as usize, "{v}.5 of {n}");
                let ns = u64::from(i) * 1_000_000_000;
                assert_eq!(b.index_of_ns(ns), want, "{v} s of {n}");
                assert_eq!(b.index_of_ns(ns + 1), i as usize, "{v} s + 1 ns of {n}");
                if i > 0 {
                    assert_eq!(b.index_of_ns(ns - 1), want, "{v} s - 1 ns of {n}");
                }
            }
            let past = n as usize;
            assert_eq!(b.index_of(f64::INFINITY), past);
            assert_eq!(b.index_of(f64::NAN), past);
            assert_eq!(b.index_of(f64::NEG_INFINITY), 0);
            assert_eq!(b.index_of_ns(u64::MAX), past);
        }
        // From 2^53 ns (104 days) on, where an `f64` no longer holds every integer, the integer
        // bounds are searched: one nanosecond either side of a bound still counts.
        let far = Buckets::new([9_007_200.0, 9_007_201.0]).unwrap();
        assert_eq!(
            far.0.bounds_ns[..],
            [9_007_200_000_000_000, 9_007_201_000_000_000]
        );
        for (ns, want) in [
            (9_007_199_254_740_991, 0),
            (9_007_200_000_000_000, 0),
            (9_007_200_000_000_001, 1),
            (9_007_201_000_000_000, 1),
            (9_007_201_000_000_001, 2),
        ] {
            assert_eq!(far.index_of_ns(ns), want, "{ns} ns");
        }
    }

    #[test]
    fn exponential_bounds_are_rounded() {
        assert_eq!(
            Buckets::exponential(0.1, 3.0, 3).unwrap().bounds(),
            [0.1, 0.3, 0.9]
        );
    }
}
