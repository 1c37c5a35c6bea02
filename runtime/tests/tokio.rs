//! `TokioRuntimeCollector` against a real runtime: `cargo test -p vitalsign --features tokio`.

use std::time::{Duration, Instant};

use vitalsign::{Format, Registry, TokioRuntimeCollector};

/// Every sample line of the exposition, with the values of the per-worker counters (busy
/// seconds and parks, which depend on timing) replaced by `N` once checked to be numbers.
fn lines(registry: &Registry) -> Vec<String> {
    registry
        .render(Format::Prometheus)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            if l.starts_with("tokio_runtime_worker_") {
                let (series, value) = l.rsplit_once(' ').unwrap();
                let v: f64 = value.parse().unwrap();
                assert!(v >= 0.0, "{l}");
                format!("{series} N")
            } else {
                l.to_owned()
            }
        })
        .collect()
}

#[test]
fn workers_tasks_and_queues_of_a_running_runtime() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let registry = Registry::new();
    registry
        .register_collector(TokioRuntimeCollector::new(runtime.handle().clone()))
        .unwrap();
    // Three tasks waiting on a channel: alive until it closes.
    let (tx, rx) = tokio::sync::watch::channel(false);
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let mut rx = rx.clone();
            runtime.spawn(async move {
                let _ = rx.wait_for(|done| *done).await;
            })
        })
        .collect();
    let expected = |alive: u64| {
        let mut l = vec![
            "tokio_runtime_workers 2".to_owned(),
            format!("tokio_runtime_alive_tasks {alive}"),
            "tokio_runtime_global_queue_depth 0".to_owned(),
        ];
        for family in ["busy_seconds_total", "parks_total"] {
            for w in 0..2 {
                l.push(format!("tokio_runtime_worker_{family}{{worker=\"{w}\"}} N"));
            }
        }
        // A collector's families can be left out of a scrape: each is counted, from zero.
        for family in [
            "workers",
            "alive_tasks",
            "global_queue_depth",
            "worker_busy_seconds",
            "worker_parks",
        ] {
            l.push(format!(
                "vitalsign_collect_errors_total{{metric=\"tokio_runtime_{family}\"}} 0"
            ));
        }
        l
    };
    // The spawned tasks run and wait: the global queue drains.
    let deadline = Instant::now() + Duration::from_secs(10);
    while lines(&registry) != expected(3) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(lines(&registry), expected(3));
    tx.send(true).unwrap();
    for t in tasks {
        runtime.block_on(t).unwrap();
    }
    // A finished task stops counting as alive when its worker releases it, which can come just
    // after its `JoinHandle` has its output.
    let deadline = Instant::now() + Duration::from_secs(10);
    while lines(&registry) != expected(0) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(lines(&registry), expected(0));
}
