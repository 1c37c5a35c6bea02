//! A small shared random source for the simulation (xorshift; not for anything secret).

use std::sync::atomic::{AtomicU64, Ordering};

static STATE: AtomicU64 = AtomicU64::new(0x9e37_79b9_7f4a_7c15);

/// Seeds from the clock, so instances differ.
pub(crate) fn seed() {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    STATE.store(nanos | 1, Ordering::Relaxed);
}

pub(crate) fn next() -> u64 {
    let step = |mut x: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let prev = STATE
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |x| Some(step(x)))
        .unwrap_or(1);
    step(prev)
}

/// Uniform in `[0, 1)`.
pub(crate) fn unit() -> f64 {
    (next() >> 11) as f64 / (1u64 << 53) as f64
}

/// Uniform in `0..n`.
pub(crate) fn below(n: u64) -> u64 {
    next() % n.max(1)
}
