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
    std::thread::sleep(Duration::from_millis(1100));
    // A third bucket, over a second after the histogram began: everything restarts from this
    // observation (classic buckets, count and sum too), as Go's client does.
    h.observe(30.0);
    assert_eq!(
        native(&h),
        (1, 30.0, 0, 2.938735877055719e-39, 0, vec![(5, 1)])
    );
    assert_eq!(
        h.snapshot().into_parts(),
        (vec![(1.0, 0), (f64::INFINITY, 1)], 1, 30.0)
    );
    // Within a second of that reset, a third bucket halves the resolution instead, until two
    // buckets hold 0.3, 30 and 300: at schema -4 (buckets 2^16 wide), 0.3 is in bucket 0 (up to
    // 1), 30 and 300 in 1 (up to 65536).
    h.observe(0.3);
    h.observe(300.0);
    assert_eq!(
        native(&h),
        (3, 330.3, -4, 2.938735877055719e-39, 0, vec![(0, 1), (1, 2)])
    );
}
