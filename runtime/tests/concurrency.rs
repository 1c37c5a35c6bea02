//! Exact totals under concurrent updates, and histogram snapshots that are always consistent
//! while other threads observe.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use vitalsign::{
    Buckets, Counter, Family, FloatCounter, Format, Gauge, Histogram, LabelSet, Registry,
    SparseFamily, Summary,
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
        let (buckets, count, sum) = h.snapshot().into_parts();
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
    let count = h.snapshot().count;
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
        let vitalsign::SummarySnapshot { count, sum } = s.snapshot();
        assert_eq!(sum, count as f64 * 0.5);
    }
    stop.store(true, Ordering::Relaxed);
    let n = observer.join().unwrap();
    assert_eq!(
        s.snapshot(),
        vitalsign::SummarySnapshot {
            count: n,
            sum: n as f64 * 0.5
        }
    );
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

/// Eight threads (more than the cores CI has) drive every kind of concurrent change a registry
/// sees — a dense counter family, a labelled histogram, a gauge, a sparse family filling past its
/// cap, new registrations — while a scraper renders both formats without pause. Every scrape must
/// describe completed operations only (histograms consistent, counters never going back, the
/// OpenMetrics `# EOF` last), and after 3.2 million operations every total is exact.
#[test]
fn a_registry_under_load_scrapes_consistently_and_ends_exact() {
    const USERS_PER_THREAD: u64 = 64;
    const SPARSE_CAP: usize = 256;
    const REGISTRATIONS_PER_THREAD: u64 = 50;
    let r = Arc::new(Registry::new());
    let buckets = Buckets::new([0.5, 1.0, 2.0]).unwrap();
    let hits = r
        .register("hits", "Hits.", Family::<Shard, Counter>::new())
        .unwrap();
    let work = r
        .register(
            "work_seconds",
            "Work.",
            Family::<Shard, Histogram>::new_with(move || Histogram::new(buckets.clone())),
        )
        .unwrap();
    let level = r.register("level", "Level.", Gauge::new()).unwrap();
    let users = r
        .register(
            "users",
            "Users.",
            SparseFamily::<Counter, 1>::new(["user"], SPARSE_CAP).unwrap(),
        )
        .unwrap();

    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (r, hits, work, level, users) = (
                r.clone(),
                hits.clone(),
                work.clone(),
                level.clone(),
                users.clone(),
            );
            thread::spawn(move || {
                let shard = Shard((t % 4) as u8);
                for i in 0..PER_THREAD {
                    hits.get(&shard).inc();
                    work.get(&shard)
                        .observe(if i % 2 == 0 { 0.25 } else { 1.5 });
                    if i % 2 == 0 {
                        level.inc();
                    } else {
                        level.dec();
                    }
                    let user = t * USERS_PER_THREAD + i % USERS_PER_THREAD;
                    users.get([&user.to_string()]).inc();
                    if i % (PER_THREAD / REGISTRATIONS_PER_THREAD) == 0 {
                        let k = i / (PER_THREAD / REGISTRATIONS_PER_THREAD);
                        r.register(format!("extra_{t}_{k}"), "Extra.", Counter::new())
                            .unwrap();
                    }
                }
            })
        })
        .collect();

    let mut previous_hits = [0u64; 4];
    let mut scrapes = 0u64;
    while !workers.iter().all(|w| w.is_finished()) {
        let format = [Format::Prometheus, Format::OpenMetrics][(scrapes % 2) as usize];
        let text = r.render(format);
        if format == Format::OpenMetrics {
            assert!(text.ends_with("\n# EOF\n"), "{text}");
            assert_eq!(text.matches("# EOF").count(), 1);
        }
        let values = series_values(&text);
        for (s, previous) in previous_hits.iter_mut().enumerate() {
            let v = |key: String| values[key.as_str()];
            let hits_now = v(format!("hits_total{{shard=\"{s}\"}}")) as u64;
            assert!(hits_now >= *previous, "hits went back: {text}");
            *previous = hits_now;
            let bucket = |le: &str| v(format!("work_seconds_bucket{{shard=\"{s}\",le=\"{le}\"}}"));
            let (low, one, two, inf) =
                (bucket("0.5"), bucket("1.0"), bucket("2.0"), bucket("+Inf"));
            assert_eq!(low, one, "nothing between 0.5 and 1.0: {text}");
            assert!(one <= two && two == inf, "{text}");
            assert_eq!(inf, v(format!("work_seconds_count{{shard=\"{s}\"}}")));
            assert_eq!(
                v(format!("work_seconds_sum{{shard=\"{s}\"}}")),
                0.25 * low + 1.5 * (two - one),
                "sum of the observations counted: {text}"
            );
        }
        scrapes += 1;
    }
    workers.into_iter().for_each(|w| w.join().unwrap());
    assert!(scrapes > 0);

    let text = r.render(Format::Prometheus);
    let values = series_values(&text);
    let per_shard = (2 * PER_THREAD) as f64; // two threads per shard
    for s in 0..4 {
        assert_eq!(
            values[format!("hits_total{{shard=\"{s}\"}}").as_str()],
            per_shard
        );
        assert_eq!(
            values[format!("work_seconds_count{{shard=\"{s}\"}}").as_str()],
            per_shard
        );
        assert_eq!(
            values[format!("work_seconds_sum{{shard=\"{s}\"}}").as_str()],
            per_shard / 2.0 * (0.25 + 1.5)
        );
    }
    assert_eq!(level.get(), 0);
    let user_series = values
        .keys()
        .filter(|k| k.starts_with("users_total{"))
        .count();
    assert_eq!(
        user_series,
        SPARSE_CAP + 1,
        "the cap and one overflow series"
    );
    let user_total: f64 = values
        .iter()
        .filter(|(k, _)| k.starts_with("users_total{"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(user_total, (THREADS * PER_THREAD) as f64);
    let extras = values.keys().filter(|k| k.starts_with("extra_")).count() as u64;
    assert_eq!(extras, THREADS * REGISTRATIONS_PER_THREAD);
}

/// Every sample line of a text exposition, keyed by everything before its value.
fn series_values(text: &str) -> std::collections::HashMap<&str, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let (key, value) = l.rsplit_once(' ').unwrap();
            let value = match value {
                "+Inf" => f64::INFINITY,
                v => v.parse().unwrap(),
            };
            (key, value)
        })
        .collect()
}

/// Native buckets under threads and scrapes, with a bucket limit small enough that reductions
/// (halving the resolution) run while other threads observe: in every scrape the zero bucket and
/// the native buckets hold exactly the count, as the classic buckets do; at the end nothing is
/// lost.
#[test]
fn native_buckets_stay_consistent_through_reductions() {
    use vitalsign::NativeBuckets;

    let registry = Arc::new(Registry::new());
    let h = registry
        .register(
            "h",
            "h",
            Histogram::with_native(
                Buckets::new([1.0]).unwrap(),
                NativeBuckets::with_schema(8).unwrap().max_buckets(8),
            ),
        )
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = (0..4u64)
        .map(|t| {
            let h = h.clone();
            thread::spawn(move || {
                for i in 0..PER_THREAD {
                    // Magnitudes over six orders, both signs, some zeros.
                    let v = match i % 7 {
                        0 => 0.0,
                        k => {
                            let m = 10f64.powf(((i * 31 + t * 17) % 600) as f64 / 100.0 - 3.0);
                            if k % 2 == 0 { -m } else { m }
                        }
                    };
                    h.observe(v);
                }
            })
        })
        .collect();
    let scraper = {
        let (h, done) = (h.clone(), done.clone());
        thread::spawn(move || {
            let mut scrapes = 0u64;
            let mut schemas = Vec::new();
            while !done.load(Ordering::Relaxed) || scrapes == 0 {
                let s = h.snapshot();
                let n = s.native.expect("native buckets");
                let in_buckets: u64 = n.zero
                    + n.positive.iter().map(|(_, c)| c).sum::<u64>()
                    + n.negative.iter().map(|(_, c)| c).sum::<u64>();
                assert_eq!(in_buckets, s.count, "scrape {scrapes}");
                schemas.push(n.schema);
                scrapes += 1;
            }
            (scrapes, schemas)
        })
    };
    for handle in handles {
        handle.join().unwrap();
    }
    done.store(true, Ordering::Relaxed);
    let (scrapes, schemas) = scraper.join().unwrap();
    assert!(scrapes > 0);
    // Resolution only ever goes down, and it went down from 8.
    assert!(schemas.windows(2).all(|w| w[1] <= w[0]), "{schemas:?}");
    let s = h.snapshot();
    let m = s.native.expect("native buckets");
    assert_eq!(s.count, 4 * PER_THREAD);
    let positive: u64 = m.positive.iter().map(|(_, c)| c).sum();
    let negative: u64 = m.negative.iter().map(|(_, c)| c).sum();
    assert_eq!(m.zero + positive + negative, 4 * PER_THREAD);
    assert_eq!(
        m.zero,
        (0..4 * PER_THREAD)
            .filter(|i| i % PER_THREAD % 7 == 0)
            .count() as u64
    );
    // Reductions stop at the highest schema whose buckets for all the values are at most 8
    // (a subset of the values never needs more buckets than all of them).
    let values: Vec<f64> = (0..4u64)
        .flat_map(|t| (0..PER_THREAD).map(move |i| (t, i)))
        .filter(|(_, i)| i % 7 != 0)
        .map(|(t, i)| {
            let m = 10f64.powf(((i * 31 + t * 17) % 600) as f64 / 100.0 - 3.0);
            if (i % 7) % 2 == 0 { -m } else { m }
        })
        .collect();
    let expected = (-4..=8)
        .rev()
        .find(|&s| {
            // The buckets all the values take at schema `s`, with no limit to reduce them.
            let all = Histogram::native(NativeBuckets::with_schema(s).unwrap().max_buckets(4096));
            values.iter().for_each(|&v| all.observe(v));
            let n = all.snapshot().native.expect("native buckets");
            assert_eq!(n.schema, s);
            n.positive.len() + n.negative.len() <= 8
        })
        .unwrap();
    assert_eq!(m.schema, expected);
}
