//! The facade recorder through the `metrics` macros: exact expositions for every kind of
//! metric, names and units, bounded label sets, and every way a metric can be refused.

use vitalsign::encoding::protobuf;
use vitalsign::{Buckets, EncodeOptions, Format, Registry};
use vitalsign_metrics::{Matcher, VitalsignRecorder};

fn registry() -> &'static Registry {
    Box::leak(Box::new(Registry::new()))
}

#[test]
fn counters_gauges_names_and_units() {
    let registry = registry();
    let recorder = VitalsignRecorder::builder()
        .registry(registry)
        .native(None)
        .build();
    metrics::with_local_recorder(&recorder, || {
        metrics::describe_gauge!("queue.depth", "Jobs waiting.");
        metrics::describe_histogram!("fetch", metrics::Unit::Seconds, "Fetch time.");
        metrics::describe_counter!("sent", metrics::Unit::Bytes, "Bytes sent.");
        let depth = metrics::gauge!("queue.depth", "queue" => "mail");
        depth.set(5.0);
        depth.increment(2.5);
        depth.decrement(1.0);
        metrics::counter!("sent").increment(100);
        metrics::counter!("sent").absolute(50); // never goes down
        metrics::counter!("sent").absolute(300);
        metrics::histogram!("fetch").record(0.3);
        // Described after first use: the default HELP stays.
        metrics::counter!("late").increment(1);
        metrics::describe_counter!("late", "Too late.");
    });
    assert_eq!(
        registry.render(Format::Prometheus),
        "\
# HELP queue_depth Jobs waiting.
# TYPE queue_depth gauge
queue_depth{queue=\"mail\"} 6.5
# HELP sent_bytes_total Bytes sent.
# TYPE sent_bytes_total counter
sent_bytes_total 300
# HELP fetch_seconds Fetch time.
# TYPE fetch_seconds histogram
fetch_seconds_bucket{le=\"0.005\"} 0
fetch_seconds_bucket{le=\"0.01\"} 0
fetch_seconds_bucket{le=\"0.025\"} 0
fetch_seconds_bucket{le=\"0.05\"} 0
fetch_seconds_bucket{le=\"0.1\"} 0
fetch_seconds_bucket{le=\"0.25\"} 0
fetch_seconds_bucket{le=\"0.5\"} 1
fetch_seconds_bucket{le=\"1.0\"} 1
fetch_seconds_bucket{le=\"2.5\"} 1
fetch_seconds_bucket{le=\"5.0\"} 1
fetch_seconds_bucket{le=\"10.0\"} 1
fetch_seconds_bucket{le=\"+Inf\"} 1
fetch_seconds_count 1
fetch_seconds_sum 0.3
# HELP late_total late, recorded through the metrics facade.
# TYPE late_total counter
late_total 1
# HELP vitalsign_series_overflow_total Lookups that found a sparse family full and went to its overflow series.
# TYPE vitalsign_series_overflow_total counter
vitalsign_series_overflow_total{metric=\"queue.depth\"} 0
# HELP vitalsign_series_removed_total Series removed from a sparse family (remove, retain or clear).
# TYPE vitalsign_series_removed_total counter
vitalsign_series_removed_total{metric=\"queue.depth\"} 0
"
    );
    assert_eq!(recorder.rejected(), Vec::<String>::new());
}

#[test]
fn buckets_by_name_and_native_buckets_in_protobuf() {
    let registry = registry();
    let recorder = VitalsignRecorder::builder()
        .registry(registry)
        .buckets_for(
            Matcher::Full("db_query".into()),
            Buckets::new([1.0]).unwrap(),
        )
        .buckets_for(
            Matcher::Prefix("http_".into()),
            Buckets::new([2.0]).unwrap(),
        )
        .buckets_for(
            Matcher::Suffix("_bytes".into()),
            Buckets::new([1024.0]).unwrap(),
        )
        .build();
    metrics::with_local_recorder(&recorder, || {
        metrics::histogram!("db_query").record(0.5);
        metrics::histogram!("http_wait").record(3.0);
        metrics::histogram!("body_bytes").record(10.0);
    });
    let text = registry.render(Format::Prometheus);
    let buckets: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("_bucket{le=\""))
        .collect();
    assert_eq!(
        buckets,
        [
            "db_query_bucket{le=\"1.0\"} 1",
            "db_query_bucket{le=\"+Inf\"} 1",
            "http_wait_bucket{le=\"2.0\"} 0",
            "http_wait_bucket{le=\"+Inf\"} 1",
            "body_bytes_bucket{le=\"1024.0\"} 1",
            "body_bytes_bucket{le=\"+Inf\"} 1",
        ]
    );
    let mut bytes = Vec::new();
    registry.encode(&mut bytes, &EncodeOptions::new(Format::Protobuf));
    let families = protobuf::decode(&bytes).unwrap();
    let schemas: Vec<(String, Option<i32>, Vec<i64>)> = families
        .iter()
        .map(|f| {
            let h = f.metric[0].histogram.as_ref().unwrap();
            (f.name().to_owned(), h.schema, h.positive_delta.clone())
        })
        .collect();
    assert_eq!(
        schemas,
        [
            ("db_query".to_owned(), Some(3), vec![1]),
            ("http_wait".to_owned(), Some(3), vec![1]),
            ("body_bytes".to_owned(), Some(3), vec![1]),
        ]
    );
}

#[test]
fn label_sets_past_the_cap_share_the_overflow_series() {
    let registry = registry();
    let recorder = VitalsignRecorder::builder()
        .registry(registry)
        .max_series(2)
        .build();
    metrics::with_local_recorder(&recorder, || {
        for tenant in ["a", "b", "c", "d", "a"] {
            metrics::counter!("logins", "tenant" => tenant).increment(1);
        }
    });
    assert_eq!(
        registry.render(Format::Prometheus),
        "\
# HELP logins_total logins, recorded through the metrics facade.
# TYPE logins_total counter
logins_total{tenant=\"a\"} 2
logins_total{tenant=\"b\"} 1
logins_total{tenant=\"__overflow__\"} 2
# HELP vitalsign_series_overflow_total Lookups that found a sparse family full and went to its overflow series.
# TYPE vitalsign_series_overflow_total counter
vitalsign_series_overflow_total{metric=\"logins\"} 2
# HELP vitalsign_series_removed_total Series removed from a sparse family (remove, retain or clear).
# TYPE vitalsign_series_removed_total counter
vitalsign_series_removed_total{metric=\"logins\"} 0
"
    );
}

/// With an idle timeout (zero here: a label set not recorded to since the last scrape), label
/// sets that stop being recorded to leave the scrape and make room under the cap: a newcomer
/// gets its own series instead of the overflow one, even one that overflowed before.
#[test]
fn idle_label_sets_expire_and_make_room() {
    let registry = registry();
    let recorder = VitalsignRecorder::builder()
        .registry(registry)
        .max_series(2)
        .idle_timeout(std::time::Duration::ZERO)
        .build();
    // (Nothing removes series here: the removal count stays at zero and is left out.)
    let lines = || -> Vec<String> {
        registry
            .render(Format::Prometheus)
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with("vitalsign_series_removed_total"))
            .map(str::to_owned)
            .collect()
    };
    let record = |tenants: &[&'static str]| {
        metrics::with_local_recorder(&recorder, || {
            for &tenant in tenants {
                metrics::counter!("logins", "tenant" => tenant).increment(1);
            }
        });
    };
    record(&["a", "b", "c"]);
    assert_eq!(
        lines(),
        [
            "logins_total{tenant=\"a\"} 1",
            "logins_total{tenant=\"b\"} 1",
            "logins_total{tenant=\"__overflow__\"} 1",
            "vitalsign_series_overflow_total{metric=\"logins\"} 1",
            "vitalsign_series_expired_total{metric=\"logins\"} 0",
        ]
    );
    // Only `b` is recorded to before the next scrape: `a` expires, `c` finds room.
    record(&["b"]);
    assert_eq!(
        lines(),
        [
            "logins_total{tenant=\"b\"} 2",
            "logins_total{tenant=\"__overflow__\"} 1",
            "vitalsign_series_overflow_total{metric=\"logins\"} 1",
            "vitalsign_series_expired_total{metric=\"logins\"} 1",
        ]
    );
    // `c` finds room beside `b`; `a` (recorded again) finds the family full. `b`, not
    // recorded to since the last scrape, expires at this one.
    record(&["c", "a"]);
    assert_eq!(
        lines(),
        [
            "logins_total{tenant=\"c\"} 1",
            "logins_total{tenant=\"__overflow__\"} 2",
            "vitalsign_series_overflow_total{metric=\"logins\"} 2",
            "vitalsign_series_expired_total{metric=\"logins\"} 2",
        ]
    );
}

#[test]
fn what_cannot_be_recorded_records_nothing_and_says_why() {
    let registry = registry();
    registry
        .register("taken", "Mine.", vitalsign::Gauge::new())
        .unwrap();
    let recorder = VitalsignRecorder::builder().registry(registry).build();
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("jobs", "queue" => "a").increment(1);
        metrics::counter!("jobs", "host" => "x").increment(1); // other label names
        metrics::gauge!("jobs").set(1.0); // another kind
        metrics::counter!("taken").increment(1); // registered by the application
        metrics::counter!("wide", "a" => "1", "b" => "2", "c" => "3", "d" => "4", "e" => "5",
            "f" => "6", "g" => "7", "h" => "8", "i" => "9")
        .increment(1);
    });
    assert_eq!(
        recorder.rejected(),
        [
            "metric `jobs` records nothing: labels [\"host\"] differ from the labels of its first use, [\"queue\"]",
            "metric `jobs` records nothing: recorded as two kinds of metric",
            "metric `taken` records nothing: cannot register `taken` (counter): `taken` is already registered as a gauge",
            "metric `wide` records nothing: 9 labels: at most 8",
        ]
    );
    assert_eq!(
        registry.render(Format::Prometheus),
        "\
# HELP taken Mine.
# TYPE taken gauge
taken 0
# HELP jobs_total jobs, recorded through the metrics facade.
# TYPE jobs_total counter
jobs_total{queue=\"a\"} 1
# HELP vitalsign_series_overflow_total Lookups that found a sparse family full and went to its overflow series.
# TYPE vitalsign_series_overflow_total counter
vitalsign_series_overflow_total{metric=\"jobs\"} 0
# HELP vitalsign_series_removed_total Series removed from a sparse family (remove, retain or clear).
# TYPE vitalsign_series_removed_total counter
vitalsign_series_removed_total{metric=\"jobs\"} 0
"
    );
}
