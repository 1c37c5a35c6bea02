//! Run with `RUSTFLAGS="--cfg loom" cargo test -p vitalsign --lib --release loom`
//! (`.ci/run` does).

use super::Core;
use crate::metrics::{Buckets, Histogram, NativeBuckets};

/// Two observers, one per bucket, twice each, race a scrape. In every interleaving loom
/// explores, the scrape sees whole observations only: `+Inf` equals the count and the sum is
/// exactly the sum of the observations its buckets show; once both are done, nothing is lost.
fn consistent(h: Histogram) {
    let h = loom::sync::Arc::new(h);
    let observers: Vec<_> = [0.5, 2.0]
        .into_iter()
        .map(|v| {
            let h = h.clone();
            loom::thread::spawn(move || {
                h.observe(v);
                h.observe(v);
            })
        })
        .collect();
    let (buckets, count, sum) = h.snapshot().into_parts();
    let (low, all) = (buckets[0].1, buckets[1].1);
    assert_eq!(all, count);
    assert!(low <= 2 && all - low <= 2);
    assert_eq!(sum, 0.5 * low as f64 + 2.0 * (all - low) as f64);
    for o in observers {
        o.join().unwrap();
    }
    let (buckets, count, sum) = h.snapshot().into_parts();
    assert_eq!((buckets[0].1, buckets[1].1, count, sum), (2, 4, 4, 5.0));
}

/// The observers write their own cells (each has a slot), which the scrape reads.
#[test]
fn loom_snapshots_of_per_thread_cells_are_consistent() {
    loom::model(|| consistent(Histogram::new(Buckets::new([1.0]).unwrap())));
}

/// The same with two stripes and no cells: the observers' slots put them in one stripe or in two, and
/// their collisions move them between stripes.
#[test]
fn loom_snapshots_of_two_stripes_are_consistent() {
    loom::model(|| {
        consistent(Histogram {
            core: Core::striped(Buckets::new([1.0]).unwrap(), 1),
        })
    });
}

/// Two observers put one value each in the native buckets (two new keys racing for slots of
/// one small table: 1.5 and 3 are buckets 1 and 2 at schema 0), while a scrape rotates the
/// shards. Every scrape shows the native buckets of exactly the observations it counts, the
/// classic buckets agreeing; once both are done, both buckets hold one each.
#[test]
fn loom_native_buckets_count_what_the_scrape_counts() {
    loom::model(|| {
        let native = NativeBuckets::with_schema(0).unwrap().max_buckets(2);
        let h = Histogram::with_native(Buckets::new([2.0]).unwrap(), native);
        let h = loom::sync::Arc::new(h);
        let observers: Vec<_> = [1.5, 3.0]
            .into_iter()
            .map(|v| {
                let h = h.clone();
                loom::thread::spawn(move || h.observe(v))
            })
            .collect();
        let s = h.snapshot();
        let n = s.native.unwrap();
        let (low, high) = (s.buckets[0].1, s.count - s.buckets[0].1);
        let mut expected = Vec::new();
        expected.extend((low == 1).then_some((1, 1)));
        expected.extend((high == 1).then_some((2, 1)));
        assert_eq!((n.schema, n.zero, n.positive), (0, 0, expected));
        assert_eq!(s.sum, 1.5 * low as f64 + 3.0 * high as f64);
        for o in observers {
            o.join().unwrap();
        }
        let n = h.snapshot().native.unwrap();
        assert_eq!((n.schema, n.positive), (0, vec![(1, 1), (2, 1)]));
    });
}

/// At most one bucket: a second bucket calls for a reduction (each observation that finds
/// the table past the maximum calls for one, so schema 3 goes to 2, or to 1 where 1.5 and
/// 1.75 share a bucket), which rotates the shards and folds the buckets into the new schema
/// while the other observer and a scrape race it. Whatever the order, every scrape shows each
/// counted observation in its own value's bucket at the schema it reports, and nothing is
/// lost or counted twice.
#[test]
fn loom_a_reduction_racing_observers_and_a_scrape_loses_nothing() {
    loom::model(|| {
        let native = NativeBuckets::with_schema(3).unwrap().max_buckets(1);
        let h = Histogram::with_native(Buckets::new([1.6]).unwrap(), native);
        let h = loom::sync::Arc::new(h);
        let observers: Vec<_> = [1.5, 1.75]
            .into_iter()
            .map(|v| {
                let h = h.clone();
                loom::thread::spawn(move || h.observe(v))
            })
            .collect();
        // Neither value is a bucket bound at any schema.
        let key = |v: f64, schema: i32| (v.log2() * 2f64.powi(schema)).ceil() as i32;
        let check = |s: crate::metrics::HistogramSnapshot| {
            let n = s.native.unwrap();
            let (low, high) = (s.buckets[0].1, s.count - s.buckets[0].1);
            let mut expected: Vec<(i32, u64)> =
                [(key(1.5, n.schema), low), (key(1.75, n.schema), high)]
                    .into_iter()
                    .filter(|b| b.1 > 0)
                    .collect();
            expected.dedup_by(|b, a| {
                a.0 == b.0 && {
                    a.1 += b.1;
                    true
                }
            });
            assert!((1..=3).contains(&n.schema), "schema {}", n.schema);
            assert_eq!((n.zero, &n.positive), (0, &expected));
            (low, high)
        };
        check(h.snapshot());
        for o in observers {
            o.join().unwrap();
        }
        assert_eq!(check(h.snapshot()), (1, 1));
    });
}
