//! Registry behaviour: clashes, idempotent registration, failing sources, selection, options.

use std::sync::Arc;

use vitalsign::{
    Buckets, CallbackGauge, Collect, Collector, Counter, Descriptor, EncodeOptions, ErrorKind,
    Format, Gauge, Histogram, MetricType, Registry, SparseFamily, StateSet, Summary,
};

fn render_names(r: &Registry, format: Format, names: &[&str]) -> String {
    let mut out = Vec::new();
    r.encode(&mut out, &EncodeOptions::new(format).names(Some(names)));
    String::from_utf8(out).unwrap()
}

#[test]
fn clashes_name_both_metrics() {
    let r = Registry::new();
    r.register("jobs", "Jobs.", Counter::new()).unwrap();
    let cases: Vec<(&str, Result<(), vitalsign::Error>)> = vec![
        ("jobs", r.register("jobs", "Jobs.", Gauge::new()).map(drop)),
        (
            "jobs_total",
            r.register("jobs_total", "Other.", Gauge::new()).map(drop),
        ),
        (
            "jobs_created",
            r.register("jobs_created", "Other.", Gauge::new()).map(drop),
        ),
        (
            "jobs again",
            r.register("jobs", "Jobs.", Counter::new()).map(drop),
        ),
        (
            "different help",
            r.register("jobs", "Other help.", Counter::new()).map(drop),
        ),
    ];
    let messages: Vec<String> = cases
        .into_iter()
        .map(|(what, res)| {
            let e = res.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Clash, "{what}");
            e.to_string()
        })
        .collect();
    assert_eq!(
        messages,
        [
            "cannot register `jobs` (gauge): `jobs` is already registered as a counter",
            "cannot register `jobs_total` (gauge): `jobs_total` is a sample name of counter `jobs`",
            "cannot register `jobs_created` (gauge): `jobs_created` is a sample name of counter `jobs`",
            "cannot register `jobs` (counter): a different metric is already registered under that name",
            "cannot register `jobs` (counter): `jobs` is already registered as a counter with a different HELP text (parts of one family share it)",
        ]
    );

    let r = Registry::new();
    r.register("lat", "Latency.", Histogram::new(Buckets::latency()))
        .unwrap();
    assert_eq!(
        r.register("lat_count", "n", Gauge::new())
            .unwrap_err()
            .to_string(),
        "cannot register `lat_count` (gauge): `lat_count` is a sample name of histogram `lat`"
    );
    r.register("sizes_count", "n", Gauge::new()).unwrap();
    assert_eq!(
        r.register("sizes", "s", Summary::new())
            .unwrap_err()
            .to_string(),
        "cannot register `sizes` (summary): its sample name `sizes_count` is already registered as a gauge"
    );
    // Nothing that failed was registered.
    assert_eq!(
        r.render(Format::Prometheus)
            .lines()
            .filter(|l| l.starts_with("# TYPE"))
            .collect::<Vec<_>>(),
        ["# TYPE lat histogram", "# TYPE sizes_count gauge"]
    );
}

static SHARED: Counter = Counter::new();

#[test]
fn same_metric_twice_is_a_no_op() {
    let r = Registry::new();
    r.register_static(Descriptor::new("s", "Static."), &SHARED)
        .unwrap();
    r.register_static(Descriptor::new("s", "Static."), &SHARED)
        .unwrap();
    let arc = Arc::new(Gauge::new());
    r.register_shared(Descriptor::new("g", "Shared."), arc.clone())
        .unwrap();
    r.register_shared(Descriptor::new("g", "Shared."), arc.clone())
        .unwrap();
    arc.set(2);
    assert_eq!(
        r.render(Format::Prometheus),
        "# HELP s_total Static.\n# TYPE s_total counter\ns_total 0\n# HELP g Shared.\n# TYPE g gauge\ng 2\n"
    );
}

#[test]
fn invalid_names_and_labels_say_what_and_where() {
    let r = Registry::new();
    let err = |res: Result<Arc<Counter>, vitalsign::Error>| res.unwrap_err().to_string();
    assert_eq!(
        err(r.register("", "x", Counter::new())),
        "invalid metric name \"\": it is empty"
    );
    // Any other UTF-8 name is taken (and escaped for scrapers that ask for legacy names), but
    // not one that such a scraper would see as a name already taken.
    r.register("fast.2", "x", Counter::new()).unwrap();
    r.register("http.requests", "x", Counter::new()).unwrap();
    assert_eq!(
        err(r.register("http_requests", "x", Counter::new())),
        "cannot register `http_requests` (counter): `http_requests` is a sample name of counter \
         `http.requests` (as a scraper without UTF-8 names sees them, escaped with underscores, dots or values)"
    );
    assert_eq!(
        err(r.register("__secret", "x", Counter::new())),
        "invalid metric name \"__secret\": names starting with `__` are reserved"
    );
    assert_eq!(
        r.register_shared(
            Descriptor::new("lat", "x").const_label("le", "1"),
            Arc::new(Histogram::new(Buckets::latency()))
        )
        .unwrap_err()
        .to_string(),
        "invalid label name \"le\" on metric `lat`: `le` is reserved on this metric type"
    );
}

#[test]
fn sparse_family_rejects_bad_label_names() {
    assert_eq!(
        SparseFamily::<Counter, 2>::new(["ok", "__not_ok"], 10)
            .unwrap_err()
            .to_string(),
        "invalid label name \"__not_ok\" on a sparse family: names starting with `__` are reserved"
    );
    // UTF-8 label names are taken; two that a legacy scraper sees as one are not.
    let r = Registry::new();
    r.register(
        "a",
        "a",
        SparseFamily::<Counter, 2>::new(["service.name", "not ok"], 10).unwrap(),
    )
    .unwrap();
    assert_eq!(
        r.register(
            "b",
            "b",
            SparseFamily::<Counter, 2>::new(["http.route", "http_route"], 10).unwrap()
        )
        .unwrap_err()
        .to_string(),
        "invalid label name \"http_route\" on metric `b`: the metric's series \
         also carry \"http.route\", which is the same label to a scraper without UTF-8 names \
         (escaped with underscores, dots or values)"
    );
}

#[test]
fn state_set_label_cannot_shadow_its_name() {
    #[derive(Clone, Copy)]
    struct One;
    impl vitalsign::LabelValue for One {
        const CARDINALITY: usize = 1;
        fn index(&self) -> usize {
            0
        }
        fn from_index(_: usize) -> Option<Self> {
            Some(One)
        }
        fn value_at(_: usize) -> &'static str {
            "one"
        }
    }
    let r = Registry::new();
    let e = r
        .register_shared(
            Descriptor::new("mode", "m").const_label("mode", "x"),
            Arc::new(StateSet::new(One)),
        )
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid label name \"mode\" on metric `mode`: a state set's own name is its state label"
    );
    assert_eq!(
        r.register("my:mode", "m", StateSet::new(One))
            .unwrap_err()
            .to_string(),
        "invalid metric name \"my:mode\" for a state set: its name is also its state label, and \
         a scraper without UTF-8 names keeps `:` in a metric name but escapes it in a label name \
         (\"my_mode\"), so it would see two names"
    );
}

/// Names that any escaping scheme writes alike are one name to that scraper: refused whether
/// they are constant labels of one registration, label sets of two parts of one family, two
/// families, or two labels of one family; and no escaped name may start with `__`.
#[test]
fn names_that_escape_alike_are_refused() {
    let r = Registry::new();
    let gauge = || Arc::new(Gauge::new());
    let err = |res: Result<(), vitalsign::Error>| res.unwrap_err().to_string();
    assert_eq!(
        err(r.register_shared(
            Descriptor::new("db", "d")
                .const_label("a-b", "1")
                .const_label("a_b", "2"),
            gauge()
        )),
        "invalid constant label \"a_b\" on metric `db`: \"a-b\" is the same label to a scraper \
         without UTF-8 names (escaped with underscores, dots or values)"
    );
    r.register_shared(Descriptor::new("g", "g").const_label("a-b", "x"), gauge())
        .unwrap();
    for other in ["a:b", "a b", "a\"b", "a_b"] {
        assert_eq!(
            err(r.register_shared(Descriptor::new("g", "g").const_label(other, "x"), gauge())),
            format!(
                "cannot register `g` (gauge) with labels {{{other}=\"x\"}}: the metric already \
                 registered under that name with labels {{a-b=\"x\"}} could write the same \
                 series (give them a constant label with different values, or different label \
                 names)"
            ),
            "{other}"
        );
    }
    // Different values under labels that escape alike: different series to every scraper.
    r.register_shared(Descriptor::new("g", "g").const_label("a_b", "y"), gauge())
        .unwrap();
    r.register("a.b", "c", Counter::new()).unwrap();
    assert_eq!(
        err(r.register("U__a_2e_b", "c", Counter::new()).map(drop)),
        "cannot register `U__a_2e_b` (counter): `U__a_2e_b` is a sample name of counter `a.b` \
         (as a scraper without UTF-8 names sees them, escaped with underscores, dots or values)"
    );
    assert_eq!(
        err(r
            .register(
                "svc",
                "s",
                SparseFamily::<Counter, 2>::new(["service.name", "U__service_2e_name"], 10)
                    .unwrap()
            )
            .map(drop)),
        "invalid label name \"U__service_2e_name\" on metric `svc`: the metric's series also \
         carry \"service.name\", which is the same label to a scraper without UTF-8 names \
         (escaped with underscores, dots or values)"
    );
    assert_eq!(
        err(r.register("🚀.launches", "l", Counter::new()).map(drop)),
        "invalid metric name \"🚀.launches\": a scraper without UTF-8 names gets it as \
         `__launches` (escaped with underscores), and names starting with `__` are reserved"
    );
}

struct Flaky {
    mode: &'static str,
}

impl Collector for Flaky {
    fn describe(&self) -> Vec<(MetricType, Descriptor)> {
        vec![(
            MetricType::Gauge,
            Descriptor::new(format!("flaky_{}", self.mode), "Flaky."),
        )]
    }
    fn collect(
        &self,
        out: &mut Collect<'_>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let name = format!("flaky_{}", self.mode);
        out.gauge(&name, &[], 1)?;
        match self.mode {
            "panics" => panic!("collector bug"),
            "fails" => Err("backend down".into()),
            "undescribed" => Ok(out.gauge("never_described", &[], 1)?),
            "bad_label" => Ok(out.gauge(&name, &[("__x", "1")], 1)?),
            _ => Ok(()),
        }
    }
}

#[test]
fn failing_sources_are_left_out_and_counted() {
    let r = Registry::new();
    r.register("before", "Before.", Gauge::new()).unwrap();
    r.register(
        "cb",
        "Panics.",
        CallbackGauge::new(|| panic!("callback bug")),
    )
    .unwrap();
    for mode in ["panics", "fails", "undescribed", "bad_label", "works"] {
        r.register_collector(Flaky { mode }).unwrap();
    }
    r.register("after", "After.", Gauge::new()).unwrap();
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let first = r.render(Format::Prometheus);
    let second = r.render(Format::Prometheus);
    std::panic::set_hook(quiet);
    assert_eq!(
        first,
        "\
# HELP before Before.
# TYPE before gauge
before 0
# HELP after After.
# TYPE after gauge
after 0
# HELP flaky_works Flaky.
# TYPE flaky_works gauge
flaky_works 1
# HELP vitalsign_collect_errors_total Scrapes that left a family out because its metric or collector failed.
# TYPE vitalsign_collect_errors_total counter
vitalsign_collect_errors_total{metric=\"cb\"} 1
vitalsign_collect_errors_total{metric=\"flaky_panics\"} 1
vitalsign_collect_errors_total{metric=\"flaky_fails\"} 1
vitalsign_collect_errors_total{metric=\"flaky_undescribed\"} 1
vitalsign_collect_errors_total{metric=\"flaky_bad_label\"} 1
vitalsign_collect_errors_total{metric=\"flaky_works\"} 0
"
    );
    assert!(
        second.ends_with(
            "vitalsign_collect_errors_total{metric=\"flaky_bad_label\"} 2\n\
             vitalsign_collect_errors_total{metric=\"flaky_works\"} 0\n"
        ),
        "{second}"
    );
}

#[test]
fn collector_names_clash_with_metrics() {
    let r = Registry::new();
    r.register("flaky_works", "Taken.", Counter::new()).unwrap();
    assert_eq!(
        r.register_collector(Flaky { mode: "works" })
            .unwrap_err()
            .to_string(),
        "cannot register `flaky_works` (gauge): `flaky_works` is already registered as a counter"
    );
}

#[test]
fn selection_by_family_or_sample_name() {
    let r = Registry::new();
    r.register("a", "A.", Counter::new()).unwrap();
    r.register("b", "B.", Gauge::new()).unwrap();
    r.register(
        "c_seconds",
        "C.",
        Histogram::new(Buckets::new([1.0]).unwrap()),
    )
    .unwrap();
    assert_eq!(
        render_names(&r, Format::Prometheus, &["a_total"]),
        "# HELP a_total A.\n# TYPE a_total counter\na_total 0\n"
    );
    assert_eq!(
        render_names(&r, Format::Prometheus, &["a", "b"]),
        "# HELP a_total A.\n# TYPE a_total counter\na_total 0\n# HELP b B.\n# TYPE b gauge\nb 0\n"
    );
    assert_eq!(
        render_names(&r, Format::OpenMetrics, &["c_seconds_bucket"]),
        "# HELP c_seconds C.\n# TYPE c_seconds histogram\n# UNIT c_seconds seconds\n\
         c_seconds_bucket{le=\"1.0\"} 0\nc_seconds_bucket{le=\"+Inf\"} 0\n\
         c_seconds_count 0\nc_seconds_sum 0\n# EOF\n"
    );
    assert_eq!(
        render_names(&r, Format::OpenMetrics, &["nothing"]),
        "# EOF\n"
    );
    assert_eq!(render_names(&r, Format::Prometheus, &[]), "");
}

#[test]
fn created_samples_only_when_asked_and_only_in_openmetrics() {
    let r = Registry::new();
    r.register("jobs", "Jobs.", Counter::new()).unwrap();
    r.register("q", "Q.", Gauge::new()).unwrap();
    let render = |format, created| {
        let mut out = Vec::new();
        r.encode(&mut out, &EncodeOptions::new(format).created(created));
        String::from_utf8(out).unwrap()
    };
    let om = render(Format::OpenMetrics, true);
    let lines: Vec<&str> = om.lines().collect();
    assert_eq!(
        lines[..3],
        ["# HELP jobs Jobs.", "# TYPE jobs counter", "jobs_total 0"]
    );
    let created: f64 = lines[3]
        .strip_prefix("jobs_created ")
        .unwrap()
        .parse()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        created <= now && now - created < 60.0,
        "created {created}, now {now}"
    );
    assert_eq!(
        lines[4..],
        ["# HELP q Q.", "# TYPE q gauge", "q 0", "# EOF"]
    );
    assert!(!render(Format::Prometheus, true).contains("_created"));
    assert!(!render(Format::OpenMetrics, false).contains("_created"));
}

#[test]
fn const_labels_split_one_family_and_refuse_duplicates() {
    let r = Registry::new();
    let d = |v: &'static str| Descriptor::new("hits", "Hits.").const_label("shard", v);
    r.register_shared(d("1"), Arc::new(Counter::new())).unwrap();
    r.register_shared(d("2"), Arc::new(Counter::new())).unwrap();
    assert_eq!(
        r.register_shared(d("2"), Arc::new(Counter::new()))
            .unwrap_err()
            .to_string(),
        "cannot register `hits` (counter): a different metric is already registered under that name with labels {shard=\"2\"}"
    );
    assert_eq!(
        r.render(Format::OpenMetrics),
        "# HELP hits Hits.\n# TYPE hits counter\nhits_total{shard=\"1\"} 0\nhits_total{shard=\"2\"} 0\n# EOF\n"
    );
}

#[test]
fn a_family_under_two_names_renders_each_correctly() {
    struct Cached(bool);
    impl vitalsign::LabelSet for Cached {
        const CARDINALITY: usize = 2;
        const NAMES: &'static [&'static str] = &["cached"];
        fn index(&self) -> usize {
            usize::from(self.0)
        }
        fn visit(i: usize, f: &mut dyn FnMut(&'static str, &str)) {
            f("cached", ["false", "true"][i]);
        }
    }
    let family = Arc::new(vitalsign::Family::<Cached, Counter>::new());
    family.get(&Cached(true)).inc();
    let (a, b) = (Registry::new(), Registry::new());
    a.register_shared(Descriptor::new("hits", "Hits."), family.clone())
        .unwrap();
    b.register_shared(
        Descriptor::new("lookups", "L.").const_label("shard", "2"),
        family.clone(),
    )
    .unwrap();
    for _ in 0..2 {
        assert_eq!(
            a.render(Format::Prometheus),
            "# HELP hits_total Hits.\n# TYPE hits_total counter\nhits_total{cached=\"false\"} 0\nhits_total{cached=\"true\"} 1\n"
        );
        assert_eq!(
            b.render(Format::Prometheus),
            "# HELP lookups_total L.\n# TYPE lookups_total counter\nlookups_total{shard=\"2\",cached=\"false\"} 0\nlookups_total{shard=\"2\",cached=\"true\"} 1\n"
        );
    }
    let mut out = Vec::new();
    a.encode(
        &mut out,
        &EncodeOptions::new(Format::OpenMetrics).created(true),
    );
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("hits_created{cached="))
            .count(),
        2,
        "{text}"
    );
}
