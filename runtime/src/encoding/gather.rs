//! What a registry holds at one moment, as data: [`Registry::gather`](crate::Registry::gather).
//!
//! Every family with its name, type, unit and HELP, and every series it writes with its label
//! pairs, its value, its start time and its exemplars: counters' values, gauges', summaries'
//! count and sum, histograms' classic buckets and native buckets. The numbers are read as a
//! scrape reads them (each histogram from one consistent snapshot), from the same families a
//! scrape writes, collectors' and vitalsign's own included. Push paths, tests and tools read
//! this; the text and protobuf scrapes write straight to bytes and never build it.
//!
//! ```
//! use vitalsign::gather::Value;
//! use vitalsign::{Buckets, Counter, Histogram, Registry};
//!
//! let registry = Registry::new();
//! let jobs = registry.register("jobs", "Jobs run.", Counter::new())?;
//! let took = registry.register(
//!     "job_duration_seconds",
//!     "Time a job took.",
//!     Histogram::new(Buckets::new([1.0, 10.0])?),
//! )?;
//! jobs.inc_by(3);
//! took.observe(4.0);
//!
//! let families = registry.gather();
//! assert_eq!(families[0].name, "jobs");
//! assert_eq!(families[0].series[0].value, Value::Counter { value: 3.0, exemplar: None });
//! let Value::Histogram(h) = &families[1].series[0].value else { unreachable!() };
//! assert_eq!((h.count, h.sum), (1, 4.0));
//! assert_eq!(h.buckets, [(1.0, 0), (10.0, 1), (f64::INFINITY, 1)]);
//! assert_eq!(families[1].unit.as_deref(), Some("seconds"));
//! # Ok::<(), vitalsign::Error>(())
//! ```

use super::{MetricType, NativeSnapshot};
use crate::trace::Exemplar;

/// One family: what its header says, and its series.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Family {
    /// The family name, without `_total` or `_info` (`http_requests` for `http_requests_total`),
    /// as registered: UTF-8 names are not escaped.
    pub name: String,
    /// The metric type.
    pub kind: MetricType,
    /// The unit (`seconds`, `bytes`), if the family declares or its name implies one.
    pub unit: Option<String>,
    /// The HELP text.
    pub help: String,
    /// Every series the family writes, in the order a scrape writes them.
    pub series: Vec<Series>,
}

/// One series: its labels, its value, and when it started counting.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Series {
    /// Every label pair: the family's constant labels first, then the series' own.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: Value,
    /// When the series started counting, in seconds since the Unix epoch (counters,
    /// histograms and summaries; what OpenMetrics writes as `_created`).
    pub start_time: Option<f64>,
}

/// A series' value, by the type of its family.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// A counter's total, and the exemplar of its latest increment in a sampled trace.
    Counter {
        /// The total.
        value: f64,
        /// The exemplar, if the counter keeps one.
        exemplar: Option<Exemplar>,
    },
    /// A gauge's value (also an unknown-typed family's).
    Gauge(f64),
    /// An info series: its labels are the information, its value 1.
    Info,
    /// One state of a state set, and whether it is the one set (its label `{family}=state` is
    /// not among the series' labels).
    State {
        /// The state's name.
        state: String,
        /// Whether it is set.
        on: bool,
    },
    /// A summary's count and sum (vitalsign's summaries keep no quantiles).
    Summary {
        /// Observations.
        count: u64,
        /// Their sum.
        sum: f64,
    },
    /// A histogram.
    Histogram(Histogram),
}

/// A histogram series.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Histogram {
    /// Observations.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
    /// `(upper bound, cumulative count)` of each classic bucket, `+Inf` last (a histogram with
    /// native buckets only has just that one).
    pub buckets: Vec<(f64, u64)>,
    /// The latest exemplar of each classic bucket that has one: `(bucket index, exemplar)`.
    pub exemplars: Vec<(usize, Exemplar)>,
    /// The native buckets, if the histogram keeps them.
    pub native: Option<NativeSnapshot>,
}
