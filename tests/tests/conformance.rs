//! Every metric type, with hostile label values, HELP texts and float values, read back by the
//! real parsers: Python's `prometheus_client` (its strict OpenMetrics parser, and its 0.0.4
//! parser) must see exactly what was registered, and `promtool check metrics` must accept the
//! 0.0.4 output without a lint complaint.

use vitalsign_tests as support;

use vitalsign_tests::model::{Fam, expected_dump, fam};

use std::process::Command;

use vitalsign::{
    Buckets, CallbackGauge, Collect, Collector, Counter, Descriptor, Family, FloatCounter,
    FloatGauge, Format, Gauge, Histogram, Info, LabelSet, LabelValue, MetricType, Registry,
    SparseFamily, StateSet, Summary,
};

/// Strings a user might pass as a label value or HELP text.
const HOSTILE: &[&str] = &[
    "plain",
    "quote\"",
    "back\\slash",
    "new\nline",
    "\\n is not a newline",
    "# EOF",
    "}",
    "{a=\"b\"}",
    "crab 🦀",
    "nul\0byte",
    " spaced ",
    "tab\there",
    "crlf\r\n",
    "\\\"\n\\",
    "=,",
    "ünïcødé",
    // Found by the fuzzer: whitespace other than blanks at the ends of HELP.
    "\u{b}vertical tab\u{b}",
    "\u{a0}no-break space\u{a0}",
    "ends in CR\r",
];

#[derive(Clone, Copy)]
enum Method {
    Get,
    Post,
    Other,
}

impl LabelValue for Method {
    const CARDINALITY: usize = 3;
    fn index(&self) -> usize {
        *self as usize
    }
    fn from_index(i: usize) -> Option<Self> {
        [Self::Get, Self::Post, Self::Other].get(i).copied()
    }
    fn value_at(i: usize) -> &'static str {
        ["GET", "POST", "_OTHER"].get(i).copied().unwrap_or("")
    }
}

struct Req {
    method: Method,
    cached: bool,
}

impl LabelSet for Req {
    const CARDINALITY: usize = Method::CARDINALITY * bool::CARDINALITY;
    const NAMES: &'static [&'static str] = &["method", "cached"];
    fn index(&self) -> usize {
        self.method.index() * bool::CARDINALITY + self.cached.index()
    }
    fn visit(i: usize, f: &mut dyn FnMut(&'static str, &str)) {
        f("method", Method::value_at(i / bool::CARDINALITY));
        f("cached", bool::value_at(i % bool::CARDINALITY));
    }
}

struct Hostile;

impl Collector for Hostile {
    fn describe(&self) -> Vec<(MetricType, Descriptor)> {
        vec![(
            MetricType::Gauge,
            Descriptor::new("conf_collected", "From a collector."),
        )]
    }
    fn collect(
        &self,
        out: &mut Collect<'_>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        for (i, h) in HOSTILE.iter().enumerate() {
            out.gauge("conf_collected", &[("which", h)], i as i64)?;
        }
        Ok(())
    }
}

/// A registry holding every metric type with hostile inputs, and what parsers must read from it.
fn hostile_registry() -> (Registry, Vec<Fam>) {
    let r = Registry::new();
    let mut want = Vec::new();

    r.register("conf_requests", "Requests handled.", Counter::new())
        .unwrap()
        .inc_by(7);
    want.push(fam("conf_requests", "counter", "Requests handled.", "").s(
        "conf_requests_total",
        &[],
        7.0,
    ));

    r.register("conf_big_total", "A u64 at its limit.", Counter::new())
        .unwrap()
        .inc_by(u64::MAX);
    want.push(fam("conf_big", "counter", "A u64 at its limit.", "").s(
        "conf_big_total",
        &[],
        u64::MAX as f64,
    ));

    let charged = std::sync::Arc::new(FloatCounter::new());
    charged.inc_by(12.5);
    let currency = "€ \"eur\"\n\\";
    r.register_shared(
        Descriptor::new("conf_charged_euros", "Money \"charged\".")
            .const_label("currency", currency),
        charged,
    )
    .unwrap();
    want.push(
        fam("conf_charged_euros", "counter", "Money \"charged\".", "").s(
            "conf_charged_euros_total",
            &[("currency", currency)],
            12.5,
        ),
    );

    r.register("conf_delta", "Signed.", Gauge::new())
        .unwrap()
        .set(-3);
    want.push(fam("conf_delta", "gauge", "Signed.", "").s("conf_delta", &[], -3.0));

    let values = r
        .register(
            "conf_values",
            "Special floats.",
            SparseFamily::<FloatGauge, 1>::new(["case"], 100).unwrap(),
        )
        .unwrap();
    let mut f = fam("conf_values", "gauge", "Special floats.", "");
    for (case, v, read_as) in [
        ("nan", f64::NAN, f64::NAN),
        ("pinf", f64::INFINITY, f64::INFINITY),
        ("ninf", f64::NEG_INFINITY, f64::NEG_INFINITY),
        ("tiny", 5e-324, 5e-324),
        ("huge", f64::MAX, f64::MAX),
        // Written `-0`, which Python's parser reads as the integer 0.
        ("negzero", -0.0, 0.0),
        ("small", 1e-5, 1e-5),
        ("million", 1e6, 1e6),
        ("inexact", 0.1 + 0.2, 0.1 + 0.2),
        ("frac", 123456.5, 123456.5),
        ("u64max", u64::MAX as f64, u64::MAX as f64),
    ] {
        values.get([case]).set(v);
        f = f.s("conf_values", &[("case", case)], read_as);
    }
    want.push(f);

    let lat = r
        .register(
            "conf_latency_seconds",
            "Latency.",
            Histogram::new(Buckets::latency()),
        )
        .unwrap();
    for v in [0.00390625, 0.25, 42.0] {
        lat.observe(v);
    }
    want.push(
        fam("conf_latency_seconds", "histogram", "Latency.", "seconds")
            .buckets(
                "conf_latency_seconds",
                &[
                    ("0.005", 1),
                    ("0.01", 1),
                    ("0.025", 1),
                    ("0.05", 1),
                    ("0.1", 1),
                    ("0.25", 2),
                    ("0.5", 2),
                    ("1.0", 2),
                    ("2.5", 2),
                    ("5.0", 2),
                    ("10.0", 2),
                    ("+Inf", 3),
                ],
            )
            .s("conf_latency_seconds_count", &[], 3.0)
            .s("conf_latency_seconds_sum", &[], 42.25390625),
    );

    let sizes = r
        .register(
            "conf_sizes_bytes",
            "Sizes.",
            Histogram::new(Buckets::new([1e-5, 0.5, 1.0, 1e6]).unwrap()),
        )
        .unwrap();
    sizes.observe(2e6);
    want.push(
        fam("conf_sizes_bytes", "histogram", "Sizes.", "bytes")
            .buckets(
                "conf_sizes_bytes",
                &[
                    ("1e-05", 0),
                    ("0.5", 0),
                    ("1.0", 0),
                    ("1e+06", 0),
                    ("+Inf", 1),
                ],
            )
            .s("conf_sizes_bytes_count", &[], 1.0)
            .s("conf_sizes_bytes_sum", &[], 2e6),
    );

    let offset = r
        .register(
            "conf_offset",
            "Negative bounds.",
            Histogram::new(Buckets::new([-1.0, 0.0, 1.0]).unwrap()),
        )
        .unwrap();
    offset.observe(-0.5);
    offset.observe(2.0);
    want.push(
        fam("conf_offset", "histogram", "Negative bounds.", "")
            .buckets(
                "conf_offset",
                &[("-1.0", 0), ("0.0", 1), ("1.0", 1), ("+Inf", 2)],
            )
            .s_text_only("conf_offset_count", 2.0)
            .s_text_only("conf_offset_sum", 1.5),
    );

    let nan = r
        .register(
            "conf_nan_observed",
            "NaN observed.",
            Histogram::new(Buckets::new([1.0]).unwrap()),
        )
        .unwrap();
    nan.observe(f64::NAN);
    want.push(
        fam("conf_nan_observed", "histogram", "NaN observed.", "")
            .buckets("conf_nan_observed", &[("1.0", 0), ("+Inf", 1)])
            .s_text_only("conf_nan_observed_count", 1.0)
            .s_text_only("conf_nan_observed_sum", f64::NAN),
    );

    let payload = r
        .register("conf_payload_bytes", "Payloads.", Summary::new())
        .unwrap();
    payload.observe(100.0);
    payload.observe(28.0);
    want.push(
        fam("conf_payload_bytes", "summary", "Payloads.", "bytes")
            .s("conf_payload_bytes_count", &[], 2.0)
            .s("conf_payload_bytes_sum", &[], 128.0),
    );

    let info = [("version", "1.0 \"beta\"\n"), ("note", "# EOF")];
    r.register("conf_build", "Build.", Info::new(info).unwrap())
        .unwrap();
    want.push(fam("conf_build", "info", "Build.", "").s("conf_build_info", &info, 1.0));

    r.register("conf_breaker", "Breaker.", StateSet::new(Method::Post))
        .unwrap();
    want.push(
        fam("conf_breaker", "stateset", "Breaker.", "")
            .s("conf_breaker", &[("conf_breaker", "GET")], 0.0)
            .s("conf_breaker", &[("conf_breaker", "POST")], 1.0)
            .s("conf_breaker", &[("conf_breaker", "_OTHER")], 0.0),
    );

    let hits = r
        .register("conf_hits", "Hits.", Family::<Req, Counter>::new())
        .unwrap();
    hits.get(&Req {
        method: Method::Post,
        cached: true,
    })
    .inc_by(4);
    hits.get(&Req {
        method: Method::Other,
        cached: false,
    })
    .inc();
    let mut f = fam("conf_hits", "counter", "Hits.", "");
    for (m, c, v) in [
        ("GET", "false", 0.0),
        ("GET", "true", 0.0),
        ("POST", "false", 0.0),
        ("POST", "true", 4.0),
        ("_OTHER", "false", 1.0),
        ("_OTHER", "true", 0.0),
    ] {
        f = f.s("conf_hits_total", &[("method", m), ("cached", c)], v);
    }
    want.push(f);

    let n = HOSTILE.len();
    let hostile = r
        .register(
            "conf_hostile",
            "Hostile labels.",
            SparseFamily::<Counter, 2>::new(["a", "b"], n - 2).unwrap(),
        )
        .unwrap();
    let mut f = fam("conf_hostile", "counter", "Hostile labels.", "");
    for i in 0..n {
        let (a, b) = (HOSTILE[i], HOSTILE[(i + 1) % n]);
        hostile.get([a, b]).inc_by(i as u64 + 1);
        if i < n - 2 {
            f = f.s("conf_hostile_total", &[("a", a), ("b", b)], (i + 1) as f64);
        }
    }
    let over = "__overflow__";
    want.push(f.s(
        "conf_hostile_total",
        &[("a", over), ("b", over)],
        (n - 1 + n) as f64,
    ));

    r.register(
        "conf_callback",
        "Read at scrape.",
        CallbackGauge::new(|| 2.5),
    )
    .unwrap();
    want.push(fam("conf_callback", "gauge", "Read at scrape.", "").s("conf_callback", &[], 2.5));

    for (i, h) in HOSTILE.iter().enumerate() {
        let name = format!("conf_help_{i}");
        r.register(name.clone(), h.to_string(), Gauge::new())
            .unwrap()
            .set(i as i64);
        // The registry trims blanks around HELP: no format can carry them.
        want.push(fam(&name, "gauge", h.trim_matches(' '), "").s(&name, &[], i as f64));
    }

    r.register_collector(Hostile).unwrap();
    let mut f = fam("conf_collected", "gauge", "From a collector.", "");
    for (i, h) in HOSTILE.iter().enumerate() {
        f = f.s("conf_collected", &[("which", h)], i as f64);
    }
    want.push(f);

    // vitalsign's own counts, at zero where nothing happened: overflows and removals of the two
    // sparse families, collect errors of the two families a scrape can leave out.
    want.push(
        fam(
            "vitalsign_series_overflow",
            "counter",
            "Lookups that found a sparse family full and went to its overflow series.",
            "",
        )
        .s(
            "vitalsign_series_overflow_total",
            &[("metric", "conf_values")],
            0.0,
        )
        .s(
            "vitalsign_series_overflow_total",
            &[("metric", "conf_hostile")],
            2.0,
        ),
    );
    want.push(
        fam(
            "vitalsign_series_removed",
            "counter",
            "Series removed from a sparse family (remove, retain or clear).",
            "",
        )
        .s(
            "vitalsign_series_removed_total",
            &[("metric", "conf_values")],
            0.0,
        )
        .s(
            "vitalsign_series_removed_total",
            &[("metric", "conf_hostile")],
            0.0,
        ),
    );
    want.push(
        fam(
            "vitalsign_collect_errors",
            "counter",
            "Scrapes that left a family out because its metric or collector failed.",
            "",
        )
        .s(
            "vitalsign_collect_errors_total",
            &[("metric", "conf_callback")],
            0.0,
        )
        .s(
            "vitalsign_collect_errors_total",
            &[("metric", "conf_collected")],
            0.0,
        ),
    );
    (r, want)
}

#[test]
#[ignore = "needs python3 with prometheus_client"]
fn openmetrics_parses_strictly_and_round_trips() {
    let (registry, want) = hostile_registry();
    let text = registry.render(Format::OpenMetrics);
    assert_eq!(
        support::python_dump("openmetrics", &text),
        expected_dump(&want, Format::OpenMetrics)
    );
}

#[test]
#[ignore = "needs python3 with prometheus_client"]
fn prometheus_text_round_trips() {
    let (registry, want) = hostile_registry();
    let text = registry.render(Format::Prometheus);
    assert_eq!(
        support::python_dump("text", &text),
        expected_dump(&want, Format::Prometheus)
    );
}

#[test]
#[ignore = "needs promtool (Debian package prometheus)"]
fn promtool_accepts_prometheus_text_without_lint_complaints() {
    let promtool = support::require("promtool", "the Debian package `prometheus`");
    let (registry, _) = hostile_registry();
    let text = registry.render(Format::Prometheus);
    let (ok, out, err) = support::run(Command::new(promtool).args(["check", "metrics"]), &text);
    assert_eq!(
        (ok, out.as_str(), err.as_str()),
        (true, "", ""),
        "output:\n{text}"
    );
}
