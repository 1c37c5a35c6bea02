//! The clock durations are read from: the CPU's time-stamp counter through `quanta` where it is
//! invariant (cheaper to read than `Instant::now()`; README's dependency list has the figures),
//! the OS monotonic clock otherwise (quanta decides, once). Readings are raw ticks; only differences become nanoseconds.

use std::sync::LazyLock;

static CLOCK: LazyLock<quanta::Clock> = LazyLock::new(quanta::Clock::new);

/// A raw reading, meaningful only as the start of [`elapsed_ns`].
#[inline]
pub(crate) fn now() -> u64 {
    CLOCK.raw()
}

/// Nanoseconds since the reading `start`.
#[inline]
pub(crate) fn elapsed_ns(start: u64) -> u64 {
    CLOCK.delta_as_nanos(start, CLOCK.raw())
}

/// Calibrates the clock now rather than in the first timed call.
pub(crate) fn warm_up() {
    LazyLock::force(&CLOCK);
}

/// A started clock reading, for timing something whose histogram is known only at the end (an
/// HTTP request whose status decides its series). Reads the same TSC clock as the rest of
/// vitalsign.
///
/// ```
/// let watch = vitalsign::Stopwatch::start();
/// std::thread::sleep(std::time::Duration::from_millis(2));
/// assert!(watch.elapsed_ns() >= 2_000_000);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Stopwatch(u64);

impl Stopwatch {
    /// Starts now.
    #[inline]
    pub fn start() -> Self {
        Self(now())
    }

    /// Nanoseconds since [`start`](Self::start).
    #[inline]
    pub fn elapsed_ns(&self) -> u64 {
        elapsed_ns(self.0)
    }
}
