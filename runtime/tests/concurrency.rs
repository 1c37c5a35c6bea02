//! Exact totals under concurrent updates, and histogram snapshots that are always consistent
//! while other threads observe.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use vitalsign::{
    Buckets, Counter, Family, FloatCounter, Format, Gauge, Histogram, LabelSet, Registry, Summary,
};

const THREADS: u64 = 8; // more than the cores CI has
const PER_THREAD: u64 = 100_000;

struct Shard(u8);

impl LabelSet for Shard {
    const CARDINALITY: usize = 4;
    const NAMES: &'static [&'static str] = &["shard"];
    fn index(&self) -> usize {
        usize::from(self.0)
    }
    fn visit(i: usize, f: &mut dyn FnMut(&'static str, &str)) {
        f("shard", ["0", "1", "2", "3"][i]);
    }
}

#[test]
fn concurrent_increments_give_exact_totals() {
    let counter = Arc::new(Counter::new());
    let float = Arc::new(FloatCounter::new());
    let gauge = Arc::new(Gauge::new());
    let family = Arc::new(Family::<Shard, Counter>::new());
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (counter, float, gauge, family) = (
                counter.clone(),
                float.clone(),
                gauge.clone(),
                family.clone(),
            );
            thread::spawn(move || {
                for i in 0..PER_THREAD {
                    counter.inc();
                    float.inc_by(2.0);
                    if i % 2 == 0 {
                        gauge.inc()
                    } else {
                        gauge.sub(3)
                    }
                    family.get(&Shard((t % 4) as u8)).inc();
                }
            })
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(counter.get(), THREADS * PER_THREAD);
    assert_eq!(float.get(), (2 * THREADS * PER_THREAD) as f64);
    assert_eq!(gauge.get(), -((THREADS * PER_THREAD) as i64));
    let per_shard: Vec<u64> = family.iter().map(|(_, c)| c.get()).collect();
    assert_eq!(per_shard, [2 * PER_THREAD; 4]);
}

/// Two threads observe 0.25 (bucket `le=0.5`) and 1.5 (bucket `le=2.0`) while a scraper takes
/// 10,000 snapshots. Every snapshot must describe one set of completed observations: buckets
/// non-decreasing, `+Inf` equal to the count, and the sum exactly `0.25 * a + 1.5 * b` for the
/// bucket counts `a` and `b` it shows. Nothing is lost: the final snapshot has every observation.
#[test]
fn histogram_snapshots_are_consistent_under_concurrent_observation() {
    const OBSERVERS: u64 = 2;
    let h = Arc::new(Histogram::new(Buckets::new([0.5, 1.0, 2.0]).unwrap()));
    let stop = Arc::new(AtomicBool::new(false));
    let observers: Vec<_> = (0..OBSERVERS)
        .map(|t| {
            let (h, stop) = (h.clone(), stop.clone());
            thread::spawn(move || {
                let v = if t == 0 { 0.25 } else { 1.5 };
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    h.observe(v);
                    n += 1;
                }
                n
            })
        })
        .collect();

    let mut previous = 0;
    for _ in 0..10_000 {
        let (buckets, count, sum) = h.snapshot();
        let cumulative: Vec<u64> = buckets.iter().map(|&(_, c)| c).collect();
        assert!(
            cumulative.windows(2).all(|w| w[0] <= w[1]),
            "{cumulative:?}"
        );
        assert_eq!(cumulative[3], count, "+Inf bucket equals _count");
        let (a, b) = (cumulative[0], cumulative[2] - cumulative[1]);
        assert_eq!(cumulative[1], a, "nothing was observed between 0.5 and 1.0");
        assert_eq!(
            sum,
            0.25 * a as f64 + 1.5 * b as f64,
            "sum of the same observations"
        );
        assert!(count >= previous, "counts never go back");
        previous = count;
    }
    stop.store(true, Ordering::Relaxed);
    let observed: u64 = observers.into_iter().map(|o| o.join().unwrap()).sum();
    let (_, count, _) = h.snapshot();
    assert_eq!(count, observed);
}

#[test]
fn summary_count_and_sum_agree_under_concurrency() {
    let s = Arc::new(Summary::new());
    let stop = Arc::new(AtomicBool::new(false));
    let observer = {
        let (s, stop) = (s.clone(), stop.clone());
        thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                s.observe(0.5);
                n += 1;
            }
            n
        })
    };
    for _ in 0..10_000 {
        let (count, sum) = s.snapshot();
        assert_eq!(sum, count as f64 * 0.5);
    }
    stop.store(true, Ordering::Relaxed);
    let n = observer.join().unwrap();
    assert_eq!(s.snapshot(), (n, n as f64 * 0.5));
}

#[test]
fn scrapes_while_observing_always_parse_to_consistent_histograms() {
    let r = Registry::new();
    let h = r
        .register(
            "work_seconds",
            "Work.",
            Histogram::new(Buckets::new([0.001]).unwrap()),
        )
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let observer = {
        let (h, stop) = (h.clone(), stop.clone());
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                h.observe_ns(500_000); // 0.5 ms, below the bound
            }
        })
    };
    for _ in 0..1_000 {
        let text = r.render(Format::Prometheus);
        let value = |prefix: &str| -> u64 {
            let line = text.lines().find(|l| l.starts_with(prefix)).unwrap();
            line.rsplit(' ').next().unwrap().parse().unwrap()
        };
        let (low, inf, count) = (
            value("work_seconds_bucket{le=\"0.001\"}"),
            value("work_seconds_bucket{le=\"+Inf\"}"),
            value("work_seconds_count"),
        );
        assert_eq!((low, inf), (count, count), "{text}");
    }
    stop.store(true, Ordering::Relaxed);
    observer.join().unwrap();
}
