//! `Registry::gather` against the protobuf scrape of the same registry: for random registries
//! (sparse counters and gauges over arbitrary label values, classic histograms, classic and
//! native histograms, summaries, infos, a collector), every family, series, label, value, start
//! time and bucket that `gather()` returns is what the protobuf exposition carries, decoded by
//! prost from `metrics.proto`.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use vitalsign::encoding::protobuf::{self, MetricFamily};
use vitalsign::gather::{Family, Value};
use vitalsign::{
    Buckets, Collect, Collector, Descriptor, EncodeOptions, FloatCounter, FloatGauge, Format,
    Histogram, Info, MetricType, NativeBuckets, Registry, SparseFamily, Summary,
};

#[derive(Debug, Clone)]
enum Kind {
    Counter(Vec<(String, f64)>),
    Gauge(Vec<(String, f64)>),
    Classic(Vec<f64>),
    Native(Vec<f64>),
    Summary(Vec<f64>),
    Info(String),
}

fn label() -> impl Strategy<Value = String> + Clone {
    prop::collection::vec(any::<char>(), 0..8).prop_map(String::from_iter)
}

fn kind() -> impl Strategy<Value = Kind> {
    let observations = || prop::collection::vec(-1e4..1e4f64, 0..40);
    prop_oneof![
        prop::collection::vec((label(), 0.0..1e9f64), 1..5).prop_map(Kind::Counter),
        prop::collection::vec((label(), any::<f64>()), 1..5).prop_map(Kind::Gauge),
        observations().prop_map(Kind::Classic),
        observations().prop_map(Kind::Native),
        observations().prop_map(Kind::Summary),
        label().prop_map(Kind::Info),
    ]
}

/// A collector of one gauge family with two series.
#[derive(Debug)]
struct Pool;

impl Collector for Pool {
    fn describe(&self) -> Vec<(MetricType, Descriptor)> {
        vec![(
            MetricType::Gauge,
            Descriptor::new("pool_connections", "Connections."),
        )]
    }

    fn collect(&self, c: &mut Collect<'_>) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        c.gauge("pool_connections", &[("state", "idle")], 3)?;
        c.gauge("pool_connections", &[("state", "busy")], 5)?;
        Ok(())
    }
}

fn build(kinds: &[Kind]) -> Registry {
    let registry = Registry::new();
    for (i, kind) in kinds.iter().enumerate() {
        let name = format!("g{i}");
        match kind {
            Kind::Counter(values) => {
                let f = SparseFamily::<FloatCounter, 1>::new(["l"], 100).expect("valid");
                let f = registry.register(name, "A counter.", f).expect("new");
                values.iter().for_each(|(l, v)| f.get([l]).inc_by(*v));
            }
            Kind::Gauge(values) => {
                let f = SparseFamily::<FloatGauge, 1>::new(["l"], 100).expect("valid");
                let f = registry.register(name, "A gauge.", f).expect("new");
                values.iter().for_each(|(l, v)| f.get([l]).set(*v));
            }
            Kind::Classic(obs) => {
                let buckets = Buckets::new([0.1, 1.0, 100.0]).expect("valid");
                let h = registry
                    .register(
                        format!("{name}_seconds"),
                        "Durations.",
                        Histogram::new(buckets),
                    )
                    .expect("new");
                obs.iter().for_each(|&v| h.observe(v));
            }
            Kind::Native(obs) => {
                let h = Histogram::with_native(Buckets::latency(), NativeBuckets::default());
                let h = registry.register(name, "Native.", h).expect("new");
                obs.iter().for_each(|&v| h.observe(v));
            }
            Kind::Summary(obs) => {
                let s = registry
                    .register(name, "A summary.", Summary::new())
                    .expect("new");
                obs.iter().for_each(|&v| s.observe(v));
            }
            Kind::Info(version) => {
                let info = Info::new([("version", version.as_str())]).expect("valid");
                registry.register(name, "Build.", info).expect("new");
            }
        }
    }
    registry.register_collector(Pool).expect("new");
    registry
}

/// The protobuf family name of a gathered family.
fn wire_name(f: &Family) -> String {
    match f.kind {
        MetricType::Counter => format!("{}_total", f.name),
        MetricType::Info => format!("{}_info", f.name),
        _ => f.name.clone(),
    }
}

fn same_f64(a: f64, b: Option<f64>) -> bool {
    b.is_some_and(|b| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()))
}

/// Seconds since the epoch of a protobuf timestamp.
fn seconds(t: &Option<protobuf::Timestamp>) -> Option<f64> {
    t.as_ref()
        .map(|t| t.seconds as f64 + f64::from(t.nanos) * 1e-9)
}

/// Native buckets from spans and deltas, as `(key, count)`.
fn native_buckets(spans: &[protobuf::BucketSpan], deltas: &[i64]) -> Vec<(i32, u64)> {
    let mut out = Vec::new();
    let (mut key, mut count, mut d) = (0i32, 0i64, deltas.iter());
    for span in spans {
        key += span.offset.unwrap_or(0);
        for _ in 0..span.length.unwrap_or(0) {
            count += d.next().copied().unwrap_or(0);
            if count != 0 {
                out.push((key, count as u64));
            }
            key += 1;
        }
    }
    out
}

/// Whether `gathered` is, number for number, what `wire` carries; the first difference.
fn compare(gathered: &[Family], wire: &[MetricFamily]) -> Result<(), String> {
    if gathered.len() != wire.len() {
        return Err(format!(
            "{} families, {} on the wire",
            gathered.len(),
            wire.len()
        ));
    }
    for (g, w) in gathered.iter().zip(wire) {
        let name = wire_name(g);
        if w.name.as_deref() != Some(&name) || w.help.as_deref().unwrap_or("") != g.help {
            return Err(format!("family {name} is {:?}", w.name));
        }
        if g.series.len() != w.metric.len() {
            return Err(format!(
                "{name}: {} series, {}",
                g.series.len(),
                w.metric.len()
            ));
        }
        for (s, m) in g.series.iter().zip(&w.metric) {
            let mut labels: Vec<(String, String)> = m
                .label
                .iter()
                .map(|l| {
                    (
                        l.name.clone().unwrap_or_default(),
                        l.value.clone().unwrap_or_default(),
                    )
                })
                .collect();
            let ok = match &s.value {
                Value::Counter { value, .. } => m.counter.as_ref().is_some_and(|c| {
                    same_f64(*value, c.value)
                        && same_time(seconds(&c.created_timestamp), s.start_time)
                }),
                Value::Gauge(v) => m.gauge.as_ref().is_some_and(|x| same_f64(*v, x.value)),
                Value::Info => m.gauge.as_ref().is_some_and(|x| x.value == Some(1.0)),
                Value::State { state, on } => {
                    let wire_state = labels.pop();
                    wire_state == Some((g.name.clone(), state.clone()))
                        && m.gauge
                            .as_ref()
                            .is_some_and(|x| x.value == Some(f64::from(u8::from(*on))))
                }
                Value::Summary { count, sum } => m.summary.as_ref().is_some_and(|x| {
                    x.sample_count == Some(*count)
                        && same_f64(*sum, x.sample_sum)
                        && same_time(seconds(&x.created_timestamp), s.start_time)
                }),
                Value::Histogram(h) => m.histogram.as_ref().is_some_and(|x| {
                    let classic: Vec<(f64, u64)> = x
                        .bucket
                        .iter()
                        .map(|b| {
                            (
                                b.upper_bound.unwrap_or(0.0),
                                b.cumulative_count.unwrap_or(0),
                            )
                        })
                        .collect();
                    let finite: Vec<(f64, u64)> = h
                        .buckets
                        .iter()
                        .copied()
                        .filter(|b| b.0.is_finite())
                        .collect();
                    let native = h.native.as_ref().map(|n| {
                        (
                            n.schema,
                            n.zero_threshold,
                            n.zero,
                            n.positive.clone(),
                            n.negative.clone(),
                        )
                    });
                    let wire_native = x.schema.map(|schema| {
                        (
                            schema,
                            x.zero_threshold.unwrap_or(0.0),
                            x.zero_count.unwrap_or(0),
                            native_buckets(&x.positive_span, &x.positive_delta),
                            native_buckets(&x.negative_span, &x.negative_delta),
                        )
                    });
                    x.sample_count == Some(h.count)
                        && same_f64(h.sum, x.sample_sum)
                        && classic == finite
                        && h.buckets.last() == Some(&(f64::INFINITY, h.count))
                        && native == wire_native
                        && same_time(seconds(&x.created_timestamp), s.start_time)
                }),
                other => return Err(format!("{name}: unexpected {other:?}")),
            };
            if !ok || labels != s.labels {
                return Err(format!("{name}: {s:?} against {m:?}"));
            }
        }
    }
    Ok(())
}

/// Whether two start times are one: protobuf carries whole seconds and nanoseconds, which do
/// not always add back to the same `f64` (a difference under a microsecond).
fn same_time(wire: Option<f64>, gathered: Option<f64>) -> bool {
    match (wire, gathered) {
        (Some(a), Some(b)) => (a - b).abs() < 1e-6,
        (a, b) => a == b,
    }
}

#[test]
fn gather_returns_what_the_protobuf_scrape_carries() {
    let cases = 200;
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let strategy = prop::collection::vec(kind(), 1..6);
    let (mut checked_series, mut checked_families) = (0usize, 0usize);
    for _ in 0..cases {
        let kinds = strategy.new_tree(&mut runner).expect("a case").current();
        let registry = build(&kinds);
        let gathered = registry.gather();
        let mut bytes = Vec::new();
        registry.encode(&mut bytes, &EncodeOptions::new(Format::Protobuf));
        let wire = protobuf::decode(&bytes).expect("the scrape decodes");
        if let Err(why) = compare(&gathered, &wire) {
            panic!("{kinds:?}: {why}");
        }
        checked_families += gathered.len();
        checked_series += gathered.iter().map(|f| f.series.len()).sum::<usize>();
    }
    // The seed fixes the cases: every family and series of them was compared.
    assert_eq!((checked_families, checked_series), (1234, 1801));
}

#[derive(Clone, Copy, Debug, PartialEq, vitalsign::LabelValue)]
enum Mode {
    Primary,
    Standby,
}

/// One of each kind, read exactly: labels (constant ones first), values, the state set's
/// states, the collector's family, and vitalsign's own counts of the sparse family.
#[test]
fn gather_reads_each_kind_exactly() {
    use vitalsign::gather::{Series, Value};
    use vitalsign::{Counter, StateSet};
    let registry = Registry::new();
    registry
        .register_shared(
            Descriptor::new("jobs", "Jobs run.").const_label("queue", "mail"),
            std::sync::Arc::new(Counter::new()),
        )
        .expect("new");
    let mode = registry
        .register("mode", "Replica mode.", StateSet::new(Mode::Primary))
        .expect("new");
    mode.set(Mode::Standby);
    let tenants = registry
        .register(
            "logins",
            "Logins by tenant.",
            SparseFamily::<Counter, 1>::new(["tenant"], 10).expect("valid"),
        )
        .expect("new");
    tenants.get(["acme"]).inc_by(2);
    registry.register_collector(Pool).expect("new");

    let families = registry.gather();
    let names: Vec<(&str, MetricType)> = families.iter().map(|f| (&*f.name, f.kind)).collect();
    assert_eq!(
        names,
        [
            ("jobs", MetricType::Counter),
            ("mode", MetricType::StateSet),
            ("logins", MetricType::Counter),
            ("pool_connections", MetricType::Gauge),
            ("vitalsign_series_overflow", MetricType::Counter),
            ("vitalsign_series_removed", MetricType::Counter),
            ("vitalsign_collect_errors", MetricType::Counter),
        ]
    );
    let pairs = |l: &[(&str, &str)]| -> Vec<(String, String)> {
        l.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let values = |f: &Family| -> Vec<(Vec<(String, String)>, Value)> {
        f.series
            .iter()
            .map(|s: &Series| (s.labels.clone(), s.value.clone()))
            .collect()
    };
    let counter = |value: f64| Value::Counter {
        value,
        exemplar: None,
    };
    assert_eq!(
        values(&families[0]),
        [(pairs(&[("queue", "mail")]), counter(0.0))]
    );
    assert!(families[0].series[0].start_time.is_some_and(|t| t > 1.7e9));
    let state = |state: &str, on| Value::State {
        state: state.to_owned(),
        on,
    };
    assert_eq!(
        values(&families[1]),
        [
            (vec![], state("primary", false)),
            (vec![], state("standby", true))
        ]
    );
    assert_eq!(
        values(&families[2]),
        [(pairs(&[("tenant", "acme")]), counter(2.0))]
    );
    assert_eq!(
        values(&families[3]),
        [
            (pairs(&[("state", "idle")]), Value::Gauge(3.0)),
            (pairs(&[("state", "busy")]), Value::Gauge(5.0)),
        ]
    );
    assert_eq!(
        values(&families[4]),
        [(pairs(&[("metric", "logins")]), counter(0.0))]
    );
    assert_eq!(
        families[4].help,
        "Lookups that found a sparse family full and went to its overflow series."
    );
    // A collector's families can be left out of a scrape: counted, at zero.
    assert_eq!(
        values(&families[6]),
        [(pairs(&[("metric", "pool_connections")]), counter(0.0))]
    );
}
