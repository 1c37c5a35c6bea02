//! What `#[instrument_metrics]` adds to a call, next to the floor it cannot beat: a clock pair
//! and two uncontended atomic adds.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use vitalsign::{Buckets, Counter, Histogram, LabelValue, instrument_metrics};

fn main() {
    // Build the statics and calibrate the clock outside the measurements.
    let _ = instrumented(1);
    divan::main();
}

#[derive(Debug, LabelValue)]
enum PayError {
    Declined,
}

#[inline(never)]
fn bare(amount: u32) -> Result<u32, PayError> {
    if amount == 0 {
        Err(PayError::Declined)
    } else {
        Ok(amount)
    }
}

#[inline(never)]
#[instrument_metrics]
fn instrumented(amount: u32) -> Result<u32, PayError> {
    if amount == 0 {
        Err(PayError::Declined)
    } else {
        Ok(amount)
    }
}

#[divan::bench]
fn call_bare() -> Result<u32, PayError> {
    bare(black_box(7))
}

#[divan::bench]
fn call_instrumented() -> Result<u32, PayError> {
    instrumented(black_box(7))
}

static A: AtomicU64 = AtomicU64::new(0);
static B: AtomicU64 = AtomicU64::new(0);

#[divan::bench]
fn floor_std_instant() -> u64 {
    let start = Instant::now();
    A.fetch_add(1, Ordering::Relaxed);
    let ns = start.elapsed().as_nanos() as u64;
    B.fetch_add(ns, Ordering::Relaxed)
}

#[divan::bench]
fn floor_quanta(bencher: divan::Bencher<'_, '_>) {
    let clock = quanta::Clock::new();
    bencher.bench_local(|| {
        let start = clock.raw();
        A.fetch_add(1, Ordering::Relaxed);
        let ns = clock.delta_as_nanos(start, clock.raw());
        B.fetch_add(ns, Ordering::Relaxed)
    });
}

#[divan::bench]
fn clock_std_instant_now() -> Instant {
    Instant::now()
}

#[divan::bench]
fn clock_quanta_raw(bencher: divan::Bencher<'_, '_>) {
    let clock = quanta::Clock::new();
    bencher.bench_local(|| clock.raw());
}

#[divan::bench]
fn counter_inc(bencher: divan::Bencher<'_, '_>) {
    let c = Counter::new();
    bencher.bench_local(|| c.inc());
}

#[divan::bench]
fn histogram_observe_ns(bencher: divan::Bencher<'_, '_>) {
    let h = Histogram::new(Buckets::latency());
    bencher.bench_local(|| h.observe_ns(black_box(30_000_000)));
}

#[divan::bench]
fn histogram_observe_f64(bencher: divan::Bencher<'_, '_>) {
    let h = Histogram::new(Buckets::latency());
    bencher.bench_local(|| h.observe(black_box(0.03)));
}
