//! The synchronisation primitives of the lock-free histogram core: std's normally, loom's when
//! built with `--cfg loom` so the loom model in `metrics/histogram.rs` can explore every
//! interleaving of observers and a scrape.

#[cfg(loom)]
pub(crate) use loom::sync::Mutex;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::AtomicU64;
#[cfg(not(loom))]
pub(crate) use std::sync::Mutex;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::AtomicU64;

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
