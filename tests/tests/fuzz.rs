//! Fuzzing the encoders: random registries (counters and gauges over arbitrary Unicode label
//! values, histograms with arbitrary observations, info metrics, arbitrary HELP and float
//! values), rendered in both formats and read back by Python's `prometheus_client` parsers,
//! the OpenMetrics one strict. Each must read exactly what was registered.
//!
//! `FUZZ_CASES` sets the number of cases (`.ci/run` runs 300; use 100000 for a long run). A case
//! that ever fails belongs in `conformance.rs` as a fixed regression test.

use vitalsign_tests as support;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use vitalsign::{
    Buckets, FloatCounter, FloatGauge, Format, Histogram, Info, Registry, SparseFamily,
};
use vitalsign_tests::model::{Fam, expected_dump, fam};

/// Bounds whose canonical `le` spellings the model knows.
const BOUNDS: &[(f64, &str)] = &[
    (0.005, "0.005"),
    (0.1, "0.1"),
    (1.0, "1.0"),
    (2.5, "2.5"),
    (10.0, "10.0"),
    (1000.0, "1000.0"),
    (1e6, "1e+06"),
];

#[derive(Debug, Clone)]
enum Kind {
    Counter(Vec<(String, f64)>),
    Gauge(Vec<(String, f64)>),
    Histogram(Vec<usize>, Vec<f64>),
    Info(Vec<String>),
}

#[derive(Debug, Clone)]
struct FamilyCase {
    help: String,
    kind: Kind,
}

/// Any string, control characters included (proptest's default `String` is printable only).
fn text() -> impl Strategy<Value = String> + Clone {
    prop::collection::vec(any::<char>(), 0..12).prop_map(String::from_iter)
}

fn kind() -> impl Strategy<Value = Kind> {
    let label = text();
    prop_oneof![
        prop::collection::vec(
            (
                label.clone(),
                prop_oneof![0.0..1e12f64, (0u64..1000).prop_map(|n| n as f64)]
            ),
            1..6
        )
        .prop_map(Kind::Counter),
        prop::collection::vec((label.clone(), any::<f64>()), 1..6).prop_map(Kind::Gauge),
        (
            prop::collection::btree_set(0..BOUNDS.len(), 1..BOUNDS.len())
                .prop_map(|s| s.into_iter().collect()),
            prop::collection::vec(-1e3..1e3f64, 0..8)
        )
            .prop_map(|(b, o)| Kind::Histogram(b, o)),
        prop::collection::vec(label, 1..4).prop_map(Kind::Info),
    ]
}

fn case() -> impl Strategy<Value = Vec<FamilyCase>> {
    prop::collection::vec(
        (text(), kind()).prop_map(|(help, kind)| FamilyCase { help, kind }),
        1..5,
    )
}

/// How Python reads a float we wrote: `-0` is read as the integer 0.
fn read_back(v: f64) -> f64 {
    if v == 0.0 { 0.0 } else { v }
}

/// Registers one case and describes what a parser must read from it.
fn build(families: &[FamilyCase]) -> (Registry, Vec<Fam>) {
    let registry = Registry::new();
    let mut want = Vec::new();
    // The counters and gauges are sparse families: vitalsign counts their overflows and
    // removals, at zero here.
    let mut sparse: Vec<String> = Vec::new();
    for (i, f) in families.iter().enumerate() {
        let name = format!("fz{i}_m");
        let help = f.help.trim_matches([' ', '\t']);
        match &f.kind {
            Kind::Counter(values) | Kind::Gauge(values) => {
                let counter = matches!(f.kind, Kind::Counter(_));
                // Distinct label values in first-seen order, with their final value.
                let mut series: Vec<(String, f64)> = Vec::new();
                for (v, x) in values {
                    match series.iter_mut().find(|(s, _)| s == v) {
                        Some((_, total)) if counter => *total += x,
                        Some((_, last)) => *last = *x,
                        None => series.push((v.clone(), *x)),
                    }
                }
                let (ty, sample) = if counter {
                    let family = registry
                        .register(
                            name.clone(),
                            f.help.clone(),
                            SparseFamily::<FloatCounter, 1>::new(["l"], 100).unwrap(),
                        )
                        .unwrap();
                    for (v, x) in values {
                        family.get([v]).inc_by(*x);
                    }
                    ("counter", format!("{name}_total"))
                } else {
                    let family = registry
                        .register(
                            name.clone(),
                            f.help.clone(),
                            SparseFamily::<FloatGauge, 1>::new(["l"], 100).unwrap(),
                        )
                        .unwrap();
                    for (v, x) in values {
                        family.get([v]).set(*x);
                    }
                    ("gauge", name.clone())
                };
                let mut fm = fam(&name, ty, help, "");
                for (v, x) in &series {
                    fm = fm.s(&sample, &[("l", v)], read_back(*x));
                }
                want.push(fm);
                sparse.push(name.clone());
            }
            Kind::Histogram(bounds, observations) => {
                let chosen: Vec<(f64, &str)> = bounds.iter().map(|&b| BOUNDS[b]).collect();
                let h = registry
                    .register(
                        name.clone(),
                        f.help.clone(),
                        Histogram::new(Buckets::new(chosen.iter().map(|b| b.0)).unwrap()),
                    )
                    .unwrap();
                let mut sum = 0.0;
                for &o in observations {
                    h.observe(o);
                    sum += o;
                }
                let count = observations.len() as u64;
                let mut buckets: Vec<(&str, u64)> = chosen
                    .iter()
                    .map(|&(b, le)| (le, observations.iter().filter(|&&o| o <= b).count() as u64))
                    .collect();
                buckets.push(("+Inf", count));
                let mut fm = fam(&name, "histogram", help, "").buckets(&name, &buckets);
                let (c, s) = (format!("{name}_count"), format!("{name}_sum"));
                fm = if sum < 0.0 {
                    fm.s_text_only(&c, count as f64)
                        .s_text_only(&s, read_back(sum))
                } else {
                    fm.s(&c, &[], count as f64).s(&s, &[], read_back(sum))
                };
                want.push(fm);
            }
            Kind::Info(values) => {
                let labels: Vec<(&str, &str)> = ["a", "b", "c"]
                    .into_iter()
                    .zip(values.iter().map(String::as_str))
                    .collect();
                registry
                    .register(
                        name.clone(),
                        f.help.clone(),
                        Info::new(labels.clone()).unwrap(),
                    )
                    .unwrap();
                want.push(fam(&name, "info", help, "").s(&format!("{name}_info"), &labels, 1.0));
            }
        }
    }
    for (own, help) in [
        (
            "vitalsign_series_overflow",
            "Lookups that found a sparse family full and went to its overflow series.",
        ),
        (
            "vitalsign_series_removed",
            "Series removed from a sparse family (remove, retain or clear).",
        ),
    ] {
        if sparse.is_empty() {
            continue;
        }
        let sample = format!("{own}_total");
        let mut fm = fam(own, "counter", help, "");
        for name in &sparse {
            fm = fm.s(&sample, &[("metric", name)], 0.0);
        }
        want.push(fm);
    }
    (registry, want)
}

#[test]
#[ignore = "needs python3 with prometheus_client"]
fn random_registries_round_trip_through_both_parsers() {
    let cases: usize = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let generated: Vec<Vec<FamilyCase>> = (0..cases)
        .map(|_| case().new_tree(&mut runner).expect("a case").current())
        .collect();
    for format in [Format::OpenMetrics, Format::Prometheus] {
        let built: Vec<(Registry, Vec<Fam>)> = generated.iter().map(|c| build(c)).collect();
        let texts: Vec<String> = built.iter().map(|(r, _)| r.render(format)).collect();
        let parser = if format == Format::OpenMetrics {
            "openmetrics"
        } else {
            "text"
        };
        let dumps = support::python_dump_batch(parser, &texts);
        assert_eq!(dumps.len(), cases);
        for (i, ((_, want), dump)) in built.iter().zip(&dumps).enumerate() {
            assert_eq!(
                *dump,
                expected_dump(want, format),
                "case {i} in {format:?}: {:?}\n--- exposition ---\n{}",
                generated[i],
                texts[i]
            );
        }
    }
}
