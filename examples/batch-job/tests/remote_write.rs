//! Remote write against a real Prometheus (Debian's 2.42, started here with
//! `--web.enable-remote-write-receiver`): what a push sends is what `/api/v1/query` returns,
//! series for series and value for value; a receiver that refuses says why.

use vitalsign_tests as support;

use std::collections::BTreeMap;

use vitalsign::{Buckets, Counter, Gauge, Histogram, Registry, SparseFamily};
use vitalsign_push::{PushErrorKind, RemoteWrite};

/// Every series `query` returns: its labels (without `__name__`) and its value.
fn series(
    prometheus: std::net::SocketAddr,
    query: &str,
) -> Vec<(BTreeMap<String, String>, String)> {
    let body = support::prometheus_query(prometheus, query);
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["status"], "success", "{body}");
    let mut out: Vec<(BTreeMap<String, String>, String)> = answer["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let labels = r["metric"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(k, _)| *k != "__name__")
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect();
            (labels, r["value"][1].as_str().unwrap().to_owned())
        })
        .collect();
    out.sort();
    out
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
#[ignore = "needs prometheus (Debian package)"]
fn prometheus_stores_what_a_push_sends() {
    let (_p, prometheus, _dir) = support::start_prometheus(
        "global:\n  scrape_interval: 1h\n",
        &["--web.enable-remote-write-receiver"],
    );
    let registry = Registry::new();
    let jobs = registry
        .register(
            "jobs",
            "Jobs run.",
            SparseFamily::<Counter, 1>::new(["queue"], 10).unwrap(),
        )
        .unwrap();
    jobs.get(["mail"]).inc_by(7);
    jobs.get(["sms"]).inc();
    let temperature = registry
        .register("temperature_celsius", "Temperature.", Gauge::new())
        .unwrap();
    temperature.set(-4);
    let took = registry
        .register(
            "load_duration_seconds",
            "Load time.",
            Histogram::new(Buckets::new([0.1, 1.0, 10.0]).unwrap()),
        )
        .unwrap();
    for v in [0.05, 0.5, 5.0] {
        took.observe(v);
    }
    let client = RemoteWrite::new(&format!("http://{prometheus}/api/v1/write"))
        .unwrap()
        .label("job", "nightly-load")
        .unwrap();
    client.push(&registry).unwrap();

    let job = ("job", "nightly-load");
    let found = support::wait_for(std::time::Duration::from_secs(10), || {
        let s = series(prometheus, "jobs_total");
        (s.len() == 2).then_some(s)
    });
    assert_eq!(
        found.unwrap(),
        [
            (labels(&[job, ("queue", "mail")]), "7".to_owned()),
            (labels(&[job, ("queue", "sms")]), "1".to_owned()),
        ]
    );
    assert_eq!(
        series(prometheus, "temperature_celsius"),
        [(labels(&[job]), "-4".to_owned())]
    );
    assert_eq!(
        series(prometheus, "load_duration_seconds_bucket"),
        [
            (labels(&[job, ("le", "+Inf")]), "3".to_owned()),
            (labels(&[job, ("le", "0.1")]), "1".to_owned()),
            (labels(&[job, ("le", "1.0")]), "2".to_owned()),
            (labels(&[job, ("le", "10.0")]), "3".to_owned()),
        ]
    );
    assert_eq!(
        series(prometheus, "load_duration_seconds_count"),
        [(labels(&[job]), "3".to_owned())]
    );
    assert_eq!(
        series(prometheus, "load_duration_seconds_sum"),
        [(labels(&[job]), "5.55".to_owned())]
    );
    // vitalsign's own counts of the sparse family travel too.
    assert_eq!(
        series(prometheus, "vitalsign_series_overflow_total"),
        [(labels(&[job, ("metric", "jobs")]), "0".to_owned())]
    );

    // A path the receiver does not serve: refused with its status, nothing sent twice.
    let wrong = RemoteWrite::new(&format!("http://{prometheus}/api/v1/nowhere")).unwrap();
    let err = wrong.push(&registry).unwrap_err();
    assert_eq!(err.kind(), PushErrorKind::Rejected(404));
}

#[test]
#[ignore = "needs prometheus (Debian package)"]
fn a_prometheus_with_native_histograms_stores_the_native_buckets() {
    let (_p, prometheus, _dir) = support::start_prometheus(
        "global:\n  scrape_interval: 1h\n",
        &[
            "--web.enable-remote-write-receiver",
            "--enable-feature=native-histograms",
        ],
    );
    let registry = Registry::new();
    let took = registry
        .register(
            "load_duration_seconds",
            "Load time.",
            Histogram::with_native(
                Buckets::new([1.0]).unwrap(),
                vitalsign::NativeBuckets::default(),
            ),
        )
        .unwrap();
    for v in [0.05, 0.5, 5.0, 5.0] {
        took.observe(v);
    }
    RemoteWrite::new(&format!("http://{prometheus}/api/v1/write"))
        .unwrap()
        .label("job", "native")
        .unwrap()
        .native_histograms(true)
        .push(&registry)
        .unwrap();
    let job = ("job", "native");
    let count = support::wait_for(std::time::Duration::from_secs(10), || {
        let s = series(prometheus, "histogram_count(load_duration_seconds)");
        (!s.is_empty()).then_some(s)
    });
    assert_eq!(count.unwrap(), [(labels(&[job]), "4".to_owned())]);
    assert_eq!(
        series(prometheus, "histogram_sum(load_duration_seconds)"),
        [(labels(&[job]), "10.55".to_owned())]
    );
    // Three buckets hold observations (5.0 twice in one), as the registry's own snapshot says.
    let body = support::prometheus_query(prometheus, "load_duration_seconds");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    let buckets = answer["data"]["result"][0]["histogram"][1]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b[3].as_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    assert_eq!(buckets, ["1", "1", "2"]);
    // The classic series go too.
    assert_eq!(
        series(prometheus, "load_duration_seconds_bucket"),
        [
            (labels(&[job, ("le", "+Inf")]), "4".to_owned()),
            (labels(&[job, ("le", "1.0")]), "2".to_owned()),
        ]
    );
}
