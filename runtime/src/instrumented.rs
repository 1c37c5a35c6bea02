//! What `#[instrument_metrics]` expands to: one [`FunctionMetrics`] per function, held in a
//! static, and a [`Call`] guard per call that records when dropped, so a panic, an early return
//! or a future dropped mid-await are all counted and the concurrency gauge always comes back.
//!
//! The per-call path is: one clock read at start, one at the end, and one histogram observation
//! (with its outcome, unless `ok`) at an index fixed when the static was built. No lock, no hash, no
//! allocation, no string comparison (except to name error types of generic functions, on the
//! error path only, see [`ErrorKinds::Dynamic`]).
//!
//! Everything here is `#[doc(hidden)]` API for generated code, reachable only through
//! `vitalsign::__private`.

use std::sync::{Arc, OnceLock};

mod error_label;

pub use error_label::{
    ErrRef, ErrType, ErrorLabel, KindsFromName, KindsFromValues, LabelFromName, LabelFromValue,
    Outcome, short_type_name,
};

use crate::clock;
use crate::encoding::{Labels, MetricEncoder, MetricType, Value, escape};
use crate::error::Result;
use crate::metrics::NativeBuckets;
use crate::metrics::{Buckets, Gauge, Histogram, Metric, Series};
use crate::registry::{Descriptor, Registry};

/// The calls counter family shared by every instrumented function.
pub const CALLS: &str = "function_calls_total";
/// The duration histogram family shared by every instrumented function.
pub const DURATION: &str = "function_calls_duration_seconds";
/// The in-flight gauge family shared by functions with `concurrency`.
pub const CONCURRENT: &str = "function_calls_concurrent";

const CALLS_HELP: &str = "Calls of instrumented functions, by result and error kind.";
const DURATION_HELP: &str = "Duration of instrumented function calls, in seconds.";
const CONCURRENT_HELP: &str = "Calls of instrumented functions in flight.";

/// Outcome of a call that returned normally and was not an error.
pub const OK: usize = 0;
const CANCELLED: usize = 1;
const PANIC: usize = 2;
/// Outcomes from here on are errors of a kind.
const KINDS: usize = 3;
/// How many error type names a generic function can tell apart before they share one series.
const DYNAMIC_SLOTS: usize = 8;
const UNSET: usize = usize::MAX;

/// One declared label of a function: a parameter whose type is a [`LabelValue`](crate::LabelValue).
#[derive(Debug, Clone, Copy)]
pub struct LabelDim {
    /// The label name (the parameter's name, or as declared).
    pub name: &'static str,
    /// The parameter type's cardinality.
    pub cardinality: usize,
    /// The parameter type's `value_at`.
    pub value_at: fn(usize) -> &'static str,
}

/// The error kinds a function can report in its `error` label.
#[derive(Debug, Clone)]
pub enum ErrorKinds {
    /// Not a `Result`: only panics are errors.
    None,
    /// `ok_if`/`error_if` decide; errors have an empty `error` label.
    Classified,
    /// The error type is not a [`LabelValue`](crate::LabelValue): its short name is the one kind.
    TypeName(&'static str),
    /// The error type is a [`LabelValue`](crate::LabelValue): its values are the kinds.
    Values(Vec<&'static str>),
    /// The error type depends on generic parameters, so its name is known only per call: up to
    /// eight names get a series each, on first use, further ones share `error="other"`.
    Dynamic,
}

/// Everything the macro knows about a function at compile time.
#[derive(Debug)]
pub struct FunctionSpec {
    /// The `function` label.
    pub function: &'static str,
    /// The `module` label (`module_path!()`).
    pub module: &'static str,
    /// What the `error` label can be.
    pub errors: ErrorKinds,
    /// Labels from parameters, in order; the series index is mixed radix over them.
    pub labels: &'static [LabelDim],
    /// Constant labels declared as `key = "value"`.
    pub static_labels: &'static [(&'static str, &'static str)],
    /// Histogram bounds; Prometheus' default latency buckets when `None`.
    pub buckets: Option<&'static [f64]>,
    /// Whether to keep `function_calls_concurrent`.
    pub concurrency: bool,
    /// Whether the duration histogram keeps classic buckets only (no native ones).
    pub classic_only: bool,
    /// Whether `ok_if`/`error_if` decides the result, so a value that is not an `Err` may be an
    /// error (with `error=""`).
    pub classified: bool,
}

/// The metrics of one instrumented function.
#[derive(Debug)]
pub struct FunctionMetrics {
    spec: FunctionSpec,
    /// The clock, read by every call without a check of its lazy initialisation.
    clock: &'static quanta::Clock,
    calls: Calls,
    durations: Durations,
    concurrent: Option<Gauge>,
    /// Maps an index of `ErrorKinds::Values` to its outcome.
    kind_outcome: Box<[usize]>,
    /// The outcome of a classified error without a kind (`error=""`).
    classified_outcome: usize,
    bucket_error: Option<crate::error::Error>,
}

/// `function_calls_total`, read from the duration histograms: each counts its calls' outcomes
/// other than `ok` in cells of its own, and `ok` is the rest of its count, so an `ok` call costs
/// one observation and nothing more.
#[derive(Debug)]
struct Calls {
    /// One per label combination, shared with [`Durations`].
    histograms: Arc<[Histogram]>,
    /// The `result` and `error` labels per outcome; `None` for dynamic slots, made when
    /// claimed.
    outcome_labels: Box<[Option<OutcomeLabels>]>,
    label_combos: Box<[Box<str>]>,
    dims: &'static [LabelDim],
    slots: Box<[OnceLock<&'static str>]>,
}

#[derive(Debug)]
struct Durations {
    histograms: Arc<[Histogram]>,
    label_combos: Box<[Box<str>]>,
    dims: &'static [LabelDim],
}

/// One outcome's labels: `result` and `error`, and both rendered for the text formats.
#[derive(Debug, PartialEq)]
struct OutcomeLabels {
    result: &'static str,
    error: Box<str>,
    text: Box<str>,
}

fn outcome_label(result: &'static str, error: &str) -> OutcomeLabels {
    let mut text = String::new();
    escape::write_label(&mut text, "result", result);
    escape::write_label(&mut text, "error", error);
    OutcomeLabels {
        result,
        error: error.into(),
        text: text.into(),
    }
}

/// Calls `f` with the labels of combination `index` of `dims` (the last dimension varies
/// fastest, as [`label_combos`] renders them).
fn visit_combo(dims: &[LabelDim], index: usize, f: &mut dyn FnMut(&str, &str)) {
    let mut divisor: usize = dims.iter().map(|d| d.cardinality.max(1)).product();
    for dim in dims {
        let card = dim.cardinality.max(1);
        divisor /= card;
        f(dim.name, (dim.value_at)(index / divisor % card));
    }
}

/// Each declared label with every value its type has, for the catalogue.
fn dim_values(dims: &[LabelDim], f: &mut dyn FnMut(&str, Option<Vec<String>>)) {
    for dim in dims {
        let values = (0..dim.cardinality)
            .map(|i| (dim.value_at)(i).to_owned())
            .collect();
        f(dim.name, Some(values));
    }
}

fn label_combos(dims: &[LabelDim]) -> Box<[Box<str>]> {
    let total: usize = dims.iter().map(|d| d.cardinality).product();
    (0..total)
        .map(|mut index| {
            let mut parts = Vec::with_capacity(dims.len());
            for dim in dims.iter().rev() {
                let card = dim.cardinality.max(1);
                parts.push((dim.name, (dim.value_at)(index % card)));
                index /= card;
            }
            let mut out = String::new();
            for (name, value) in parts.into_iter().rev() {
                escape::write_label(&mut out, name, value);
            }
            out.into()
        })
        .collect()
}

impl FunctionMetrics {
    /// Builds every series the function can produce, all at zero.
    pub fn new(spec: FunctionSpec) -> Self {
        let mut outcome_labels = vec![
            Some(outcome_label("ok", "")),
            Some(outcome_label("cancelled", "")),
            Some(outcome_label("error", "panic")),
        ];
        let mut kind_outcome = Vec::new();
        let mut slots = Vec::new();
        match &spec.errors {
            ErrorKinds::None => {}
            ErrorKinds::Classified => outcome_labels.push(Some(outcome_label("error", ""))),
            ErrorKinds::TypeName(name) => outcome_labels.push(Some(outcome_label("error", name))),
            ErrorKinds::Values(values) => {
                for value in values {
                    let label = outcome_label("error", value);
                    // Two kinds with one label (an error variant named `panic`) share a series.
                    let existing = outcome_labels
                        .iter()
                        .position(|l| l.as_ref() == Some(&label));
                    kind_outcome.push(existing.unwrap_or_else(|| {
                        outcome_labels.push(Some(label));
                        outcome_labels.len() - 1
                    }));
                }
            }
            ErrorKinds::Dynamic => {
                slots = (0..DYNAMIC_SLOTS).map(|_| OnceLock::new()).collect();
                outcome_labels.extend((0..DYNAMIC_SLOTS).map(|_| None));
                outcome_labels.push(Some(outcome_label("error", "other")));
            }
        }
        // A classifier may call a value that is not an `Err` an error: it needs `error=""`.
        let unnamed = outcome_label("error", "");
        let classified_outcome = match outcome_labels
            .iter()
            .position(|l| l.as_ref() == Some(&unnamed))
        {
            Some(i) => i,
            None if spec.classified => {
                outcome_labels.push(Some(unnamed));
                outcome_labels.len() - 1
            }
            None => KINDS,
        };
        let clock = clock::warm_up();
        let combos = label_combos(spec.labels);
        let (buckets, bucket_error) = match spec.buckets.map(|b| Buckets::new(b.iter().copied())) {
            None => (Buckets::latency(), None),
            Some(Ok(b)) => (b, None),
            Some(Err(e)) => (Buckets::latency(), Some(e)),
        };
        let native = (!spec.classic_only).then(NativeBuckets::default);
        // Every outcome but `ok` (index 0) has a cell in each histogram.
        let cells = outcome_labels.len() - 1;
        let histograms: Arc<[Histogram]> = (0..combos.len())
            .map(|_| Histogram::with_outcomes(buckets.clone(), cells, native))
            .collect();
        Self {
            clock,
            calls: Calls {
                histograms: histograms.clone(),
                outcome_labels: outcome_labels.into(),
                label_combos: combos.clone(),
                dims: spec.labels,
                slots: slots.into(),
            },
            durations: Durations {
                histograms,
                label_combos: combos,
                dims: spec.labels,
            },
            concurrent: spec.concurrency.then(Gauge::new),
            kind_outcome: kind_outcome.into(),
            classified_outcome,
            bucket_error,
            spec,
        }
    }

    /// Registers the function's families in `registry`, as parts of the shared
    /// `function_calls_*` families told apart by `function` and `module`.
    pub fn register(&'static self, registry: &Registry) -> Result<()> {
        if let Some(e) = &self.bucket_error {
            return Err(e.clone());
        }
        let describe = |name: &'static str, help: &'static str| {
            let mut d = Descriptor::new(name, help)
                .source(crate::catalog::Source::Function)
                .const_label("function", self.spec.function)
                .const_label("module", self.spec.module);
            for &(k, v) in self.spec.static_labels {
                d = d.const_label(k, v);
            }
            d
        };
        registry.register_static(describe(CALLS, CALLS_HELP), &self.calls)?;
        registry.register_static(describe(DURATION, DURATION_HELP), &self.durations)?;
        if let Some(gauge) = &self.concurrent {
            registry.register_static(describe(CONCURRENT, CONCURRENT_HELP), gauge)?;
        }
        Ok(())
    }

    /// Starts timing a call with these declared labels.
    #[inline]
    pub fn start(&self, labels: usize) -> Call<'_> {
        if let Some(g) = &self.concurrent {
            g.inc();
        }
        Call {
            metrics: self,
            labels,
            outcome: UNSET,
            start: self.clock.raw(),
        }
    }

    /// The outcome of an `Err` whose error label is `label`.
    #[inline]
    pub fn error_outcome(&self, label: ErrorLabel) -> usize {
        match (&self.spec.errors, label) {
            (ErrorKinds::Values(_), ErrorLabel::Index(i, _)) => {
                self.kind_outcome.get(i).copied().unwrap_or(KINDS)
            }
            (ErrorKinds::Dynamic, label) => self.dynamic_outcome(label.name()),
            _ => KINDS,
        }
    }

    /// The outcome of a call that `ok_if`/`error_if` classified as an error and that carries no
    /// error value to name it.
    #[inline]
    pub fn classified_error(&self) -> usize {
        self.classified_outcome
    }

    /// The outcome of an error that `error_label = path` named `name`: up to eight names get a
    /// series each, on first use; further ones share `error="other"`.
    #[inline]
    pub fn named_error(&self, name: &'static str) -> usize {
        self.dynamic_outcome(name)
    }

    #[cold]
    fn dynamic_outcome(&self, name: &'static str) -> usize {
        for (i, slot) in self.calls.slots.iter().enumerate() {
            let held = *slot.get_or_init(|| name);
            if std::ptr::eq(held, name) || held == name {
                return KINDS + i;
            }
        }
        KINDS + DYNAMIC_SLOTS
    }
}

/// A call in progress; records its duration and outcome when dropped.
#[derive(Debug)]
#[must_use = "a call records when the guard is dropped"]
pub struct Call<'a> {
    metrics: &'a FunctionMetrics,
    labels: usize,
    outcome: usize,
    start: u64,
}

impl Call<'_> {
    /// Ends the call with this outcome.
    #[inline]
    pub fn finish(mut self, outcome: usize) {
        self.outcome = outcome;
    }
}

impl Drop for Call<'_> {
    #[inline]
    fn drop(&mut self) {
        let clock = self.metrics.clock;
        let ns = clock.delta_as_nanos(self.start, clock.raw());
        let outcome = match self.outcome {
            UNSET if std::thread::panicking() => PANIC,
            UNSET => CANCELLED,
            outcome => outcome,
        };
        let m = self.metrics;
        if let Some(h) = m.durations.histograms.get(self.labels) {
            h.observe_ns_as(ns, outcome.checked_sub(1));
        }
        if let Some(g) = &m.concurrent {
            g.dec();
        }
    }
}

impl Metric for Calls {
    fn metric_type(&self) -> MetricType {
        MetricType::Counter
    }

    fn label_names(&self, f: &mut dyn FnMut(&str)) {
        f("result");
        f("error");
        self.dims.iter().for_each(|d| f(d.name));
    }

    fn label_values(&self, f: &mut dyn FnMut(&str, Option<Vec<String>>)) {
        let mut results: Vec<String> = Vec::new();
        let mut errors: Vec<String> = Vec::new();
        for o in self.outcome_labels.iter().flatten() {
            if !results.iter().any(|r| r == o.result) {
                results.push(o.result.to_owned());
            }
            if !errors.iter().any(|e| **e == *o.error) {
                errors.push(o.error.to_string());
            }
        }
        f("result", Some(results));
        // Slots hold error names claimed at run time (an error type without `LabelValue`).
        let claimed = self.outcome_labels.iter().any(Option::is_none);
        f("error", (!claimed).then_some(errors));
        dim_values(self.dims, f);
    }

    fn fallible(&self) -> bool {
        false
    }

    fn series_bound(&self) -> Option<u64> {
        // Every outcome (the fixed ones and the slots error kinds claim) by every combination.
        let combos = self.label_combos.len() as u64;
        Some(self.outcome_labels.len() as u64 * combos)
    }

    fn encode(&self, encoder: &mut MetricEncoder<'_>) {
        // One snapshot per label combination: its count and outcomes are of the same calls, so
        // `ok` (the count less every other outcome) never goes down between scrapes.
        let outcomes = self.outcome_labels.len();
        let mut counts = vec![0u64; outcomes * self.histograms.len()];
        for (l, h) in self.histograms.iter().enumerate() {
            let row = &mut counts[l * outcomes..(l + 1) * outcomes];
            let count = h.snapshot_outcomes(&mut row[1..]);
            row[0] = count.saturating_sub(row[1..].iter().sum());
        }
        let mut labels = String::new();
        for (o, outcome) in self.outcome_labels.iter().enumerate() {
            let claimed;
            let outcome: &OutcomeLabels = match outcome {
                Some(l) => l,
                None => match self.slots.get(o - KINDS).and_then(OnceLock::get) {
                    Some(name) => {
                        claimed = outcome_label("error", name);
                        &claimed
                    }
                    None => continue,
                },
            };
            for (l, combo) in self.label_combos.iter().enumerate() {
                labels.clear();
                labels.push_str(&outcome.text);
                if !combo.is_empty() {
                    labels.push(',');
                    labels.push_str(combo);
                }
                let visit = |f: &mut dyn FnMut(&str, &str)| {
                    f("result", outcome.result);
                    f("error", &outcome.error);
                    visit_combo(self.dims, l, f);
                };
                let value = Value::U64(counts[l * outcomes + o]);
                encoder.counter(Labels::from_fn(&visit).with_text(&labels), value);
            }
        }
    }
}

impl Metric for Durations {
    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }

    fn label_names(&self, f: &mut dyn FnMut(&str)) {
        self.dims.iter().for_each(|d| f(d.name));
    }

    fn label_values(&self, f: &mut dyn FnMut(&str, Option<Vec<String>>)) {
        dim_values(self.dims, f);
    }

    fn fallible(&self) -> bool {
        false
    }

    fn series_bound(&self) -> Option<u64> {
        Some(self.label_combos.len() as u64)
    }

    fn encode(&self, encoder: &mut MetricEncoder<'_>) {
        for (l, (text, h)) in self
            .label_combos
            .iter()
            .zip(self.histograms.iter())
            .enumerate()
        {
            let visit = |f: &mut dyn FnMut(&str, &str)| visit_combo(self.dims, l, f);
            h.encode_series(Labels::from_fn(&visit).with_text(text), encoder);
        }
    }
}
