//! Prometheus remote write 1.0: a registry's samples as a snappy-compressed `WriteRequest`,
//! posted to a receiver (a Prometheus with `--web.enable-remote-write-receiver`, Mimir,
//! Thanos, VictoriaMetrics), for jobs and hosts no scraper reaches.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use vitalsign::Registry;
use vitalsign::encoding::{NativeSnapshot, canonical_number};
use vitalsign::gather::{Family, Value};

use crate::error::{PushError, PushErrorKind};
use crate::periodic::PeriodicPush;
use crate::transport::{Body, Transport, transport_options};

/// Where to remote-write: a receiver's URL and the labels every series gets.
///
/// ```no_run
/// use vitalsign::{Counter, Registry};
/// use vitalsign_push::RemoteWrite;
///
/// let registry = Registry::new();
/// let rows = registry.register("rows_loaded", "Rows loaded.", Counter::new())?;
/// rows.inc_by(40_000);
/// RemoteWrite::new("http://127.0.0.1:9090/api/v1/write")?
///     .label("job", "nightly-load")?
///     .push(&registry)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Each push sends every series the registry writes (as [`Registry::gather`] reads them), with
/// one sample stamped now: counters as `<name>_total`, infos as `<name>_info`, a state set's
/// states under the label named after it, summaries as `_count` and `_sum`, classic histograms
/// as `_bucket` (with `le` as the text formats write it), `_count` and `_sum`, and, with
/// [`native_histograms`](Self::native_histograms), native buckets as a native histogram under
/// the family's name.
#[derive(Clone, Debug)]
pub struct RemoteWrite {
    transport: Transport,
    path: String,
    /// Added to every series that does not carry the label itself (a push has no scrape to add
    /// `job` and `instance`).
    labels: Vec<(String, String)>,
    /// Whether native buckets are sent (as remote write's native histograms).
    native: bool,
}

impl RemoteWrite {
    /// A client for the receiver at `url` (`http://host:port/path`, the path as the receiver
    /// serves it: Prometheus' is `/api/v1/write`). Only plain `http` is spoken.
    pub fn new(url: &str) -> Result<Self, PushError> {
        let mut transport = Transport::parse(url, "remote write", "receiver")?;
        // The spec's: retry 5xx (and 429) with a backoff, never another 4xx.
        transport.retries = (3, Duration::from_millis(100));
        let path = match transport.base_path.as_str() {
            "" => "/".to_owned(),
            p => p.to_owned(),
        };
        Ok(Self {
            transport,
            path,
            labels: Vec::new(),
            native: false,
        })
    }

    /// Also sends each histogram's native buckets, as a native histogram under the family's own
    /// name (beside its classic series), for a receiver that takes them: a Prometheus started
    /// with `--enable-feature=native-histograms` (a Prometheus without it refuses the whole
    /// request). Off by default.
    #[must_use]
    pub fn native_histograms(mut self, on: bool) -> Self {
        self.native = on;
        self
    }

    /// Adds `name="value"` to every series that does not carry `name` itself (`job`, `instance`).
    pub fn label(mut self, name: &str, value: &str) -> Result<Self, PushError> {
        if !vitalsign::is_valid_label_name(name) || name.starts_with("__") {
            return Err(PushError::new(
                PushErrorKind::InvalidHeader,
                "invalid remote write label".into(),
                format!("{name:?} is not a label name a series may carry"),
            ));
        }
        self.labels.push((name.to_owned(), value.to_owned()));
        Ok(self)
    }

    transport_options!();

    /// How often a push that may succeed later (no connection, `429`, `5xx`) is tried again, and
    /// the wait before the first retry, which doubles (at most 5 s) unless the receiver's
    /// `Retry-After` says otherwise (at most 30 s). Default: 3 retries, 100 ms.
    #[must_use]
    pub fn retries(mut self, retries: u32, first_wait: Duration) -> Self {
        self.transport.retries = (retries, first_wait);
        self
    }

    /// Sends the registry's samples, stamped now.
    pub fn push(&self, registry: &Registry) -> Result<(), PushError> {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let request = write_request(&registry.gather(), &self.labels, self.native, now_ms);
        let compressed = snap::raw::Encoder::new()
            .compress_vec(&request)
            .map_err(|e| {
                PushError::new(
                    PushErrorKind::Send,
                    format!("POST {} failed", self.path),
                    format!("cannot compress: {e}"),
                )
            })?;
        let body = Body {
            bytes: &compressed,
            content_type: "application/x-protobuf",
            encoding: Some("snappy"),
            headers: &[
                ("X-Prometheus-Remote-Write-Version", "0.1.0"),
                (
                    "User-Agent",
                    concat!("vitalsign-push/", env!("CARGO_PKG_VERSION")),
                ),
            ],
        };
        self.transport.send("POST", &self.path, Some(body))
    }

    /// Pushes `registry` now and every `interval` from a thread of its own, and a last time
    /// when stopped or dropped, as [`Pushgateway::push_every`](crate::Pushgateway::push_every)
    /// does.
    pub fn push_every<R>(&self, registry: R, interval: Duration) -> Result<PeriodicPush, PushError>
    where
        R: std::ops::Deref<Target = Registry> + Send + 'static,
    {
        let client = self.clone();
        PeriodicPush::start(interval, move || client.push(&registry))
    }
}

/// A series' `Label` fields: `__name__`, its own labels, `extra`, then each of `external` it does
/// not carry, sorted by name as receivers expect.
fn labels_of(
    name: &str,
    own: &[(String, String)],
    extra: Option<(&str, &str)>,
    external: &[(String, String)],
) -> Vec<u8> {
    let mut all: Vec<(&str, &str)> = vec![("__name__", name)];
    all.extend(own.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    all.extend(extra);
    for (k, v) in external {
        if !all.iter().any(|(name, _)| *name == k.as_str()) {
            all.push((k, v));
        }
    }
    all.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut out = Vec::new();
    for (k, v) in all {
        let mut label = Vec::new();
        string(&mut label, 1, k);
        string(&mut label, 2, v);
        message(&mut out, 1, &label);
    }
    out
}

/// The `WriteRequest` of `families`, every sample at `timestamp_ms`; native buckets as native
/// histograms if `native`.
fn write_request(
    families: &[Family],
    labels: &[(String, String)],
    native: bool,
    timestamp_ms: i64,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut series = |name: &str, own: &[(String, String)], extra: Option<(&str, &str)>, v: f64| {
        let mut ts = labels_of(name, own, extra, labels);
        let mut sample = Vec::new();
        double(&mut sample, 1, v);
        key(&mut sample, 2, 0);
        varint(&mut sample, timestamp_ms as u64);
        message(&mut ts, 2, &sample);
        message(&mut out, 1, &ts);
    };
    let mut natives = Vec::new();
    for f in families {
        let name = f.name.as_str();
        for s in &f.series {
            let own = &s.labels;
            match &s.value {
                Value::Counter { value, .. } => series(&format!("{name}_total"), own, None, *value),
                Value::Gauge(v) => series(name, own, None, *v),
                Value::Info => series(&format!("{name}_info"), own, None, 1.0),
                Value::State { state, on } => {
                    series(name, own, Some((name, state)), f64::from(u8::from(*on)));
                }
                Value::Summary { count, sum } => {
                    series(&format!("{name}_count"), own, None, *count as f64);
                    series(&format!("{name}_sum"), own, None, *sum);
                }
                Value::Histogram(h) => {
                    let bucket = format!("{name}_bucket");
                    // A histogram with native buckets only has just `+Inf`: no classic series.
                    if h.buckets.len() > 1 || h.native.is_none() {
                        for &(le, cumulative) in &h.buckets {
                            let le = canonical_number(le);
                            series(&bucket, own, Some(("le", &le)), cumulative as f64);
                        }
                    }
                    series(&format!("{name}_count"), own, None, h.count as f64);
                    series(&format!("{name}_sum"), own, None, h.sum);
                    if let Some(n) = h.native.as_ref().filter(|_| native) {
                        let mut ts = labels_of(name, own, None, labels);
                        message(
                            &mut ts,
                            4,
                            &native_histogram(h.count, h.sum, n, timestamp_ms),
                        );
                        natives.push(ts);
                    }
                }
                _ => {}
            }
        }
    }
    for ts in natives {
        message(&mut out, 1, &ts);
    }
    out
}

/// A `prompb.Histogram`: count (1), sum (3), schema (4), zero threshold (5) and count (6),
/// negative spans and deltas (8, 9), positive ones (11, 12), timestamp (15).
fn native_histogram(count: u64, sum: f64, n: &NativeSnapshot, timestamp_ms: i64) -> Vec<u8> {
    let mut h = Vec::new();
    key(&mut h, 1, 0);
    varint(&mut h, count);
    double(&mut h, 3, sum);
    key(&mut h, 4, 0);
    varint(&mut h, zigzag(i64::from(n.schema)));
    double(&mut h, 5, n.zero_threshold);
    key(&mut h, 6, 0);
    varint(&mut h, n.zero);
    buckets(&mut h, 8, 9, &n.negative);
    buckets(&mut h, 11, 12, &n.positive);
    key(&mut h, 15, 0);
    varint(&mut h, timestamp_ms as u64);
    h
}

/// Sorted `(key, count)` buckets as spans (`offset` from the end of the last span, `length`)
/// and the deltas of their counts, each from the one before.
fn buckets(out: &mut Vec<u8>, spans_field: u32, deltas_field: u32, buckets: &[(i32, u64)]) {
    let mut spans: Vec<(i32, u32)> = Vec::new();
    let mut next = 0i32;
    for (i, &(k, _)) in buckets.iter().enumerate() {
        match spans.last_mut() {
            Some((_, len)) if i > 0 && k == next => *len += 1,
            _ => spans.push((k - next, 1)),
        }
        next = k + 1;
    }
    for (offset, length) in spans {
        let mut span = Vec::new();
        key(&mut span, 1, 0);
        varint(&mut span, zigzag(i64::from(offset)));
        key(&mut span, 2, 0);
        varint(&mut span, u64::from(length));
        message(out, spans_field, &span);
    }
    let mut deltas = Vec::new();
    let mut last = 0i64;
    for &(_, count) in buckets {
        let count = i64::try_from(count).unwrap_or(i64::MAX);
        varint(&mut deltas, zigzag(count - last));
        last = count;
    }
    if !deltas.is_empty() {
        message(out, deltas_field, &deltas);
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

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
    message(out, field, s.as_bytes());
}

fn double(out: &mut Vec<u8>, field: u32, v: f64) {
    key(out, field, 1);
    out.extend_from_slice(&v.to_le_bytes());
}

/// A length-delimited field.
fn message(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    key(out, field, 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::write_request;
    use vitalsign::{Counter, Registry};

    /// The bytes of one counter series, field by field (`prompb.WriteRequest`).
    #[test]
    fn a_counter_is_one_series_with_sorted_labels_and_one_sample() {
        let registry = Registry::new();
        let c = registry.register("jobs", "Jobs.", Counter::new()).unwrap();
        c.inc_by(3);
        let labels = [("job".to_owned(), "load".to_owned())];
        let bytes = write_request(&registry.gather(), &labels, false, 1_000);
        let label = |k: &str, v: &str| {
            let mut l = vec![0x0a, k.len() as u8];
            l.extend(k.as_bytes());
            l.extend([0x12, v.len() as u8]);
            l.extend(v.as_bytes());
            let mut m = vec![0x0a, l.len() as u8];
            m.extend(l);
            m
        };
        let mut ts = label("__name__", "jobs_total");
        ts.extend(label("job", "load"));
        // Sample: value 3.0 (field 1, fixed64), timestamp 1000 ms (field 2, varint).
        let mut sample = vec![0x09];
        sample.extend(3.0f64.to_le_bytes());
        sample.extend([0x10, 0xe8, 0x07]);
        ts.extend([0x12, sample.len() as u8]);
        ts.extend(sample);
        let mut want = vec![0x0a, ts.len() as u8];
        want.extend(ts);
        assert_eq!(bytes, want);
    }

    /// Buckets 1, 2, 3 and 7: one span from 1 of three, one of one after a gap of three;
    /// deltas from the bucket before.
    #[test]
    fn native_buckets_are_spans_and_deltas() {
        let mut out = Vec::new();
        super::buckets(&mut out, 11, 12, &[(1, 4), (2, 6), (3, 1), (7, 1)]);
        let want = [
            // span { offset: 1, length: 3 }, span { offset: 3, length: 1 }
            0x5a, 0x04, 0x08, 0x02, 0x10, 0x03, 0x5a, 0x04, 0x08, 0x06, 0x10, 0x01,
            // deltas 4, 2, -5, 0, zigzagged and packed
            0x62, 0x04, 0x08, 0x04, 0x09, 0x00,
        ];
        assert_eq!(out, want);
        assert_eq!(
            [super::zigzag(-1), super::zigzag(1), super::zigzag(-5)],
            [1, 2, 9]
        );
    }
}
