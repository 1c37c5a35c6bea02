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
    let clock = &*CLOCK;
    clock.delta_as_nanos(start, clock.raw())
}

/// The clock, calibrated now rather than in the first timed call: for a caller that keeps it
/// and reads it without the lazy initialisation's check.
pub(crate) fn warm_up() -> &'static quanta::Clock {
    &CLOCK
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

/// The wall clock at one moment and the raw reading taken with it: exemplar timestamps are that
/// moment plus the raw clock's progress since, a TSC read instead of a `clock_gettime` call.
static WALL: LazyLock<(u64, u64)> = LazyLock::new(|| {
    let raw = CLOCK.raw();
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    (unix, raw)
});

/// Nanoseconds since the Unix epoch, from the raw clock.
#[inline]
pub(crate) fn unix_ns() -> u64 {
    let (unix, raw) = *WALL;
    unix.saturating_add(CLOCK.delta_as_nanos(raw, CLOCK.raw()))
}
