//! The text formats: Prometheus 0.0.4 and OpenMetrics 1.0.0. Both write a series as lines of
//! `{name}{suffix}{labels} value`; OpenMetrics adds exemplars, `_created` lines and stricter
//! rules for `_count` and `_sum`.

use super::names::{self, Escaping};
use super::{ConstLabels, Format, HistogramView, Value, escape, number};
use crate::trace::Exemplar;

/// One family's part as the text formats write it: the name and the constant labels, and how
/// names are written.
pub(super) struct Family<'a> {
    pub(super) format: Format,
    pub(super) name: &'a str,
    pub(super) consts: &'a ConstLabels,
    pub(super) created: Option<f64>,
    pub(super) escaping: Escaping,
    /// Every name of the family is a legacy one: written as it is, renderings kept hold.
    pub(super) plain: bool,
}

/// Appends the label `name="value"`, after a comma if `out` holds one already, its name as
/// `escaping` writes it.
pub(super) fn write_label(out: &mut String, name: &str, value: &str, escaping: Escaping) {
    if !out.is_empty() {
        out.push(',');
    }
    names::write_text_name(out, &[name], escaping, true);
    out.push_str("=\"");
    escape::write_label_value(out, value);
    out.push('"');
}

/// `{name}{suffix}{consts,labels,extra} ` for a family whose names are not all legacy ones:
/// each name as `escaping` writes it, a quoted metric name inside the braces. `labels` is
/// rendered already (by [`write_label`]).
fn write_escaped_prefix(
    out: &mut Vec<u8>,
    family: &Family<'_>,
    suffix: &str,
    labels: &str,
    extra: Option<Extra<'_>>,
) {
    let name = [family.name, suffix];
    let inside = names::quoted(&name, family.escaping, false);
    let mut first = true;
    if inside {
        out.push(b'{');
        first = false;
    }
    names::write_text_name(out, &name, family.escaping, false);
    let mut consts = String::new();
    for (k, v) in family.consts.pairs() {
        write_label(&mut consts, k, v, family.escaping);
    }
    let mut extra_text = String::new();
    match extra {
        Some(Extra::Pair(k, v)) => write_label(&mut extra_text, k, v, family.escaping),
        Some(Extra::Rendered(le)) => extra_text.push_str(le),
        None => {}
    }
    for part in [&*consts, labels, &*extra_text] {
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

/// `{name}{suffix}{consts,labels,extra} ` (no braces when there are no labels), every name a
/// legacy one; `extra` is one more pair, its value escaped here.
pub(super) fn write_plain_prefix(
    out: &mut Vec<u8>,
    name: &str,
    suffix: &str,
    consts: &str,
    labels: &str,
    extra: Option<Extra<'_>>,
) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(suffix.as_bytes());
    let mut first = true;
    for part in [consts, labels] {
        if part.is_empty() {
            continue;
        }
        out.push(if first { b'{' } else { b',' });
        first = false;
        out.extend_from_slice(part.as_bytes());
    }
    if let Some(extra) = extra {
        out.push(if first { b'{' } else { b',' });
        first = false;
        match extra {
            Extra::Pair(k, v) => {
                out.extend_from_slice(k.as_bytes());
                out.extend_from_slice(b"=\"");
                super::escape::write_label_value(out, v);
                out.push(b'"');
            }
            Extra::Rendered(le) => out.extend_from_slice(le.as_bytes()),
        }
    }
    if !first {
        out.push(b'}');
    }
    out.push(b' ');
}

/// The last label of a line: a pair (a state set's state), or one rendered once and kept (a
/// bucket's `le="0.005"`).
#[derive(Clone, Copy)]
pub(super) enum Extra<'a> {
    Pair(&'a str, &'a str),
    Rendered(&'a str),
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

/// A line from a prefix rendered before: the prefix, the value, the exemplar in OpenMetrics.
#[inline]
pub(super) fn line_from_prefix(
    out: &mut Vec<u8>,
    format: Format,
    prefix: &[u8],
    value: Value,
    exemplar: Option<&Exemplar>,
) {
    out.extend_from_slice(prefix);
    value.write(out);
    if let (Format::OpenMetrics, Some(e)) = (format, exemplar) {
        write_exemplar(out, e);
    }
    out.push(b'\n');
}

impl Family<'_> {
    /// One line: `{name}{suffix}{labels,extra} value`, an exemplar after it in OpenMetrics.
    pub(super) fn sample(
        &self,
        out: &mut Vec<u8>,
        suffix: &str,
        labels: &str,
        extra: Option<(&str, &str)>,
        value: Value,
        exemplar: Option<&Exemplar>,
    ) {
        let extra = extra.map(|(k, v)| Extra::Pair(k, v));
        self.line(out, suffix, labels, extra, value, exemplar);
    }

    fn line(
        &self,
        out: &mut Vec<u8>,
        suffix: &str,
        labels: &str,
        extra: Option<Extra<'_>>,
        value: Value,
        exemplar: Option<&Exemplar>,
    ) {
        if self.plain {
            write_plain_prefix(out, self.name, suffix, self.consts.text(), labels, extra);
        } else {
            write_escaped_prefix(out, self, suffix, labels, extra);
        }
        value.write(out);
        if let (Format::OpenMetrics, Some(e)) = (self.format, exemplar) {
            write_exemplar(out, e);
        }
        out.push(b'\n');
    }

    /// A `_created` line when the format and options call for one.
    fn created(&self, out: &mut Vec<u8>, labels: &str) {
        if let (Format::OpenMetrics, Some(ts)) = (self.format, self.created) {
            self.line(out, "_created", labels, None, Value::F64(ts), None);
        }
    }

    pub(super) fn counter(
        &self,
        out: &mut Vec<u8>,
        labels: &str,
        value: Value,
        exemplar: Option<&Exemplar>,
    ) {
        self.line(out, "_total", labels, None, value, exemplar);
        self.created(out, labels);
    }

    /// `_count` and `_sum`, where the format allows them. OpenMetrics treats both as counters: a
    /// NaN or negative sum (from NaN or negative observations), or any sum beside negative bucket
    /// bounds, cannot be written, and `_count` goes only with `_sum`. The 0.0.4 format has no
    /// such rule.
    fn count_and_sum(
        &self,
        out: &mut Vec<u8>,
        labels: &str,
        count: u64,
        sum: f64,
        negative_bounds: bool,
    ) {
        if self.format == Format::OpenMetrics && (negative_bounds || sum.is_nan() || sum < 0.0) {
            return;
        }
        self.line(out, "_count", labels, None, Value::U64(count), None);
        self.line(out, "_sum", labels, None, Value::F64(sum), None);
    }

    pub(super) fn summary(&self, out: &mut Vec<u8>, labels: &str, count: u64, sum: f64) {
        self.count_and_sum(out, labels, count, sum, false);
        self.created(out, labels);
    }

    pub(super) fn histogram(&self, out: &mut Vec<u8>, labels: &str, view: &HistogramView<'_>) {
        let om = self.format == Format::OpenMetrics;
        let mut le = String::new();
        for (i, (bound, cumulative)) in view.buckets().enumerate() {
            let exemplar = if om { view.exemplar(i) } else { None };
            let rendered = match view.le.and_then(|le| le.get(i)) {
                Some(rendered) => &**rendered,
                None => {
                    le.clear();
                    le.push_str("le=\"");
                    le.push_str(&number::canonical_f64(bound));
                    le.push('"');
                    &le
                }
            };
            let extra = Some(Extra::Rendered(rendered));
            let value = Value::U64(cumulative);
            self.line(out, "_bucket", labels, extra, value, exemplar.as_ref());
        }
        self.count_and_sum(out, labels, view.count, view.sum, view.negative_bounds());
        self.created(out, labels);
    }
}
