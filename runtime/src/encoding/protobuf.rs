//! The Prometheus protobuf exposition: length-delimited `io.prometheus.client.MetricFamily`
//! messages, the only format that carries native histograms.
//!
//! The messages follow `metrics.proto` of `prometheus/client_model` (proto2: every scalar field
//! has presence, so zeros are written when set), fields in tag order. Families are written as
//! Prometheus' own clients write them: a counter family is named with its `_total`, an info is
//! a gauge named `x_info` with value 1, a state set is a gauge per state labelled with the set's
//! name, and a histogram's `+Inf` bucket is left to the count unless it holds an exemplar.
//! Counters, histograms and summaries carry their start (`created_timestamp`).
//!
//! Each series is written straight to the wire from what the metric hands over (label pairs,
//! numbers): nothing is built as a message first. With the `protobuf-decode` feature, the
//! messages themselves (prost derives) and `decode` read a scrape back.

#[cfg(feature = "protobuf-decode")]
mod messages;

#[cfg(feature = "protobuf-decode")]
pub use messages::*;

use super::names::{self, Escaping};
use super::{HistogramView, Labels, MetricType, NativeSnapshot};
use crate::trace::Exemplar as TraceExemplar;

/// Wire types.
const VARINT: u32 = 0;
const I64: u32 = 1;
const LEN: u32 = 2;

/// Field 4 of `MetricFamily`: one `Metric`.
const METRIC: u32 = 4;

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn key(out: &mut Vec<u8>, field: u32, wire: u32) {
    varint(out, u64::from(field << 3 | wire));
}

fn string(out: &mut Vec<u8>, field: u32, s: &str) {
    key(out, field, LEN);
    varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn double(out: &mut Vec<u8>, field: u32, v: f64) {
    key(out, field, I64);
    out.extend_from_slice(&v.to_le_bytes());
}

fn uint64(out: &mut Vec<u8>, field: u32, v: u64) {
    key(out, field, VARINT);
    varint(out, v);
}

/// `int64` and `int32` alike: negative values sign-extended to ten bytes.
fn int64(out: &mut Vec<u8>, field: u32, v: i64) {
    uint64(out, field, v as u64);
}

/// `sint32` and `sint64` alike: zigzag.
fn sint64(out: &mut Vec<u8>, field: u32, v: i64) {
    uint64(out, field, ((v << 1) ^ (v >> 63)) as u64);
}

/// Starts an embedded message: its key and a one-byte length to fix by [`end`]. Returns where
/// the message's body starts.
fn begin(out: &mut Vec<u8>, field: u32) -> usize {
    key(out, field, LEN);
    out.push(0);
    out.len()
}

/// Ends the message [`begin`] started: its length in place of the placeholder, the body moved
/// along in the rare case the length takes more than one byte.
fn end(out: &mut Vec<u8>, start: usize) {
    let len = out.len() - start;
    if len < 0x80 {
        out[start - 1] = len as u8;
        return;
    }
    let mut prefix = Vec::with_capacity(10);
    varint(&mut prefix, len as u64);
    out[start - 1] = prefix[0];
    out.splice(start..start, prefix[1..].iter().copied());
}

/// A `LabelPair` as field `field` of the message being written.
fn label(out: &mut Vec<u8>, field: u32, name: &str, value: &str) {
    let pair = begin(out, field);
    string(out, 1, name);
    string(out, 2, value);
    end(out, pair);
}

/// A `google.protobuf.Timestamp` (proto3: zero fields are left out).
fn timestamp(out: &mut Vec<u8>, field: u32, seconds: i64, nanos: i32) {
    let ts = begin(out, field);
    if seconds != 0 {
        int64(out, 1, seconds);
    }
    if nanos != 0 {
        int64(out, 2, i64::from(nanos));
    }
    end(out, ts);
}

/// A timestamp from seconds since the Unix epoch (a registration's start time).
fn timestamp_secs(out: &mut Vec<u8>, field: u32, secs: f64) {
    let whole = secs.floor();
    timestamp(out, field, whole as i64, ((secs - whole) * 1e9) as i32);
}

fn exemplar(out: &mut Vec<u8>, field: u32, e: &TraceExemplar) {
    let cx = e.trace_context();
    let mut trace_id = [0u8; 32];
    let mut span_id = [0u8; 16];
    trace_id
        .iter_mut()
        .zip(crate::trace::hex(&cx.trace_id()))
        .for_each(|(d, h)| *d = h);
    span_id
        .iter_mut()
        .zip(crate::trace::hex(&cx.span_id()))
        .for_each(|(d, h)| *d = h);
    let message = begin(out, field);
    // Hex digits are ASCII.
    label(
        out,
        1,
        "trace_id",
        std::str::from_utf8(&trace_id).unwrap_or_default(),
    );
    label(
        out,
        1,
        "span_id",
        std::str::from_utf8(&span_id).unwrap_or_default(),
    );
    double(out, 2, e.value());
    let ns = e.unix_ns();
    timestamp(
        out,
        3,
        i64::try_from(ns / 1_000_000_000).unwrap_or(i64::MAX),
        i32::try_from(ns % 1_000_000_000).unwrap_or(0),
    );
    end(out, message);
}

/// One family's part as protobuf writes it: the constant labels' pairs and the start time.
pub(super) struct Family<'a> {
    pub(super) consts: &'a [(Box<str>, Box<str>)],
    pub(super) created: Option<f64>,
    /// How label names the legacy rules do not allow are written.
    pub(super) escaping: Escaping,
}

impl Family<'_> {
    /// Starts a `Metric` with its labels: the constant ones, the series', then `extra`.
    fn metric(&self, out: &mut Vec<u8>, labels: Labels<'_>, extra: Option<(&str, &str)>) -> usize {
        let metric = begin(out, METRIC);
        let escaping = self.escaping;
        let pair = |out: &mut Vec<u8>, k: &str, v: &str| {
            label(out, 1, &names::wire_name(&[k], escaping, true), v);
        };
        for (k, v) in self.consts {
            pair(out, k, v);
        }
        labels.for_each(&mut |k, v| pair(out, k, v));
        if let Some((k, v)) = extra {
            pair(out, k, v);
        }
        metric
    }

    pub(super) fn counter(
        &self,
        out: &mut Vec<u8>,
        labels: Labels<'_>,
        value: f64,
        e: Option<&TraceExemplar>,
    ) {
        let metric = self.metric(out, labels, None);
        let counter = begin(out, 3);
        double(out, 1, value);
        if let Some(e) = e {
            exemplar(out, 2, e);
        }
        if let Some(created) = self.created {
            timestamp_secs(out, 3, created);
        }
        end(out, counter);
        end(out, metric);
    }

    /// Gauges, infos and the states of a state set.
    pub(super) fn gauge(
        &self,
        out: &mut Vec<u8>,
        labels: Labels<'_>,
        extra: Option<(&str, &str)>,
        value: f64,
    ) {
        let metric = self.metric(out, labels, extra);
        let gauge = begin(out, 2);
        double(out, 1, value);
        end(out, gauge);
        end(out, metric);
    }

    pub(super) fn summary(&self, out: &mut Vec<u8>, labels: Labels<'_>, count: u64, sum: f64) {
        let metric = self.metric(out, labels, None);
        let summary = begin(out, 4);
        uint64(out, 1, count);
        double(out, 2, sum);
        if let Some(created) = self.created {
            timestamp_secs(out, 4, created);
        }
        end(out, summary);
        end(out, metric);
    }

    pub(super) fn histogram(
        &self,
        out: &mut Vec<u8>,
        labels: Labels<'_>,
        view: &HistogramView<'_>,
    ) {
        let metric = self.metric(out, labels, None);
        let histogram = begin(out, 7);
        uint64(out, 1, view.count);
        double(out, 2, view.sum);
        for (i, (bound, cumulative)) in view.buckets().enumerate() {
            let e = view.exemplar(i);
            // The `+Inf` bucket is the count: written only to carry an exemplar.
            if bound == f64::INFINITY && e.is_none() {
                continue;
            }
            let bucket = begin(out, 3);
            uint64(out, 1, cumulative);
            double(out, 2, bound);
            if let Some(e) = &e {
                exemplar(out, 3, e);
            }
            end(out, bucket);
        }
        if let Some(native) = view.native {
            write_native(out, native);
        }
        if let Some(created) = self.created {
            timestamp_secs(out, 15, created);
        }
        end(out, histogram);
        end(out, metric);
    }
}

/// The native part of a `Histogram` message: schema (5), zero threshold (6) and count (7),
/// negative spans and deltas (9, 10), positive ones (12, 13).
fn write_native(out: &mut Vec<u8>, native: &NativeSnapshot) {
    sint64(out, 5, i64::from(native.schema));
    double(out, 6, native.zero_threshold);
    uint64(out, 7, native.zero);
    spans(out, 9, &native.negative);
    deltas(out, 10, &native.negative);
    if native.zero_threshold == 0.0
        && native.zero == 0
        && native.positive.is_empty()
        && native.negative.is_empty()
    {
        // Without a threshold, zero count or bucket, a native histogram would read as a classic
        // one: an empty span says it is native (as Go's client does).
        write_span(out, 12, 0, 0);
    }
    spans(out, 12, &native.positive);
    deltas(out, 13, &native.positive);
}

/// What [`layout`] yields: a span starts (at this offset), or a bucket is written (this count).
#[derive(Clone, Copy)]
enum Step {
    Span(i32),
    Bucket(u64),
}

/// How sorted `(key, count)` buckets are laid out in spans: a span starts at an offset from
/// where the last one ended (from zero for the first); gaps of one or two buckets are written
/// as empty buckets rather than a new span.
fn layout(buckets: &[(i32, u64)]) -> impl Iterator<Item = Step> + '_ {
    let mut next_key = 0i32;
    buckets
        .iter()
        .enumerate()
        .flat_map(move |(i, &(key, count))| {
            let gap = key.wrapping_sub(next_key);
            next_key = key.wrapping_add(1);
            let (span, zeros) = if i == 0 || gap > 2 {
                (Some(Step::Span(gap)), 0)
            } else {
                (None, gap)
            };
            span.into_iter()
                .chain((0..zeros).map(|_| Step::Bucket(0)))
                .chain([Step::Bucket(count)])
        })
}

fn write_span(out: &mut Vec<u8>, field: u32, offset: i32, length: u32) {
    let span = begin(out, field);
    sint64(out, 1, i64::from(offset));
    uint64(out, 2, u64::from(length));
    end(out, span);
}

/// `BucketSpan`s of the buckets, as field `field`.
fn spans(out: &mut Vec<u8>, field: u32, buckets: &[(i32, u64)]) {
    let mut current: Option<(i32, u32)> = None;
    for step in layout(buckets) {
        match step {
            Step::Span(offset) => {
                if let Some((offset, length)) = current.replace((offset, 0)) {
                    write_span(out, field, offset, length);
                }
            }
            Step::Bucket(_) => {
                if let Some((_, length)) = &mut current {
                    *length += 1;
                }
            }
        }
    }
    if let Some((offset, length)) = current {
        write_span(out, field, offset, length);
    }
}

/// Each bucket's count as the difference from the one before (unpacked `sint64`s).
fn deltas(out: &mut Vec<u8>, field: u32, buckets: &[(i32, u64)]) {
    let mut previous = 0i64;
    for step in layout(buckets) {
        if let Step::Bucket(count) = step {
            let count = i64::try_from(count).unwrap_or(i64::MAX);
            sint64(out, field, count.wrapping_sub(previous));
            previous = count;
        }
    }
}

/// Frames the metrics written since `mark` as one length-delimited `MetricFamily`, with the
/// family's name (with the suffix its type takes), HELP and type in front. A family with no
/// metric is left out, as Prometheus' clients leave it.
pub(crate) fn frame_family(
    out: &mut Vec<u8>,
    mark: usize,
    name: &str,
    help: &str,
    kind: MetricType,
    escaping: Escaping,
) {
    if out.len() == mark {
        return;
    }
    let name = names::wire_name(&[name, kind.text_family_suffix()], escaping, false);
    let mut head = Vec::with_capacity(name.len() + help.len() + 16);
    string(&mut head, 1, &name);
    if !help.is_empty() {
        string(&mut head, 2, help);
    }
    uint64(&mut head, 3, proto_type(kind));
    let mut framed = Vec::with_capacity(head.len() + 10);
    varint(&mut framed, (head.len() + out.len() - mark) as u64);
    framed.extend_from_slice(&head);
    out.splice(mark..mark, framed);
}

/// `io.prometheus.client.MetricType`.
fn proto_type(kind: MetricType) -> u64 {
    match kind {
        MetricType::Counter => 0,
        MetricType::Gauge | MetricType::Info | MetricType::StateSet => 1,
        MetricType::Summary => 2,
        MetricType::Histogram => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_fill_small_gaps_and_start_new_ones_past_two() {
        let buckets = [(-2, 3), (-1, 1), (1, 4), (5, 2)];
        let mut got = Vec::new();
        spans(&mut got, 12, &buckets);
        let mut want = Vec::new();
        write_span(&mut want, 12, -2, 4);
        write_span(&mut want, 12, 3, 1);
        assert_eq!(got, want);
        got.clear();
        deltas(&mut got, 13, &buckets);
        want.clear();
        [3, -2, -1, 4, -2]
            .iter()
            .for_each(|&d| sint64(&mut want, 13, d));
        assert_eq!(got, want);
        // Field 12 (length-delimited), 4 bytes: offset -2 (zigzag 3), length 4.
        let mut one = Vec::new();
        write_span(&mut one, 12, -2, 4);
        assert_eq!(one, [0x62, 4, 0x08, 3, 0x10, 4]);
    }

    /// A message longer than 127 bytes gets a two-byte length, its body moved along.
    #[test]
    fn long_messages_get_longer_lengths() {
        let mut out = Vec::new();
        let m = begin(&mut out, 4);
        string(&mut out, 1, &"x".repeat(200));
        end(&mut out, m);
        assert_eq!(&out[..5], [0x22, 0xcb, 0x01, 0x0a, 0xc8]);
        assert_eq!(out.len(), 3 + 203);
    }
}
