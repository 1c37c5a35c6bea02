//! Series that come and go, at scale (issue 22): 1,000,000 distinct label values through a
//! sparse family capped at 10,000 series with an idle timeout, two threads inserting (started
//! at a barrier) while the main thread scrapes every 100 ms.
//!
//! Each insert is one `get` of a new value and one increment, timed on its own. Prints one line
//! of `key value` pairs for `report`: insert latency percentiles, resident memory after warm-up
//! (the first 10% of inserts) and at its highest after, and what the family did.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use vitalsign::{Counter, EncodeOptions, Format, Registry, SparseFamily};

const VALUES: usize = 1_000_000;
const THREADS: usize = 2;
const CAP: usize = 10_000;
/// Inserts per second per thread. A value lives until the second sweep after its insert, so up
/// to three scrape intervals' inserts (9,000) are live at once: under the cap.
const RATE: u64 = 15_000;
const IDLE: Duration = Duration::from_millis(100);
const SCRAPE_EVERY: Duration = Duration::from_millis(100);

fn resident_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4
}

fn main() {
    let registry = Registry::new();
    let family = registry
        .register(
            "requests",
            "Requests by customer.",
            SparseFamily::<Counter, 1>::new(["customer"], CAP)
                .expect("a valid label name")
                .idle_timeout(IDLE),
        )
        .expect("a fresh registry");
    let done = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::new(THREADS + 1));
    let per_thread = VALUES / THREADS;
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let family = family.clone();
            let done = done.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                // Every latency slot written before the barrier: recording allocates nothing.
                let mut latencies = vec![u32::MAX; per_thread];
                let mut value = String::with_capacity(16);
                barrier.wait();
                let start = Instant::now();
                for (i, slot) in latencies.iter_mut().enumerate() {
                    if i % 1000 == 0 {
                        let due = start + Duration::from_micros(i as u64 * 1_000_000 / RATE);
                        if let Some(wait) = due.checked_duration_since(Instant::now()) {
                            std::thread::sleep(wait);
                        }
                    }
                    value.clear();
                    use std::fmt::Write as _;
                    let _ = write!(value, "customer-{t}-{i}");
                    let t0 = Instant::now();
                    family.get([value.as_str()]).inc();
                    *slot = u32::try_from(t0.elapsed().as_nanos()).unwrap_or(u32::MAX);
                    done.fetch_add(1, Ordering::Relaxed);
                }
                latencies
            })
        })
        .collect();
    barrier.wait();
    let mut buf = Vec::with_capacity(1 << 20);
    let options = EncodeOptions::new(Format::Prometheus);
    let (mut scrapes, mut scrape_max) = (0u32, Duration::ZERO);
    let (mut warm, mut rss_max, mut series_max) = (None, 0u64, 0usize);
    while done.load(Ordering::Relaxed) < VALUES {
        std::thread::sleep(SCRAPE_EVERY);
        buf.clear();
        let t0 = Instant::now();
        registry.encode(&mut buf, &options);
        scrape_max = scrape_max.max(t0.elapsed());
        scrapes += 1;
        series_max = series_max.max(family.len());
        let rss = resident_kib();
        if warm.is_none() && done.load(Ordering::Relaxed) >= VALUES / 10 {
            warm = Some(rss);
        } else if warm.is_some() {
            rss_max = rss_max.max(rss);
        }
    }
    let mut all: Vec<u32> = workers
        .into_iter()
        .flat_map(|w| w.join().expect("an inserting thread"))
        .collect();
    all.sort_unstable();
    let slow = all.iter().filter(|&&ns| ns > 10_000).count();
    let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    let text = registry.render(Format::Prometheus);
    let counted = |name: &str| -> u64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let warm = warm.unwrap_or(0);
    println!(
        "churn inserts {} threads {THREADS} cap {CAP} p50_ns {} p99_ns {} p99_9_ns {} max_ns {} over_10us {slow} \
         rss_warm_kib {warm} rss_max_kib {} scrapes {scrapes} scrape_max_us {} series_max {series_max} \
         expired {} overflowed {}",
        all.len(),
        at(0.5),
        at(0.99),
        at(0.999),
        all[all.len() - 1],
        rss_max.max(warm),
        scrape_max.as_micros(),
        counted("vitalsign_series_expired_total"),
        counted("vitalsign_series_overflow_total"),
    );
}
