//! The encoder: what a metric writes its series into, what surrounds each family (its header in
//! the text formats, its frame in protobuf), and the end of an exposition.

use super::gather;
use super::names::{self, Escaping};
#[cfg(feature = "protobuf")]
use super::protobuf;
use super::{ConstLabels, Format, HistogramView, Labels, MetricType, Value, escape, text};
use crate::trace::Exemplar;

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
    /// Where the series go as data instead of bytes, when the registry is gathered.
    gather: Option<&'a mut Vec<gather::Series>>,
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
            gather: None,
        }
    }

    /// An encoder that appends the family's series to `series` as data (`out` stays empty).
    pub(crate) fn gathering(
        out: &'a mut Vec<u8>,
        series: &'a mut Vec<gather::Series>,
        name: &'a str,
        consts: &'a ConstLabels,
        created: Option<f64>,
    ) -> Self {
        let mut encoder = Self::new(out, Format::OpenMetrics, name, consts, created);
        encoder.plain = false;
        encoder.gather = Some(series);
        encoder
    }

    /// Appends the series as data if this encoder gathers; whether it did.
    #[inline]
    fn gathered(
        &mut self,
        labels: Labels<'_>,
        value: impl FnOnce() -> gather::Value,
        start: bool,
    ) -> bool {
        let Some(series) = self.gather.as_deref_mut() else {
            return false;
        };
        let mut pairs: Vec<(String, String)> = self
            .consts
            .pairs()
            .iter()
            .map(|(k, v)| ((**k).to_owned(), (**v).to_owned()))
            .collect();
        labels.for_each(&mut |k, v| pairs.push((k.to_owned(), v.to_owned())));
        series.push(gather::Series {
            labels: pairs,
            value: value(),
            start_time: self.created.filter(|_| start),
        });
        true
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
        self.format.is_text() && self.plain && self.gather.is_none()
    }

    /// Whether a counter's `_created` sample goes with each of its lines in this scrape.
    pub(crate) fn writes_created(&self) -> bool {
        self.format == Format::OpenMetrics && self.created.is_some() && self.gather.is_none()
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
        let counter = || gather::Value::Counter {
            value: value.as_f64(),
            exemplar,
        };
        if self.gathered(labels, counter, true) {
            return;
        }
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
        if self.gathered(labels, || gather::Value::Gauge(value.as_f64()), false) {
            return;
        }
        self.gauge_sample("", labels, None, value);
    }

    /// An info series (value 1): the series' labels are the info's.
    pub fn info(&mut self, labels: Labels<'_>) {
        if self.gathered(labels, || gather::Value::Info, false) {
            return;
        }
        self.gauge_sample("_info", labels, None, Value::U64(1));
    }

    /// One state of a state set: `{name}{labels,name="state"} 1|0`.
    pub fn state(&mut self, labels: Labels<'_>, state: &str, on: bool) {
        let value = || gather::Value::State {
            state: state.to_owned(),
            on,
        };
        if self.gathered(labels, value, false) {
            return;
        }
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
        if self.gathered(labels, || gather::Value::Summary { count, sum }, true) {
            return;
        }
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
        let histogram = || {
            gather::Value::Histogram(gather::Histogram {
                count: view.count,
                sum: view.sum,
                buckets: view.buckets().collect(),
                exemplars: (0..view.buckets().count())
                    .filter_map(|i| Some((i, view.exemplar(i)?)))
                    .collect(),
                native: view.native.cloned(),
            })
        };
        if self.gathered(labels, histogram, true) {
            return;
        }
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

/// What a family's header says: its name (without `_total` or `_info`), HELP, unit and type.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FamilyHeader<'a> {
    pub(crate) name: &'a str,
    pub(crate) help: &'a str,
    pub(crate) unit: Option<&'a str>,
    pub(crate) kind: MetricType,
}

impl FamilyHeader<'_> {
    /// Writes the family to `out`: the header the text formats begin it with, the series
    /// `series` writes, and the frame protobuf puts around them. A `series` that fails (returns
    /// `false`: a metric panicked) leaves nothing of the family; the answer says which it was.
    pub(crate) fn encode(
        &self,
        out: &mut Vec<u8>,
        format: Format,
        escaping: Escaping,
        series: impl FnOnce(&mut Vec<u8>) -> bool,
    ) -> bool {
        let mark = out.len();
        self.write_header(out, format, escaping);
        if !series(out) {
            out.truncate(mark);
            return false;
        }
        #[cfg(feature = "protobuf")]
        if format == Format::Protobuf {
            protobuf::frame_family(out, mark, self.name, self.help, self.kind, escaping);
        }
        true
    }

    /// The text formats' `# HELP`, `# TYPE` and (OpenMetrics) `# UNIT` lines; nothing in
    /// protobuf, whose family is framed once its metrics are written.
    fn write_header(&self, out: &mut Vec<u8>, format: Format, escaping: Escaping) {
        let suffix = match format {
            Format::OpenMetrics => "",
            Format::Prometheus | Format::PrometheusV1 => self.kind.text_family_suffix(),
            #[cfg(feature = "protobuf")]
            Format::Protobuf => return,
        };
        if !self.help.is_empty() {
            out.extend_from_slice(b"# HELP ");
            names::write_text_name(out, &[self.name, suffix], escaping, false);
            out.push(b' ');
            escape::write_help(out, self.help, format == Format::OpenMetrics);
            out.push(b'\n');
        }
        out.extend_from_slice(b"# TYPE ");
        names::write_text_name(out, &[self.name, suffix], escaping, false);
        out.push(b' ');
        out.extend_from_slice(self.kind.type_name(format).as_bytes());
        out.push(b'\n');
        if let (Format::OpenMetrics, Some(unit)) = (format, self.unit) {
            out.extend_from_slice(b"# UNIT ");
            names::write_text_name(out, &[self.name], escaping, false);
            out.push(b' ');
            out.extend_from_slice(unit.as_bytes());
            out.push(b'\n');
        }
    }
}

/// Ends an exposition: OpenMetrics' `# EOF`; the other formats just stop.
pub(crate) fn end_exposition(out: &mut Vec<u8>, format: Format) {
    if format == Format::OpenMetrics {
        out.extend_from_slice(b"# EOF\n");
    }
}

impl Format {
    /// Whether series carry their start time (`_created` lines, protobuf's start timestamps) in
    /// this format when the scrape asked for them (`asked`): protobuf always carries them
    /// (Prometheus 3 uses them in `rate()`), OpenMetrics only when asked, 0.0.4 never writes them.
    pub(crate) fn carries_start_times(self, asked: bool) -> bool {
        asked || !self.is_text()
    }
}
