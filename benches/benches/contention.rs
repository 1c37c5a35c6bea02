//! Threads that contend: every thread observes the same histogram series (or increments the same
//! labelled family), as a tokio server's workers do. divan's `threads = [2]` does not make its
//! threads run at once, so this harness does: the threads start together at a barrier, each
//! does a million operations, and a row is the median over several rounds of the wall time
//! divided by the operations one thread did (so with no contention, and a core per thread, it
//! reads what one thread alone reads).
//!
//! The control row is one `AtomicU64::fetch_add` shared by every thread. If two threads on it do
//! not read at least twice what one thread reads, the threads did not run at once and the run
//! says its thread rows are invalid.
//!
//! Output, one line per measurement: `contention ROW CRATE THREADS NS_PER_OP`, then
//! `bytes SERIES UNCONTENDED CONTENDED` (heap and inline bytes of one series, counted by the
//! allocator below) and `valid yes|no`. `benches/run.sh` feeds it to `report`.

#![allow(
    unsafe_code,
    reason = "a counting allocator must implement the unsafe `GlobalAlloc`; it only forwards to `System`"
)]

use std::alloc::{GlobalAlloc, Layout, System};

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Instant;

use vitalsign_bench::*;

/// Bytes the program holds on the heap now.
static LIVE: AtomicUsize = AtomicUsize::new(0);

struct Counting;

// SAFETY: forwards to the system allocator unchanged; only counts the bytes held.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is passed through.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is passed through.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is passed through.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The bytes one histogram series of 11 buckets holds (its shared bucket bounds aside): made,
/// after one thread observed it, and after two threads observed it at once.
fn histogram_bytes() -> [usize; 3] {
    let buckets = vitalsign::Buckets::latency();
    let before = LIVE.load(Ordering::Relaxed);
    // The `Arc` header is the benchmark's, not the series'.
    let held = || LIVE.load(Ordering::Relaxed) - before - 2 * std::mem::size_of::<usize>();
    let h = Arc::new(vitalsign::Histogram::new(buckets));
    let made = held();
    let h1 = h.clone();
    measure(1, move |i| h1.observe(VALUES[i % 8]));
    let one = held();
    let h2 = h.clone();
    measure(2, move |i| h2.observe(VALUES[i % 8]));
    let two = held();
    drop(h);
    [made, one, two]
}

const OPS: usize = 1_000_000;
const ROUNDS: usize = 5;
const THREADS: [usize; 4] = [1, 2, 4, 8];

/// Nanoseconds per operation per thread: the median over `ROUNDS` of `threads` threads each
/// running `op(0..OPS)` from a common start.
fn measure(threads: usize, op: impl Fn(usize) + Send + Sync + 'static) -> f64 {
    let op = Arc::new(op);
    let mut rounds: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let start = Arc::new(Barrier::new(threads + 1));
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    let (op, start) = (op.clone(), start.clone());
                    std::thread::spawn(move || {
                        start.wait();
                        for i in 0..OPS {
                            op(black_box(i));
                        }
                    })
                })
                .collect();
            start.wait();
            let began = Instant::now();
            for h in handles {
                h.join().expect("a benchmark thread panicked");
            }
            began.elapsed().as_nanos() as f64 / OPS as f64
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    rounds[ROUNDS / 2]
}

fn histogram_rows(threads: usize) -> Vec<(&'static str, f64)> {
    let vs = Arc::new(vs_histogram());
    let pc = Arc::new(pc_histogram());
    let prom = prom_histogram();
    let measured = Arc::new(measured_histogram());
    let fm = Arc::new(fm_histogram());
    let metrics = metrics::histogram!("contention_histogram");
    vec![
        (
            "vitalsign",
            measure(threads, move |i| vs.observe(VALUES[i % 8])),
        ),
        (
            "prometheus_client",
            measure(threads, move |i| pc.observe(VALUES[i % 8])),
        ),
        (
            "prometheus",
            measure(threads, move |i| prom.observe(VALUES[i % 8])),
        ),
        (
            "measured",
            measure(threads, move |i| {
                measured.get_metric().observe(VALUES[i % 8]);
            }),
        ),
        (
            "metrics",
            measure(threads, move |i| metrics.record(VALUES[i % 8])),
        ),
        (
            "fastmetrics",
            measure(threads, move |i| fm.observe(VALUES[i % 8])),
        ),
    ]
}

fn counter_rows(threads: usize) -> Vec<(&'static str, f64)> {
    let vs = Arc::new(vitalsign::Family::<VsLabels, vitalsign::Counter>::new());
    let pc = Arc::new(prometheus_client::metrics::family::Family::<
        PcLabels,
        prometheus_client::metrics::counter::Counter,
    >::default());
    let prom =
        prometheus::IntCounterVec::new(prometheus::Opts::new("c", "c"), &["method", "outcome"])
            .expect("counter vec");
    let measured = Arc::new(measured::CounterVec::<MeasuredSet>::dense());
    vec![
        (
            "vitalsign",
            measure(threads, move |i| {
                vs.get(&VsLabels {
                    method: METHODS[i % 6],
                    outcome: OUTCOMES[(i / 6) % 3],
                })
                .inc();
            }),
        ),
        (
            "prometheus_client",
            measure(threads, move |i| {
                pc.get_or_create(&PcLabels {
                    method: METHODS[i % 6],
                    outcome: OUTCOMES[(i / 6) % 3],
                })
                .inc();
            }),
        ),
        (
            "prometheus",
            measure(threads, move |i| {
                prom.with_label_values(&[METHOD_STR[i % 6], OUTCOME_STR[(i / 6) % 3]])
                    .inc();
            }),
        ),
        (
            "measured",
            measure(threads, move |i| {
                measured.inc(MeasuredLabels {
                    method: METHODS[i % 6],
                    outcome: OUTCOMES[(i / 6) % 3],
                });
            }),
        ),
        (
            "metrics",
            measure(threads, move |i| {
                metrics::counter!("contention_counter", "method" => METHOD_STR[i % 6], "outcome" => OUTCOME_STR[(i / 6) % 3]).increment(1);
            }),
        ),
    ]
}

fn main() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets(LATENCY)
        .expect("buckets")
        .build_recorder();
    metrics::set_global_recorder(recorder).expect("one recorder");

    let mut control = Vec::new();
    for threads in THREADS {
        let shared = Arc::new(AtomicU64::new(0));
        let ns = measure(threads, move |_| {
            shared.fetch_add(1, Ordering::Relaxed);
        });
        println!("contention control atomic_fetch_add {threads} {ns:.2}");
        control.push(ns);
    }
    for threads in THREADS {
        for (krate, ns) in histogram_rows(threads) {
            println!("contention histogram_observe {krate} {threads} {ns:.2}");
        }
        for (krate, ns) in counter_rows(threads) {
            println!("contention counter_labelled {krate} {threads} {ns:.2}");
        }
    }
    let [made, one, two] = histogram_bytes();
    println!("bytes histogram_11_buckets {made} {one} {two}");
    let counter = std::mem::size_of::<vitalsign::Counter>();
    println!("bytes counter {counter} {counter} {counter}");
    let valid = control[1] >= 2.0 * control[0];
    println!("valid {}", if valid { "yes" } else { "no" });
}
