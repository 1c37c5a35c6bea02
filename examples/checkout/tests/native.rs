//! Native histograms with no code: a Prometheus 2.42 with `--enable-feature=native-histograms`
//! scrapes the shop over protobuf and stores `charge_payment`'s durations as a native histogram;
//! a Prometheus without the flag scrapes the same shop and reads the classic buckets. Both
//! evaluate the objective's rules.

use vitalsign_tests as support;

use std::net::SocketAddr;
use std::time::Duration;

use support::{http_get, http_request, wait_for};

const BIN: &str = env!("CARGO_BIN_EXE_checkout");
const ORDER: &str = r#"{"customer": "c1", "items": [{"sku": "tea", "quantity": 1}]}"#;

/// The one result of an instant query.
fn query(prometheus: SocketAddr, q: &str) -> serde_json::Value {
    let body = support::prometheus_query(prometheus, q);
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    let results = answer["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(results.len(), 1, "{q}: {body}");
    results[0].clone()
}

fn number(v: &serde_json::Value) -> f64 {
    v.as_str().and_then(|s| s.parse().ok()).unwrap_or(f64::NAN)
}

#[test]
#[ignore = "needs prometheus (Debian package)"]
fn prometheus_stores_payment_latency_as_a_native_histogram() {
    let (_shop, shop) = support::start_checkout(BIN, 0);
    let (status, _) = http_request(
        shop,
        "PUT",
        "/admin/payment-provider",
        r#"{"latency_ms": 100, "error_rate": 0}"#,
    );
    assert_eq!(status, 200);
    // The objective's rules, windows scaled 60x (1 h is 1 m), evaluated every second.
    let (_rules, rules_path) = support::checkout_rules(BIN, "60");
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\n\
         scrape_configs:\n  - job_name: checkout\n    static_configs:\n      - targets: ['{shop}']\n",
        rules_path.display()
    );
    let (_native, native, _dir) =
        support::start_prometheus(&config, &["--enable-feature=native-histograms"]);
    let (_classic, classic, _dir2) = support::start_prometheus(&config, &[]);
    for p in [native, classic] {
        let up = wait_for(Duration::from_secs(30), || {
            http_get(p, "/api/v1/query?query=up")
                .1
                .contains(r#""value":["#)
                .then_some(())
        });
        assert!(up.is_some(), "{p} scraped the shop");
    }

    // Twenty seconds of history first, so the rates below see flat series around the payments.
    std::thread::sleep(Duration::from_secs(20));
    // 400 payments, 16 at a time; each takes 100 ms times a uniform factor in [2/3, 4/3].
    let threads: Vec<_> = (0..16)
        .map(|_| {
            std::thread::spawn(move || {
                for _ in 0..25 {
                    assert_eq!(http_request(shop, "POST", "/checkout", ORDER).0, 200);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let payments = r#"function_calls_duration_seconds{function="charge_payment"}"#;
    let counted = wait_for(Duration::from_secs(30), || {
        let n = query(native, &format!("histogram_count({payments})"));
        let c = query(
            classic,
            r#"function_calls_duration_seconds_count{function="charge_payment"}"#,
        );
        (number(&n["value"][1]) == 400.0 && number(&c["value"][1]) == 400.0).then_some(())
    });
    assert!(
        counted.is_some(),
        "both Prometheus servers count 400 payments"
    );

    // The native server holds a native histogram (a `histogram`, not a `value`) of schema 3's
    // buckets, and no classic `_bucket` series for it.
    let sample = query(native, payments);
    let histogram = &sample["histogram"][1];
    assert_eq!(histogram["count"], "400", "{sample}");
    let buckets = histogram["buckets"].as_array().unwrap();
    assert!(buckets.len() >= 5, "{sample}");
    let body = support::prometheus_query(
        native,
        r#"count(function_calls_duration_seconds_bucket{function="charge_payment"})"#,
    );
    assert!(body.contains(r#""result":[]"#), "{body}");
    // Bucket bounds are powers of 2^(1/8): schema 3.
    for b in buckets {
        let upper = number(&b[2]);
        let k = (upper.log2() * 8.0).round();
        assert!((upper.log2() * 8.0 - k).abs() < 1e-9, "{b}");
    }

    // The rate of the native count is the rate of the classic `_count`, over 20 s that hold every
    // payment (two servers scraping at their own moments: within 10%).
    std::thread::sleep(Duration::from_secs(5));
    let native_rate =
        number(&query(native, &format!("histogram_count(rate({payments}[20s]))"))["value"][1]);
    let classic_rate = number(
        &query(
            classic,
            r#"rate(function_calls_duration_seconds_count{function="charge_payment"}[20s])"#,
        )["value"][1],
    );
    assert!(native_rate > 0.0, "{native_rate}");
    assert!(
        (native_rate / classic_rate - 1.0).abs() < 0.1,
        "{native_rate} vs {classic_rate}"
    );
    // The median within schema 3's error (a bucket is 9.05% wide) and the sample's own spread
    // (400 draws of a uniform factor: about 1.7% standard deviation) of 100 ms.
    let median = number(
        &query(
            native,
            &format!("histogram_quantile(0.5, rate({payments}[20s]))"),
        )["value"][1],
    );
    assert!(
        (median / 0.1 - 1.0).abs() < 0.0905 + 0.05,
        "median {median} s against 0.1 s"
    );
    // The objective's slow ratio over the last minute (its 1 h window, scaled): no payment took
    // over 250 ms (at most 133 ms), on either server; the native one computes it from the native
    // histogram, as it has no classic buckets for it.
    for p in [native, classic] {
        let slow = query(
            p,
            r#"vitalsign:objective_slow_ratio:rate1m{objective="payments"}"#,
        );
        assert_eq!(number(&slow["value"][1]), 0.0, "{slow}");
    }
}
