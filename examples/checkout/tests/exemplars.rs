//! From a slow bucket to the trace that was slow: a checkout sent with a W3C `traceparent` is the
//! exemplar of the buckets its request and its functions landed in, the strict OpenMetrics parser
//! reads them, and a real Prometheus with exemplar storage returns the trace ids sent.

use vitalsign_tests as support;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use support::{http, http_get, wait_for};

const BIN: &str = env!("CARGO_BIN_EXE_checkout");
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0";
const ORDER: &str = r#"{"customer": "c1", "items": [{"sku": "tea", "quantity": 1}]}"#;

fn traced_checkout(shop: SocketAddr, trace: &str, span: &str) {
    let traceparent = format!("00-{trace}-{span}-01");
    let (status, _, body) = http(
        shop,
        "POST",
        "/checkout",
        &[("traceparent", &traceparent)],
        ORDER,
    );
    assert_eq!(status, 200, "{body}");
}

fn scrape(shop: SocketAddr, accept: &str) -> String {
    let (status, _, body) = http(shop, "GET", "/metrics", &[("Accept", accept)], "");
    assert_eq!(status, 200);
    body
}

/// `(family, function or route)` of every line whose exemplar carries `trace`.
fn traced_series(text: &str, trace: &str) -> BTreeSet<(String, String)> {
    let needle = format!(r#" # {{trace_id="{trace}","#);
    text.lines()
        .filter(|l| l.contains(&needle))
        .map(|l| {
            let family = l.split('{').next().unwrap_or_default().to_owned();
            let which = [
                "function=\"",
                "http_route=\"",
                "grpc_method=\"",
                "server_address=\"",
            ]
            .iter()
            .find_map(|k| l.split(k).nth(1)?.split('"').next())
            .unwrap_or_default()
            .to_owned();
            (family, which)
        })
        .collect()
}

#[test]
fn a_traced_checkout_is_the_exemplar_of_its_buckets() {
    let (_shop, shop) = support::start_checkout(BIN, 0);
    let (trace, span) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    traced_checkout(shop, trace, span);
    let text = scrape(shop, OPENMETRICS);
    let series: Vec<(&str, &str)> = [
        ("function_calls_duration_seconds_bucket", "charge_payment"),
        (
            "function_calls_duration_seconds_bucket",
            "reserve_inventory",
        ),
        // The trace went out with the calls the request made: the shop's gRPC call to its
        // inventory (both ends: the inventory server made it current for its handler) and its
        // HTTP call to the payment provider.
        ("grpc_client_handling_seconds_bucket", "Reserve"),
        ("grpc_server_handling_seconds_bucket", "Reserve"),
        ("http_client_request_duration_seconds_bucket", "127.0.0.1"),
        ("http_server_request_duration_seconds_bucket", "/checkout"),
    ]
    .to_vec();
    let got = traced_series(&text, trace);
    let got: Vec<(&str, &str)> = got.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    assert_eq!(got, series, "{text}");
    // Every exemplar in the scrape is that request's (nothing else ran), with its span id.
    let exemplar = format!(r#" # {{trace_id="{trace}",span_id="{span}"}} "#);
    assert_eq!(text.matches(" # {").count(), 6);
    assert_eq!(text.matches(&exemplar).count(), 6);
    // The 0.0.4 format has none.
    assert_eq!(scrape(shop, "text/plain").matches(" # {").count(), 0);
}

#[test]
#[ignore = "needs python3 with prometheus_client"]
fn the_strict_openmetrics_parser_reads_the_shops_exemplars() {
    let (_shop, shop) = support::start_checkout(BIN, 0);
    let (trace, span) = ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331");
    traced_checkout(shop, trace, span);
    let dump = support::python_dump("openmetrics", &scrape(shop, OPENMETRICS));
    let prefix = format!("E span_id={span},trace_id={trace} ");
    assert_eq!(
        dump.lines().filter(|l| l.starts_with(&prefix)).count(),
        6,
        "{dump}"
    );
    assert_eq!(dump.lines().filter(|l| l.starts_with("E ")).count(), 6);
}

/// The trace ids of `series`' exemplars that Prometheus stored.
fn stored_trace_ids(prometheus: SocketAddr, series: &str) -> BTreeSet<String> {
    let path = format!(
        "/api/v1/query_exemplars?query={}&start=0&end=4102444800",
        support::query_encode(series)
    );
    let (status, body) = http_get(prometheus, &path);
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    answer["data"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["exemplars"].as_array().into_iter().flatten())
        .filter_map(|e| e["labels"]["trace_id"].as_str().map(str::to_owned))
        .collect()
}

#[test]
#[ignore = "needs prometheus (Debian package)"]
fn prometheus_stores_the_trace_ids_sent() {
    let (_shop, shop) = support::start_checkout(BIN, 0);
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: checkout\n    static_configs:\n      - targets: ['{shop}']\n"
    );
    let (_prometheus, prometheus, _dir) =
        support::start_prometheus(&config, &["--enable-feature=exemplar-storage"]);
    let payments = r#"function_calls_duration_seconds_bucket{function="charge_payment"}"#;
    let requests = r#"http_server_request_duration_seconds_bucket{http_route="/checkout"}"#;
    // A bucket keeps only its latest exemplar: send the next trace once Prometheus has scraped
    // the last one.
    let sent: BTreeSet<String> = (1..=3u8)
        .map(|i| {
            let trace = format!("{:02x}", 0x10 + i).repeat(16);
            traced_checkout(shop, &trace, &"0a".repeat(8));
            let stored = wait_for(Duration::from_secs(30), || {
                stored_trace_ids(prometheus, payments)
                    .contains(&trace)
                    .then_some(())
            });
            assert!(stored.is_some(), "Prometheus never stored trace {trace}");
            trace
        })
        .collect();
    assert_eq!(stored_trace_ids(prometheus, payments), sent);
    assert_eq!(stored_trace_ids(prometheus, requests), sent);
}
