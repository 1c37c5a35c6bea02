use once_cell::race::OnceBox;
use std::sync::atomic::{AtomicU64, Ordering};

use super::exemplar;
use crate::trace::Exemplar;

use crate::encoding::{Labels, MetricEncoder, MetricType, Value};
use crate::error::{Error, ErrorKind, Result};
use crate::metrics::Series;
use crate::sync::AtomicF64;

/// A monotonically increasing `u64` total; [`FloatCounter`] counts in `f64`.
///
/// One atomic; `inc` is a single uncontended `fetch_add`. The exposition name gets `_total`.
///
/// Past `u64::MAX` the total wraps to zero (no check on the hot path): a scraper reads that as a
/// counter reset, which `rate()` and `increase()` already handle. At a billion increments a
/// second that takes 584 years; only [`inc_by`](Self::inc_by) with huge values gets there.
///
/// ```
/// use vitalsign::{Counter, Format, Registry};
///
/// let registry = Registry::new();
/// let orders = registry.register("orders", "Orders placed.", Counter::new())?;
/// orders.inc_by(3);
/// assert_eq!(registry.render(Format::Prometheus), "\
/// ## HELP orders_total Orders placed.
/// ## TYPE orders_total counter
/// orders_total 3
/// ");
/// assert_eq!(registry.render(Format::OpenMetrics), "\
/// ## HELP orders Orders placed.
/// ## TYPE orders counter
/// orders_total 3
/// ## EOF
/// ");
/// # Ok::<(), vitalsign::Error>(())
/// ```
#[derive(Default)]
pub struct Counter {
    value: AtomicU64,
    /// Made by the first traced increment: a pointer until then.
    exemplar: OnceBox<exemplar::Cell>,
}

impl std::fmt::Debug for Counter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Counter")
            .field("value", &self.value)
            .finish_non_exhaustive()
    }
}

impl Counter {
    /// A counter at zero.
    pub const fn new() -> Self {
        Self {
            value: AtomicU64::new(0),
            exemplar: OnceBox::new(),
        }
    }

    /// Adds one; in a sampled [trace context](crate::trace), that trace becomes the counter's
    /// exemplar (OpenMetrics writes it after the `_total` line). Plain [`inc`](Self::inc) never
    /// looks for a trace, so counters that need no exemplar pay nothing for them.
    ///
    /// ```
    /// use vitalsign::trace::TraceContext;
    /// use vitalsign::{Counter, Format, Registry};
    ///
    /// let registry = Registry::new();
    /// let refunds = registry.register("refunds", "Refunds.", Counter::new())?;
    /// let cx = TraceContext::from_traceparent(
    ///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    /// ).unwrap();
    /// cx.scope(|| refunds.inc_traced());
    /// let text = registry.render(Format::OpenMetrics);
    /// let line = text.lines().nth(2).unwrap();
    /// assert!(line.starts_with(
    ///     r#"refunds_total 1 # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736",span_id="00f067aa0ba902b7"} 1 "#
    /// ), "{line}");
    /// // The 0.0.4 format has no exemplars.
    /// assert_eq!(registry.render(Format::Prometheus), "\
    /// ## HELP refunds_total Refunds.
    /// ## TYPE refunds_total counter
    /// refunds_total 1
    /// ");
    /// # Ok::<(), vitalsign::Error>(())
    /// ```
    #[inline]
    pub fn inc_traced(&self) {
        self.inc_by_traced(1);
    }

    /// Adds `v`, keeping the current sampled trace (if any) as the exemplar, of value `v`.
    #[inline]
    pub fn inc_by_traced(&self, v: u64) {
        self.inc_by(v);
        if let Some(cx) = crate::trace::sampled() {
            self.exemplar
                .get_or_init(Box::default)
                .record(&cx, v as f64);
        }
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.value.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `v`.
    #[inline]
    pub fn inc_by(&self, v: u64) {
        self.value.fetch_add(v, Ordering::Relaxed);
    }

    /// Raises the total to `v` if it is below (a total kept elsewhere, such as the `metrics`
    /// facade's `absolute`); a counter never goes down.
    ///
    /// ```
    /// let c = vitalsign::Counter::new();
    /// c.raise_to(7);
    /// c.raise_to(5);
    /// assert_eq!(c.get(), 7);
    /// ```
    #[inline]
    pub fn raise_to(&self, v: u64) {
        self.value.fetch_max(v, Ordering::Relaxed);
    }

    /// The current total.
    pub fn get(&self) -> u64 {
        self.value.load(Ordering::Relaxed)
    }
}

impl Series for Counter {
    const TYPE: MetricType = MetricType::Counter;

    fn encode_series(&self, labels: Labels<'_>, encoder: &mut MetricEncoder<'_>) {
        encoder.counter_with_exemplar(labels, Value::U64(self.get()), Series::exemplar(self));
    }

    fn single_sample(&self) -> Option<(&'static str, Value)> {
        Some(("_total", Value::U64(self.get())))
    }

    fn exemplar(&self) -> Option<Exemplar> {
        self.exemplar.get()?.read()
    }
}

/// A monotonically increasing `f64` total (seconds of CPU, euros charged).
///
/// ```
/// use vitalsign::{FloatCounter, Format, Registry};
///
/// let registry = Registry::new();
/// let charged = registry.register("charged_euros", "Money charged.", FloatCounter::new())?;
/// charged.inc_by(12.5);
/// charged.inc_by(-3.0); // ignored: a counter never goes down
/// assert_eq!(registry.render(Format::Prometheus), "\
/// ## HELP charged_euros_total Money charged.
/// ## TYPE charged_euros_total counter
/// charged_euros_total 12.5
/// ");
/// # Ok::<(), vitalsign::Error>(())
/// ```
#[derive(Default)]
pub struct FloatCounter {
    value: AtomicF64,
}

impl FloatCounter {
    /// A counter at zero.
    pub const fn new() -> Self {
        Self {
            value: AtomicF64::zero(),
        }
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1.0);
    }

    /// Adds `v`. A negative or NaN `v` would break the counter's contract and is ignored; use
    /// [`try_inc_by`](Self::try_inc_by) to be told.
    #[inline]
    pub fn inc_by(&self, v: f64) {
        if v >= 0.0 {
            self.add(v);
        }
    }

    /// Adds `v`, or returns an error naming the value if it is negative or NaN.
    pub fn try_inc_by(&self, v: f64) -> Result<()> {
        if v >= 0.0 {
            self.add(v);
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::InvalidValue,
                format!("counter increment must be zero or positive, got {v}"),
            ))
        }
    }

    fn add(&self, v: f64) {
        self.value.add(v);
    }

    /// The current total.
    pub fn get(&self) -> f64 {
        self.value.load()
    }
}

impl std::fmt::Debug for FloatCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FloatCounter")
            .field("value", &self.get())
            .finish()
    }
}

impl Series for FloatCounter {
    const TYPE: MetricType = MetricType::Counter;

    fn encode_series(&self, labels: Labels<'_>, encoder: &mut MetricEncoder<'_>) {
        encoder.counter(labels, Value::F64(self.get()));
    }

    fn single_sample(&self) -> Option<(&'static str, Value)> {
        Some(("_total", Value::F64(self.get())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_counter_rejects_negative_and_nan() {
        let c = FloatCounter::new();
        c.inc_by(1.5);
        c.inc_by(-1.0);
        c.inc_by(f64::NAN);
        assert_eq!(c.get(), 1.5);
        assert_eq!(
            c.try_inc_by(-2.0).unwrap_err().to_string(),
            "counter increment must be zero or positive, got -2"
        );
        assert_eq!(
            c.try_inc_by(f64::NAN).unwrap_err().kind(),
            ErrorKind::InvalidValue
        );
        c.try_inc_by(0.5).unwrap();
        assert_eq!(c.get(), 2.0);
    }
}
