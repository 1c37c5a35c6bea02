//! After warm-up, an instrumented call (sync or async, ok, error or with labels) and every
//! hot-path metric operation allocate nothing: counted by a global allocator, per thread. (A
//! series allocates once, on its first observation: its native bucket table, its exemplar
//! cells in a trace.)

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

/// `charge` again, for the traced test: tests run at once, and two threads calling one function
/// together grow its stripes (an allocation the other test would count).
#[instrument_metrics(labels(tier))]
fn charge_traced(tier: Tier, amount: u32) -> Result<u32, PayError> {
    let _ = tier;
    if amount == 0 {
        Err(PayError::Declined)
    } else {
        Ok(amount)
    }
}

#[test]
fn hot_paths_allocate_nothing_after_warm_up() {
    let counter = Counter::new();
    let gauge = Gauge::new();
    let histogram = Histogram::new(Buckets::latency());
    let summary = Summary::new();
    let family = Family::<Labels, Counter>::new();
    let timed = Family::<Labels, Histogram>::new_with(|| Histogram::new(Buckets::latency()));

    // Warm-up: statics are built on first use, and each label combination's histogram makes its
    // native bucket table on its first observation.
    let _ = charge(Tier::Free, 1);
    let _ = charge(Tier::Paid, 1);
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

/// In a sampled trace context, observations and traced increments keep exemplars without
/// allocating, once each series has made its exemplar cells (its first traced observation).
#[test]
fn exemplars_allocate_nothing_after_a_series_first_one() {
    let counter = Counter::new();
    let histogram = Histogram::new(Buckets::latency());
    let cx = vitalsign::trace::TraceContext::new([3; 16], [4; 8], true).unwrap();
    cx.scope(|| {
        for tier in [Tier::Free, Tier::Paid] {
            let _ = charge_traced(tier, 0);
            let _ = charge_traced(tier, 1);
        }
        histogram.observe(0.0);
        counter.inc_traced();
    });
    let n = allocations_during(|| {
        cx.scope(|| {
            for i in 0..1_000u32 {
                let tier = if i % 2 == 0 { Tier::Free } else { Tier::Paid };
                let _ = charge_traced(tier, i % 3);
                histogram.observe(f64::from(i) / 100.0);
                histogram.observe_ns(u64::from(i) * 1_000_000);
                counter.inc_by_traced(2);
            }
        });
    });
    assert_eq!(n, 0, "allocations in 1,000 rounds of traced hot-path calls");
    assert_eq!(counter.get(), 2_001);
    assert_eq!(histogram.snapshot().count, 2_001);
}
