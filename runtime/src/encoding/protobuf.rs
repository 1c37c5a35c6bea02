//! The Prometheus protobuf exposition: length-delimited `io.prometheus.client.MetricFamily`
//! messages, the only format that carries native histograms.
//!
//! The messages follow `metrics.proto` of `prometheus/client_model` (proto2: every scalar field
//! has presence, so zeros are written when set). Families are written as Prometheus' own
//! clients write them: a counter family is named with its `_total`, an info is a gauge named
//! `x_info` with value 1, a state set is a gauge per state labelled with the set's name, and a
//! histogram's `+Inf` bucket is left to the count unless it holds an exemplar.
//!
//! Metrics write samples through the same [`MetricEncoder`](super::MetricEncoder) calls as in
//! the text formats; in this format each call appends one `Metric` (field 4 of `MetricFamily`)
//! to the output, and the registry then frames the family: name, HELP and type in front, the
//! length before it.

// The messages' fields are named and numbered as in `metrics.proto`; its comments document them.
#![allow(missing_docs)]

use prost::Message;

use super::MetricType;
use crate::trace::Exemplar as TraceExemplar;

/// `io.prometheus.client.LabelPair`.
#[derive(Clone, PartialEq, Message)]
pub struct LabelPair {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub value: Option<String>,
}

/// `io.prometheus.client.MetricType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum ProtoType {
    Counter = 0,
    Gauge = 1,
    Summary = 2,
    Untyped = 3,
    Histogram = 4,
    GaugeHistogram = 5,
}

/// `io.prometheus.client.Gauge`.
#[derive(Clone, PartialEq, Message)]
pub struct Gauge {
    #[prost(double, optional, tag = "1")]
    pub value: Option<f64>,
}

/// `io.prometheus.client.Counter`.
#[derive(Clone, PartialEq, Message)]
pub struct Counter {
    #[prost(double, optional, tag = "1")]
    pub value: Option<f64>,
    #[prost(message, optional, tag = "2")]
    pub exemplar: Option<Exemplar>,
    #[prost(message, optional, tag = "3")]
    pub created_timestamp: Option<Timestamp>,
}

/// `io.prometheus.client.Quantile`.
#[derive(Clone, PartialEq, Message)]
pub struct Quantile {
    #[prost(double, optional, tag = "1")]
    pub quantile: Option<f64>,
    #[prost(double, optional, tag = "2")]
    pub value: Option<f64>,
}

/// `io.prometheus.client.Summary`.
#[derive(Clone, PartialEq, Message)]
pub struct Summary {
    #[prost(uint64, optional, tag = "1")]
    pub sample_count: Option<u64>,
    #[prost(double, optional, tag = "2")]
    pub sample_sum: Option<f64>,
    #[prost(message, repeated, tag = "3")]
    pub quantile: Vec<Quantile>,
    #[prost(message, optional, tag = "4")]
    pub created_timestamp: Option<Timestamp>,
}

/// `io.prometheus.client.Untyped`.
#[derive(Clone, PartialEq, Message)]
pub struct Untyped {
    #[prost(double, optional, tag = "1")]
    pub value: Option<f64>,
}

/// `io.prometheus.client.Histogram`: classic buckets, native buckets, or both.
#[derive(Clone, PartialEq, Message)]
pub struct Histogram {
    #[prost(uint64, optional, tag = "1")]
    pub sample_count: Option<u64>,
    #[prost(double, optional, tag = "4")]
    pub sample_count_float: Option<f64>,
    #[prost(double, optional, tag = "2")]
    pub sample_sum: Option<f64>,
    #[prost(message, repeated, tag = "3")]
    pub bucket: Vec<Bucket>,
    #[prost(message, optional, tag = "15")]
    pub created_timestamp: Option<Timestamp>,
    #[prost(sint32, optional, tag = "5")]
    pub schema: Option<i32>,
    #[prost(double, optional, tag = "6")]
    pub zero_threshold: Option<f64>,
    #[prost(uint64, optional, tag = "7")]
    pub zero_count: Option<u64>,
    #[prost(double, optional, tag = "8")]
    pub zero_count_float: Option<f64>,
    #[prost(message, repeated, tag = "9")]
    pub negative_span: Vec<BucketSpan>,
    #[prost(sint64, repeated, packed = "false", tag = "10")]
    pub negative_delta: Vec<i64>,
    #[prost(double, repeated, packed = "false", tag = "11")]
    pub negative_count: Vec<f64>,
    #[prost(message, repeated, tag = "12")]
    pub positive_span: Vec<BucketSpan>,
    #[prost(sint64, repeated, packed = "false", tag = "13")]
    pub positive_delta: Vec<i64>,
    #[prost(double, repeated, packed = "false", tag = "14")]
    pub positive_count: Vec<f64>,
    #[prost(message, repeated, tag = "16")]
    pub exemplars: Vec<Exemplar>,
}

/// `io.prometheus.client.Bucket`.
#[derive(Clone, PartialEq, Message)]
pub struct Bucket {
    #[prost(uint64, optional, tag = "1")]
    pub cumulative_count: Option<u64>,
    #[prost(double, optional, tag = "4")]
    pub cumulative_count_float: Option<f64>,
    #[prost(double, optional, tag = "2")]
    pub upper_bound: Option<f64>,
    #[prost(message, optional, tag = "3")]
    pub exemplar: Option<Exemplar>,
}

/// `io.prometheus.client.BucketSpan`.
#[derive(Clone, PartialEq, Message)]
pub struct BucketSpan {
    #[prost(sint32, optional, tag = "1")]
    pub offset: Option<i32>,
    #[prost(uint32, optional, tag = "2")]
    pub length: Option<u32>,
}

/// `io.prometheus.client.Exemplar`.
#[derive(Clone, PartialEq, Message)]
pub struct Exemplar {
    #[prost(message, repeated, tag = "1")]
    pub label: Vec<LabelPair>,
    #[prost(double, optional, tag = "2")]
    pub value: Option<f64>,
    #[prost(message, optional, tag = "3")]
    pub timestamp: Option<Timestamp>,
}

/// `google.protobuf.Timestamp`.
#[derive(Clone, PartialEq, Message)]
pub struct Timestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// `io.prometheus.client.Metric`.
#[derive(Clone, PartialEq, Message)]
pub struct Metric {
    #[prost(message, repeated, tag = "1")]
    pub label: Vec<LabelPair>,
    #[prost(message, optional, tag = "2")]
    pub gauge: Option<Gauge>,
    #[prost(message, optional, tag = "3")]
    pub counter: Option<Counter>,
    #[prost(message, optional, tag = "4")]
    pub summary: Option<Summary>,
    #[prost(message, optional, tag = "5")]
    pub untyped: Option<Untyped>,
    #[prost(message, optional, tag = "7")]
    pub histogram: Option<Histogram>,
    #[prost(int64, optional, tag = "6")]
    pub timestamp_ms: Option<i64>,
}

/// `io.prometheus.client.MetricFamily`.
#[derive(Clone, PartialEq, Message)]
pub struct MetricFamily {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub help: Option<String>,
    #[prost(enumeration = "ProtoType", optional, tag = "3")]
    pub r#type: Option<i32>,
    #[prost(message, repeated, tag = "4")]
    pub metric: Vec<Metric>,
    #[prost(string, optional, tag = "5")]
    pub unit: Option<String>,
}

/// Field 4 of `MetricFamily`.
const METRIC_FIELD: u32 = 4;

/// Appends `metric` as one `metric` field of the family being written.
pub(crate) fn write_metric(out: &mut Vec<u8>, metric: &Metric) {
    prost::encoding::message::encode(METRIC_FIELD, metric, out);
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
) {
    if out.len() == mark {
        return;
    }
    let family = MetricFamily {
        name: Some(format!("{name}{}", kind.text_family_suffix())),
        help: (!help.is_empty()).then(|| help.to_owned()),
        r#type: Some(proto_type(kind) as i32),
        metric: Vec::new(),
        unit: None,
    };
    let mut head = Vec::with_capacity(family.encoded_len() + 10);
    let len = family.encoded_len() + (out.len() - mark);
    prost::encoding::encode_varint(len as u64, &mut head);
    // Encoding into a `Vec` cannot run out of room.
    let _ = family.encode(&mut head);
    out.splice(mark..mark, head);
}

fn proto_type(kind: MetricType) -> ProtoType {
    match kind {
        MetricType::Counter => ProtoType::Counter,
        MetricType::Gauge | MetricType::Info | MetricType::StateSet => ProtoType::Gauge,
        MetricType::Histogram => ProtoType::Histogram,
        MetricType::Summary => ProtoType::Summary,
    }
}

/// Label pairs from pre-rendered label strings (`a="x",b="y"`, values escaped), in order.
pub(crate) fn label_pairs(parts: &[&str]) -> Vec<LabelPair> {
    let mut pairs = Vec::new();
    for part in parts {
        let mut rest = *part;
        while let Some((name, after)) = rest.split_once("=\"") {
            let name = name.trim_start_matches(',');
            let mut value = String::new();
            let mut chars = after.char_indices();
            let mut end = after.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, other)) => value.push(other),
                        None => {}
                    },
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => value.push(c),
                }
            }
            pairs.push(LabelPair {
                name: Some(name.to_owned()),
                value: Some(value),
            });
            rest = &after[end..];
        }
    }
    pairs
}

pub(crate) fn timestamp(unix_ns: u64) -> Timestamp {
    Timestamp {
        seconds: i64::try_from(unix_ns / 1_000_000_000).unwrap_or(i64::MAX),
        nanos: i32::try_from(unix_ns % 1_000_000_000).unwrap_or(0),
    }
}

/// A timestamp from seconds since the Unix epoch (a registration's start time).
pub(crate) fn timestamp_secs(secs: f64) -> Timestamp {
    let whole = secs.floor();
    Timestamp {
        seconds: whole as i64,
        nanos: ((secs - whole) * 1e9) as i32,
    }
}

pub(crate) fn exemplar(e: &TraceExemplar) -> Exemplar {
    let hex = |bytes: &[u8]| crate::trace::hex(bytes).map(char::from).collect::<String>();
    let cx = e.trace_context();
    Exemplar {
        label: vec![
            LabelPair {
                name: Some("trace_id".into()),
                value: Some(hex(&cx.trace_id())),
            },
            LabelPair {
                name: Some("span_id".into()),
                value: Some(hex(&cx.span_id())),
            },
        ],
        value: Some(e.value()),
        timestamp: Some(timestamp(e.unix_ns())),
    }
}

/// Reads length-delimited families back (for tests and tools).
///
/// ```
/// use vitalsign::{Counter, EncodeOptions, Format, Registry};
/// use vitalsign::encoding::protobuf;
///
/// let registry = Registry::new();
/// registry.register("orders", "Orders placed.", Counter::new())?.inc_by(3);
/// let mut bytes = Vec::new();
/// registry.encode(&mut bytes, &EncodeOptions::new(Format::Protobuf));
/// let families = protobuf::decode(&bytes).unwrap();
/// assert_eq!(families[0].name.as_deref(), Some("orders_total"));
/// assert_eq!(families[0].metric[0].counter.as_ref().unwrap().value, Some(3.0));
/// # Ok::<(), vitalsign::Error>(())
/// ```
pub fn decode(mut bytes: &[u8]) -> Result<Vec<MetricFamily>, prost::DecodeError> {
    let mut families = Vec::new();
    while !bytes.is_empty() {
        families.push(MetricFamily::decode_length_delimited(&mut bytes)?);
    }
    Ok(families)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_strings_read_back_unescaped() {
        let pairs = label_pairs(&[r#"a="x\\y\"z",b="""#, "", r#"c="line\nnext""#]);
        let got: Vec<(String, String)> = pairs
            .into_iter()
            .map(|p| (p.name.unwrap(), p.value.unwrap()))
            .collect();
        assert_eq!(
            got,
            [
                ("a".into(), "x\\y\"z".into()),
                ("b".into(), String::new()),
                ("c".into(), "line\nnext".into()),
            ]
        );
    }
}
