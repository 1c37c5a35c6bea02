//! Load on `/metrics`: 50 scrapers at once for 30 s against the shop under its own simulated
//! traffic. Every scrape must be a complete `200`; the latency percentiles are printed
//! (`cargo test -p checkout --test load -- --ignored --nocapture`).

use vitalsign_tests as support;

use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_checkout");

#[test]
#[ignore = "a 30 s load test"]
fn fifty_scrapers_for_thirty_seconds() {
    let (_shop, addr) = support::start_checkout(BIN, 50);
    let deadline = Instant::now() + Duration::from_secs(30);
    let scrapers: Vec<_> = (0..50)
        .map(|_| {
            std::thread::spawn(move || {
                let mut results = Vec::new();
                while Instant::now() < deadline {
                    let start = Instant::now();
                    let (status, body) = support::http_get(addr, "/metrics");
                    results.push((
                        status,
                        body.ends_with("\n")
                            && body.contains("\n# TYPE function_calls_total counter\n"),
                        start.elapsed(),
                    ));
                }
                results
            })
        })
        .collect();
    let results: Vec<(u16, bool, Duration)> = scrapers
        .into_iter()
        .flat_map(|s| s.join().unwrap())
        .collect();
    let failed: Vec<&(u16, bool, Duration)> = results
        .iter()
        .filter(|(s, whole, _)| *s != 200 || !whole)
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} scrapes failed: {:?}",
        failed.len(),
        results.len(),
        &failed[..failed.len().min(5)]
    );

    let mut latencies: Vec<Duration> = results.iter().map(|r| r.2).collect();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    println!(
        "{} scrapes in 30 s ({:.0}/s), all 200: p50 {:?}, p95 {:?}, p99 {:?}, max {:?}",
        results.len(),
        results.len() as f64 / 30.0,
        at(0.5),
        at(0.95),
        at(0.99),
        latencies[latencies.len() - 1]
    );
    // The shop kept serving its customers meanwhile.
    let (status, metrics) = support::http_get(addr, "/metrics");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("http_route=\"/checkout\",http_response_status_code=\"200\"}"),
        "{metrics}"
    );
}
