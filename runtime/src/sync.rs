//! The synchronisation primitives of the histogram core, sparse families and the lookup table:
//! std's normally, loom's when built with `--cfg loom`, so the loom models beside the histogram
//! core, its cells and native tables, the exemplar cells, sparse families and the lookup table
//! can explore every interleaving of their threads.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{
    AtomicBool, AtomicI32, AtomicU32, AtomicU64, AtomicUsize, fence,
};
#[cfg(loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard, RwLock};
#[cfg(loom)]
pub(crate) use stand_in::OnceLock;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{
    AtomicBool, AtomicI32, AtomicU32, AtomicU64, AtomicUsize, fence,
};
#[cfg(not(loom))]
pub(crate) use std::sync::{Mutex, MutexGuard, OnceLock, RwLock};

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

/// The shared pointers of sparse families. A series is handed out as an `Arc`; per-thread lookup
/// caches keep only a `Weak` to it, so a removal can tell whether anyone holds it: [`claim`]
/// takes the series away only from its last holder, and no `Weak` upgrades after it.
/// Under loom, `Arc` and `Weak` are stand-ins with std's semantics built on loom's atomics, so
/// the models explore a lookup's upgrade racing a removal's claim.
#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Weak};

/// Drops `series` if the caller holds its only strong reference (`Weak`s may remain and will
/// not upgrade again); otherwise hands it back.
#[cfg(not(loom))]
pub(crate) fn claim<T>(series: Arc<T>) -> Result<(), Arc<T>> {
    Arc::try_unwrap(series).map(drop)
}

#[cfg(loom)]
pub(crate) use stand_in::{Arc, Weak, claim};

#[cfg(loom)]
mod stand_in {
    use loom::sync::atomic::{AtomicBool, AtomicUsize};
    use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

    /// std's `OnceLock` as far as the lookup table uses it: the value is published by a loom
    /// flag (so a model sees a reader race the publication), and made under a loom mutex (so a
    /// second initialiser waits in loom's scheduler, not in std's, which would stall the one OS
    /// thread loom runs on).
    pub struct OnceLock<T> {
        ready: AtomicBool,
        making: loom::sync::Mutex<()>,
        cell: std::sync::OnceLock<T>,
    }

    impl<T> OnceLock<T> {
        pub(crate) fn new() -> Self {
            Self {
                ready: AtomicBool::new(false),
                making: loom::sync::Mutex::new(()),
                cell: std::sync::OnceLock::new(),
            }
        }

        pub(crate) fn get(&self) -> Option<&T> {
            if self.ready.load(Acquire) {
                self.cell.get()
            } else {
                None
            }
        }

        pub(crate) fn get_or_init(&self, f: impl FnOnce() -> T) -> &T {
            if let Some(v) = self.get() {
                return v;
            }
            let _making = self.making.lock().expect("not poisoned");
            let v = self.cell.get_or_init(f);
            self.ready.store(true, Release);
            v
        }

        pub(crate) fn set(&self, value: T) -> Result<(), T> {
            let _making = self.making.lock().expect("not poisoned");
            self.cell.set(value)?;
            self.ready.store(true, Release);
            Ok(())
        }
    }

    struct Inner<T> {
        strong: AtomicUsize,
        value: T,
    }

    /// std's `Arc` as far as sparse families use it: the strong count lives in a loom atomic.
    pub struct Arc<T> {
        inner: loom::sync::Arc<Inner<T>>,
        /// Cleared by a successful [`claim`], whose count is already zero.
        counted: bool,
    }

    pub struct Weak<T> {
        inner: loom::sync::Arc<Inner<T>>,
    }

    impl<T> Arc<T> {
        pub(crate) fn new(value: T) -> Self {
            Self {
                inner: loom::sync::Arc::new(Inner {
                    strong: AtomicUsize::new(1),
                    value,
                }),
                counted: true,
            }
        }

        pub(crate) fn downgrade(this: &Self) -> Weak<T> {
            Weak {
                inner: this.inner.clone(),
            }
        }
    }

    impl<T> Clone for Arc<T> {
        fn clone(&self) -> Self {
            self.inner.strong.fetch_add(1, Relaxed);
            Self {
                inner: self.inner.clone(),
                counted: true,
            }
        }
    }

    impl<T> Drop for Arc<T> {
        fn drop(&mut self) {
            if self.counted {
                self.inner.strong.fetch_sub(1, Release);
            }
        }
    }

    impl<T> std::ops::Deref for Arc<T> {
        type Target = T;
        fn deref(&self) -> &T {
            &self.inner.value
        }
    }

    impl<T> Weak<T> {
        /// A strong reference, unless the count has reached zero (as std's: a compare-and-swap
        /// loop that never raises a zero count).
        pub(crate) fn upgrade(&self) -> Option<Arc<T>> {
            let mut n = self.inner.strong.load(Relaxed);
            loop {
                if n == 0 {
                    return None;
                }
                match self
                    .inner
                    .strong
                    .compare_exchange_weak(n, n + 1, Acquire, Relaxed)
                {
                    Ok(_) => {
                        return Some(Arc {
                            inner: self.inner.clone(),
                            counted: true,
                        });
                    }
                    Err(seen) => n = seen,
                }
            }
        }
    }

    pub(crate) fn claim<T>(mut series: Arc<T>) -> Result<(), Arc<T>> {
        match series.inner.strong.compare_exchange(1, 0, Acquire, Relaxed) {
            Ok(_) => {
                series.counted = false;
                Ok(())
            }
            Err(_) => Err(series),
        }
    }
}
