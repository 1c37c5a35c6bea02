//! Registrations a hostile (or careless) user can make through the public API. Prometheus
//! rejects a whole scrape for one bad line, so each case must either be refused with an error
//! that names what and where, or produce output every consumer accepts; no call may panic and no
//! scrape may hang.
//!
//! `every_case_is_refused_or_renders` runs on a bare machine: exact errors, exact lines, every
//! call under `catch_unwind`, every render under a deadline. The `#[ignore]`d tests read every
//! case's output back with both `prometheus_client` parsers, `promtool check metrics`, and a
//! real Prometheus scraping each case as its own target in both formats.

use vitalsign_tests as support;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use vitalsign::{
    Buckets, CallbackGauge, Collect, Collector, Counter, Descriptor, ErrorKind, Family, Format,
    Gauge, Histogram, Info, LabelSet, LabelValue, MetricType, Registry, SparseFamily, StateSet,
    Summary,
};

/// What one registration call returned: `Ok` or the error's message.
type Outcome = Result<(), String>;

struct Case {
    name: &'static str,
    /// Makes the registrations on a fresh registry, returning each call's outcome.
    run: fn(&'static Registry) -> Vec<Outcome>,
    /// The outcome expected of each call.
    expect: &'static [Option<&'static str>],
    /// Lines the 0.0.4 rendering must hold afterwards.
    lines: &'static [&'static str],
}

fn ok<T>(r: vitalsign::Result<T>) -> Outcome {
    r.map(drop).map_err(|e| e.to_string())
}

#[derive(Clone, Copy)]
enum Shard {
    A,
    B,
}

impl LabelValue for Shard {
    const CARDINALITY: usize = 2;
    fn index(&self) -> usize {
        *self as usize
    }
    fn from_index(i: usize) -> Option<Self> {
        [Self::A, Self::B].get(i).copied()
    }
    fn value_at(i: usize) -> &'static str {
        ["a", "b"].get(i).copied().unwrap_or("")
    }
}

/// A label set of one label, `shard`.
struct ByShard(Shard);

impl LabelSet for ByShard {
    const CARDINALITY: usize = 2;
    const NAMES: &'static [&'static str] = &["shard"];
    fn index(&self) -> usize {
        self.0.index()
    }
    fn visit(i: usize, f: &mut dyn FnMut(&'static str, &str)) {
        f("shard", Shard::value_at(i));
    }
}

/// A derived label value with a variant that carries data: fine as a label, not as a state.
#[derive(Clone, Copy, LabelValue)]
enum Phase {
    Idle,
    Running(u32),
}

impl Phase {
    fn workers(self) -> u32 {
        match self {
            Phase::Running(n) => n,
            Phase::Idle => 0,
        }
    }
}

/// A hand-written label value whose two members render the same string.
#[derive(Clone, Copy)]
struct Twins(usize);

impl LabelValue for Twins {
    const CARDINALITY: usize = 2;
    fn index(&self) -> usize {
        self.0
    }
    fn from_index(i: usize) -> Option<Self> {
        (i < 2).then_some(Self(i))
    }
    fn value_at(_: usize) -> &'static str {
        "same"
    }
}

struct ByTwins;

impl LabelSet for ByTwins {
    const CARDINALITY: usize = 2;
    const NAMES: &'static [&'static str] = &["twin"];
    fn index(&self) -> usize {
        0
    }
    fn visit(i: usize, f: &mut dyn FnMut(&'static str, &str)) {
        f("twin", Twins::value_at(i));
    }
}

/// A hand-written label set whose `visit` writes another name than its `NAMES`.
struct Liar;

impl LabelSet for Liar {
    const CARDINALITY: usize = 1;
    const NAMES: &'static [&'static str] = &["declared"];
    fn index(&self) -> usize {
        0
    }
    fn visit(_: usize, f: &mut dyn FnMut(&'static str, &str)) {
        f("written", "x");
    }
}

/// A hand-written label set that names one label twice.
struct Twice;

impl LabelSet for Twice {
    const CARDINALITY: usize = 1;
    const NAMES: &'static [&'static str] = &["m", "m"];
    fn index(&self) -> usize {
        0
    }
    fn visit(_: usize, f: &mut dyn FnMut(&'static str, &str)) {
        f("m", "x");
        f("m", "y");
    }
}

/// A collector describing one gauge `c` (and one counter `k`) that writes what `write` says,
/// ignoring every error it is given.
struct Careless(fn(&mut Collect<'_>));

impl Collector for Careless {
    fn describe(&self) -> Vec<(MetricType, Descriptor)> {
        vec![
            (MetricType::Gauge, Descriptor::new("c", "A gauge.")),
            (MetricType::Counter, Descriptor::new("k", "A counter.")),
        ]
    }
    fn collect(
        &self,
        out: &mut Collect<'_>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        (self.0)(out);
        Ok(())
    }
}

/// A collector that renders the registry it is registered in.
struct Mirror(&'static Registry);

impl Collector for Mirror {
    fn describe(&self) -> Vec<(MetricType, Descriptor)> {
        vec![(
            MetricType::Gauge,
            Descriptor::new("mirror_bytes", "Bytes seen."),
        )]
    }
    fn collect(
        &self,
        out: &mut Collect<'_>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let inner = self.0.render(Format::Prometheus);
        out.gauge("mirror_bytes", &[], inner.len() as i64)?;
        Ok(())
    }
}

const COLLECT_ERROR_C: &str = "vitalsign_collect_errors_total{metric=\"c\"} 1";

fn cases() -> Vec<Case> {
    vec![
        // High: what made a whole scrape fail.
        Case {
            name: "info_with_a_label_twice",
            run: |r| {
                vec![ok(Info::new([("a", "1"), ("a", "2")])
                    .and_then(|i| r.register("build", "Build.", i)))]
            },
            expect: &[Some(
                "invalid label name \"a\" on an info metric: it is given twice",
            )],
            lines: &[],
        },
        Case {
            name: "info_family_sharing_a_label",
            run: |r| {
                let family = Family::<ByShard, Info>::new_with(|| {
                    Info::new([("shard", "x")]).unwrap_or_default()
                });
                vec![ok(r.register("placement", "Placement.", family))]
            },
            expect: &[Some(
                "invalid label name \"shard\" on metric `placement`: the metric's series carry it twice",
            )],
            lines: &[],
        },
        Case {
            name: "sparse_family_with_a_label_twice",
            run: |r| {
                vec![ok(SparseFamily::<Counter, 2>::new(["a", "a"], 3)
                    .and_then(|f| r.register("logins", "Logins.", f)))]
            },
            expect: &[Some(
                "invalid label name \"a\" on a sparse family: it is given twice",
            )],
            lines: &[],
        },
        Case {
            name: "label_set_naming_a_label_twice",
            run: |r| {
                vec![ok(r.register(
                    "twice",
                    "Twice.",
                    Family::<Twice, Counter>::new(),
                ))]
            },
            expect: &[Some(
                "invalid label name \"m\" on metric `twice`: the metric's series carry it twice",
            )],
            lines: &[],
        },
        Case {
            name: "collector_writing_a_label_twice",
            run: |r| {
                vec![ok(r.register_collector(Careless(|out| {
                    let _ = out.gauge("c", &[("a", "1"), ("a", "2")], 1);
                })))]
            },
            expect: &[None],
            lines: &[COLLECT_ERROR_C],
        },
        Case {
            name: "state_set_name_with_a_colon",
            run: |r| vec![ok(r.register("my:mode", "Mode.", StateSet::new(Shard::A)))],
            expect: &[Some(
                "invalid metric name \"my:mode\" for a state set: its name is also its state label, and a scraper without UTF-8 names keeps `:` in a metric name but escapes it in a label name (\"my_mode\"), so it would see two names",
            )],
            lines: &[],
        },
        Case {
            name: "const_labels_that_escape_alike_on_one_registration",
            run: |r| {
                vec![ok(r.register_shared(
                    Descriptor::new("db", "Db.")
                        .const_label("a-b", "1")
                        .const_label("a_b", "2"),
                    Arc::new(Gauge::new()),
                ))]
            },
            expect: &[Some(
                "invalid constant label \"a_b\" on metric `db`: \"a-b\" is the same label to a scraper without UTF-8 names (escaped with underscores, dots or values)",
            )],
            lines: &[],
        },
        Case {
            name: "parts_whose_const_labels_escape_alike",
            run: |r| {
                ["a-b", "a:b", "a b", "a\"b"]
                    .iter()
                    .map(|k| {
                        ok(r.register_shared(
                            Descriptor::new("g", "G.").const_label(*k, "x"),
                            Arc::new(Gauge::new()),
                        ))
                    })
                    .collect()
            },
            expect: &[
                None,
                Some(
                    "cannot register `g` (gauge) with labels {a:b=\"x\"}: the metric already registered under that name with labels {a-b=\"x\"} could write the same series (give them a constant label with different values, or different label names)",
                ),
                Some(
                    "cannot register `g` (gauge) with labels {a b=\"x\"}: the metric already registered under that name with labels {a-b=\"x\"} could write the same series (give them a constant label with different values, or different label names)",
                ),
                Some(
                    "cannot register `g` (gauge) with labels {a\"b=\"x\"}: the metric already registered under that name with labels {a-b=\"x\"} could write the same series (give them a constant label with different values, or different label names)",
                ),
            ],
            lines: &["g{a_b=\"x\"} 0"],
        },
        Case {
            name: "families_that_escape_alike_with_values",
            run: |r| {
                vec![
                    ok(r.register("pay.ments", "Payments.", Counter::new())),
                    ok(r.register("U__pay_2e_ments", "Payments.", Counter::new())),
                ]
            },
            expect: &[
                None,
                Some(
                    "cannot register `U__pay_2e_ments` (counter): `U__pay_2e_ments` is a sample name of counter `pay.ments` (as a scraper without UTF-8 names sees them, escaped with underscores, dots or values)",
                ),
            ],
            lines: &["pay_ments_total 0"],
        },
        Case {
            name: "labels_that_escape_alike_with_values",
            run: |r| {
                vec![ok(r.register(
                    "svc",
                    "Svc.",
                    SparseFamily::<Counter, 2>::new(["service.name", "U__service_2e_name"], 10)
                        .expect("valid names"),
                ))]
            },
            expect: &[Some(
                "invalid label name \"U__service_2e_name\" on metric `svc`: the metric's series also carry \"service.name\", which is the same label to a scraper without UTF-8 names (escaped with underscores, dots or values)",
            )],
            lines: &[],
        },
        Case {
            name: "a_name_whose_escaped_form_is_reserved",
            run: |r| vec![ok(r.register("🚀.launches", "Launches.", Counter::new()))],
            expect: &[Some(
                "invalid metric name \"🚀.launches\": a scraper without UTF-8 names gets it as `__launches` (escaped with underscores), and names starting with `__` are reserved",
            )],
            lines: &[],
        },
        Case {
            name: "const_label_equal_to_a_family_label",
            run: |r| {
                vec![ok(r.register_shared(
                    Descriptor::new("hits", "Hits.").const_label("shard", "a"),
                    Arc::new(Family::<ByShard, Counter>::new()),
                ))]
            },
            expect: &[Some(
                "invalid label name \"shard\" on metric `hits`: it is also a constant label",
            )],
            lines: &[],
        },
        Case {
            name: "state_set_of_an_enum_with_data",
            run: |r| {
                let phase = StateSet::new(Phase::Idle);
                let running = Phase::Running(2);
                assert_eq!(running.workers(), 2);
                phase.set(running);
                vec![ok(r.register("phase", "Phase.", phase))]
            },
            expect: &[Some(
                "cannot register `phase`: state `running` of a state set cannot be rebuilt from its index (a variant with fields?); a state set's enum has variants without fields",
            )],
            lines: &[],
        },
        // Medium: names that are another family's sample names.
        Case {
            name: "counter_named_after_a_created_sample",
            run: |r| {
                vec![
                    ok(r.register("x", "X.", Counter::new())),
                    ok(r.register_shared(
                        Descriptor::new("x_created", "X.").const_label("k", "v"),
                        Arc::new(Counter::new()),
                    )),
                ]
            },
            expect: &[
                None,
                Some(
                    "cannot register `x_created` (counter): `x_created` is a sample name of counter `x`",
                ),
            ],
            lines: &["x_total 0"],
        },
        Case {
            name: "counter_named_after_a_histogram_count",
            run: |r| {
                vec![
                    ok(r.register("h", "H.", Histogram::new(Buckets::latency()))),
                    ok(r.register("h_count", "H.", Counter::new())),
                ]
            },
            expect: &[
                None,
                Some(
                    "cannot register `h_count` (counter): `h_count` is a sample name of histogram `h`",
                ),
            ],
            lines: &["h_count 0"],
        },
        Case {
            name: "histogram_whose_count_is_taken",
            run: |r| {
                vec![
                    ok(r.register("h_count", "Taken first.", Gauge::new())),
                    ok(r.register("h", "H.", Histogram::new(Buckets::latency()))),
                ]
            },
            expect: &[
                None,
                Some(
                    "cannot register `h` (histogram): its sample name `h_count` is already registered as a gauge",
                ),
            ],
            lines: &["h_count 0"],
        },
        Case {
            name: "gauge_named_after_a_summary_sum",
            run: |r| {
                vec![
                    ok(r.register("s", "S.", Summary::new())),
                    ok(r.register("s_sum", "S.", Gauge::new())),
                ]
            },
            expect: &[
                None,
                Some("cannot register `s_sum` (gauge): `s_sum` is a sample name of summary `s`"),
            ],
            lines: &["s_sum 0"],
        },
        Case {
            name: "counter_total_total",
            run: |r| {
                vec![
                    ok(r.register("y", "Y.", Counter::new())),
                    ok(r.register_shared(
                        Descriptor::new("y_total_total", "Y.").const_label("k", "v"),
                        Arc::new(Counter::new()),
                    )),
                ]
            },
            expect: &[
                None,
                Some(
                    "cannot register `y_total` (counter): `y_total` is a sample name of counter `y`",
                ),
            ],
            lines: &["y_total 0"],
        },
        Case {
            name: "info_info_info",
            run: |r| {
                vec![
                    ok(Info::new([("v", "1")]).and_then(|i| r.register("i", "I.", i))),
                    ok(Info::new([("v", "2")]).and_then(|i| r.register("i_info_info", "I.", i))),
                ]
            },
            expect: &[
                None,
                Some("cannot register `i_info` (info): `i_info` is a sample name of info `i`"),
            ],
            lines: &["i_info{v=\"1\"} 1"],
        },
        // Medium: the registry's own names.
        Case {
            name: "reserved_self_metric_names",
            run: |r| {
                vec![
                    ok(r.register("vitalsign_collect_errors", "Mine.", Counter::new())),
                    ok(r.register("vitalsign_series_overflow_total", "Mine.", Counter::new())),
                    ok(r.register("vitalsign_scrapes", "Mine.", Gauge::new())),
                ]
            },
            expect: &[
                Some(
                    "cannot register `vitalsign_collect_errors`: names starting with `vitalsign_` are reserved for vitalsign's own self-metrics",
                ),
                Some(
                    "cannot register `vitalsign_series_overflow`: names starting with `vitalsign_` are reserved for vitalsign's own self-metrics",
                ),
                Some(
                    "cannot register `vitalsign_scrapes`: names starting with `vitalsign_` are reserved for vitalsign's own self-metrics",
                ),
            ],
            lines: &[],
        },
        Case {
            name: "two_overflowing_parts_of_one_family",
            run: |r| {
                let part = |shard: &'static str| {
                    let f = Arc::new(SparseFamily::<Counter, 1>::new(["user"], 1).unwrap());
                    let result = r.register_shared(
                        Descriptor::new("logins", "Logins.").const_label("shard", shard),
                        f.clone(),
                    );
                    for user in ["ada", "bob", "cy"] {
                        f.get([user]).inc();
                    }
                    ok(result)
                };
                vec![part("a"), part("b")]
            },
            expect: &[None, None],
            lines: &[
                "logins_total{shard=\"a\",user=\"__overflow__\"} 2",
                "logins_total{shard=\"b\",user=\"__overflow__\"} 2",
                "vitalsign_series_overflow_total{metric=\"logins\"} 4",
            ],
        },
        // Medium: re-entrancy, which used to deadlock the registry for good.
        Case {
            name: "callback_gauge_registering_during_a_scrape",
            run: |r| {
                vec![ok(r.register(
                    "sneaky",
                    "Registers when read.",
                    CallbackGauge::new(move || {
                        let e = r.register("late", "Late.", Counter::new()).unwrap_err();
                        if e.kind() == ErrorKind::Reentrant {
                            1.0
                        } else {
                            0.0
                        }
                    }),
                ))]
            },
            expect: &[None],
            lines: &["sneaky 1"],
        },
        Case {
            name: "collector_rendering_its_own_registry",
            run: |r| {
                vec![
                    ok(r.register("g", "G.", Gauge::new())),
                    ok(r.register_collector(Mirror(r))),
                ]
            },
            expect: &[None, None],
            lines: &["g 0", "mirror_bytes 0"],
        },
        // Medium: counters a collector writes.
        Case {
            name: "collector_negative_nan_and_minus_inf_counters",
            run: |r| {
                vec![ok(r.register_collector(Careless(|out| {
                    let _ = out.counter("k", &[("v", "neg")], -1);
                    let _ = out.counter("k", &[("v", "nan")], f64::NAN);
                    let _ = out.counter("k", &[("v", "ninf")], f64::NEG_INFINITY);
                })))]
            },
            expect: &[None],
            lines: &[
                "vitalsign_collect_errors_total{metric=\"c\"} 1",
                "vitalsign_collect_errors_total{metric=\"k\"} 1",
            ],
        },
        // Low.
        Case {
            name: "durations_that_wrap_the_nanosecond_sum",
            run: |r| {
                let h = r.register("long_seconds", "Long.", Histogram::new(Buckets::latency()));
                if let Ok(h) = &h {
                    h.observe_duration(Duration::MAX);
                    h.observe_duration(Duration::MAX);
                }
                vec![ok(h)]
            },
            expect: &[None],
            lines: &[
                "long_seconds_count 2",
                "long_seconds_sum 3.6893488147419106e+10",
            ],
        },
        Case {
            name: "bucket_counts_past_the_maximum",
            run: |_| {
                vec![
                    ok(Buckets::linear(0.0, 1.0, usize::MAX)),
                    ok(Buckets::exponential(1.0, 2.0, usize::MAX)),
                    ok(Buckets::new((0..).map(f64::from))),
                ]
            },
            expect: &[
                Some(
                    "invalid histogram buckets: 18446744073709551615 bounds is more than the 4096 a histogram may have",
                ),
                Some(
                    "invalid histogram buckets: 18446744073709551615 bounds is more than the 4096 a histogram may have",
                ),
                Some(
                    "invalid histogram buckets: 4098 bounds is more than the 4096 a histogram may have",
                ),
            ],
            lines: &[],
        },
        Case {
            name: "const_label_beside_a_dense_part",
            run: |r| {
                vec![
                    ok(r.register("jobs", "Jobs.", Family::<ByShard, Counter>::new())),
                    ok(r.register_shared(
                        Descriptor::new("jobs", "Jobs.").const_label("shard", "a"),
                        Arc::new(Counter::new()),
                    )),
                ]
            },
            expect: &[
                None,
                Some(
                    "cannot register `jobs` (counter) with labels {shard=\"a\"}: the metric already registered under that name could write the same series (give them a constant label with different values, or different label names)",
                ),
            ],
            lines: &["jobs_total{shard=\"a\"} 0", "jobs_total{shard=\"b\"} 0"],
        },
        Case {
            name: "an_empty_const_label_is_no_label",
            run: |r| {
                let x = |value: &'static str| {
                    let desc = Descriptor::new("x", "X.");
                    match value {
                        "none" => desc,
                        v => desc.const_label("a", v),
                    }
                };
                vec![
                    ok(r.register_shared(x("none"), Arc::new(Gauge::new()))),
                    // `x{a=""}` is `x` to Prometheus: one series written twice.
                    ok(r.register_shared(x(""), Arc::new(Gauge::new()))),
                    ok(r.register_shared(x("1"), Arc::new(Gauge::new()))),
                ]
            },
            expect: &[
                None,
                Some(
                    "cannot register `x` (gauge) with labels {a=\"\"}: the metric already registered under that name could write the same series (to Prometheus a label with an empty value is no label)",
                ),
                None,
            ],
            lines: &["x 0", "x{a=\"1\"} 0"],
        },
        Case {
            name: "const_labels_in_another_order",
            run: |r| {
                let desc = |first: (&'static str, &'static str),
                            second: (&'static str, &'static str)| {
                    Descriptor::new("pairs", "Pairs.")
                        .const_label(first.0, first.1)
                        .const_label(second.0, second.1)
                };
                vec![
                    ok(r.register_shared(desc(("a", "1"), ("b", "2")), Arc::new(Gauge::new()))),
                    ok(r.register_shared(desc(("b", "2"), ("a", "1")), Arc::new(Gauge::new()))),
                    ok(r.register_shared(desc(("b", "3"), ("a", "1")), Arc::new(Gauge::new()))),
                ]
            },
            expect: &[
                None,
                Some(
                    "cannot register `pairs` (gauge) with labels {b=\"2\",a=\"1\"}: the metric already registered under that name with labels {a=\"1\",b=\"2\"} could write the same series (give them a constant label with different values, or different label names)",
                ),
                None,
            ],
            lines: &["pairs{a=\"1\",b=\"2\"} 0", "pairs{b=\"3\",a=\"1\"} 0"],
        },
        Case {
            name: "collector_writing_a_series_twice",
            run: |r| {
                vec![ok(r.register_collector(Careless(|out| {
                    let _ = out.gauge("c", &[("a", "1"), ("b", "2")], 1);
                    let _ = out.gauge("c", &[("b", "2"), ("a", "1")], 2);
                })))]
            },
            expect: &[None],
            lines: &[COLLECT_ERROR_C],
        },
        Case {
            name: "label_value_with_repeated_strings",
            run: |r| {
                vec![ok(r.register(
                    "twins",
                    "Twins.",
                    Family::<ByTwins, Counter>::new(),
                ))]
            },
            expect: &[Some(
                "cannot register `twins`: two members of its label set have the labels {twin=\"same\"}",
            )],
            lines: &[],
        },
        Case {
            name: "label_set_visiting_other_names",
            run: |r| {
                vec![ok(r.register(
                    "liar",
                    "Liar.",
                    Family::<Liar, Counter>::new(),
                ))]
            },
            expect: &[Some(
                "cannot register `liar`: its label set's member 0 has labels [\"written\"], but its `NAMES` are [\"declared\"]",
            )],
            lines: &[],
        },
        Case {
            name: "collector_ignoring_an_undescribed_family",
            run: |r| {
                vec![ok(r.register_collector(Careless(|out| {
                    let _ = out.gauge("c", &[], 1);
                    let _ = out.gauge("undescribed", &[], 1);
                })))]
            },
            expect: &[None],
            lines: &[COLLECT_ERROR_C],
        },
        // Hostile names and strings everywhere a carrier takes one.
        Case {
            name: "hostile_names_and_strings",
            run: |r| {
                let help = "quote\" back\\slash new\nline # EOF";
                let value = "}{a=\"b\"}\n\\\"#";
                vec![
                    ok(r.register_shared(
                        Descriptor::new("h:colon_seconds", help).const_label("v", value),
                        Arc::new(Histogram::new(Buckets::latency())),
                    )),
                    ok(Info::new([("v", value), ("crab", "🦀")])
                        .and_then(|i| r.register("hostile", help, i))),
                    ok(r.register("mode", help, StateSet::new(Shard::B))),
                    ok(SparseFamily::<Gauge, 1>::new(["who"], 2).and_then(|f| {
                        let f = r.register("sparse", help, f)?;
                        f.get([value]).set(-1);
                        f.get(["__overflow__"]).set(5);
                        Ok(())
                    })),
                    ok(r.register("9starts_with_digit", help, Counter::new())),
                    ok(r.register("__reserved", help, Counter::new())),
                    ok(r.register_shared(
                        Descriptor::new("le_const", help).const_label("le", "1"),
                        Arc::new(Histogram::new(Buckets::latency())),
                    )),
                ]
            },
            expect: &[
                None,
                None,
                None,
                None,
                // A UTF-8 name that a scraper asking for dots would get as a reserved one.
                Some(
                    "invalid metric name \"9starts_with_digit\": a scraper without UTF-8 names gets it as `__starts__with__digit` (escaped with dots), and names starting with `__` are reserved",
                ),
                Some("invalid metric name \"__reserved\": names starting with `__` are reserved"),
                Some(
                    "invalid label name \"le\" on metric `le_const`: `le` is reserved on this metric type",
                ),
            ],
            lines: &[
                "hostile_info{v=\"}{a=\\\"b\\\"}\\n\\\\\\\"#\",crab=\"🦀\"} 1",
                "mode{mode=\"b\"} 1",
                "sparse{who=\"__overflow__\"} 5",
            ],
        },
        Case {
            name: "utf8_names",
            // UTF-8 metric and label names, hostile ones among them: a scraper that does not
            // ask for UTF-8 names reads them escaped with underscores; two that would escape
            // alike are refused.
            run: |r| {
                vec![
                    ok(
                        SparseFamily::<Counter, 1>::new(["http.route"], 4).and_then(|f| {
                            r.register_shared(
                                Descriptor::new("http.server.requests", "Requests.")
                                    .const_label("service.name", "shop"),
                                Arc::new(f),
                            )
                        }),
                    ),
                    ok(r.register("quote\" new\nline 🦀", "Crab.", Gauge::new())),
                    ok(r.register("http_server_requests", "Legacy twin.", Counter::new())),
                ]
            },
            expect: &[
                None,
                None,
                Some(
                    "cannot register `http_server_requests` (counter): `http_server_requests` is a sample name of counter `http.server.requests` (as a scraper without UTF-8 names sees them, escaped with underscores, dots or values)",
                ),
            ],
            lines: &["quote__new_line__ 0"],
        },
    ]
}

/// Runs `f` on another thread and waits at most 10 s for it: a deadlock fails the test instead
/// of hanging it.
fn within_deadline<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(catch_unwind(AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(Duration::from_secs(10)) {
        Ok(Ok(v)) => v,
        Ok(Err(_)) => panic!("{what} panicked"),
        Err(_) => panic!("{what} did not finish within 10 s (a deadlock?)"),
    }
}

/// Every case run on a fresh registry (leaked: `'static`, as a served registry is), with the
/// outcomes of its calls.
fn run_cases() -> Vec<(&'static Case, &'static Registry, Vec<Outcome>)> {
    let cases: &'static [Case] = Vec::leak(cases());
    cases
        .iter()
        .map(|case| {
            let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
            let outcomes = within_deadline(case.name, move || (case.run)(registry));
            (case, registry, outcomes)
        })
        .collect()
}

fn render(name: &str, registry: &'static Registry, format: Format) -> String {
    within_deadline(&format!("rendering {name}"), move || {
        registry.render(format)
    })
}

#[test]
fn every_case_is_refused_or_renders() {
    for (case, registry, outcomes) in run_cases() {
        let expected: Vec<Outcome> = case
            .expect
            .iter()
            .map(|e| e.map_or(Ok(()), |m| Err(m.to_owned())))
            .collect();
        assert_eq!(outcomes, expected, "case {}", case.name);
        let text = render(case.name, registry, Format::Prometheus);
        for line in case.lines {
            assert!(
                text.lines().any(|l| l == *line),
                "case {}: no line `{line}` in\n{text}",
                case.name
            );
        }
        let om = render(case.name, registry, Format::OpenMetrics);
        assert!(om.ends_with("# EOF\n"), "case {}:\n{om}", case.name);
        // A second scrape is as good as the first (nothing was left locked or poisoned); only
        // the count of failed collections goes up.
        let stable = |t: &str| -> Vec<String> {
            t.lines()
                .filter(|l| !l.starts_with("vitalsign_collect_errors_total{"))
                .map(str::to_owned)
                .collect()
        };
        let again = render(case.name, registry, Format::Prometheus);
        assert_eq!(stable(&again), stable(&text), "case {}", case.name);
    }
}

mod statics {
    vitalsign::metrics! {
        /// Orders, declared in a static.
        pub static ORDERS: vitalsign::Counter as "hostile_static_orders";
    }
}

/// A runtime registration of a static's name used to win and leave the static counting into
/// nothing; statics now claim their names before the registry's first registration.
#[test]
fn a_static_keeps_its_name_against_a_later_runtime_registration() {
    let registry = vitalsign::default_registry();
    let e = registry
        .register(
            "hostile_static_orders",
            "Orders, at run time.",
            Counter::new(),
        )
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot register `hostile_static_orders` (counter): `hostile_static_orders` is already registered as a counter with a different HELP text (parts of one family share it)"
    );
    statics::ORDERS.inc();
    let text = registry.render(Format::Prometheus);
    assert!(
        text.contains("# HELP hostile_static_orders_total Orders, declared in a static.\n# TYPE hostile_static_orders_total counter\nhostile_static_orders_total 1\n"),
        "{text}"
    );
    assert_eq!(registry.registration_errors(), []);
}

/// Every case's output in both formats, read by both Python parsers: each parses, and no series
/// appears twice.
#[test]
#[ignore = "needs python3 with prometheus_client"]
fn python_parsers_read_every_case() {
    let run = run_cases();
    for (format, parser) in [
        (Format::OpenMetrics, "openmetrics"),
        (Format::Prometheus, "text"),
    ] {
        let texts: Vec<String> = run
            .iter()
            .map(|(c, r, _)| render(c.name, r, format))
            .collect();
        let dumps = support::python_dump_batch(parser, &texts);
        assert_eq!(dumps.len(), texts.len());
        for (((case, _, _), dump), text) in run.iter().zip(&dumps).zip(&texts) {
            assert!(
                !dump.starts_with("ERROR"),
                "{parser} rejected case {}: {dump}\n{text}",
                case.name
            );
            let samples: Vec<&str> = dump
                .lines()
                .filter(|l| l.starts_with("S "))
                .map(|l| l.rsplit_once(' ').map_or(l, |(series, _)| series))
                .collect();
            let mut unique = samples.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(
                unique.len(),
                samples.len(),
                "{parser}: a series twice in case {}:\n{text}",
                case.name
            );
            let lines = text
                .lines()
                .filter(|l| !l.starts_with('#') && !l.is_empty())
                .count();
            assert_eq!(
                samples.len(),
                lines,
                "{parser} read case {} differently:\n{text}\n{dump}",
                case.name
            );
        }
    }
}

/// Every case's 0.0.4 output parses in `promtool check metrics` (exit code 1 is a parse error).
/// Its lint (exit code 3) complains only where a case chose a name it dislikes on purpose.
#[test]
#[ignore = "needs promtool (Debian package prometheus)"]
fn promtool_accepts_every_case() {
    use std::io::Write;
    use std::process::{Command, Stdio};

    let promtool = support::require("promtool", "the Debian package `prometheus`");
    let mut linted = Vec::new();
    for (case, registry, _) in run_cases() {
        let text = render(case.name, registry, Format::Prometheus);
        let mut child = Command::new(&promtool)
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start promtool");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write to promtool");
        let out = child.wait_with_output().expect("promtool");
        let said = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        match out.status.code() {
            Some(0) => {}
            Some(3) => linted.push((case.name, said.trim().to_owned())),
            _ => panic!(
                "promtool could not parse case {}: {said}\n{text}",
                case.name
            ),
        }
    }
    assert_eq!(
        linted,
        [
            (
                "histogram_whose_count_is_taken",
                "h_count non-histogram and non-summary metrics should not have \"_count\" suffix"
                    .to_owned()
            ),
            (
                "hostile_names_and_strings",
                "h:colon_seconds metric names should not contain ':'".to_owned()
            ),
        ]
    );
}

/// A real Prometheus scrapes every case as its own target, negotiated (OpenMetrics) and pinned to
/// 0.0.4: every target is up, it stored every sample it was sent, and it found no duplicate.
#[test]
#[ignore = "needs prometheus (Debian package prometheus)"]
fn prometheus_scrapes_every_case() {
    // OpenMetrics and 0.0.4 by one Prometheus, protobuf by another with native histograms on.
    let run = run_cases();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let mut exporters = Vec::new();
    let mut targets = [String::new(), String::new()];
    let mut expected_samples = 0;
    for (case, registry, _) in &run {
        for (i, format) in [Format::OpenMetrics, Format::Prometheus]
            .into_iter()
            .enumerate()
        {
            let handler = vitalsign_tower::MetricsHandler::new(registry);
            let handler = if format == Format::Prometheus {
                handler.format(format)
            } else {
                handler
            };
            let exporter = runtime
                .block_on(vitalsign_tower::serve_handler(
                    "127.0.0.1:0".parse().expect("addr"),
                    handler,
                ))
                .unwrap_or_else(|e| panic!("case {}: {e}", case.name));
            targets[i].push_str(&format!("'{}',", exporter.local_addr()));
            exporters.push(exporter);
        }
        // The samples each target sends, scrape self-metrics included (their series all exist
        // from the handler's creation on).
        let text = registry.render(Format::Prometheus);
        expected_samples += text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .count();
    }
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n\
         \x20 - job_name: openmetrics\n    static_configs:\n      - targets: [{}]\n\
         \x20 - job_name: text\n    static_configs:\n      - targets: [{}]\n",
        targets[0], targets[1]
    );
    let (_prometheus, addr, _dir) = support::start_prometheus(&config, &[]);
    let want = 2 * run.len();
    let up = support::wait_for(Duration::from_secs(60), || {
        let (_, body) = support::http_get(addr, "/api/v1/query?query=count(up%3D%3D1)");
        body.contains(&format!(",\"{want}\"]")).then_some(())
    });
    assert!(
        up.is_some(),
        "not every target is up: {}",
        support::http_get(addr, "/api/v1/targets").1
    );
    // Every sample sent was stored: the samples scraped per job are what vitalsign wrote.
    let query = "/api/v1/query?query=sum%20by%20(job)(scrape_samples_post_metric_relabeling)";
    let stored = support::wait_for(Duration::from_secs(30), || {
        let (_, body) = support::http_get(addr, query);
        (body.matches(&format!(",\"{expected_samples}\"]")).count() == 2).then_some(())
    });
    assert!(
        stored.is_some(),
        "expected {expected_samples} samples per job: {}",
        support::http_get(addr, query).1
    );
    let (_, body) = support::http_get(addr, "/metrics");
    let duplicates: f64 = body
        .lines()
        .filter(|l| l.starts_with("prometheus_target_scrapes_sample_duplicate_timestamp_total "))
        .filter_map(|l| l.rsplit(" ").next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(duplicates, 0.0, "Prometheus found duplicate series");
    let invalid: f64 = body
        .lines()
        .filter(|l| {
            l.starts_with("prometheus_target_scrapes_sample_out_of_bounds_total ")
                || l.starts_with("prometheus_target_scrapes_exceeded_sample_limit_total ")
        })
        .filter_map(|l| l.rsplit(" ").next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(invalid, 0.0);

    // A Prometheus with native histograms on asks the same handlers for protobuf: every case
    // is read, every sample stored.
    let protobuf_config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n\
         \x20 - job_name: protobuf\n    static_configs:\n      - targets: [{}]\n",
        targets[0]
    );
    let (_native, native, _ndir) =
        support::start_prometheus(&protobuf_config, &["--enable-feature=native-histograms"]);
    let want = run.len();
    let up = support::wait_for(Duration::from_secs(60), || {
        let (_, body) = support::http_get(native, "/api/v1/query?query=count(up%3D%3D1)");
        body.contains(&format!(",\"{want}\"]")).then_some(())
    });
    assert!(
        up.is_some(),
        "not every protobuf target is up: {}",
        support::http_get(native, "/api/v1/targets").1
    );
    let stored = support::wait_for(Duration::from_secs(30), || {
        let (_, body) = support::http_get(native, query);
        body.contains(&format!(",\"{expected_samples}\"]"))
            .then_some(())
    });
    assert!(
        stored.is_some(),
        "expected {expected_samples} samples over protobuf: {}",
        support::http_get(native, query).1
    );
    runtime.block_on(async {
        for exporter in exporters {
            exporter.shutdown().await;
        }
    });
}

#[test]
#[ignore = "needs victoria-metrics (Debian package victoria-metrics)"]
fn victoria_metrics_stores_every_case() {
    // A second real scraper: every case served, every sample it sends stored as a series.
    let run = run_cases();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let mut exporters = Vec::new();
    let mut targets = String::new();
    let mut expected_samples = 0;
    for (case, registry, _) in &run {
        let exporter = runtime
            .block_on(vitalsign_tower::serve_handler(
                "127.0.0.1:0".parse().expect("addr"),
                vitalsign_tower::MetricsHandler::new(registry),
            ))
            .unwrap_or_else(|e| panic!("case {}: {e}", case.name));
        targets.push_str(&format!("'{}',", exporter.local_addr()));
        exporters.push(exporter);
        let text = registry.render(Format::Prometheus);
        expected_samples += text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .count();
    }
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n\
         \x20 - job_name: cases\n    static_configs:\n      - targets: [{targets}]\n"
    );
    let (_vm, addr, _dir) = support::start_victoria_metrics(&config);
    let want = run.len();
    let up = support::wait_for(Duration::from_secs(60), || {
        let (_, body) = support::http_get(addr, "/api/v1/query?query=count(up%3D%3D1)");
        body.contains(&format!(",\"{want}\"]")).then_some(())
    });
    assert!(
        up.is_some(),
        "not every target is up: {}",
        support::http_get(addr, "/api/v1/targets").1
    );
    // Every sample sent was parsed, and is a series of its own (targets differ by `instance`);
    // VictoriaMetrics' own scrape series (`up`, `scrape_*`) aside.
    let parsed = "/api/v1/query?query=sum(scrape_samples_post_metric_relabeling)";
    let series =
        "/api/v1/query?query=count(%7Bjob%3D%22cases%22%2C__name__!~%22up%7Cscrape_.*%22%7D)";
    let stored = support::wait_for(Duration::from_secs(30), || {
        let want = format!(",\"{expected_samples}\"]");
        (support::http_get(addr, parsed).1.contains(&want)
            && support::http_get(addr, series).1.contains(&want))
        .then_some(())
    });
    assert!(
        stored.is_some(),
        "expected {expected_samples} samples: parsed {}, stored {}",
        support::http_get(addr, parsed).1,
        support::http_get(addr, series).1
    );
    let (_, metrics) = support::http_get(addr, "/metrics");
    let invalid: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("vm_rows_invalid_total") && !l.ends_with(" 0"))
        .collect();
    assert_eq!(invalid, Vec::<&str>::new(), "VictoriaMetrics refused rows");
    runtime.block_on(async {
        for exporter in exporters {
            exporter.shutdown().await;
        }
    });
}
