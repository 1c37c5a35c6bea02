//! After warm-up, an instrumented call (sync or async, ok, error or with labels) and every
//! hot-path metric operation allocate nothing: counted by a global allocator, per thread.

// A counting allocator must implement the unsafe `GlobalAlloc`; it only forwards to `System`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use vitalsign::{
    Buckets, Counter, Family, Gauge, Histogram, LabelSet, LabelValue, Summary, instrument_metrics,
};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator unchanged; only counts calls on the current thread.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|a| a.set(a.get() + 1));
        // SAFETY: the caller's contract is passed through.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed through.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|a| a.set(a.get() + 1));
        // SAFETY: the caller's contract is passed through.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[derive(Clone, Copy, Debug, LabelValue)]
enum Tier {
    Free,
    Paid,
}

#[derive(Debug, LabelValue)]
enum PayError {
    Declined,
}

#[derive(LabelSet)]
struct Labels {
    tier: Tier,
    retry: bool,
}

#[instrument_metrics(labels(tier))]
fn charge(tier: Tier, amount: u32) -> Result<u32, PayError> {
    if amount == 0 {
        Err(PayError::Declined)
    } else {
        Ok(amount)
    }
}

#[instrument_metrics(concurrency)]
async fn reserve(n: u32) -> Result<u32, std::io::Error> {
    Ok(n)
}

#[test]
fn hot_paths_allocate_nothing_after_warm_up() {
    let counter = Counter::new();
    let gauge = Gauge::new();
    let histogram = Histogram::new(Buckets::latency());
    let summary = Summary::new();
    let family = Family::<Labels, Counter>::new();
    let timed = Family::<Labels, Histogram>::new_with(|| Histogram::new(Buckets::latency()));

    // Warm-up: statics are built on first use.
    let _ = charge(Tier::Free, 1);
    let _ = vitalsign_tests::block_on(reserve(1));

    let n = allocations_during(|| {
        for i in 0..1_000u32 {
            let _ = charge(if i % 2 == 0 { Tier::Free } else { Tier::Paid }, i % 3);
            let _ = vitalsign_tests::block_on(reserve(i));
            counter.inc();
            gauge.add(2);
            histogram.observe(f64::from(i) / 1000.0);
            histogram.observe_ns(u64::from(i) * 1000);
            summary.observe(1.0);
            family
                .get(&Labels {
                    tier: Tier::Paid,
                    retry: i % 2 == 0,
                })
                .inc();
            timed
                .get(&Labels {
                    tier: Tier::Free,
                    retry: true,
                })
                .observe(0.1);
        }
    });
    assert_eq!(n, 0, "allocations in 1,000 rounds of hot-path calls");
    assert_eq!(counter.get(), 1_000);
    let _ = (Tier::Free.index(), PayError::Declined.index());
}
