use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::encoding::{Labels, MetricEncoder, MetricType};
use crate::labels::LabelValue;
use crate::metrics::Series;

/// Which one of a closed set of states is current: one series per state, 1 for the current one.
/// A native type in OpenMetrics; a gauge in the 0.0.4 format. The state label is named after the
/// metric.
///
/// ```
/// use vitalsign::{Format, LabelValue, Registry, StateSet};
///
/// #[derive(Clone, Copy, Debug, PartialEq)]
/// enum Breaker { Closed, Open }
/// impl LabelValue for Breaker {
///     const CARDINALITY: usize = 2;
///     fn index(&self) -> usize { *self as usize }
///     fn from_index(i: usize) -> Option<Self> { [Self::Closed, Self::Open].get(i).copied() }
///     fn value_at(i: usize) -> &'static str { ["closed", "open"].get(i).copied().unwrap_or("") }
/// }
///
/// let registry = Registry::new();
/// let breaker = registry.register("breaker", "Payment circuit breaker.", StateSet::new(Breaker::Closed))?;
/// breaker.set(Breaker::Open);
/// assert_eq!(breaker.get(), Breaker::Open);
/// assert_eq!(registry.render(Format::OpenMetrics), r#"# HELP breaker Payment circuit breaker.
/// ## TYPE breaker stateset
/// breaker{breaker="closed"} 0
/// breaker{breaker="open"} 1
/// ## EOF
/// "#);
/// assert_eq!(registry.render(Format::Prometheus), r#"# HELP breaker Payment circuit breaker.
/// ## TYPE breaker gauge
/// breaker{breaker="closed"} 0
/// breaker{breaker="open"} 1
/// "#);
/// # Ok::<(), vitalsign::Error>(())
/// ```
pub struct StateSet<E> {
    current: AtomicUsize,
    _states: PhantomData<fn() -> E>,
}

impl<E: LabelValue> StateSet<E> {
    /// A state set in `initial`.
    pub fn new(initial: E) -> Self {
        Self {
            current: AtomicUsize::new(initial.index()),
            _states: PhantomData,
        }
    }

    /// Makes `state` the current one.
    #[inline]
    pub fn set(&self, state: E) {
        self.current.store(state.index(), Ordering::Relaxed);
    }

    /// The current state.
    pub fn get(&self) -> E
    where
        E: Copy,
    {
        let i = self.current.load(Ordering::Relaxed);
        // `current` only ever holds indices of real states, so this always finds one.
        E::from_index(i)
            .or_else(|| E::from_index(0))
            .expect("a state set's enum has at least one state")
    }
}

impl<E: LabelValue + Default> Default for StateSet<E> {
    fn default() -> Self {
        Self::new(E::default())
    }
}

impl<E> std::fmt::Debug for StateSet<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateSet")
            .field("current", &self.current.load(Ordering::Relaxed))
            .finish()
    }
}

impl<E: LabelValue> Series for StateSet<E> {
    const TYPE: MetricType = MetricType::StateSet;

    fn validate_series(&self) -> crate::error::Result<()> {
        // `get` rebuilds the current state from its index: every state must be rebuildable.
        match (0..E::CARDINALITY).find(|&i| E::from_index(i).is_none()) {
            None => Ok(()),
            Some(i) => Err(crate::error::Error::new(
                crate::error::ErrorKind::InvalidValue,
                format!(
                    "state `{}` of a state set cannot be rebuilt from its index (a variant with \
                     fields?); a state set's enum has variants without fields",
                    E::value_at(i)
                ),
            )),
        }
    }

    fn label_sets(&self) -> u64 {
        E::CARDINALITY as u64
    }

    fn encode_series(&self, labels: Labels<'_>, encoder: &mut MetricEncoder<'_>) {
        let current = self.current.load(Ordering::Relaxed);
        for i in 0..E::CARDINALITY {
            encoder.state(labels, E::value_at(i), i == current);
        }
    }
}
