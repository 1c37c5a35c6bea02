//! Native-histogram bucket reductions in Go's order, read back from histogram snapshots:
//! a reset once the minimum reset duration has passed, else a wider zero bucket up to its
//! maximum, else half the resolution.

use std::time::Duration;

use vitalsign::{Buckets, Histogram, NativeBuckets, Registry};

/// `(count, sum, schema, zero threshold, zero count, positive (key, count)s)` of `h`, from its
/// snapshot (the same one a scrape writes).
fn native(h: &Histogram) -> (u64, f64, i32, f64, u64, Vec<(i32, u64)>) {
    let s = h.snapshot();
    let n = s.native.expect("native buckets");
    (
        s.count,
        s.sum,
        n.schema,
        n.zero_threshold,
        n.zero,
        n.positive,
    )
}

#[test]
fn past_the_maximum_the_resolution_halves() {
    let registry = Registry::new();
    let h = registry
        .register(
            "h",
            "h",
            Histogram::native(NativeBuckets::with_schema(1).unwrap().max_buckets(2)),
        )
        .unwrap();
    // At schema 1, 1.1 is in bucket 1 (up to 2^(1/2)), 1.8 in 2 (up to 2), 3.0 in 4 (up to 4).
    for v in [1.1, 1.8, 3.0] {
        h.observe(v);
    }
    // Three buckets at schema 1 are too many: at schema 0, 1.1 and 1.8 share bucket 1 (up to 2).
    assert_eq!(
        native(&h),
        (3, 5.9, 0, 2.938735877055719e-39, 0, vec![(1, 2), (2, 1)])
    );
}

#[test]
fn the_zero_bucket_widens_before_the_resolution_halves() {
    let registry = Registry::new();
    let h = registry
        .register(
            "h",
            "h",
            Histogram::native(
                NativeBuckets::with_schema(0)
                    .unwrap()
                    .max_buckets(2)
                    .max_zero_threshold(0.2)
                    .unwrap(),
            ),
        )
        .unwrap();
    // 0.1 is in bucket -3 (up to 0.125), 0.3 in -1 (up to 0.5), 3.0 in 2 (up to 4).
    for v in [0.1, 0.3, 3.0] {
        h.observe(v);
    }
    // The bucket closest to zero joins the zero bucket, whose threshold becomes its bound.
    assert_eq!(native(&h), (3, 3.4, 0, 0.125, 1, vec![(-1, 1), (2, 1)]));
    // The next wider zero bucket would reach 0.5, past the maximum of 0.2: the resolution
    // halves instead.
    h.observe(0.7);
    assert_eq!(native(&h), (4, 4.1, -1, 0.125, 1, vec![(0, 2), (1, 1)]));
}

#[test]
fn a_reset_once_the_minimum_duration_has_passed() {
    let registry = Registry::new();
    let h = registry
        .register(
            "h",
            "h",
            Histogram::with_native(
                Buckets::new([1.0]).unwrap(),
                NativeBuckets::with_schema(0)
                    .unwrap()
                    .max_buckets(2)
                    .min_reset_duration(Duration::from_secs(1)),
            ),
        )
        .unwrap();
    h.observe(0.3);
    h.observe(3.0);
    // A third bucket, over a second after the histogram began (on a clock the test moves):
    // everything restarts from this observation (classic buckets, count and sum too), as Go's
    // client does.
    h.backdate_reset(Duration::from_millis(1100));
    h.observe(30.0);
    assert_eq!(
        native(&h),
        (1, 30.0, 0, 2.938735877055719e-39, 0, vec![(5, 1)])
    );
    assert_eq!(
        h.snapshot().into_parts(),
        (vec![(1.0, 0), (f64::INFINITY, 1)], 1, 30.0)
    );
    // Within a second of that reset, a third bucket halves the resolution instead, once for
    // the observation that called for it (as Go does; the maximum is best effort): at schema -1
    // (buckets 4 times wide) 0.3 is in bucket 0 (up to 1), 30 in 3 (up to 64) and 300 in 5 (up
    // to 1024), still three.
    h.observe(0.3);
    h.observe(300.0);
    assert_eq!(
        native(&h),
        (
            3,
            330.3,
            -1,
            2.938735877055719e-39,
            0,
            vec![(0, 1), (3, 1), (5, 1)]
        )
    );
    // Each bucket past the maximum calls for one more halving: at schema -2 (buckets 16 times
    // wide) 0.3, 3, 30 and 300 are in buckets 0 to 3.
    h.observe(3.0);
    assert_eq!(
        native(&h),
        (
            4,
            333.3,
            -2,
            2.938735877055719e-39,
            0,
            vec![(0, 1), (1, 1), (2, 1), (3, 1)]
        )
    );
}

/// `(schema, zero threshold, zero count, positive, negative)` of `h`'s native buckets.
type Native = (i32, f64, u64, Vec<(i32, u64)>, Vec<(i32, u64)>);

fn buckets_of(h: &Histogram) -> (u64, Native) {
    let s = h.snapshot();
    let n = s.native.expect("native buckets");
    (
        s.count,
        (n.schema, n.zero_threshold, n.zero, n.positive, n.negative),
    )
}

const GO_ZERO: f64 = 2.938_735_877_055_719e-39;

/// Once the schema is -4 and the zero bucket may not widen, nothing can be reduced: the
/// maximum is best effort (as Go has it) and every observation keeps its bucket, so the count
/// is always the zero bucket's plus the buckets'.
#[test]
fn past_the_lowest_resolution_every_observation_keeps_its_bucket() {
    let h = Histogram::native(NativeBuckets::new(65536.0).unwrap().max_buckets(1));
    h.observe(1.0);
    h.observe(4.0);
    assert_eq!(
        buckets_of(&h),
        (2, (-4, GO_ZERO, 0, vec![(0, 1), (1, 1)], vec![]))
    );
    // 1 and -1 take two buckets at every schema: -1's calls for one halving (to -1, as Go's
    // one reduction per observation past the maximum), and both keep their buckets.
    let h = Histogram::native(NativeBuckets::new(2.0).unwrap().max_buckets(1));
    h.observe(1.0);
    h.observe(-1.0);
    assert_eq!(
        buckets_of(&h),
        (2, (-1, GO_ZERO, 0, vec![(0, 1)], vec![(0, 1)]))
    );
}

/// Bucket bounds are Prometheus' own numbers, not always the nearest f64: at schema 1 the
/// octave's middle bound is 0.7071067811865475 (one ulp below the nearest float to 1/sqrt 2),
/// so 2^(1/2) as an f64 is past it, in bucket 2.
#[test]
fn bucket_bounds_are_prometheus_numbers() {
    let h = Histogram::native(NativeBuckets::new(1.5).unwrap());
    h.observe(std::f64::consts::SQRT_2);
    assert_eq!(buckets_of(&h), (1, (1, GO_ZERO, 0, vec![(2, 1)], vec![])));
}

/// The schema is the highest whose growth factor is at most the factor, compared exactly.
#[test]
fn the_starting_schema_compares_the_factor_exactly() {
    let below = |f: f64| f64::from_bits(f.to_bits() - 1);
    let schema = |f: f64| NativeBuckets::new(f).unwrap().schema();
    assert_eq!(schema(65535.99999999999), -3);
    assert_eq!(schema(below(65536.0)), -3);
    assert_eq!(schema(65536.0), -4);
    assert_eq!(schema(below(256.0)), -2);
    assert_eq!(schema(256.0), -3);
    assert_eq!(schema(below(16.0)), -1);
    assert_eq!(schema(16.0), -2);
    assert_eq!(schema(below(2.0)), 1);
    assert_eq!(schema(2.0), 0);
    // 2^(1/2) is irrational: its nearest f64 is above it, the one below is not enough.
    assert_eq!(schema(std::f64::consts::SQRT_2), 1);
    assert_eq!(schema(below(std::f64::consts::SQRT_2)), 2);
    assert_eq!(schema(1.1), 3);
    assert_eq!(schema(1.0001), 8);
    assert_eq!(schema(1e300), -4);
}

/// No finite zero threshold takes ±Inf, not even `f64::MAX`: they stay in the buckets past the
/// largest finite value's, set or widened.
#[test]
fn infinities_are_never_in_the_zero_bucket() {
    let h = Histogram::native(
        NativeBuckets::new(2.0)
            .unwrap()
            .zero_threshold(f64::MAX)
            .unwrap(),
    );
    for v in [f64::INFINITY, f64::NEG_INFINITY, 1.0] {
        h.observe(v);
    }
    assert_eq!(
        buckets_of(&h),
        (3, (0, f64::MAX, 1, vec![(1025, 1)], vec![(1025, 1)]))
    );
    // Widened: 1 takes its bucket, one too many; the reduction widens the zero bucket to the
    // closest bucket to zero, 1's (up to 1), and the infinity's stays.
    let h = Histogram::native(
        NativeBuckets::new(2.0)
            .unwrap()
            .max_buckets(1)
            .max_zero_threshold(f64::MAX)
            .unwrap(),
    );
    h.observe(f64::INFINITY);
    h.observe(1.0);
    assert_eq!(buckets_of(&h), (2, (0, 1.0, 1, vec![(1025, 1)], vec![])));
}

/// Values over the whole range of f64, both signs, with no zero bucket to take the smallest and
/// a small maximum: once nothing can be reduced (schema -4), every observation still has a
/// bucket, as in Go. The table holds every bucket schema -4 has above the zero threshold.
#[test]
fn every_observation_keeps_a_bucket_at_any_spread() {
    for max in [1, 20, 160] {
        let h = Histogram::native(
            NativeBuckets::new(2.0)
                .unwrap()
                .zero_threshold(0.0)
                .unwrap()
                .max_buckets(max),
        );
        let mut observed = 0u64;
        for exp in (-1074..1024).step_by(8) {
            for sign in [1.0, -1.0] {
                h.observe(sign * 2f64.powi(exp));
                observed += 1;
            }
        }
        for v in [f64::MAX, -f64::MAX, f64::INFINITY, f64::NEG_INFINITY] {
            h.observe(v);
            observed += 1;
        }
        let (count, (schema, _, zero, positive, negative)) = buckets_of(&h);
        let in_buckets: u64 = zero
            + positive.iter().map(|(_, n)| n).sum::<u64>()
            + negative.iter().map(|(_, n)| n).sum::<u64>();
        assert_eq!((count, in_buckets, schema), (530, 530, -4), "max {max}");
        assert_eq!(observed, 530);
        // Symmetric values, symmetric buckets.
        assert_eq!(positive.len(), negative.len(), "max {max}");
    }
}
