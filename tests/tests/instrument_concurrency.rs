//! An instrumented function's `ok` count is derived at scrape time (its duration count less the
//! other outcomes, from one snapshot). Four threads call it with a mix of outcomes while a fifth
//! scrapes: no scrape ever sees a count go down, and the totals are exact at the end.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, LazyLock};

use vitalsign::{Format, LabelValue, Registry, instrument_metrics};

static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::new);

#[derive(Debug, LabelValue)]
enum Failure {
    Declined,
    Timeout,
}

#[instrument_metrics(registry = REGISTRY)]
fn charge(i: u64) -> Result<u64, Failure> {
    match i % 10 {
        0 => Err(Failure::Declined),
        1 | 2 => Err(Failure::Timeout),
        _ => Ok(i),
    }
}

/// `(ok, declined, timeout, duration count)` from one scrape.
fn read() -> [u64; 4] {
    let text = REGISTRY.render(Format::Prometheus);
    let value = |needle: &str| -> u64 {
        text.lines()
            .find(|l| l.contains(needle))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no `{needle}` in\n{text}"))
    };
    [
        value("result=\"ok\""),
        value("error=\"declined\""),
        value("error=\"timeout\""),
        value("function_calls_duration_seconds_count{"),
    ]
}

#[test]
fn derived_ok_counts_never_go_down_and_end_exact() {
    const THREADS: u64 = 4;
    const CALLS: u64 = 50_000;
    let start = Arc::new(Barrier::new(THREADS as usize + 1));
    let done = Arc::new(AtomicBool::new(false));
    let callers: Vec<_> = (0..THREADS)
        .map(|_| {
            let start = start.clone();
            std::thread::spawn(move || {
                start.wait();
                for i in 0..CALLS {
                    let _ = charge(i);
                }
            })
        })
        .collect();
    let scraper = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut last = [0u64; 4];
            let mut scrapes = 0u32;
            while !done.load(Ordering::Relaxed) {
                let now = read();
                for (i, (was, is)) in last.iter().zip(&now).enumerate() {
                    assert!(is >= was, "series {i} went from {was} to {is}");
                }
                // The calls family is written before the durations, from an earlier snapshot.
                assert!(now[0] + now[1] + now[2] <= now[3], "{now:?}");
                last = now;
                scrapes += 1;
            }
            scrapes
        })
    };
    start.wait();
    for c in callers {
        c.join().unwrap();
    }
    done.store(true, Ordering::Relaxed);
    let scrapes = scraper.join().unwrap();
    assert!(scrapes > 0);
    assert_eq!(
        read(),
        [
            THREADS * CALLS * 7 / 10,
            THREADS * CALLS / 10,
            THREADS * CALLS * 2 / 10,
            THREADS * CALLS
        ]
    );
}
