//! A real Prometheus scrapes two exporters, one answering OpenMetrics (negotiated from the
//! `Accept` Prometheus sends) and one pinned to the 0.0.4 text format: both targets are `up`,
//! the metadata API shows the types and the unit, and queries see the same values through both.

use vitalsign_tests as support;

use std::sync::LazyLock;
use std::time::Duration;

use vitalsign::{Buckets, Counter, Format, Histogram, Info, Registry};
use vitalsign_tower::MetricsHandler;

static REGISTRY: LazyLock<Registry> = LazyLock::new(|| {
    let r = Registry::new();
    r.register("vs_orders", "Orders placed.", Counter::new())
        .unwrap()
        .inc_by(3);
    let h = r
        .register(
            "vs_payment_duration_seconds",
            "Payment time.",
            Histogram::new(Buckets::new([0.1, 1.0]).unwrap()),
        )
        .unwrap();
    h.observe(0.05);
    h.observe(0.5);
    r.register(
        "vs_build",
        "Build.",
        Info::new([("version", "1.0")]).unwrap(),
    )
    .unwrap();
    r
});

#[test]
#[ignore = "needs prometheus (Debian package prometheus)"]
fn prometheus_scrapes_both_formats() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (openmetrics, text) = runtime.block_on(async {
        let any = "127.0.0.1:0".parse().unwrap();
        let om = vitalsign_tower::serve_handler(any, MetricsHandler::new(&REGISTRY))
            .await
            .unwrap();
        let text = vitalsign_tower::serve_handler(
            any,
            MetricsHandler::new(&REGISTRY).format(Format::Prometheus),
        )
        .await
        .unwrap();
        (om, text)
    });
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n\
         \x20 - job_name: openmetrics\n    static_configs:\n      - targets: ['{}']\n\
         \x20 - job_name: text\n    static_configs:\n      - targets: ['{}']\n",
        openmetrics.local_addr(),
        text.local_addr()
    );
    let (_prometheus, addr, _dir) = support::start_prometheus(&config, &[]);

    let up = support::wait_for(Duration::from_secs(60), || {
        let (_, body) = support::http_get(addr, "/api/v1/query?query=sum(up)");
        body.contains(r#""value":["#)
            .then_some(())
            .filter(|()| body.contains(r#","2"]"#))
    });
    assert!(
        up.is_some(),
        "both targets up: {}",
        support::http_get(addr, "/api/v1/targets").1
    );

    let (_, orders) = support::http_get(addr, "/api/v1/query?query=vs_orders_total");
    assert_eq!(orders.matches(r#","3"]"#).count(), 2, "{orders}");
    let (_, info) = support::http_get(addr, "/api/v1/query?query=vs_build_info");
    assert_eq!(info.matches(r#""version":"1.0""#).count(), 2, "{info}");
    let (_, buckets) = support::http_get(
        addr,
        "/api/v1/query?query=vs_payment_duration_seconds_bucket%7Ble%3D%221.0%22%7D",
    );
    assert_eq!(buckets.matches(r#","2"]"#).count(), 2, "{buckets}");

    let metadata = support::wait_for(Duration::from_secs(20), || {
        let (_, body) =
            support::http_get(addr, "/api/v1/metadata?metric=vs_payment_duration_seconds");
        body.contains(r#""unit":"seconds""#).then_some(body)
    });
    let metadata = metadata.expect("metadata with the unit");
    assert!(metadata.contains(r#""type":"histogram""#), "{metadata}");
    assert!(metadata.contains(r#""help":"Payment time.""#), "{metadata}");

    runtime.block_on(async {
        openmetrics.shutdown().await;
        text.shutdown().await;
    });
}
