//! The graph and the page, against a real Prometheus 2.42 in both of its histogram storages:
//! default flags (classic `_bucket`/`_count`/`_sum` series) and
//! `--enable-feature=native-histograms` (a histogram with native buckets stored as a native
//! histogram only: no `_bucket`, `_count` or `_sum`).
//!
//! For each storage, two shops under simulated traffic, each scraped every second by its own
//! Prometheus evaluating the shop's generated rules (windows scaled 60x). After a baseline as
//! long as the regression alert's offset (1 h scaled to 1 m), every query of the generated
//! dashboard and every recording rule returns series; then one shop's provider goes from 100 to
//! 200 ms and the other's from 150 to 300 ms, and `PaymentsLatencyRegression` fires on both.

use vitalsign_tests as support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use support::{http_get, http_request, prometheus_query, wait_for};

const BIN: &str = env!("CARGO_BIN_EXE_checkout");

/// How long after the slowdown the regression alert may take to fire (the issue's bound).
const FIRE_WITHIN: Duration = Duration::from_secs(30);

fn set_provider(shop: SocketAddr, latency_ms: u64) {
    let body = format!(r#"{{"latency_ms": {latency_ms}, "error_rate": 0}}"#);
    let (status, answer) = http_request(shop, "PUT", "/admin/payment-provider", &body);
    assert_eq!(status, 200, "{answer}");
}

fn alert_firing(prometheus: SocketAddr, alert: &str) -> bool {
    let (_, body) = http_get(prometheus, "/api/v1/alerts");
    body.split(r#"{"labels":"#).any(|a| {
        a.contains(&format!(r#""alertname":"{alert}""#)) && a.contains(r#""state":"firing""#)
    })
}

/// The series an instant query returns: `None` when it failed.
fn series(prometheus: SocketAddr, query: &str) -> Option<Vec<serde_json::Value>> {
    let answer: serde_json::Value =
        serde_json::from_str(&prometheus_query(prometheus, query)).ok()?;
    (answer["status"] == "success").then(|| {
        answer["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    })
}

/// A shop and the Prometheus that scrapes it and evaluates its rules.
struct Stack {
    shop: SocketAddr,
    prometheus: SocketAddr,
    _parts: (
        support::Process,
        support::Process,
        support::TempDir,
        support::TempDir,
    ),
}

fn start(native: bool) -> Stack {
    let (shop_process, shop) = support::start_checkout(BIN, 20);
    let (rules_dir, rules) = support::checkout_rules(BIN, "60");
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\n\
         scrape_configs:\n  - job_name: checkout\n    static_configs:\n      - targets: ['{shop}']\n",
        rules.display()
    );
    let flags: &[&str] = if native {
        &["--enable-feature=native-histograms"]
    } else {
        &[]
    };
    let (prometheus_process, prometheus, dir) = support::start_prometheus(&config, flags);
    Stack {
        shop,
        prometheus,
        _parts: (shop_process, prometheus_process, rules_dir, dir),
    }
}

/// Every query of the dashboard generated for rules scaled 60x, with Grafana's variables
/// filled in as a dashboard opened on the shop would: (panel title, legend, query).
fn dashboard_queries() -> Vec<(String, String, String)> {
    let out = support::checkout_output(BIN, &["dashboard", "--time-scale", "60"]);
    let d: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut queries = Vec::new();
    for p in d["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().into_iter().flatten() {
            let expr = t["expr"]
                .as_str()
                .unwrap()
                .replace("$__rate_interval", "5s")
                .replace("$job", "checkout")
                .replace("$instance", ".*");
            queries.push((
                p["title"].as_str().unwrap().to_owned(),
                t["legendFormat"].as_str().unwrap().to_owned(),
                expr,
            ));
        }
    }
    queries
}

/// Every recorded series of the rules scaled 60x.
fn recorded_series() -> Vec<String> {
    support::checkout_output(BIN, &["alert-rules", "--time-scale", "60"])
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- record: "))
        .map(str::to_owned)
        .collect()
}

/// Series counts that the shop fixes: its two instrumented functions, its one provider host,
/// the objective over its provider calls. Keyed by panel title.
fn expected_count(title: &str) -> Option<usize> {
    match title {
        "Latency by function" => Some(2),
        "Calls per second by function and result" => Some(6),
        "Latency by host"
        | "Calls in flight by host"
        | "Error ratio by host (4xx, 5xx or no answer)" => Some(1),
        _ if title.starts_with("payments:") => Some(1),
        _ => None,
    }
}

fn graph_and_page(native: bool) {
    let storage = if native { "native" } else { "classic" };
    // Both shops start at once; one begins at 100 ms, the other keeps the default 150 ms.
    let slow = start(native);
    let slower = start(native);
    set_provider(slow.shop, 100);
    for s in [&slow, &slower] {
        let up = wait_for(Duration::from_secs(30), || {
            http_get(s.prometheus, "/api/v1/query?query=up")
                .1
                .contains(r#","1"]"#)
                .then_some(())
        });
        assert!(up.is_some(), "the shop is scraped");
    }
    // The baseline: as long as the regression alert's offset and its window, and no
    // regression alert meanwhile.
    let baseline = Instant::now();
    while baseline.elapsed() < Duration::from_secs(68) {
        for s in [&slow, &slower] {
            assert!(
                !alert_firing(s.prometheus, "PaymentsLatencyRegression"),
                "{storage}: the regression alert fired at baseline"
            );
        }
        std::thread::sleep(Duration::from_secs(1));
    }

    // The graph: every dashboard query and every recorded series returns series.
    let queries = dashboard_queries();
    assert_eq!(queries.len(), 62);
    let mut empty = Vec::new();
    for (title, legend, expr) in &queries {
        let found = series(slower.prometheus, expr)
            .unwrap_or_else(|| panic!("{storage}: query failed: {expr}"));
        if let Some(n) = expected_count(title) {
            assert_eq!(found.len(), n, "{storage}: {title} {legend}: {expr}");
        }
        if found.is_empty() {
            empty.push(format!("{title} [{legend}]: {expr}"));
        }
    }
    assert_eq!(
        empty,
        Vec::<String>::new(),
        "{storage}: panels without data"
    );
    let recorded = recorded_series();
    assert_eq!(recorded.len(), 17);
    for record in &recorded {
        let found = series(slower.prometheus, record).unwrap();
        assert_eq!(found.len(), 1, "{storage}: {record}");
    }
    println!(
        "{storage}: {} of {} dashboard queries and {} of {} recorded series returned data",
        queries.len() - empty.len(),
        queries.len(),
        recorded.len(),
        recorded.len()
    );

    // The page: each doubling fires the regression alert.
    set_provider(slow.shop, 200);
    set_provider(slower.shop, 300);
    let start = Instant::now();
    let mut fired: [Option<f64>; 2] = [None, None];
    while fired.iter().any(Option::is_none) && start.elapsed() < FIRE_WITHIN {
        for (i, s) in [&slow, &slower].iter().enumerate() {
            if fired[i].is_none() && alert_firing(s.prometheus, "PaymentsLatencyRegression") {
                fired[i] = Some(start.elapsed().as_secs_f64());
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    println!(
        "{storage}: PaymentsLatencyRegression fired {:?} s after 100 -> 200 ms and {:?} s after 150 -> 300 ms",
        fired[0], fired[1]
    );
    assert!(
        fired.iter().all(Option::is_some),
        "{storage}: the regression alert did not fire within {FIRE_WITHIN:?} of a doubling: {fired:?}"
    );
}

#[test]
#[ignore = "needs prometheus (Debian package)"]
fn classic_storage_graphs_and_pages() {
    graph_and_page(false);
}

#[test]
#[ignore = "needs prometheus (Debian package)"]
fn native_storage_graphs_and_pages() {
    graph_and_page(true);
}
