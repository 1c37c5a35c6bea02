//! The synchronisation primitives of the histogram core and of sparse families: std's normally,
//! loom's when built with `--cfg loom`, so the loom models in `metrics/histogram.rs` and
//! `metrics/sparse.rs` can explore every interleaving of their threads.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64};
#[cfg(loom)]
pub(crate) use loom::sync::{Mutex, RwLock};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64};
#[cfg(not(loom))]
pub(crate) use std::sync::{Mutex, RwLock};

/// Waits a moment for an observer that is a few instructions from finishing.
#[inline]
pub(crate) fn backoff(spins: u32) {
    #[cfg(loom)]
    {
        let _ = spins;
        loom::thread::yield_now();
    }
    #[cfg(not(loom))]
    {
        if spins < 64 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

/// An `f64` in an atomic word: what float counters and gauges hold. (The histogram core adds to
/// the float sums in its own cells, which loom models replace.)
#[derive(Debug, Default)]
pub(crate) struct AtomicF64(std::sync::atomic::AtomicU64);

impl AtomicF64 {
    /// Zero.
    pub(crate) const fn zero() -> Self {
        Self(std::sync::atomic::AtomicU64::new(0))
    }

    #[inline]
    pub(crate) fn load(&self) -> f64 {
        f64::from_bits(self.0.load(std::sync::atomic::Ordering::Relaxed))
    }

    #[inline]
    pub(crate) fn store(&self, v: f64) {
        self.0
            .store(v.to_bits(), std::sync::atomic::Ordering::Relaxed);
    }

    /// Adds `v` with a compare-and-swap loop (there is no atomic float add).
    #[inline]
    pub(crate) fn add(&self, v: f64) {
        let ordering = std::sync::atomic::Ordering::Relaxed;
        let _ = self.0.fetch_update(ordering, ordering, |bits| {
            Some((f64::from_bits(bits) + v).to_bits())
        });
    }
}
