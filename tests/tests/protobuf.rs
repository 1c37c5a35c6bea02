//! The protobuf exposition of every metric type, decoded and compared exactly; the content type
//! negotiated from Prometheus 2.42's `Accept` headers; and a real Prometheus with native
//! histograms on, scraping every type over protobuf.

use vitalsign_tests as support;

use std::fmt::Write as _;

use vitalsign::encoding::protobuf::{self, MetricFamily};
use vitalsign::trace::TraceContext;
use vitalsign::{
    Buckets, Counter, EncodeOptions, Family, Format, Gauge, Histogram, Info, LabelSet, LabelValue,
    NativeBuckets, Registry, StateSet, Summary,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, LabelValue)]
enum Mode {
    Live,
    Maintenance,
}

#[derive(LabelSet)]
struct Route {
    method: Method,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, LabelValue)]
enum Method {
    Get,
    Post,
}

/// One registry with a series of every type.
fn every_type() -> Registry {
    let registry = Registry::new();
    let requests = registry
        .register(
            "requests",
            "Requests \"served\".",
            Family::<Route, Counter>::new(),
        )
        .unwrap();
    requests
        .get(&Route {
            method: Method::Get,
        })
        .inc_by(3);
    let cx = TraceContext::new([0xab; 16], [0xcd; 8], true).unwrap();
    cx.scope(|| {
        requests
            .get(&Route {
                method: Method::Post,
            })
            .inc_traced()
    });
    registry
        .register("queue_depth", "Jobs waiting.", Gauge::new())
        .unwrap()
        .set(-2);
    let classic = registry
        .register(
            "classic_seconds",
            "Classic only.",
            Histogram::new(Buckets::new([0.1, 1.0]).unwrap()),
        )
        .unwrap();
    for v in [0.05, 0.5, 5.0] {
        classic.observe(v);
    }
    let both = registry
        .register(
            "both_seconds",
            "Classic and native.",
            Histogram::with_native(
                Buckets::new([1.0]).unwrap(),
                NativeBuckets::new(2.0).unwrap(),
            ),
        )
        .unwrap();
    for v in [0.0, -3.0, 0.75, 3.0, 3.5, 100.0, f64::NAN] {
        both.observe(v);
    }
    let native = registry
        .register(
            "native_bytes",
            "Native only, no zero bucket.",
            Histogram::native(
                NativeBuckets::with_schema(0)
                    .unwrap()
                    .zero_threshold(0.0)
                    .unwrap(),
            ),
        )
        .unwrap();
    // 1000 is in bucket 10, (512, 1024]. (An empty native histogram with no zero threshold is
    // read as a classic one by Prometheus 2.42, which ignores the empty span that marks it.)
    native.observe(1000.0);
    registry
        .register("work_seconds", "Work.", Summary::new())
        .unwrap()
        .observe(1.5);
    registry
        .register(
            "build",
            "Build.",
            Info::new([("version", "1.2"), ("commit", "a\nb")]).unwrap(),
        )
        .unwrap();
    registry
        .register("mode", "Mode.", StateSet::new(Mode::Maintenance))
        .unwrap();
    registry
}

fn protobuf(registry: &Registry) -> Vec<MetricFamily> {
    let mut bytes = Vec::new();
    registry.encode(&mut bytes, &EncodeOptions::new(Format::Protobuf));
    protobuf::decode(&bytes).unwrap()
}

/// One line per family, metric and part: what each field holds, so a comparison is exact.
fn dump(families: &[MetricFamily]) -> String {
    let mut out = String::new();
    for f in families {
        let _ = writeln!(
            out,
            "F {} type={:?} help={:?}",
            f.name(),
            f.r#type(),
            f.help()
        );
        for m in &f.metric {
            let labels: Vec<String> = m
                .label
                .iter()
                .map(|l| format!("{}={:?}", l.name(), l.value()))
                .collect();
            let _ = write!(out, "  M {{{}}}", labels.join(","));
            if let Some(c) = &m.counter {
                let _ = write!(out, " counter={:?}", c.value());
                if let Some(e) = &c.exemplar {
                    let l: Vec<String> = e
                        .label
                        .iter()
                        .map(|l| format!("{}={}", l.name(), l.value()))
                        .collect();
                    let _ = write!(
                        out,
                        " exemplar={{{}}} {:?} ts={}",
                        l.join(","),
                        e.value(),
                        e.timestamp.is_some()
                    );
                }
            }
            if let Some(g) = &m.gauge {
                let _ = write!(out, " gauge={:?}", g.value());
            }
            if let Some(s) = &m.summary {
                let _ = write!(
                    out,
                    " summary count={} sum={:?}",
                    s.sample_count(),
                    s.sample_sum()
                );
            }
            if let Some(h) = &m.histogram {
                let buckets: Vec<String> = h
                    .bucket
                    .iter()
                    .map(|b| format!("{}:{}", b.upper_bound(), b.cumulative_count()))
                    .collect();
                let _ = write!(
                    out,
                    " histogram count={} sum={:?} buckets=[{}]",
                    h.sample_count(),
                    h.sample_sum(),
                    buckets.join(" ")
                );
                if h.schema.is_some() {
                    let spans = |s: &[protobuf::BucketSpan]| {
                        s.iter()
                            .map(|s| format!("{}+{}", s.offset(), s.length()))
                            .collect::<Vec<_>>()
                            .join(" ")
                    };
                    let _ = write!(
                        out,
                        " schema={} zero<={:e}:{} pos=[{}] {:?} neg=[{}] {:?}",
                        h.schema(),
                        h.zero_threshold(),
                        h.zero_count(),
                        spans(&h.positive_span),
                        h.positive_delta,
                        spans(&h.negative_span),
                        h.negative_delta
                    );
                }
            }
            out.push('\n');
        }
    }
    out
}

#[test]
fn every_type_as_prometheus_clients_write_it() {
    let registry = every_type();
    assert_eq!(
        dump(&protobuf(&registry)),
        r#"F requests_total type=Counter help="Requests \"served\"."
  M {method="get"} counter=3.0
  M {method="post"} counter=1.0 exemplar={trace_id=abababababababababababababababab,span_id=cdcdcdcdcdcdcdcd} 1.0 ts=true
F queue_depth type=Gauge help="Jobs waiting."
  M {} gauge=-2.0
F classic_seconds type=Histogram help="Classic only."
  M {} histogram count=3 sum=5.55 buckets=[0.1:1 1:2]
F both_seconds type=Histogram help="Classic and native."
  M {} histogram count=7 sum=NaN buckets=[1:3] schema=0 zero<=2.938735877055719e-39:1 pos=[0+3 4+1] [1, -1, 2, -1] neg=[2+1] [1]
F native_bytes type=Histogram help="Native only, no zero bucket."
  M {} histogram count=1 sum=1000.0 buckets=[] schema=0 zero<=0e0:0 pos=[10+1] [1] neg=[] []
F work_seconds type=Summary help="Work."
  M {} summary count=1 sum=1.5
F build_info type=Gauge help="Build."
  M {version="1.2",commit="a\nb"} gauge=1.0
F mode type=Gauge help="Mode."
  M {mode="live"} gauge=0.0
  M {mode="maintenance"} gauge=1.0
"#
    );
}

/// The registry writes protobuf straight to the wire; prost, given the messages read back,
/// writes the very same bytes: every field in tag order, every length minimal (a family of
/// 300 series and a label value of 200 bytes take lengths of two bytes).
#[test]
fn the_wire_bytes_are_what_prost_writes() {
    use prost::Message as _;
    let registry = every_type();
    let long = "v".repeat(200);
    let tenants =
        std::sync::Arc::new(vitalsign::SparseFamily::<Counter, 1>::new(["tenant"], 400).unwrap());
    registry
        .register_shared(
            vitalsign::Descriptor::new("tenant_logins", "Logins.").const_label("shard", "a\"b"),
            tenants.clone(),
        )
        .unwrap();
    for i in 0..300 {
        tenants.get([&format!("tenant{i}")]).inc_by(i);
    }
    tenants.get([&long]).inc();
    let mut bytes = Vec::new();
    registry.encode(&mut bytes, &EncodeOptions::new(Format::Protobuf));
    let families = protobuf::decode(&bytes).unwrap();
    // Every type, the tenants, and the tenants' overflow and removal counts (at zero).
    assert_eq!(families.len(), 11);
    assert_eq!(families[8].metric.len(), 301);
    assert_eq!(families[9].name(), "vitalsign_series_overflow_total");
    assert_eq!(families[10].name(), "vitalsign_series_removed_total");
    let mut again = Vec::new();
    for family in &families {
        family.encode_length_delimited(&mut again).unwrap();
    }
    assert_eq!(bytes.len(), again.len());
    assert!(bytes == again, "the bytes differ from prost's");
}

#[test]
fn prometheus_accept_headers_choose_the_format() {
    use vitalsign::encoding::negotiate;
    // What Prometheus 2.42 sends, with and without `--enable-feature=native-histograms`.
    let with_flag = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let without = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    assert_eq!(negotiate(Some(with_flag)), Format::Protobuf);
    assert_eq!(negotiate(Some(without)), Format::OpenMetrics);
    // What Prometheus 3 sends (it asks for UTF-8 names with the versions that carry them), with
    // and without protobuf first; and its text 1.0.0 alone.
    use vitalsign::encoding::{Escaping, negotiate_escaping};
    let three = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
    let three_proto = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";
    let text_1 =
        "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3";
    for (accept, format, escaping) in [
        (three, Format::OpenMetrics, Escaping::AllowUtf8),
        (three_proto, Format::Protobuf, Escaping::AllowUtf8),
        (text_1, Format::PrometheusV1, Escaping::AllowUtf8),
        (with_flag, Format::Protobuf, Escaping::Underscores),
        (without, Format::OpenMetrics, Escaping::Underscores),
        // An unknown scheme is ignored; a scheme on an entry past the chosen one is not taken.
        (
            "text/plain;version=1.0.0;escaping=rot13",
            Format::PrometheusV1,
            Escaping::Underscores,
        ),
        (
            "text/plain;version=0.0.4,*/*;escaping=dots;q=0.1",
            Format::Prometheus,
            Escaping::Underscores,
        ),
    ] {
        assert_eq!(
            (negotiate(Some(accept)), negotiate_escaping(Some(accept))),
            (format, escaping),
            "{accept}"
        );
    }
    assert_eq!(
        Format::Protobuf.content_type(),
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
    );
}

/// A real Prometheus with native histograms on scrapes the registry over protobuf: every series
/// the text format has is stored, the native histograms as native.
#[test]
#[ignore = "needs prometheus (Debian package)"]
fn prometheus_reads_every_type_over_protobuf() {
    let registry: &'static Registry = Box::leak(Box::new(every_type()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let exporter = runtime
        .block_on(vitalsign_tower::serve_handler(
            "127.0.0.1:0".parse().expect("addr"),
            vitalsign_tower::MetricsHandler::new(registry),
        ))
        .expect("serve");
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: pb\n    static_configs:\n      - targets: ['{}']\n",
        exporter.local_addr()
    );
    let (_p, prometheus, _dir) =
        support::start_prometheus(&config, &["--enable-feature=native-histograms"]);
    let query = |q: &str| support::prometheus_query(prometheus, q);
    let scraped = support::wait_for(std::time::Duration::from_secs(30), || {
        query(r#"up{job="pb"}"#).contains(r#""1"]"#).then_some(())
    });
    assert!(scraped.is_some(), "{}", query("up"));
    // The handler's own `vitalsign_` families are left out of the comparison.
    let names = query(r#"count by (__name__) ({job="pb", __name__!~"vitalsign_.*"})"#);
    let mut got: Vec<(String, String)> = serde_like_pairs(&names);
    got.sort();
    let expected: Vec<(String, String)> = [
        ("both_seconds", "1"),
        ("build_info", "1"),
        ("classic_seconds_bucket", "3"),
        ("classic_seconds_count", "1"),
        ("classic_seconds_sum", "1"),
        ("mode", "2"),
        ("native_bytes", "1"),
        ("queue_depth", "1"),
        ("requests_total", "2"),
        ("scrape_duration_seconds", "1"),
        ("scrape_samples_post_metric_relabeling", "1"),
        ("scrape_samples_scraped", "1"),
        ("scrape_series_added", "1"),
        ("up", "1"),
        ("work_seconds_count", "1"),
        ("work_seconds_sum", "1"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, expected, "{names}");
    let both = query(r#"histogram_count(both_seconds)"#);
    assert!(both.contains(r#""7"]"#), "{both}");
}

/// `(__name__, value)` of each result of a `count by (__name__)` answer.
fn serde_like_pairs(body: &str) -> Vec<(String, String)> {
    body.split(r#"{"metric":{"__name__":""#)
        .skip(1)
        .filter_map(|r| {
            let (name, rest) = r.split_once('"')?;
            let after = rest.split_once("\"value\":[")?.1;
            let value = after.split_once(",\"")?.1.split_once('"')?.0;
            Some((name.to_owned(), value.to_owned()))
        })
        .collect()
}

static FUNCTIONS: std::sync::LazyLock<Registry> = std::sync::LazyLock::new(Registry::new);

#[vitalsign::instrument_metrics(registry = FUNCTIONS)]
fn with_native() {}

#[vitalsign::instrument_metrics(registry = FUNCTIONS, classic_only)]
fn without_native() {}

/// Instrumented functions keep native buckets unless told `classic_only`.
#[test]
fn instrumented_durations_are_native_unless_classic_only() {
    with_native();
    without_native();
    let mut bytes = Vec::new();
    FUNCTIONS.encode(&mut bytes, &EncodeOptions::new(Format::Protobuf));
    let families = protobuf::decode(&bytes).unwrap();
    let durations = families
        .iter()
        .find(|f| f.name() == "function_calls_duration_seconds")
        .unwrap();
    let schemas: Vec<(String, Option<i32>, u64)> = durations
        .metric
        .iter()
        .map(|m| {
            let function = m.label.iter().find(|l| l.name() == "function").unwrap();
            let h = m.histogram.as_ref().unwrap();
            (function.value().to_owned(), h.schema, h.sample_count())
        })
        .collect();
    assert_eq!(
        schemas,
        [
            ("with_native".to_owned(), Some(3), 1),
            ("without_native".to_owned(), None, 1),
        ]
    );
}

/// Counters, histograms and summaries carry their start time (`created_timestamp`, which
/// Prometheus 3 uses in `rate()`): when they were registered. Gauges have none; the text formats
/// write no `_created` line unless asked.
#[test]
fn start_timestamps_on_counters_histograms_and_summaries() {
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
    };
    let before = now();
    let registry = every_type();
    let after = now();
    let mut with = Vec::new();
    for f in protobuf(&registry) {
        for m in &f.metric {
            let ts = m
                .counter
                .as_ref()
                .and_then(|c| c.created_timestamp.as_ref())
                .or(m
                    .histogram
                    .as_ref()
                    .and_then(|h| h.created_timestamp.as_ref()))
                .or(m
                    .summary
                    .as_ref()
                    .and_then(|s| s.created_timestamp.as_ref()));
            if let Some(ts) = ts {
                let secs = ts.seconds as f64 + f64::from(ts.nanos) / 1e9;
                assert!(
                    (before.floor()..=after + 1e-6).contains(&secs),
                    "{}: {secs} not in {before}..{after}",
                    f.name()
                );
                with.push(format!("{:?} {}", f.r#type(), f.name()));
            }
        }
    }
    // One entry per metric of every counter, histogram and summary family: all carry it.
    let types: Vec<String> = protobuf(&registry)
        .iter()
        .flat_map(|f| {
            f.metric
                .iter()
                .map(move |_| format!("{:?} {}", f.r#type(), f.name()))
        })
        .filter(|t| {
            ["Counter ", "Histogram ", "Summary "]
                .iter()
                .any(|k| t.starts_with(k))
        })
        .collect();
    assert_eq!(with, types);
    assert!(!types.is_empty());
    let text = registry.render(Format::OpenMetrics);
    assert_eq!(text.matches("_created").count(), 0, "{text}");
}

/// Collectors' counters carry the start they count from: the process's for its CPU time, the
/// collector's own `counter_since` for others; OpenMetrics writes it as `_created` only when
/// asked, 0.0.4 never.
#[test]
fn collector_counters_carry_their_start() {
    use vitalsign::{Collect, Collector, MetricType, ProcessCollector};
    struct Jobs;
    impl Collector for Jobs {
        fn describe(&self) -> Vec<(MetricType, vitalsign::Descriptor)> {
            vec![
                (
                    MetricType::Counter,
                    vitalsign::Descriptor::new("jobs", "Jobs run."),
                ),
                (
                    MetricType::Counter,
                    vitalsign::Descriptor::new("retries", "Retries."),
                ),
            ]
        }
        fn collect(
            &self,
            out: &mut Collect<'_>,
        ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
            out.counter_since("jobs", &[("queue", "a")], 7u64, 1_700_000_000.25)?;
            out.counter("retries", &[], 1u64)?;
            Ok(())
        }
    }
    let registry = Registry::new();
    registry.register_collector(Jobs).unwrap();
    registry
        .register_collector(ProcessCollector::new())
        .unwrap();
    let families = protobuf(&registry);
    let start = |name: &str| {
        families
            .iter()
            .find(|f| f.name() == name)
            .and_then(|f| f.metric[0].counter.as_ref())
            .map(|c| c.created_timestamp.as_ref().map(|t| (t.seconds, t.nanos)))
    };
    assert_eq!(
        start("jobs_total"),
        Some(Some((1_700_000_000, 250_000_000)))
    );
    assert_eq!(start("retries_total"), Some(None));
    let process_start = families
        .iter()
        .find(|f| f.name() == "process_start_time_seconds")
        .and_then(|f| f.metric[0].gauge.as_ref())
        .map(|g| g.value())
        .unwrap();
    let cpu = start("process_cpu_seconds_total").flatten().unwrap();
    assert_eq!(cpu.0 as f64 + f64::from(cpu.1) / 1e9, process_start);

    let openmetrics = |created| {
        let mut out = Vec::new();
        registry.encode(
            &mut out,
            &EncodeOptions::new(Format::OpenMetrics)
                .created(created)
                .names(Some(&["jobs_total"])),
        );
        String::from_utf8(out).unwrap()
    };
    assert_eq!(
        openmetrics(true),
        "# HELP jobs Jobs run.\n# TYPE jobs counter\njobs_total{queue=\"a\"} 7\n\
         jobs_created{queue=\"a\"} 1.70000000025e+09\n# EOF\n"
    );
    assert!(!openmetrics(false).contains("_created"));
}
