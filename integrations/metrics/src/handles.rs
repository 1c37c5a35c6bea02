//! The handles the facade's macros return: newtypes over vitalsign's own `Counter`,
//! `FloatGauge` and `Histogram`, which write their series as those types do.

use vitalsign::{
    Counter, FloatGauge, Histogram, Labels, MetricEncoder, MetricType, Series, Value,
    trace::Exemplar,
};

/// A facade counter: `increment` adds, `absolute` raises it to a value it has not reached.
#[derive(Debug, Default)]
pub(crate) struct FacadeCounter(Counter);

impl metrics::CounterFn for FacadeCounter {
    fn increment(&self, value: u64) {
        self.0.inc_by(value);
    }

    fn absolute(&self, value: u64) {
        self.0.raise_to(value);
    }
}

/// A facade gauge.
#[derive(Debug, Default)]
pub(crate) struct FacadeGauge(FloatGauge);

impl metrics::GaugeFn for FacadeGauge {
    fn increment(&self, value: f64) {
        self.0.add(value);
    }

    fn decrement(&self, value: f64) {
        self.0.sub(value);
    }

    fn set(&self, value: f64) {
        self.0.set(value);
    }
}

/// A facade histogram: a vitalsign histogram, classic buckets and (by default) native ones.
#[derive(Debug)]
pub(crate) struct FacadeHistogram(pub(crate) Histogram);

impl metrics::HistogramFn for FacadeHistogram {
    fn record(&self, value: f64) {
        self.0.observe(value);
    }
}

/// Each handle writes its series exactly as the vitalsign type it wraps.
macro_rules! delegate_series {
    ($($handle:ty => $inner:ty),*) => {$(
        impl Series for $handle {
            const TYPE: MetricType = <$inner as Series>::TYPE;

            fn encode_series(&self, labels: Labels<'_>, encoder: &mut MetricEncoder<'_>) {
                self.0.encode_series(labels, encoder);
            }

            fn single_sample(&self) -> Option<(&'static str, Value)> {
                self.0.single_sample()
            }

            fn exemplar(&self) -> Option<Exemplar> {
                Series::exemplar(&self.0)
            }
        }
    )*};
}

delegate_series!(FacadeCounter => Counter, FacadeGauge => FloatGauge, FacadeHistogram => Histogram);
