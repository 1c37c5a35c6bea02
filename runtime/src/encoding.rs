//! Exposition: the Prometheus text format 0.0.4, OpenMetrics 1.0.0 and the Prometheus protobuf
//! format, and content negotiation between them.
//!
//! Metrics write their series through a [`MetricEncoder`], which knows the family's name, the
//! format and the constant labels, so one implementation serves every format. What a metric
//! hands over is typed: [`Labels`] (name and raw value pairs) and, for a histogram, a
//! [`HistogramView`] (numeric bounds, counts, exemplars, native buckets). Each format writes
//! them its own way: the text formats (`text.rs`) escape and keep rendered prefixes, the
//! protobuf format (`protobuf.rs`) writes the pairs and numbers as they are. The registry writes
//! the `# HELP`/`# TYPE`/`# UNIT` lines and the closing `# EOF`.

pub(crate) mod escape;
pub(crate) mod names;
mod negotiate;
pub(crate) mod number;
#[cfg(feature = "protobuf")]
pub mod protobuf;
mod text;

pub use names::Escaping;
pub use negotiate::{accepts_encoding, negotiate, negotiate_escaping};

use crate::metrics::exemplar::Exemplar;

/// An exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Format {
    /// Prometheus text format 0.0.4.
    #[default]
    Prometheus,
    /// Prometheus text format 1.0.0: 0.0.4, and names the legacy rules do not allow quoted
    /// (with [`Escaping::AllowUtf8`]). Prometheus 3 asks for it.
    PrometheusV1,
    /// OpenMetrics text format 1.0.0.
    OpenMetrics,
    /// Length-delimited `io.prometheus.client.MetricFamily` protobuf messages: the format that
    /// carries native histograms (see [`protobuf`]). Behind the `protobuf` feature (on by
    /// default).
    #[cfg(feature = "protobuf")]
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
            Format::PrometheusV1 => "text/plain; version=1.0.0; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            #[cfg(feature = "protobuf")]
            Format::Protobuf => {
                "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
            }
        }
    }
}

impl Format {
    /// The `Content-Type` of this format with the name escaping used, as Go's client writes it
    /// (`...; escaping=underscores`).
    ///
    /// ```
    /// use vitalsign::{Format, encoding::Escaping};
    /// assert_eq!(
    ///     Format::PrometheusV1.content_type_escaped(Escaping::AllowUtf8),
    ///     "text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8"
    /// );
    /// ```
    pub fn content_type_escaped(self, escaping: Escaping) -> &'static str {
        macro_rules! with {
            ($ct:expr) => {
                match escaping {
                    Escaping::AllowUtf8 => concat!($ct, "; escaping=allow-utf-8"),
                    Escaping::Underscores => concat!($ct, "; escaping=underscores"),
                    Escaping::Dots => concat!($ct, "; escaping=dots"),
                    Escaping::Values => concat!($ct, "; escaping=values"),
                }
            };
        }
        match self {
            Format::Prometheus => with!("text/plain; version=0.0.4; charset=utf-8"),
            Format::PrometheusV1 => with!("text/plain; version=1.0.0; charset=utf-8"),
            Format::OpenMetrics => {
                with!("application/openmetrics-text; version=1.0.0; charset=utf-8")
            }
            #[cfg(feature = "protobuf")]
            Format::Protobuf => with!(
                "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
            ),
        }
    }

    /// Whether this is one of the text formats.
    pub(crate) fn is_text(self) -> bool {
        matches!(
            self,
            Format::Prometheus | Format::PrometheusV1 | Format::OpenMetrics
        )
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
    #[cfg(feature = "protobuf")]
    fn as_f64(self) -> f64 {
        match self {
            Value::U64(v) => v as f64,
            Value::I64(v) => v as f64,
            Value::F64(v) => v,
        }
    }

    #[inline]
    pub(crate) fn write(self, out: &mut Vec<u8>) {
        match self {
            Value::U64(v) => number::write_u64(out, v),
            Value::I64(v) => number::write_i64(out, v),
            Value::F64(v) => number::write_f64(out, v),
        }
    }
}

/// The labels of one series, as a metric hands them to its [`MetricEncoder`]: `(name, value)`
/// pairs with raw (unescaped) values, in order. Each format writes them its own way; none
/// parses back what another rendered.
///
/// ```
/// use vitalsign::encoding::Labels;
///
/// let pairs = [("path", "/a\"b"), ("ok", "true")];
/// let mut seen = Vec::new();
/// Labels::new(&pairs).for_each(&mut |k, v| seen.push(format!("{k}={v}")));
/// assert_eq!(seen, ["path=/a\"b", "ok=true"]);
/// ```
#[derive(Clone, Copy)]
#[must_use]
pub struct Labels<'a> {
    pairs: Pairs<'a>,
    /// The pairs rendered for the text formats (`a="x",b="y"`, values escaped), where the
    /// metric keeps them across scrapes.
    text: Option<&'a str>,
}

#[derive(Clone, Copy)]
enum Pairs<'a> {
    Slice(&'a [(&'a str, &'a str)]),
    Visit(VisitLabels<'a>),
}

/// A visitor of label pairs: what [`Labels::from_fn`] takes. It calls its argument with each
/// `(name, value)` pair.
pub type VisitLabels<'a> = &'a dyn Fn(&mut dyn FnMut(&str, &str));

impl<'a> Labels<'a> {
    /// No labels.
    pub const NONE: Labels<'static> = Labels {
        pairs: Pairs::Slice(&[]),
        text: Some(""),
    };

    /// These pairs.
    pub fn new(pairs: &'a [(&'a str, &'a str)]) -> Self {
        Self {
            pairs: Pairs::Slice(pairs),
            text: None,
        }
    }

    /// The pairs a visitor calls its argument with, in order (for labels held in another shape,
    /// or made up of two parts).
    pub fn from_fn(visit: VisitLabels<'a>) -> Self {
        Self {
            pairs: Pairs::Visit(visit),
            text: None,
        }
    }

    /// The same labels with their text rendering kept by the caller (`a="x",b="y"`, values
    /// escaped as [`escape`] writes them), which the text formats then copy as it is.
    pub(crate) fn with_text(self, text: &'a str) -> Self {
        Self {
            text: Some(text),
            ..self
        }
    }

    /// Calls `f(name, value)` for each pair, in order.
    pub fn for_each(&self, f: &mut dyn FnMut(&str, &str)) {
        match self.pairs {
            Pairs::Slice(pairs) => pairs.iter().for_each(|&(k, v)| f(k, v)),
            Pairs::Visit(visit) => visit(f),
        }
    }

    /// The text rendering, if the metric kept one.
    pub(crate) fn text(&self) -> Option<&'a str> {
        self.text
    }

    /// Renders the pairs as the text formats write them (`a="x",b="y"`), appended to `out`.
    pub(crate) fn render(&self, out: &mut String) {
        if let Some(text) = self.text {
            if !text.is_empty() && !out.is_empty() {
                out.push(',');
            }
            out.push_str(text);
            return;
        }
        self.for_each(&mut |k, v| escape::write_label(out, k, v));
    }
}

impl std::fmt::Debug for Labels<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut list = f.debug_list();
        self.for_each(&mut |k, v| {
            list.entry(&(k, v));
        });
        list.finish()
    }
}

/// A family's constant labels: the pairs, and their text rendering made once at registration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ConstLabels {
    pairs: Box<[(Box<str>, Box<str>)]>,
    text: Box<str>,
}

impl ConstLabels {
    pub(crate) fn new(pairs: Vec<(Box<str>, Box<str>)>) -> Self {
        let mut text = String::new();
        for (k, v) in &pairs {
            escape::write_label(&mut text, k, v);
        }
        Self {
            pairs: pairs.into(),
            text: text.into(),
        }
    }

    pub(crate) fn pairs(&self) -> &[(Box<str>, Box<str>)] {
        &self.pairs
    }

    pub(crate) fn text(&self) -> &str {
        &self.text
    }
}

/// One histogram series as an encoder takes it: count, sum, numeric buckets with their
/// exemplars, and the native buckets of the same observations.
///
/// ```
/// use vitalsign::encoding::HistogramView;
///
/// // Bounds 0.1 and 1 (`+Inf` is implicit): 2 observations up to 0.1, 3 up to 1, 4 in all.
/// let view = HistogramView::new(4, 2.5, &[0.1, 1.0], &[2, 3]);
/// assert_eq!(view.buckets().collect::<Vec<_>>(), [(0.1, 2), (1.0, 3), (f64::INFINITY, 4)]);
/// ```
#[derive(Clone, Copy)]
#[must_use]
pub struct HistogramView<'a> {
    count: u64,
    sum: f64,
    bounds: &'a [f64],
    cumulative: &'a [u64],
    /// `le="..."` per finite bound and `+Inf` last, rendered once by the buckets (text formats).
    le: Option<&'a [Box<str>]>,
    exemplars: Option<&'a dyn Fn(usize) -> Option<Exemplar>>,
    native: Option<&'a NativeSnapshot>,
}

impl<'a> HistogramView<'a> {
    /// A histogram of `count` observations summing to `sum`, with finite upper `bounds` (strictly
    /// increasing) and the `cumulative` count at each (as many as bounds; the `+Inf` bucket is
    /// the count).
    pub fn new(count: u64, sum: f64, bounds: &'a [f64], cumulative: &'a [u64]) -> Self {
        Self {
            count,
            sum,
            bounds,
            cumulative,
            le: None,
            exemplars: None,
            native: None,
        }
    }

    /// The exemplar of bucket `i` (from 0, `+Inf` last), written in OpenMetrics and protobuf.
    pub fn exemplars(self, exemplar: &'a dyn Fn(usize) -> Option<Exemplar>) -> Self {
        Self {
            exemplars: Some(exemplar),
            ..self
        }
    }

    /// The native buckets of the same observations, written in protobuf.
    pub fn native(self, native: Option<&'a NativeSnapshot>) -> Self {
        Self { native, ..self }
    }

    pub(crate) fn with_le(self, le: &'a [Box<str>]) -> Self {
        Self {
            le: Some(le),
            ..self
        }
    }

    /// How many observations.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Their sum.
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// `(upper_bound, cumulative_count)` per bucket, `+Inf` last (its count is the count).
    pub fn buckets(&self) -> impl Iterator<Item = (f64, u64)> + 'a {
        let count = self.count;
        self.bounds
            .iter()
            .copied()
            .zip(self.cumulative.iter().copied())
            .chain([(f64::INFINITY, count)])
    }

    fn exemplar(&self, i: usize) -> Option<Exemplar> {
        self.exemplars.and_then(|e| e(i))
    }

    fn negative_bounds(&self) -> bool {
        self.bounds.first().is_some_and(|&b| b < 0.0)
    }
}

impl std::fmt::Debug for HistogramView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistogramView")
            .field("count", &self.count)
            .field("sum", &self.sum)
            .field("buckets", &self.buckets().collect::<Vec<_>>())
            .field("native", &self.native)
            .finish_non_exhaustive()
    }
}

/// The native buckets of one snapshot of a histogram.
#[derive(Debug, Clone, PartialEq)]
pub struct NativeSnapshot {
    /// The schema of every bucket below.
    pub schema: i32,
    /// The zero bucket's threshold.
    pub zero_threshold: f64,
    /// Observations in the zero bucket.
    pub zero: u64,
    /// `(key, count)` of each positive bucket holding observations, by key.
    pub positive: Vec<(i32, u64)>,
    /// `(key, count)` of each negative bucket holding observations, by key.
    pub negative: Vec<(i32, u64)>,
}

/// What a metric writes its series into: one family, in one format.
#[derive(Debug)]
pub struct MetricEncoder<'a> {
    out: &'a mut Vec<u8>,
    format: Format,
    name: &'a str,
    consts: &'a ConstLabels,
    created: Option<f64>,
    /// How names the legacy rules do not allow are written.
    escaping: Escaping,
    /// Whether the family's name and every label name its series carry are legacy names, so
    /// renderings kept across scrapes hold in every scheme.
    plain: bool,
    /// A series' labels rendered for the text formats when the metric keeps no rendering.
    scratch: String,
}

impl<'a> MetricEncoder<'a> {
    pub(crate) fn new(
        out: &'a mut Vec<u8>,
        format: Format,
        name: &'a str,
        consts: &'a ConstLabels,
        created: Option<f64>,
    ) -> Self {
        Self {
            out,
            format,
            name,
            consts,
            created,
            escaping: Escaping::default(),
            plain: true,
            scratch: String::new(),
        }
    }

    /// Names the legacy rules do not allow written by `escaping`; `plain` says that the
    /// family's names are all legacy ones.
    pub(crate) fn escaping(mut self, escaping: Escaping, plain: bool) -> Self {
        self.escaping = escaping;
        self.plain = plain;
        self
    }
}

impl<'a> MetricEncoder<'a> {
    /// The format being written.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The family's name (without `_total` or `_info`).
    pub fn name(&self) -> &str {
        self.name
    }

    /// The constant labels' text rendering: what a family's cached line prefixes depend on.
    pub(crate) fn const_text(&self) -> &str {
        self.consts.text()
    }

    /// Whether families may write their series from line prefixes kept across scrapes (the
    /// text formats).
    pub(crate) fn writes_lines(&self) -> bool {
        self.format.is_text() && self.plain
    }

    /// Whether a counter's `_created` sample goes with each of its lines in this scrape.
    pub(crate) fn writes_created(&self) -> bool {
        self.format == Format::OpenMetrics && self.created.is_some()
    }

    /// Appends to `into` the line prefix (`name_total{a="x"} `) of a one-line series.
    pub(crate) fn line_prefix(&self, into: &mut Vec<u8>, suffix: &str, labels: &str) {
        text::write_plain_prefix(into, self.name, suffix, self.consts.text(), labels, None);
    }

    /// Writes a line prefix rendered before by [`line_prefix`](Self::line_prefix), then the value.
    #[inline]
    pub(crate) fn sample_with_prefix(
        &mut self,
        prefix: &[u8],
        value: Value,
        exemplar: Option<Exemplar>,
    ) {
        text::line_from_prefix(self.out, self.format, prefix, value, exemplar.as_ref());
    }

    /// Runs `f` with the series' labels in text form (the metric's rendering, or one made now).
    fn with_text<R>(&mut self, labels: Labels<'_>, f: impl FnOnce(&mut Self, &str) -> R) -> R {
        if let Some(text) = labels.text().filter(|_| self.plain) {
            return f(self, text);
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        if self.plain {
            labels.render(&mut scratch);
        } else {
            let escaping = self.escaping;
            labels.for_each(&mut |k, v| text::write_label(&mut scratch, k, v, escaping));
        }
        let r = f(self, &scratch);
        self.scratch = scratch;
        r
    }

    /// The output, and the family as the text formats write it.
    fn text_parts(&mut self) -> (&mut Vec<u8>, text::Family<'a>) {
        let family = text::Family {
            format: self.format,
            name: self.name,
            consts: self.consts,
            created: self.created,
            escaping: self.escaping,
            plain: self.plain,
        };
        (self.out, family)
    }

    /// The output, and the family as protobuf writes it.
    #[cfg(feature = "protobuf")]
    fn protobuf_parts(&mut self) -> (&mut Vec<u8>, protobuf::Family<'a>) {
        let family = protobuf::Family {
            consts: self.consts.pairs(),
            created: self.created,
            escaping: self.escaping,
        };
        (self.out, family)
    }

    /// A counter series.
    pub fn counter(&mut self, labels: Labels<'_>, value: Value) {
        self.counter_with_exemplar(labels, value, None);
    }

    /// A counter series with an exemplar (written in OpenMetrics and protobuf).
    pub fn counter_with_exemplar(
        &mut self,
        labels: Labels<'_>,
        value: Value,
        exemplar: Option<Exemplar>,
    ) {
        match self.format {
            #[cfg(feature = "protobuf")]
            Format::Protobuf => {
                let (out, family) = self.protobuf_parts();
                family.counter(out, labels, value.as_f64(), exemplar.as_ref());
            }
            _ => self.with_text(labels, |enc, l| {
                let (out, family) = enc.text_parts();
                family.counter(out, l, value, exemplar.as_ref());
            }),
        }
    }

    /// A gauge series.
    pub fn gauge(&mut self, labels: Labels<'_>, value: Value) {
        self.gauge_sample("", labels, None, value);
    }

    /// An info series (value 1): the series' labels are the info's.
    pub fn info(&mut self, labels: Labels<'_>) {
        self.gauge_sample("_info", labels, None, Value::U64(1));
    }

    /// One state of a state set: `{name}{labels,name="state"} 1|0`.
    pub fn state(&mut self, labels: Labels<'_>, state: &str, on: bool) {
        let name = self.name;
        self.gauge_sample("", labels, Some((name, state)), Value::U64(u64::from(on)));
    }

    /// A sample that is a gauge in protobuf (gauges, infos, states), with an extra pair last.
    fn gauge_sample(
        &mut self,
        suffix: &str,
        labels: Labels<'_>,
        extra: Option<(&str, &str)>,
        value: Value,
    ) {
        match self.format {
            #[cfg(feature = "protobuf")]
            Format::Protobuf => {
                let (out, family) = self.protobuf_parts();
                family.gauge(out, labels, extra, value.as_f64());
            }
            _ => self.with_text(labels, |enc, l| {
                let (out, family) = enc.text_parts();
                family.sample(out, suffix, l, extra, value, None);
            }),
        }
    }

    /// A summary series without quantiles.
    pub fn summary(&mut self, labels: Labels<'_>, count: u64, sum: f64) {
        match self.format {
            #[cfg(feature = "protobuf")]
            Format::Protobuf => {
                let (out, family) = self.protobuf_parts();
                family.summary(out, labels, count, sum);
            }
            _ => self.with_text(labels, |enc, l| {
                let (out, family) = enc.text_parts();
                family.summary(out, l, count, sum);
            }),
        }
    }

    /// A histogram series: classic buckets in every format, native ones in protobuf.
    pub fn histogram(&mut self, labels: Labels<'_>, view: &HistogramView<'_>) {
        match self.format {
            #[cfg(feature = "protobuf")]
            Format::Protobuf => {
                let (out, family) = self.protobuf_parts();
                family.histogram(out, labels, view);
            }
            _ => self.with_text(labels, |enc, l| {
                let (out, family) = enc.text_parts();
                family.histogram(out, l, view);
            }),
        }
    }
}
