//! Exposition: the Prometheus text format 0.0.4, OpenMetrics 1.0.0 and the Prometheus protobuf
//! format, and content negotiation between them.
//!
//! Metrics write their series through a [`MetricEncoder`], which knows the family's name, the
//! format and the constant labels, so one implementation serves every format. What a metric
//! hands over is typed: [`Labels`] (name and raw value pairs, `labels.rs`) and, for a
//! histogram, a [`HistogramView`] (numeric bounds, counts, exemplars, native buckets,
//! `view.rs`). Each format writes them its own way: the text formats (`text.rs`) escape and keep
//! rendered prefixes, the protobuf format (`protobuf.rs`) writes the pairs and numbers as they
//! are. The encoder (`encoder.rs`) also writes what surrounds the series: each family's
//! `# HELP`/`# TYPE`/`# UNIT` lines or protobuf frame, and the closing `# EOF`, so each format is
//! decided there and the registry only says which families to write.

mod encoder;
pub(crate) mod escape;
pub mod gather;
mod labels;
pub(crate) mod names;
mod negotiate;
pub(crate) mod number;
#[cfg(feature = "protobuf")]
pub mod protobuf;
mod text;
mod view;

pub use encoder::MetricEncoder;
pub(crate) use encoder::{FamilyHeader, end_exposition};
pub(crate) use labels::ConstLabels;
pub use labels::{Labels, VisitLabels};
pub use names::Escaping;
pub use negotiate::{accepts_encoding, negotiate, negotiate_escaping};
pub use view::{HistogramView, NativeSnapshot};

/// `v` as the canonical number every format writes in `le` labels (`1.0`, `0.25`, `1e+06`,
/// `+Inf`), for code that writes a histogram's bucket series elsewhere (remote write).
///
/// ```
/// use vitalsign::encoding::canonical_number;
///
/// assert_eq!(canonical_number(1.0), "1.0");
/// assert_eq!(canonical_number(0.25), "0.25");
/// assert_eq!(canonical_number(f64::INFINITY), "+Inf");
/// ```
pub fn canonical_number(v: f64) -> String {
    number::canonical_f64(v)
}

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
