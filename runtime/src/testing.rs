//! Assertions for a service's own tests, as Go's `testutil` gives its users: read one series'
//! value, a histogram's count, sum and buckets, or compare a whole family with the lines it
//! should write, without matching strings in a scrape by hand.
//!
//! ```
//! use vitalsign::{Buckets, Counter, Histogram, Registry, SparseFamily, testing};
//!
//! let registry = Registry::new();
//! let orders = registry.register(
//!     "orders",
//!     "Orders by customer.",
//!     SparseFamily::<Counter, 1>::new(["customer"], 10)?,
//! )?;
//! orders.get(["ada"]).inc_by(2);
//! orders.get(["bob"]).inc();
//! assert_eq!(testing::value(&registry, "orders_total", &[("customer", "ada")]), Some(2.0));
//! assert_eq!(testing::value(&registry, "orders_total", &[("customer", "eve")]), None);
//! assert_eq!(testing::sum(&registry, "orders_total"), 3.0);
//! testing::assert_family(&registry, "orders", r#"
//!     orders_total{customer="ada"} 2
//!     orders_total{customer="bob"} 1
//! "#);
//!
//! let latency = registry.register(
//!     "latency_seconds",
//!     "Latency.",
//!     Histogram::new(Buckets::new([0.1, 0.5])?),
//! )?;
//! latency.observe(0.25);
//! latency.observe(0.75);
//! let h = testing::histogram(&registry, "latency_seconds", &[]).unwrap();
//! assert_eq!((h.count, h.sum), (2, 1.0));
//! assert_eq!(h.buckets, [(0.1, 0), (0.5, 1), (f64::INFINITY, 2)]);
//! # Ok::<(), vitalsign::Error>(())
//! ```
//!
//! Each call renders the family (Prometheus text 0.0.4, legacy names) and reads it back; these
//! are for tests, not for a service's own logic.

use crate::encoding::Format;
use crate::registry::{EncodeOptions, Registry};

/// One sample line: its name, its labels in the order written, and its value.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Sample {
    /// The sample name (`orders_total`, `latency_seconds_bucket`).
    pub name: String,
    /// Label names and values.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: f64,
}

impl Sample {
    /// Whether its labels are exactly `labels`, in any order.
    pub fn has_labels(&self, labels: &[(&str, &str)]) -> bool {
        self.labels.len() == labels.len()
            && labels
                .iter()
                .all(|(k, v)| self.labels.iter().any(|(a, b)| a == k && b == v))
    }
}

/// A histogram series' count, sum and cumulative buckets (`(le, count)`, `+Inf` last).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct HistogramValues {
    /// Observations.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
    /// Upper bound and cumulative count of each bucket.
    pub buckets: Vec<(f64, u64)>,
}

/// Every sample line the family (or sample) called `name` writes, in order.
pub fn samples(registry: &Registry, name: &str) -> Vec<Sample> {
    let names = [name];
    let mut out = Vec::new();
    registry.encode(
        &mut out,
        &EncodeOptions::new(Format::Prometheus).names(Some(&names)),
    );
    String::from_utf8_lossy(&out)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(parse_line)
        .collect()
}

/// The value of the sample `name` whose labels are exactly `labels` (any order), if the
/// registry writes one: a counter is `x_total`, a gauge its name.
pub fn value(registry: &Registry, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples(registry, name)
        .into_iter()
        .find(|s| s.name == name && s.has_labels(labels))
        .map(|s| s.value)
}

/// The sum of every sample called `name` (every series of a family): `0.0` when there is none.
pub fn sum(registry: &Registry, name: &str) -> f64 {
    samples(registry, name)
        .iter()
        .filter(|s| s.name == name)
        .map(|s| s.value)
        .sum()
}

/// The count, sum and buckets of the series of histogram `name` whose labels (less `le`) are
/// exactly `labels`.
pub fn histogram(
    registry: &Registry,
    name: &str,
    labels: &[(&str, &str)],
) -> Option<HistogramValues> {
    let all = samples(registry, name);
    let of = |suffix: &str| {
        let sample = format!("{name}{suffix}");
        all.iter()
            .filter(move |s| s.name == sample)
            .collect::<Vec<_>>()
    };
    let count = of("_count").into_iter().find(|s| s.has_labels(labels))?;
    let sum = of("_sum").into_iter().find(|s| s.has_labels(labels))?;
    let buckets = of("_bucket")
        .into_iter()
        .filter_map(|s| {
            let mut rest = s.clone();
            let at = rest.labels.iter().position(|(k, _)| k == "le")?;
            let (_, le) = rest.labels.remove(at);
            rest.has_labels(labels)
                .then(|| Some((parse_f64(&le)?, s.value as u64)))
                .flatten()
        })
        .collect();
    Some(HistogramValues {
        count: count.value as u64,
        sum: sum.value,
        buckets,
    })
}

/// Fails the calling test unless the family `name` writes exactly the sample lines in
/// `expected` (one a line; blank lines and each line's indentation are ignored, HELP and TYPE
/// are not compared), saying which lines differ.
///
/// # Panics
///
/// When they differ, which is the point: it is a test assertion.
#[track_caller]
pub fn assert_family(registry: &Registry, name: &str, expected: &str) {
    let names = [name];
    let mut out = Vec::new();
    registry.encode(
        &mut out,
        &EncodeOptions::new(Format::Prometheus).names(Some(&names)),
    );
    let text = String::from_utf8_lossy(&out);
    let actual: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    let expected: Vec<&str> = expected
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if actual == expected {
        return;
    }
    let missing: Vec<&&str> = expected.iter().filter(|l| !actual.contains(l)).collect();
    let unexpected: Vec<&&str> = actual.iter().filter(|l| !expected.contains(l)).collect();
    panic!(
        "family `{name}` differs from what was expected\n  missing:    {missing:?}\n  \
         unexpected: {unexpected:?}\n  written:\n{}",
        actual.join("\n")
    );
}

/// `name{a="x",b="y"} 1.5` or `name 1.5`, as 0.0.4 writes it.
fn parse_line(line: &str) -> Option<Sample> {
    let (name, mut rest) = match line.find(['{', ' ']) {
        Some(i) => (&line[..i], &line[i..]),
        None => return None,
    };
    let mut labels = Vec::new();
    if let Some(inner) = rest.strip_prefix('{') {
        rest = inner;
        loop {
            if let Some(after) = rest.strip_prefix('}') {
                rest = after;
                break;
            }
            let (key, after) = rest.split_once("=\"")?;
            let mut value = String::new();
            let mut chars = after.char_indices();
            let end = loop {
                let (i, c) = chars.next()?;
                match c {
                    '"' => break i,
                    '\\' => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        other => value.push(other),
                    },
                    c => value.push(c),
                }
            };
            labels.push((key.trim_start_matches(',').to_owned(), value));
            rest = &after[end + 1..];
            rest = rest.strip_prefix(',').unwrap_or(rest);
        }
    }
    let value = parse_f64(rest.trim().split(' ').next()?)?;
    Some(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

fn parse_f64(s: &str) -> Option<f64> {
    match s {
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        s => s.parse().ok(),
    }
}

/// The output of `future` if it is ready at its first poll, else `None` (it is dropped): for
/// tests and benchmarks that call an `async fn` that awaits nothing (an instrumented one, say)
/// without a runtime. A future that waits on anything needs an executor instead.
///
/// ```
/// #[vitalsign::instrument_metrics(registry = REGISTRY)]
/// async fn reserve(n: u32) -> u32 {
///     n + 1
/// }
/// static REGISTRY: std::sync::LazyLock<vitalsign::Registry> =
///     std::sync::LazyLock::new(vitalsign::Registry::new);
///
/// assert_eq!(vitalsign::testing::now_or_never(reserve(1)), Some(2));
/// assert_eq!(vitalsign::testing::now_or_never(std::future::pending::<()>()), None);
/// ```
pub fn now_or_never<F: std::future::Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => Some(v),
        std::task::Poll::Pending => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_back_with_escapes() {
        let s = parse_line(r#"x_total{a="q\"uo\\te\n",b=""} 1e+06"#).unwrap();
        assert_eq!(s.name, "x_total");
        assert_eq!(
            s.labels,
            [
                ("a".to_owned(), "q\"uo\\te\n".to_owned()),
                ("b".to_owned(), String::new())
            ]
        );
        assert_eq!(s.value, 1e6);
        let bare = parse_line("up 1").unwrap();
        assert_eq!(
            (bare.name.as_str(), bare.labels.len(), bare.value),
            ("up", 0, 1.0)
        );
        assert_eq!(
            parse_line("h_bucket{le=\"+Inf\"} 3").unwrap().labels[0].1,
            "+Inf"
        );
        assert!(parse_line("garbage").is_none());
    }
}
