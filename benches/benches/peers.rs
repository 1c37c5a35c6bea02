//! vitalsign against the crates a user would otherwise pick, on identical workloads, in one run:
//! `prometheus-client`, `prometheus` (tikv), `metrics` with `metrics-exporter-prometheus`,
//! `measured`, and `autometrics` for the function rows. Each group is one row of BENCHMARKS.md;
//! each function in it one crate. Labelled rows look the series up per call, as applications do.

use std::cell::Cell;
use std::hint::black_box;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use divan::Bencher;
use vitalsign::testing::now_or_never;
use vitalsign_bench::*;

fn main() {
    // The global recorder `metrics` macros record into (the encode rows use local ones).
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets(LATENCY)
        .expect("buckets")
        .build_recorder();
    metrics::set_global_recorder(recorder).expect("one recorder");
    divan::main();
}

thread_local! {
    static TICK: Cell<usize> = const { Cell::new(0) };
}

fn tick() -> usize {
    TICK.with(|t| {
        let v = t.get();
        t.set(v.wrapping_add(1));
        v
    })
}

fn value() -> f64 {
    VALUES[tick() % VALUES.len()]
}

/// The next of the 18 combinations, as indices.
fn combo() -> (usize, usize) {
    let t = tick();
    (t % 6, (t / 6) % 3)
}

mod counter_unlabelled {
    use super::*;

    #[divan::bench]
    fn vitalsign(b: Bencher<'_, '_>) {
        let c = vitalsign::Counter::new();
        b.bench_local(|| c.inc());
    }

    #[divan::bench]
    fn prometheus_client(b: Bencher<'_, '_>) {
        let c = prometheus_client::metrics::counter::Counter::<u64>::default();
        b.bench_local(|| c.inc());
    }

    #[divan::bench]
    fn prometheus(b: Bencher<'_, '_>) {
        let c = prometheus::IntCounter::new("c", "c").unwrap();
        b.bench_local(|| c.inc());
    }

    #[divan::bench]
    fn metrics(b: Bencher<'_, '_>) {
        b.bench_local(|| metrics::counter!("counter_unlabelled").increment(1));
    }

    #[divan::bench]
    fn measured(b: Bencher<'_, '_>) {
        let c = measured::Counter::new();
        b.bench_local(|| c.inc());
    }

    #[divan::bench]
    fn fastmetrics(b: Bencher<'_, '_>) {
        let c = fastmetrics::metrics::counter::Counter::<u64>::default();
        b.bench_local(|| c.inc());
    }
}

mod counter_labelled {
    use super::*;

    #[divan::bench]
    fn vitalsign(b: Bencher<'_, '_>) {
        let family = vitalsign::Family::<VsLabels, vitalsign::Counter>::new();
        b.with_inputs(combo).bench_local_values(|(m, o)| {
            family
                .get(&VsLabels {
                    method: METHODS[m],
                    outcome: OUTCOMES[o],
                })
                .inc();
        });
    }

    #[divan::bench]
    fn prometheus_client(b: Bencher<'_, '_>) {
        let family = prometheus_client::metrics::family::Family::<
            PcLabels,
            prometheus_client::metrics::counter::Counter,
        >::default();
        b.with_inputs(combo).bench_local_values(|(m, o)| {
            family
                .get_or_create(&PcLabels {
                    method: METHODS[m],
                    outcome: OUTCOMES[o],
                })
                .inc();
        });
    }

    #[divan::bench]
    fn prometheus(b: Bencher<'_, '_>) {
        let vec =
            prometheus::IntCounterVec::new(prometheus::Opts::new("c", "c"), &["method", "outcome"])
                .unwrap();
        b.with_inputs(combo).bench_local_values(|(m, o)| {
            vec.with_label_values(&[METHOD_STR[m], OUTCOME_STR[o]])
                .inc();
        });
    }

    #[divan::bench]
    fn metrics(b: Bencher<'_, '_>) {
        b.with_inputs(combo).bench_local_values(|(m, o)| {
            metrics::counter!("counter_labelled", "method" => METHOD_STR[m], "outcome" => OUTCOME_STR[o]).increment(1);
        });
    }

    #[divan::bench]
    fn measured(b: Bencher<'_, '_>) {
        let vec = measured::CounterVec::<MeasuredSet>::dense();
        b.with_inputs(combo).bench_local_values(|(m, o)| {
            vec.inc(MeasuredLabels {
                method: METHODS[m],
                outcome: OUTCOMES[o],
            });
        });
    }
}

/// The exemplar rows: one histogram observed with no trace context, inside a sampled one (the
/// observation also writes its bucket's exemplar), inside an unsampled one; the check alone that
/// an observation makes for a context; and prometheus-client's histogram with exemplars given
/// one per observation with a timestamp, as vitalsign writes one (its label set made outside
/// the timing).
mod exemplar_observe {
    use super::*;
    use vitalsign::trace::TraceContext;

    fn cx(sampled: bool) -> TraceContext {
        TraceContext::from_traceparent(&format!(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0{}",
            u8::from(sampled)
        ))
        .expect("valid")
    }

    // A fixed sample size: divan would time one observation per sample, which its 20 ns timer
    // rounds (this row read 30-40 ns against 7 for the same observation in the histogram row).
    #[divan::bench(sample_size = 256)]
    fn no_context(b: Bencher<'_, '_>) {
        let h = vs_histogram();
        b.with_inputs(value).bench_local_values(|v| h.observe(v));
    }

    // A fixed sample size: divan would time one observation per sample after the first.
    #[divan::bench(sample_size = 256)]
    fn sampled_context(b: Bencher<'_, '_>) {
        let h = vs_histogram();
        // The series' exemplar cells are made by its first traced observation, not timed here.
        cx(true).scope(|| h.observe(0.0));
        cx(true).scope(|| b.with_inputs(value).bench_local_values(|v| h.observe(v)));
    }

    // A fixed sample size: as above.
    #[divan::bench(sample_size = 256)]
    fn unsampled_context(b: Bencher<'_, '_>) {
        let h = vs_histogram();
        cx(false).scope(|| b.with_inputs(value).bench_local_values(|v| h.observe(v)));
    }

    #[divan::bench]
    fn context_check(b: Bencher<'_, '_>) {
        b.bench_local(vitalsign::trace::current);
    }

    // A fixed sample size: divan would time one observation per sample after the first.
    #[divan::bench(sample_size = 256)]
    fn prometheus_client(b: Bencher<'_, '_>) {
        let h = prometheus_client::metrics::exemplar::HistogramWithExemplars::<
            Vec<(String, String)>,
        >::new(LATENCY.iter().copied());
        b.with_inputs(|| {
            let labels = vec![(
                "trace_id".to_owned(),
                "4bf92f3577b34da6a3ce929d0e0e4736".to_owned(),
            )];
            (value(), labels)
        })
        .bench_local_values(|(v, labels)| {
            h.observe(v, Some(labels), Some(std::time::SystemTime::now()))
        });
    }
}

/// The native rows: one histogram of 11 classic buckets observed as the histogram row does,
/// the same with native buckets too (factor 1.1, schema 3: what instrumented functions and the
/// HTTP layer keep), and native buckets alone; prometheus-client 0.25's the same two ways.
mod native_observe {
    use super::*;

    #[divan::bench]
    fn classic(b: Bencher<'_, '_>) {
        let h = vs_histogram();
        h.observe(0.1);
        b.with_inputs(value).bench_local_values(|v| h.observe(v));
    }

    #[divan::bench]
    fn classic_and_native(b: Bencher<'_, '_>) {
        let h = vitalsign::Histogram::with_native(
            vitalsign::Buckets::latency(),
            vitalsign::NativeBuckets::default(),
        );
        // Its bucket table is made by the first observation, not timed here.
        h.observe(0.1);
        b.with_inputs(value).bench_local_values(|v| h.observe(v));
    }

    #[divan::bench]
    fn native_only(b: Bencher<'_, '_>) {
        let h = vitalsign::Histogram::native(vitalsign::NativeBuckets::default());
        h.observe(0.1);
        b.with_inputs(value).bench_local_values(|v| h.observe(v));
    }

    #[divan::bench]
    fn prometheus_client_classic_and_native(b: Bencher<'_, '_>) {
        use prometheus_client::metrics::histogram::{Histogram, NativeHistogramConfig};
        let h = Histogram::new_classic_and_native(
            LATENCY.iter().copied(),
            NativeHistogramConfig::new(1.1),
        );
        h.observe(0.1);
        b.with_inputs(value).bench_local_values(|v| h.observe(v));
    }

    #[divan::bench]
    fn prometheus_client_native_only(b: Bencher<'_, '_>) {
        use prometheus_client::metrics::histogram::{Histogram, NativeHistogramConfig};
        let h = Histogram::new_native(NativeHistogramConfig::new(1.1));
        h.observe(0.1);
        b.with_inputs(value).bench_local_values(|v| h.observe(v));
    }
}

/// The `metrics` facade: a counter increment through a handle held by the caller, and through
/// `counter!` with one label (the recorder looks the handle up at every call), with vitalsign's
/// recorder and with `metrics-exporter-prometheus`'.
mod facade {
    use super::*;

    fn recorder() -> vitalsign_metrics::VitalsignRecorder {
        let registry: &'static vitalsign::Registry =
            Box::leak(Box::new(vitalsign::Registry::new()));
        vitalsign_metrics::VitalsignRecorder::builder()
            .registry(registry)
            .build()
    }

    #[divan::bench]
    fn vitalsign_handle(b: Bencher<'_, '_>) {
        let recorder = recorder();
        let c = metrics::with_local_recorder(&recorder, || metrics::counter!("facade_handle"));
        b.bench_local(|| c.increment(1));
    }

    #[divan::bench]
    fn exporter_handle(b: Bencher<'_, '_>) {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let c = metrics::with_local_recorder(&recorder, || metrics::counter!("facade_handle"));
        b.bench_local(|| c.increment(1));
    }

    #[divan::bench]
    fn vitalsign_macro(b: Bencher<'_, '_>) {
        let recorder = recorder();
        metrics::with_local_recorder(&recorder, || {
            // The first call registers the series: not timed.
            metrics::counter!("facade_macro", "route" => "/a").increment(1);
            b.bench_local(|| metrics::counter!("facade_macro", "route" => "/a").increment(1));
        });
    }

    #[divan::bench]
    fn exporter_macro(b: Bencher<'_, '_>) {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        metrics::with_local_recorder(&recorder, || {
            // The first call registers the series: not timed.
            metrics::counter!("facade_macro", "route" => "/a").increment(1);
            b.bench_local(|| metrics::counter!("facade_macro", "route" => "/a").increment(1));
        });
    }
}

/// Each histogram is observed once before it is timed, in every crate: the first observation
/// makes state a series keeps per thread or per series (vitalsign: this thread's cell), and
/// divan sizes its samples by the first one it times. Without it divan timed vitalsign in
/// samples of 100 observations, whose per-sample overhead showed as 30-40 ns an observation.
mod histogram_observe {
    use super::*;

    #[divan::bench]
    fn vitalsign(b: Bencher<'_, '_>) {
        let h = vs_histogram();
        h.observe(value());
        b.with_inputs(value).bench_local_values(|v| h.observe(v));
    }

    #[divan::bench]
    fn prometheus_client(b: Bencher<'_, '_>) {
        let h = pc_histogram();
        h.observe(value());
        b.with_inputs(value).bench_local_values(|v| h.observe(v));
    }

    #[divan::bench]
    fn prometheus(b: Bencher<'_, '_>) {
        let h = prom_histogram();
        h.observe(value());
        b.with_inputs(value).bench_local_values(|v| h.observe(v));
    }

    #[divan::bench]
    fn metrics(b: Bencher<'_, '_>) {
        metrics::histogram!("histogram_observe").record(value());
        b.with_inputs(value)
            .bench_local_values(|v| metrics::histogram!("histogram_observe").record(v));
    }

    #[divan::bench]
    fn measured(b: Bencher<'_, '_>) {
        let h = measured_histogram();
        h.get_metric().observe(value());
        b.with_inputs(value)
            .bench_local_values(|v| h.get_metric().observe(v));
    }

    #[divan::bench]
    fn fastmetrics(b: Bencher<'_, '_>) {
        let h = fm_histogram();
        h.observe(value());
        b.with_inputs(value).bench_local_values(|v| h.observe(v));
    }
}

// Function rows: the same body bare, with `#[instrument_metrics]`, with `#[autometrics]`.

#[inline(never)]
#[autometrics::autometrics]
fn with_autometrics(amount: u32) -> Result<u32, PayError> {
    if amount == 0 {
        Err(PayError::Declined)
    } else {
        Ok(amount)
    }
}

#[inline(never)]
async fn bare_async(amount: u32) -> Result<u32, PayError> {
    if amount == 0 {
        Err(PayError::Declined)
    } else {
        Ok(amount)
    }
}

#[inline(never)]
#[vitalsign::instrument_metrics]
async fn with_vitalsign_async(amount: u32) -> Result<u32, PayError> {
    if amount == 0 {
        Err(PayError::Declined)
    } else {
        Ok(amount)
    }
}

#[inline(never)]
#[autometrics::autometrics]
async fn with_autometrics_async(amount: u32) -> Result<u32, PayError> {
    if amount == 0 {
        Err(PayError::Declined)
    } else {
        Ok(amount)
    }
}

static CLOCK: LazyLock<quanta::Clock> = LazyLock::new(quanta::Clock::new);
static A: AtomicU64 = AtomicU64::new(0);
static B: AtomicU64 = AtomicU64::new(0);

mod function_sync {
    use super::*;

    #[divan::bench]
    fn bare() -> Result<u32, PayError> {
        super::bare(black_box(7))
    }

    #[divan::bench]
    fn vitalsign(b: Bencher<'_, '_>) {
        let _ = with_vitalsign(1);
        b.bench_local(|| with_vitalsign(black_box(7)));
    }

    #[divan::bench]
    fn vitalsign_classic_only(b: Bencher<'_, '_>) {
        let _ = with_vitalsign_classic(1);
        b.bench_local(|| with_vitalsign_classic(black_box(7)));
    }

    #[divan::bench]
    fn autometrics(b: Bencher<'_, '_>) {
        let _ = with_autometrics(1);
        b.bench_local(|| with_autometrics(black_box(7)));
    }

    /// The least an instrumented call can cost: a TSC clock pair and two uncontended atomic adds.
    #[divan::bench]
    fn floor(b: Bencher<'_, '_>) {
        let clock = &*CLOCK;
        b.bench_local(|| {
            let start = clock.raw();
            A.fetch_add(1, Ordering::Relaxed);
            let ns = clock.delta_as_nanos(start, clock.raw());
            B.fetch_add(ns, Ordering::Relaxed)
        });
    }
}

mod function_async {
    use super::*;

    #[divan::bench]
    fn bare() -> Option<Result<u32, PayError>> {
        now_or_never(bare_async(black_box(7)))
    }

    #[divan::bench]
    fn vitalsign(b: Bencher<'_, '_>) {
        let _ = now_or_never(with_vitalsign_async(1));
        b.bench_local(|| now_or_never(with_vitalsign_async(black_box(7))));
    }

    #[divan::bench]
    fn autometrics(b: Bencher<'_, '_>) {
        let _ = now_or_never(with_autometrics_async(1));
        b.bench_local(|| now_or_never(with_autometrics_async(black_box(7))));
    }
}

// Encoding one counter family of N series, into a reused buffer where the crate allows it.

const SIZES: &[usize] = &[100, 1_000, 10_000, 100_000];

static SERIES_NAMES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    (0..1_000_000)
        .map(|i| &*Box::leak(format!("series{i}").into_boxed_str()))
        .collect()
});

/// A label with exactly `N` values, for a dense vitalsign family of `N` series.
struct Series<const N: usize>(usize);

impl<const N: usize> vitalsign::LabelValue for Series<N> {
    const CARDINALITY: usize = N;
    fn index(&self) -> usize {
        self.0
    }
    fn from_index(i: usize) -> Option<Self> {
        (i < N).then_some(Self(i))
    }
    fn value_at(i: usize) -> &'static str {
        SERIES_NAMES.get(i).copied().unwrap_or("")
    }
}

struct SeriesSet<const N: usize>(Series<N>);

impl<const N: usize> vitalsign::LabelSet for SeriesSet<N> {
    const CARDINALITY: usize = N;
    const NAMES: &'static [&'static str] = &["kind"];
    fn index(&self) -> usize {
        self.0.0
    }
    fn visit(i: usize, f: &mut dyn FnMut(&'static str, &str)) {
        f("kind", <Series<N> as vitalsign::LabelValue>::value_at(i));
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, prometheus_client::encoding::EncodeLabelSet)]
struct Kind {
    kind: &'static str,
}

#[derive(measured::LabelGroup)]
#[label(set = KindSet)]
struct MeasuredKind<'a> {
    #[label(fixed_with = measured::lasso::RodeoReader)]
    kind: &'a str,
}

mod encode {
    use super::*;
    use measured::metric::MetricFamilyEncoding as _;

    #[divan::bench(consts = SIZES)]
    fn vitalsign<const N: usize>(b: Bencher<'_, '_>) {
        encode_dense::<N>(b);
    }

    /// Encodes a dense family of `N` counters, each incremented once.
    pub(super) fn encode_dense<const N: usize>(b: Bencher<'_, '_>) {
        let registry = vitalsign::Registry::new();
        let family = registry
            .register(
                "counters",
                "Counters.",
                vitalsign::Family::<SeriesSet<N>, vitalsign::Counter>::new(),
            )
            .unwrap();
        for i in 0..N {
            family.get(&SeriesSet(Series(i))).inc();
        }
        let mut buf = Vec::new();
        let options = vitalsign::EncodeOptions::default();
        b.bench_local(|| {
            buf.clear();
            registry.encode(&mut buf, &options);
            buf.len()
        });
    }

    #[divan::bench(consts = SIZES)]
    fn prometheus_client<const N: usize>(b: Bencher<'_, '_>) {
        let mut registry = prometheus_client::registry::Registry::default();
        let family = prometheus_client::metrics::family::Family::<
            Kind,
            prometheus_client::metrics::counter::Counter,
        >::default();
        registry.register("counters", "Counters.", family.clone());
        for name in &SERIES_NAMES[..N] {
            family.get_or_create(&Kind { kind: name }).inc();
        }
        let mut buf = String::new();
        b.bench_local(|| {
            buf.clear();
            prometheus_client::encoding::text::encode(&mut buf, &registry).unwrap();
            buf.len()
        });
    }

    #[divan::bench(consts = SIZES)]
    fn prometheus<const N: usize>(b: Bencher<'_, '_>) {
        use prometheus::Encoder as _;
        let registry = prometheus::Registry::new();
        let vec = prometheus::IntCounterVec::new(
            prometheus::Opts::new("counters", "Counters."),
            &["kind"],
        )
        .unwrap();
        registry.register(Box::new(vec.clone())).unwrap();
        for name in &SERIES_NAMES[..N] {
            vec.with_label_values(&[name]).inc();
        }
        let encoder = prometheus::TextEncoder::new();
        let mut buf = Vec::new();
        b.bench_local(|| {
            buf.clear();
            encoder.encode(&registry.gather(), &mut buf).unwrap();
            buf.len()
        });
    }

    #[divan::bench(consts = SIZES)]
    fn metrics<const N: usize>(b: Bencher<'_, '_>) {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            for name in &SERIES_NAMES[..N] {
                metrics::counter!("counters", "kind" => *name).increment(1);
            }
        });
        b.bench_local(|| handle.render().len());
    }

    #[divan::bench(consts = SIZES)]
    fn measured<const N: usize>(b: Bencher<'_, '_>) {
        let set = KindSet::new(
            SERIES_NAMES[..N]
                .iter()
                .copied()
                .collect::<measured::lasso::Rodeo>()
                .into_reader(),
        );
        let vec = measured::CounterVec::with_label_set(set);
        for name in &SERIES_NAMES[..N] {
            vec.inc(MeasuredKind { kind: name });
        }
        let mut enc = measured::text::BufferedTextEncoder::new();
        let name = measured::metric::name::MetricName::from_str("counters");
        b.bench_local(|| {
            vec.collect_family_into(name, &mut enc).unwrap();
            enc.finish().len()
        });
    }
}

/// One scrape of 1,000,000 dense series (issue 22's scale target: under 10 ms).
mod encode_million {
    use super::*;

    #[divan::bench(sample_count = 20, sample_size = 1)]
    fn vitalsign(b: Bencher<'_, '_>) {
        super::encode::encode_dense::<1_000_000>(b);
    }
}

/// 10,000 string-labelled series in a `SparseFamily` (what a tenant label looks like), against
/// the least any encoder can do: copy a line prefix rendered before and format the value.
mod encode_sparse {
    use super::*;

    const N: usize = 10_000;

    #[divan::bench]
    fn vitalsign(b: Bencher<'_, '_>) {
        let registry = vitalsign::Registry::new();
        let family = registry
            .register(
                "counters",
                "Counters.",
                vitalsign::SparseFamily::<vitalsign::Counter, 1>::new(["kind"], N).unwrap(),
            )
            .unwrap();
        for name in &SERIES_NAMES[..N] {
            family.get([name]).inc();
        }
        let mut buf = Vec::new();
        let options = vitalsign::EncodeOptions::default();
        b.bench_local(|| {
            buf.clear();
            registry.encode(&mut buf, &options);
            buf.len()
        });
    }

    #[divan::bench]
    fn floor(b: Bencher<'_, '_>) {
        let prefixes: Vec<String> = SERIES_NAMES[..N]
            .iter()
            .map(|name| format!("counters_total{{kind=\"{name}\"}} "))
            .collect();
        let values: Vec<u64> = (0..N as u64).collect();
        let mut buf = Vec::new();
        b.bench_local(|| {
            buf.clear();
            buf.extend_from_slice(
                b"# HELP counters_total Counters.\n# TYPE counters_total counter\n",
            );
            let mut digits = itoa::Buffer::new();
            for (prefix, v) in prefixes.iter().zip(&values) {
                buf.extend_from_slice(prefix.as_bytes());
                buf.extend_from_slice(digits.format(*black_box(v)).as_bytes());
                buf.push(b'\n');
            }
            buf.len()
        });
    }
}

/// The protobuf exposition (what Prometheus asks for when native histograms are on) of one
/// counter family of `N` series, and of `N / 10` histograms of 11 buckets, against
/// prometheus-client's protobuf encoder (`encode_to_vec`: the length-delimited payload).
mod encode_protobuf {
    use super::*;

    const PROTOBUF: &[usize] = &[100, 10_000];

    #[divan::bench(consts = PROTOBUF)]
    fn vitalsign_counters<const N: usize>(b: Bencher<'_, '_>) {
        let registry = vitalsign::Registry::new();
        let family = registry
            .register(
                "counters",
                "Counters.",
                vitalsign::Family::<SeriesSet<N>, vitalsign::Counter>::new(),
            )
            .unwrap();
        for i in 0..N {
            family.get(&SeriesSet(Series(i))).inc();
        }
        let mut buf = Vec::new();
        let options = vitalsign::EncodeOptions::new(vitalsign::Format::Protobuf);
        b.bench_local(|| {
            buf.clear();
            registry.encode(&mut buf, &options);
            buf.len()
        });
    }

    #[divan::bench(consts = PROTOBUF)]
    fn prometheus_client_counters<const N: usize>(b: Bencher<'_, '_>) {
        let mut registry = prometheus_client::registry::Registry::default();
        let family = prometheus_client::metrics::family::Family::<
            Kind,
            prometheus_client::metrics::counter::Counter,
        >::default();
        registry.register("counters", "Counters.", family.clone());
        for name in &SERIES_NAMES[..N] {
            family.get_or_create(&Kind { kind: name }).inc();
        }
        b.bench_local(|| {
            prometheus_client::encoding::prometheus_protobuf::encode_to_vec(&registry)
                .unwrap()
                .len()
        });
    }

    #[divan::bench(consts = PROTOBUF)]
    fn vitalsign_histograms<const N: usize>(b: Bencher<'_, '_>) {
        let registry = vitalsign::Registry::new();
        let family = registry
            .register(
                "latency_seconds",
                "Latency.",
                vitalsign::SparseFamily::<vitalsign::Histogram, 1>::new_with(["kind"], N, || {
                    vitalsign::Histogram::new(vitalsign::Buckets::latency())
                })
                .unwrap(),
            )
            .unwrap();
        for (i, name) in SERIES_NAMES[..N / 10].iter().enumerate() {
            family.get([name]).observe(i as f64 / 1000.0);
        }
        let mut buf = Vec::new();
        let options = vitalsign::EncodeOptions::new(vitalsign::Format::Protobuf);
        b.bench_local(|| {
            buf.clear();
            registry.encode(&mut buf, &options);
            buf.len()
        });
    }

    #[divan::bench(consts = PROTOBUF)]
    fn prometheus_client_histograms<const N: usize>(b: Bencher<'_, '_>) {
        use prometheus_client::metrics::histogram::Histogram;
        let mut registry = prometheus_client::registry::Registry::default();
        let family =
            prometheus_client::metrics::family::Family::<Kind, Histogram>::new_with_constructor(
                || {
                    Histogram::new([
                        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                    ])
                },
            );
        registry.register("latency_seconds", "Latency.", family.clone());
        for (i, name) in SERIES_NAMES[..N / 10].iter().enumerate() {
            family
                .get_or_create(&Kind { kind: name })
                .observe(i as f64 / 1000.0);
        }
        b.bench_local(|| {
            prometheus_client::encoding::prometheus_protobuf::encode_to_vec(&registry)
                .unwrap()
                .len()
        });
    }
}
