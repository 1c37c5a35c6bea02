//! Histograms observed from many threads: through each thread's own cell, through the shared
//! stripes once more threads are alive than there are cells, and across threads that come and go.

use std::sync::{Arc, Barrier};

use vitalsign::{Buckets, Histogram, Summary};

/// Observes 0.5 (bucket `le="1"`) when `i` is even, 2.0 (`+Inf`) when odd.
fn value(i: u64) -> f64 {
    if i % 2 == 0 { 0.5 } else { 2.0 }
}

/// `(le="1", +Inf, count, sum)` of a snapshot, checked for consistency.
fn read(h: &Histogram) -> (u64, u64, u64, f64) {
    let (buckets, count, sum) = h.snapshot().into_parts();
    let (low, all) = (buckets[0].1, buckets[1].1);
    assert_eq!(all, count);
    assert_eq!(sum, 0.5 * low as f64 + 2.0 * (all - low) as f64);
    (low, all, count, sum)
}

#[test]
fn threads_that_come_and_go_leave_every_observation_counted() {
    let h = Arc::new(Histogram::new(Buckets::new([1.0]).unwrap()));
    // One after another, so each takes the slot the last gave back, with its cell.
    for t in 0..150u64 {
        let h = h.clone();
        std::thread::spawn(move || {
            for i in 0..10 {
                h.observe(value(t + i));
            }
        })
        .join()
        .unwrap();
    }
    assert_eq!(read(&h), (750, 1500, 1500, 1875.0));
}

#[test]
fn more_threads_than_cells_still_count_exactly() {
    // 80 threads alive at once: past the 64 that get cells, the rest observe through stripes.
    let threads = 80;
    let h = Arc::new(Histogram::new(Buckets::new([1.0]).unwrap()));
    let s = Arc::new(Summary::new());
    let barrier = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads as u64)
        .map(|t| {
            let (h, s, barrier) = (h.clone(), s.clone(), barrier.clone());
            std::thread::spawn(move || {
                for i in 0..1000 {
                    h.observe(value(t + i));
                    s.observe(1.0);
                }
                // Every thread holds its slot until all have observed.
                barrier.wait();
            })
        })
        .collect();
    barrier.wait();
    for handle in handles {
        handle.join().unwrap();
    }
    assert_eq!(read(&h), (40_000, 80_000, 80_000, 100_000.0));
    let s = s.snapshot();
    assert_eq!((s.count, s.sum), (80_000, 80_000.0));
}

#[test]
fn scrapes_racing_busy_writers_read_whole_observations() {
    // Two threads observe as fast as they can while scrapes read their cells: a scrape that
    // keeps losing to a writer pauses it, so every scrape ends, consistent and never going back.
    let h = Arc::new(Histogram::new(Buckets::new([1.0]).unwrap()));
    let barrier = Arc::new(Barrier::new(3));
    let writers: Vec<_> = (0..2)
        .map(|_| {
            let (h, barrier) = (h.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                for i in 0..1_000_000 {
                    h.observe(value(i));
                }
            })
        })
        .collect();
    barrier.wait();
    let mut last = (0, 0, 0, 0.0);
    let mut scrapes = 0;
    while writers.iter().any(|w| !w.is_finished()) && scrapes < 100_000 {
        let now = read(&h);
        assert!(now.0 >= last.0 && now.1 >= last.1, "{now:?} after {last:?}");
        last = now;
        scrapes += 1;
    }
    for w in writers {
        w.join().unwrap();
    }
    assert_eq!(read(&h), (1_000_000, 2_000_000, 2_000_000, 2_500_000.0));
}

/// Native buckets from four threads: each observes the same 200 values (over five orders of
/// magnitude, both signs, and zeros) 500 times while a scrape runs in a loop. Every scrape's
/// native buckets hold exactly its count, and the end state is, bucket for bucket, what one
/// thread observing all of them gets.
#[test]
fn native_buckets_from_four_threads_count_exactly_what_one_thread_would() {
    use vitalsign::NativeBuckets;

    let values: Vec<f64> = (0..200)
        .map(|i| match i % 10 {
            0 => 0.0,
            k => {
                let m = 10f64.powf(f64::from(i % 50) / 10.0 - 2.0);
                if k % 3 == 0 { -m } else { m }
            }
        })
        .collect();
    let native = || NativeBuckets::new(1.1).unwrap().max_buckets(1000);
    let h = Arc::new(Histogram::with_native(
        Buckets::new([1.0]).unwrap(),
        native(),
    ));
    let start = Arc::new(Barrier::new(5));
    let observers: Vec<_> = (0..4)
        .map(|_| {
            let (h, start, values) = (h.clone(), start.clone(), values.clone());
            std::thread::spawn(move || {
                start.wait();
                for _ in 0..500 {
                    values.iter().for_each(|&v| h.observe(v));
                }
            })
        })
        .collect();
    start.wait();
    let mut scrapes = 0;
    while observers.iter().any(|o| !o.is_finished()) || scrapes == 0 {
        let s = h.snapshot();
        let n = s.native.unwrap();
        let held: u64 = n.zero
            + n.positive.iter().map(|b| b.1).sum::<u64>()
            + n.negative.iter().map(|b| b.1).sum::<u64>();
        assert_eq!((held, s.buckets[1].1), (s.count, s.count));
        scrapes += 1;
    }
    for o in observers {
        o.join().unwrap();
    }
    let one = Histogram::with_native(Buckets::new([1.0]).unwrap(), native());
    for _ in 0..4 * 500 {
        values.iter().for_each(|&v| one.observe(v));
    }
    let (ours, theirs) = (h.snapshot(), one.snapshot());
    assert_eq!(ours.count, 400_000);
    assert_eq!((ours.buckets, ours.native), (theirs.buckets, theirs.native));
}
