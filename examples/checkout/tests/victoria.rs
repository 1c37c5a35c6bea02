//! A second real scraper: VictoriaMetrics (the Debian package `victoria-metrics`) scrapes the
//! shop under a little traffic and stores every sample it sends, the payments counted as the
//! shop counted them.

use vitalsign_tests as support;

use std::time::Duration;

use support::{http_get, http_request, wait_for};

const BIN: &str = env!("CARGO_BIN_EXE_checkout");
const ORDER: &str = r#"{"customer": "c1", "items": [{"sku": "tea", "quantity": 1}]}"#;

#[test]
#[ignore = "needs victoria-metrics (Debian package victoria-metrics)"]
fn victoria_metrics_stores_every_sample_of_the_shop() {
    let (_shop, shop) = support::start_checkout(BIN, 0);
    for _ in 0..10 {
        assert_eq!(http_request(shop, "POST", "/checkout", ORDER).0, 200);
    }
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n\
         \x20 - job_name: checkout\n    static_configs:\n      - targets: ['{shop}']\n"
    );
    let (_vm, vm, _dir) = support::start_victoria_metrics(&config);
    let paid = "/api/v1/query?query=function_calls_total%7Bfunction%3D%22charge_payment%22%2Cresult%3D%22ok%22%7D";
    let counted = wait_for(Duration::from_secs(60), || {
        http_get(vm, paid).1.contains(",\"10\"]").then_some(())
    });
    assert!(counted.is_some(), "payments: {}", http_get(vm, paid).1);
    // No traffic now, so the shop's series are settled: the last scrape's samples are exactly
    // the series stored (series only ever appear), VictoriaMetrics' own scrape series aside.
    let parsed = "/api/v1/query?query=scrape_samples_post_metric_relabeling";
    let series =
        "/api/v1/query?query=count(%7Bjob%3D%22checkout%22%2C__name__!~%22up%7Cscrape_.*%22%7D)";
    let value = |path: &str| -> Option<u64> {
        let body = http_get(vm, path).1;
        let (_, rest) = body.rsplit_once(",\"")?;
        rest.split('"').next()?.parse().ok()
    };
    let settled = wait_for(Duration::from_secs(30), || {
        let (p, s) = (value(parsed)?, value(series)?);
        (p == s && p > 100).then_some(p)
    });
    assert!(
        settled.is_some(),
        "parsed {:?}, stored {:?}",
        value(parsed),
        value(series)
    );
    let (_, metrics) = http_get(vm, "/metrics");
    let invalid: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("vm_rows_invalid_total") && !l.ends_with(" 0"))
        .collect();
    assert_eq!(invalid, Vec::<&str>::new(), "VictoriaMetrics refused rows");
}
