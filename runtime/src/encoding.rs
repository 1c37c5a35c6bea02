//! Exposition: the Prometheus text format 0.0.4, OpenMetrics 1.0.0 and the Prometheus protobuf
//! format, and content negotiation between them.
//!
//! Metrics write their samples through a [`MetricEncoder`], which knows the family's name, the
//! format and the constant labels, so one implementation serves both formats. The registry writes
//! the `# HELP`/`# TYPE`/`# UNIT` lines and the closing `# EOF`.

pub(crate) mod escape;
mod negotiate;
pub(crate) mod number;
pub mod protobuf;

pub use negotiate::{accepts_encoding, negotiate};

use crate::trace::Exemplar;

/// An exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Format {
    /// Prometheus text format 0.0.4.
    #[default]
    Prometheus,
    /// OpenMetrics text format 1.0.0.
    OpenMetrics,
    /// Length-delimited `io.prometheus.client.MetricFamily` protobuf messages: the format that
    /// carries native histograms (see [`protobuf`]).
    Protobuf,
}

impl Format {
    /// The `Content-Type` header value for this format.
    ///
    /// ```
    /// use vitalsign::Format;
    /// assert_eq!(Format::Prometheus.content_type(), "text/plain; version=0.0.4; charset=utf-8");
    /// assert_eq!(
    ///     Format::OpenMetrics.content_type(),
    ///     "application/openmetrics-text; version=1.0.0; charset=utf-8"
    /// );
    /// ```
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Protobuf => {
                "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
            }
        }
    }
}

/// The type of a metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MetricType {
    /// A monotonically increasing total.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// Observations counted into buckets, with their count and sum.
    Histogram,
    /// Observations' count and sum (no quantiles).
    Summary,
    /// Constant labels describing the target, value 1 (a gauge in 0.0.4).
    Info,
    /// Which of a closed set of states is current (a gauge in 0.0.4).
    StateSet,
}

impl MetricType {
    /// The name used in `# TYPE` lines of the given format.
    pub fn type_name(self, format: Format) -> &'static str {
        match (self, format) {
            (MetricType::Counter, _) => "counter",
            (MetricType::Gauge, _) => "gauge",
            (MetricType::Histogram, _) => "histogram",
            (MetricType::Summary, _) => "summary",
            (MetricType::Info, Format::OpenMetrics) => "info",
            (MetricType::StateSet, Format::OpenMetrics) => "stateset",
            (MetricType::Info | MetricType::StateSet, _) => "gauge",
        }
    }

    /// Suffixes of the sample names a family of this type writes (`""` is the bare name).
    pub(crate) fn sample_suffixes(self) -> &'static [&'static str] {
        match self {
            MetricType::Counter => &["_total", "_created"],
            MetricType::Gauge | MetricType::StateSet => &[""],
            MetricType::Histogram => &["_bucket", "_count", "_sum", "_created"],
            MetricType::Summary => &["", "_count", "_sum", "_created"],
            MetricType::Info => &["_info"],
        }
    }

    /// The suffix 0.0.4 adds to the family name in `# HELP`/`# TYPE` lines.
    pub(crate) fn text_family_suffix(self) -> &'static str {
        match self {
            MetricType::Counter => "_total",
            MetricType::Info => "_info",
            _ => "",
        }
    }

    /// Label names this type reserves for itself.
    pub(crate) fn reserved_labels(self) -> &'static [&'static str] {
        match self {
            MetricType::Histogram => &["le"],
            MetricType::Summary => &["quantile"],
            _ => &[],
        }
    }
}

/// A sample value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// An unsigned integer, written exactly.
    U64(u64),
    /// A signed integer, written exactly.
    I64(i64),
    /// A float, written as Go's `%g`.
    F64(f64),
}

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::U64(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::I64(v)
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::I64(i64::from(v))
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::F64(v)
    }
}

impl Value {
    fn as_f64(self) -> f64 {
        match self {
            Value::U64(v) => v as f64,
            Value::I64(v) => v as f64,
            Value::F64(v) => v,
        }
    }

    #[inline]
    fn write(self, out: &mut Vec<u8>) {
        match self {
            Value::U64(v) => number::write_u64(out, v),
            Value::I64(v) => number::write_i64(out, v),
            Value::F64(v) => number::write_f64(out, v),
        }
    }
}

/// `{name}{suffix}{const,labels,extra} ` (no braces when there are no labels).
fn write_prefix(
    out: &mut Vec<u8>,
    name: &str,
    suffix: &str,
    const_labels: &str,
    labels: &str,
    extra: &str,
) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(suffix.as_bytes());
    let mut first = true;
    for part in [const_labels, labels, extra] {
        if part.is_empty() {
            continue;
        }
        out.push(if first { b'{' } else { b',' });
        first = false;
        out.extend_from_slice(part.as_bytes());
    }
    if !first {
        out.push(b'}');
    }
    out.push(b' ');
}

/// ` # {trace_id="..",span_id=".."} value seconds.millis`: 70 characters of labels, under
/// OpenMetrics' limit of 128.
fn write_exemplar(out: &mut Vec<u8>, e: &Exemplar) {
    let cx = e.trace_context();
    out.extend_from_slice(b" # {trace_id=\"");
    out.extend(crate::trace::hex(&cx.trace_id()));
    out.extend_from_slice(b"\",span_id=\"");
    out.extend(crate::trace::hex(&cx.span_id()));
    out.extend_from_slice(b"\"} ");
    number::write_f64(out, e.value());
    out.push(b' ');
    number::write_u64(out, e.unix_ns() / 1_000_000_000);
    out.push(b'.');
    let millis = e.unix_ns() / 1_000_000 % 1000;
    out.extend_from_slice(&[
        b'0' + (millis / 100) as u8,
        b'0' + (millis / 10 % 10) as u8,
        b'0' + (millis % 10) as u8,
    ]);
}

/// Renders label pairs as the label strings [`MetricEncoder`] takes: `a="x",b="y"`, values
/// escaped (`\\`, `"` and newline). Names are written as given: check them with
/// [`is_valid_label_name`](crate::is_valid_label_name).
///
/// ```
/// assert_eq!(
///     vitalsign::encoding::label_pairs(&[("path", "/a\"b"), ("ok", "true")]),
///     r#"path="/a\"b",ok="true""#
/// );
/// ```
pub fn label_pairs(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (name, value) in pairs {
        escape::write_label(&mut out, name, value);
    }
    out
}

/// What a metric writes its samples into: one family, in one format.
///
/// Label strings passed in are pre-rendered (`a="x",b="y"`, values escaped, as [`label_pairs`]
/// renders them); the encoder adds the family's constant labels in front and the braces around.
#[derive(Debug)]
pub struct MetricEncoder<'a> {
    pub(crate) out: &'a mut Vec<u8>,
    pub(crate) format: Format,
    /// The family's type: what a sample is in protobuf, where samples are typed messages.
    pub(crate) kind: MetricType,
    pub(crate) name: &'a str,
    pub(crate) const_labels: &'a str,
    pub(crate) created: Option<f64>,
}

impl MetricEncoder<'_> {
    /// The format being written.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The family's name (without `_total` or `_info`).
    pub fn name(&self) -> &str {
        self.name
    }

    /// Writes one sample line: `{name}{suffix}{labels,extra} value`.
    pub fn sample(&mut self, suffix: &str, labels: &str, extra: &str, value: Value) {
        self.sample_with_exemplar(suffix, labels, extra, value, None);
    }

    /// Writes one sample line with an exemplar after it in OpenMetrics (0.0.4 has none):
    /// `{name}{suffix}{labels,extra} value # {trace_id="..",span_id=".."} value timestamp`.
    pub fn sample_with_exemplar(
        &mut self,
        suffix: &str,
        labels: &str,
        extra: &str,
        value: Value,
        exemplar: Option<Exemplar>,
    ) {
        if self.format == Format::Protobuf {
            self.protobuf_sample(suffix, labels, extra, value, exemplar);
            return;
        }
        self.write_prefix_into_out(suffix, labels, extra);
        value.write(self.out);
        self.exemplar(exemplar);
        self.out.push(b'\n');
    }

    fn protobuf_labels(&self, labels: &str, extra: &str) -> Vec<protobuf::LabelPair> {
        protobuf::label_pairs(&[self.const_labels, labels, extra])
    }

    /// One sample as the `Metric` message of the family's type: counters' `_total` lines are
    /// counters, gauges', infos' and state sets' lines gauges. Histograms and summaries are
    /// written whole by [`histogram`](Self::histogram) and [`summary`](Self::summary); other
    /// sample lines (`_created`) have no message of their own.
    fn protobuf_sample(
        &mut self,
        suffix: &str,
        labels: &str,
        extra: &str,
        value: Value,
        exemplar: Option<Exemplar>,
    ) {
        let mut metric = protobuf::Metric {
            label: self.protobuf_labels(labels, extra),
            ..Default::default()
        };
        let v = value.as_f64();
        match (self.kind, suffix) {
            (MetricType::Counter, "_total") => {
                metric.counter = Some(protobuf::Counter {
                    value: Some(v),
                    exemplar: exemplar.as_ref().map(protobuf::exemplar),
                    created_timestamp: self.created.map(protobuf::timestamp_secs),
                });
            }
            (MetricType::Gauge | MetricType::Info | MetricType::StateSet, _) => {
                metric.gauge = Some(protobuf::Gauge { value: Some(v) });
            }
            _ => return,
        }
        protobuf::write_metric(self.out, &metric);
    }

    /// Whether families may write their series from line prefixes kept across scrapes (the
    /// text formats).
    pub(crate) fn writes_lines(&self) -> bool {
        self.format != Format::Protobuf
    }

    #[inline]
    fn exemplar(&mut self, exemplar: Option<Exemplar>) {
        if let (Format::OpenMetrics, Some(e)) = (self.format, exemplar) {
            write_exemplar(self.out, &e);
        }
    }

    fn write_prefix_into_out(&mut self, suffix: &str, labels: &str, extra: &str) {
        let (name, const_labels) = (self.name, self.const_labels);
        write_prefix(self.out, name, suffix, const_labels, labels, extra);
    }

    /// Writes a line prefix rendered before by [`line_prefix`](Self::line_prefix), then the value.
    #[inline]
    pub(crate) fn sample_with_prefix(
        &mut self,
        prefix: &[u8],
        value: Value,
        exemplar: Option<Exemplar>,
    ) {
        self.out.extend_from_slice(prefix);
        value.write(self.out);
        self.exemplar(exemplar);
        self.out.push(b'\n');
    }

    /// Appends to `into` the line prefix (`name_total{a="x"} `) that [`sample`](Self::sample)
    /// would write for these labels.
    pub(crate) fn line_prefix(&self, into: &mut Vec<u8>, suffix: &str, labels: &str) {
        write_prefix(into, self.name, suffix, self.const_labels, labels, "");
    }

    /// Whether a counter's `_created` sample goes with each of its lines in this scrape.
    pub(crate) fn writes_created(&self) -> bool {
        self.format == Format::OpenMetrics && self.created.is_some()
    }

    /// Writes a `_created` sample when the format and options call for one.
    fn created(&mut self, labels: &str) {
        if let (Format::OpenMetrics, Some(ts)) = (self.format, self.created) {
            self.sample("_created", labels, "", Value::F64(ts));
        }
    }

    /// A counter series.
    pub fn counter(&mut self, labels: &str, value: Value) {
        self.counter_with_exemplar(labels, value, None);
    }

    /// A counter series with an exemplar (written in OpenMetrics only).
    pub fn counter_with_exemplar(
        &mut self,
        labels: &str,
        value: Value,
        exemplar: Option<Exemplar>,
    ) {
        self.sample_with_exemplar("_total", labels, "", value, exemplar);
        self.created(labels);
    }

    /// A gauge series.
    pub fn gauge(&mut self, labels: &str, value: Value) {
        self.sample("", labels, "", value);
    }

    /// An info series (value 1).
    pub fn info(&mut self, labels: &str) {
        self.sample("_info", labels, "", Value::U64(1));
    }

    /// `_count` and `_sum`, where the format allows them. OpenMetrics treats both as counters: a
    /// NaN or negative sum (from NaN or negative observations), or any sum beside negative bucket
    /// bounds, cannot be written, and `_count` goes only with `_sum`. The 0.0.4 format has no
    /// such rule.
    fn count_and_sum(&mut self, labels: &str, count: u64, sum: f64, negative_bounds: bool) {
        if self.format == Format::OpenMetrics && (negative_bounds || sum.is_nan() || sum < 0.0) {
            return;
        }
        self.sample("_count", labels, "", Value::U64(count));
        self.sample("_sum", labels, "", Value::F64(sum));
    }

    /// A summary series without quantiles.
    pub fn summary(&mut self, labels: &str, count: u64, sum: f64) {
        if self.format == Format::Protobuf {
            let metric = protobuf::Metric {
                label: self.protobuf_labels(labels, ""),
                summary: Some(protobuf::Summary {
                    sample_count: Some(count),
                    sample_sum: Some(sum),
                    created_timestamp: self.created.map(protobuf::timestamp_secs),
                    ..Default::default()
                }),
                ..Default::default()
            };
            protobuf::write_metric(self.out, &metric);
            return;
        }
        self.count_and_sum(labels, count, sum, false);
        self.created(labels);
    }

    /// A histogram series. `buckets` yields `(le_label, cumulative_count)` with the `+Inf` bucket
    /// last, its `le_label` pre-rendered (`le="0.005"`); `negative_bounds` says whether any bucket
    /// bound is below zero.
    pub fn histogram<'l>(
        &mut self,
        labels: &str,
        buckets: impl IntoIterator<Item = (&'l str, u64)>,
        count: u64,
        sum: f64,
        negative_bounds: bool,
    ) {
        self.histogram_with_exemplars(labels, buckets, count, sum, negative_bounds, |_| None);
    }

    /// A histogram series whose `i`th bucket (from 0, `+Inf` last) has the exemplar
    /// `exemplar(i)`, written in OpenMetrics only.
    pub fn histogram_with_exemplars<'l>(
        &mut self,
        labels: &str,
        buckets: impl IntoIterator<Item = (&'l str, u64)>,
        count: u64,
        sum: f64,
        negative_bounds: bool,
        exemplar: impl Fn(usize) -> Option<Exemplar>,
    ) {
        self.histogram_parts(labels, buckets, count, sum, negative_bounds, exemplar, None);
    }

    /// A histogram series with its classic buckets and, in protobuf, its native ones.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn histogram_parts<'l>(
        &mut self,
        labels: &str,
        buckets: impl IntoIterator<Item = (&'l str, u64)>,
        count: u64,
        sum: f64,
        negative_bounds: bool,
        exemplar: impl Fn(usize) -> Option<Exemplar>,
        native: Option<&crate::metrics::NativeSnapshot>,
    ) {
        if self.format == Format::Protobuf {
            let mut h = protobuf::Histogram {
                sample_count: Some(count),
                sample_sum: Some(sum),
                created_timestamp: self.created.map(protobuf::timestamp_secs),
                ..Default::default()
            };
            for (i, (le, cumulative)) in buckets.into_iter().enumerate() {
                let bound = le
                    .strip_prefix("le=\"")
                    .and_then(|b| b.strip_suffix('"'))
                    .and_then(|b| match b {
                        "+Inf" => Some(f64::INFINITY),
                        b => b.parse().ok(),
                    });
                let Some(bound) = bound else { continue };
                let e = exemplar(i);
                // The `+Inf` bucket is the count: written only to carry an exemplar.
                if bound == f64::INFINITY && e.is_none() {
                    continue;
                }
                h.bucket.push(protobuf::Bucket {
                    cumulative_count: Some(cumulative),
                    upper_bound: Some(bound),
                    exemplar: e.as_ref().map(protobuf::exemplar),
                    ..Default::default()
                });
            }
            if let Some(native) = native {
                native.write_protobuf(&mut h);
            }
            let metric = protobuf::Metric {
                label: self.protobuf_labels(labels, ""),
                histogram: Some(h),
                ..Default::default()
            };
            protobuf::write_metric(self.out, &metric);
            return;
        }
        let om = self.format == Format::OpenMetrics;
        for (i, (le, cumulative)) in buckets.into_iter().enumerate() {
            let e = if om { exemplar(i) } else { None };
            self.sample_with_exemplar("_bucket", labels, le, Value::U64(cumulative), e);
        }
        self.count_and_sum(labels, count, sum, negative_bounds);
        self.created(labels);
    }

    /// One state of a state set: `{name}{labels,name="state"} 1|0`.
    pub fn state(&mut self, labels: &str, state: &str, on: bool) {
        let mut extra = String::with_capacity(self.name.len() + state.len() + 3);
        escape::write_label(&mut extra, self.name, state);
        self.sample("", labels, &extra, Value::U64(u64::from(on)));
    }
}
