use std::sync::atomic::{AtomicI64, Ordering};

use crate::encoding::{Labels, MetricEncoder, MetricType, Value};
use crate::metrics::Series;
use crate::sync::AtomicF64;

/// An `i64` value that goes up and down; [`FloatGauge`] holds an `f64`.
///
/// ```
/// use vitalsign::{FloatGauge, Format, Gauge, Registry};
///
/// let registry = Registry::new();
/// let queue = registry.register("queue_depth", "Jobs waiting.", Gauge::new())?;
/// queue.add(5);
/// queue.dec();
/// let temp = registry.register("room_celsius", "Room temperature.", FloatGauge::new())?;
/// temp.set(21.5);
/// assert_eq!(registry.render(Format::OpenMetrics), "\
/// ## HELP queue_depth Jobs waiting.
/// ## TYPE queue_depth gauge
/// queue_depth 4
/// ## HELP room_celsius Room temperature.
/// ## TYPE room_celsius gauge
/// ## UNIT room_celsius celsius
/// room_celsius 21.5
/// ## EOF
/// ");
/// assert_eq!(registry.render(Format::Prometheus), "\
/// ## HELP queue_depth Jobs waiting.
/// ## TYPE queue_depth gauge
/// queue_depth 4
/// ## HELP room_celsius Room temperature.
/// ## TYPE room_celsius gauge
/// room_celsius 21.5
/// ");
/// # Ok::<(), vitalsign::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct Gauge {
    value: AtomicI64,
}

impl Gauge {
    /// A gauge at zero.
    pub const fn new() -> Self {
        Self {
            value: AtomicI64::new(0),
        }
    }

    /// Sets the value.
    #[inline]
    pub fn set(&self, v: i64) {
        self.value.store(v, Ordering::Relaxed);
    }

    /// Adds `v` (which may be negative).
    #[inline]
    pub fn add(&self, v: i64) {
        self.value.fetch_add(v, Ordering::Relaxed);
    }

    /// Subtracts `v`.
    #[inline]
    pub fn sub(&self, v: i64) {
        self.value.fetch_sub(v, Ordering::Relaxed);
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Subtracts one.
    #[inline]
    pub fn dec(&self) {
        self.sub(1);
    }

    /// The current value.
    pub fn get(&self) -> i64 {
        self.value.load(Ordering::Relaxed)
    }
}

impl Series for Gauge {
    const TYPE: MetricType = MetricType::Gauge;

    fn encode_series(&self, labels: Labels<'_>, encoder: &mut MetricEncoder<'_>) {
        encoder.gauge(labels, Value::I64(self.get()));
    }

    fn single_sample(&self) -> Option<(&'static str, Value)> {
        Some(("", Value::I64(self.get())))
    }
}

/// An `f64` value that goes up and down.
#[derive(Default)]
pub struct FloatGauge {
    value: AtomicF64,
}

impl FloatGauge {
    /// A gauge at zero.
    pub const fn new() -> Self {
        Self {
            value: AtomicF64::zero(),
        }
    }

    /// Sets the value.
    #[inline]
    pub fn set(&self, v: f64) {
        self.value.store(v);
    }

    /// Adds `v` (which may be negative).
    #[inline]
    pub fn add(&self, v: f64) {
        self.value.add(v);
    }

    /// Subtracts `v`.
    #[inline]
    pub fn sub(&self, v: f64) {
        self.add(-v);
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1.0);
    }

    /// Subtracts one.
    #[inline]
    pub fn dec(&self) {
        self.add(-1.0);
    }

    /// The current value.
    pub fn get(&self) -> f64 {
        self.value.load()
    }
}

impl std::fmt::Debug for FloatGauge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FloatGauge")
            .field("value", &self.get())
            .finish()
    }
}

impl Series for FloatGauge {
    const TYPE: MetricType = MetricType::Gauge;

    fn encode_series(&self, labels: Labels<'_>, encoder: &mut MetricEncoder<'_>) {
        encoder.gauge(labels, Value::F64(self.get()));
    }

    fn single_sample(&self) -> Option<(&'static str, Value)> {
        Some(("", Value::F64(self.get())))
    }
}
