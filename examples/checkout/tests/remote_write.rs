//! The shop pushing over remote write (`--remote-write`) to a real Prometheus 2.42 started with
//! `--web.enable-remote-write-receiver`: the series a scrape of the shop shows for its
//! instrumented functions and gRPC calls are the series Prometheus stores, value for value,
//! with `job` and `instance` added.

use vitalsign_tests as support;

use std::collections::BTreeSet;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_checkout");

/// The sample lines of `family` in a text scrape, as `labels value` (labels as written).
fn scraped(text: &str, family: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix(family))
        .filter_map(|l| l.strip_prefix('{'))
        .map(|l| l.replacen("} ", " ", 1))
        .collect()
}

/// What Prometheus holds of `family`: each series as `labels value`, the labels sorted and
/// written as the text format writes them, `job` and `instance` left out.
fn stored(prometheus: std::net::SocketAddr, family: &str) -> BTreeSet<String> {
    let body = support::prometheus_query(prometheus, family);
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    answer["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let labels: Vec<String> = r["metric"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(k, _)| !["__name__", "job", "instance"].contains(&k.as_str()))
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
                .collect();
            format!("{} {}", labels.join(","), r["value"][1].as_str().unwrap())
        })
        .collect()
}

/// A scrape line's labels sorted, in `stored`'s form: a label with an empty value is no label
/// to Prometheus.
fn normalized(line: &str) -> String {
    let (labels, value) = line.rsplit_once(' ').unwrap();
    let mut pairs: Vec<String> = labels
        .split("\",")
        .map(|p| p.trim_end_matches('"').replacen("=\"", "=", 1))
        .filter(|p| !p.ends_with('='))
        .collect();
    pairs.sort();
    format!("{} {value}", pairs.join(","))
}

#[test]
#[ignore = "needs prometheus (Debian package)"]
fn the_shop_remote_writes_what_a_scrape_shows() {
    let (_p, prometheus, _dir) = support::start_prometheus(
        "global:\n  scrape_interval: 1h\n",
        &["--web.enable-remote-write-receiver"],
    );
    let url = format!("http://{prometheus}/api/v1/write");
    // No traffic: the series below stay as they were made, at zero.
    let (_shop, shop, _) = support::start_checkout_with(
        BIN,
        0,
        &["--remote-write", &url, "--remote-write-interval", "1"],
    );
    let families = ["function_calls_total", "grpc_server_handled_total"];
    let (_, text) = support::http_get(shop, "/metrics");
    for family in families {
        let want: BTreeSet<String> = scraped(&text, family)
            .iter()
            .map(|l| normalized(l))
            .collect();
        assert!(!want.is_empty(), "{family} in the scrape");
        let got = support::wait_for(Duration::from_secs(20), || {
            let got = stored(prometheus, family);
            (got == want).then_some(got)
        });
        assert_eq!(
            got.as_ref(),
            Some(&want),
            "{family}: {:?}",
            stored(prometheus, family)
        );
    }
    // Every pushed series carries the shop's job and instance.
    let body = support::prometheus_query(
        prometheus,
        "count by (job, instance) (function_calls_total)",
    );
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    let result = &answer["data"]["result"][0];
    assert_eq!(result["metric"]["job"], "checkout");
    assert_eq!(result["metric"]["instance"], shop.to_string());
    assert_eq!(result["value"][1], "12");
}
