//! Series that come and go: removal, idle expiry, and the series bound a registry can state.

use std::sync::Arc;
use std::time::{Duration, Instant};

use vitalsign::{
    Collect, Collector, Counter, Descriptor, Format, MetricType, Registry, SparseFamily,
};

/// The sample lines of a scrape (no comments), less the overflow and removal counts every
/// sparse family writes (`overflow_counts_exist_from_registration` and
/// `removals_are_counted` are about those).
fn samples(registry: &Registry) -> Vec<String> {
    registry
        .render(Format::Prometheus)
        .lines()
        .filter(|l| {
            !l.starts_with('#')
                && !l.starts_with("vitalsign_series_overflow_total")
                && !l.starts_with("vitalsign_series_removed_total")
        })
        .map(str::to_owned)
        .collect()
}

/// `vitalsign_series_removed_total` of `registry`'s `orders`.
fn removed(registry: &Registry) -> Option<f64> {
    vitalsign::testing::value(
        registry,
        "vitalsign_series_removed_total",
        &[("metric", "orders")],
    )
}

/// Removals are counted when a series leaves: at once when nobody holds it, when its last
/// holder lets go otherwise, never for a removal a lookup cancelled.
#[test]
fn removals_are_counted() {
    let (registry, orders) = customers(10);
    assert_eq!(removed(&registry), Some(0.0));
    for c in ["a", "b", "c", "d"] {
        orders.get([c]).inc();
    }
    assert!(orders.remove(["a"]));
    assert_eq!(orders.retain(|[c]| c != "b"), 1);
    assert_eq!(removed(&registry), Some(2.0));
    let held = orders.get(["c"]);
    assert!(orders.remove(["c"]));
    // Held: it stays, and is not counted yet.
    assert_eq!(removed(&registry), Some(2.0));
    drop(held);
    let _ = orders.expire_idle();
    assert_eq!(removed(&registry), Some(3.0));
    let held = orders.get(["d"]);
    assert!(orders.remove(["d"]));
    let _ = orders.get(["d"]);
    drop(held);
    let _ = orders.expire_idle();
    // A lookup cancelled that removal.
    assert_eq!(removed(&registry), Some(3.0));
    assert_eq!(samples(&registry), [r#"orders_total{customer="d"} 1"#]);
}

fn customers(cap: usize) -> (Registry, Arc<SparseFamily<Counter, 1>>) {
    let registry = Registry::new();
    let family = registry
        .register(
            "orders",
            "Orders by customer.",
            SparseFamily::<Counter, 1>::new(["customer"], cap).unwrap(),
        )
        .unwrap();
    (registry, family)
}

#[test]
fn a_removed_series_leaves_the_scrape_and_starts_again_at_zero() {
    let (registry, orders) = customers(10);
    orders.get(["ada"]).inc_by(5);
    orders.get(["bob"]).inc_by(2);
    assert!(orders.remove(["ada"]));
    assert!(!orders.remove(["ada"]));
    assert!(!orders.remove(["nobody"]));
    assert_eq!(samples(&registry), [r#"orders_total{customer="bob"} 2"#]);
    // This thread's lookup cache still has Ada's old series: it must not come back.
    // (The new series takes the slot Ada's old one left: scrapes keep slot order.)
    orders.get(["ada"]).inc();
    assert_eq!(
        samples(&registry),
        [
            r#"orders_total{customer="ada"} 1"#,
            r#"orders_total{customer="bob"} 2"#
        ]
    );
    assert_eq!(orders.len(), 2);
}

/// A scrape releases the family's lock between chunks of series, so lookups and removals run
/// during it; it still writes each series made before it started exactly once.
#[test]
fn large_families_scrape_every_series_once() {
    let (registry, orders) = customers(5_000);
    for i in 0..3_000 {
        orders.get([&format!("c{i}")]).inc();
    }
    // Holes left by removals are filled again, out of label order.
    assert_eq!(orders.retain(|[c]| !c.ends_with('7')), 300);
    for i in 3_000..3_300 {
        orders.get([&format!("c{i}")]).inc();
    }
    let lines = samples(&registry);
    assert_eq!(lines.len(), 3_000);
    let mut sorted = lines.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 3_000);
    // Of the values ending in 7, only the 30 added after the removal.
    assert_eq!(lines.iter().filter(|l| l.contains("7\"}")).count(), 30);
}

#[test]
fn a_held_series_stays_until_its_holder_lets_go() {
    let (registry, orders) = customers(10);
    let ada = orders.get(["ada"]);
    ada.inc();
    assert!(orders.remove(["ada"]));
    // Still held: still shown, and what the handle counts is scraped.
    ada.inc();
    assert_eq!(samples(&registry), [r#"orders_total{customer="ada"} 2"#]);
    assert_eq!(samples(&registry), [r#"orders_total{customer="ada"} 2"#]);
    drop(ada);
    // The first scrape after the last holder let go completes the removal.
    assert_eq!(samples(&registry), Vec::<String>::new());
    assert_eq!(orders.len(), 0);
}

#[test]
fn a_lookup_after_a_deferred_removal_cancels_it() {
    let (registry, orders) = customers(10);
    let held = orders.get(["ada"]);
    assert!(orders.remove(["ada"]));
    // Looked up again while the removal waits: the series is wanted after all.
    orders.get(["ada"]).inc_by(3);
    drop(held);
    assert_eq!(samples(&registry), [r#"orders_total{customer="ada"} 3"#]);
    assert_eq!(samples(&registry), [r#"orders_total{customer="ada"} 3"#]);
}

#[test]
fn retain_and_clear_remove_exactly_what_they_say() {
    let (registry, orders) = customers(10);
    for (i, name) in ["ada", "bob", "cy", "dee"].iter().enumerate() {
        orders.get([name]).inc_by(i as u64 + 1);
    }
    assert_eq!(orders.retain(|[c]| c.starts_with(['a', 'd'])), 2);
    assert_eq!(
        samples(&registry),
        [
            r#"orders_total{customer="ada"} 1"#,
            r#"orders_total{customer="dee"} 4"#
        ]
    );
    orders.get(["x"]).inc();
    orders.get(["y"]).inc();
    assert_eq!(orders.clear(), 4);
    assert_eq!(samples(&registry), Vec::<String>::new());
    assert_eq!(orders.len(), 0);
}

/// `retain` decides outside the family's lock, as it says: a predicate that looks at the same
/// family (its size, a lookup) sees every series still there, and does not deadlock.
#[test]
fn retain_calls_its_predicate_outside_the_lock() {
    let (_registry, family) = customers(10);
    for c in ["a", "b", "c"] {
        family.get([c]).inc();
    }
    let (done, finished) = std::sync::mpsc::channel();
    let f = family.clone();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        let removed = f.retain(|[customer]| {
            seen.push(f.len());
            let _ = f.get(["d"]);
            customer == "b"
        });
        let _ = done.send((removed, seen));
    });
    let (removed, seen) = finished
        .recv_timeout(Duration::from_secs(10))
        .expect("retain returned (a predicate under the family's lock deadlocks)");
    // `a` and `c` go; `d`, made by the predicate after the series were listed, is not judged.
    assert_eq!(removed, 2);
    assert_eq!(seen, [3, 4, 4]);
    let mut left = family.label_sets();
    left.sort();
    assert_eq!(left, [["b".to_owned()], ["d".to_owned()]]);
}

#[test]
fn clear_keeps_the_overflow_series() {
    let (registry, orders) = customers(1);
    orders.get(["ada"]).inc();
    orders.get(["bob"]).inc_by(4);
    assert_eq!(orders.clear(), 1);
    let lines: Vec<String> = registry
        .render(Format::Prometheus)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        lines,
        [
            r#"orders_total{customer="__overflow__"} 4"#,
            r#"vitalsign_series_overflow_total{metric="orders"} 1"#,
            r#"vitalsign_series_removed_total{metric="orders"} 1"#
        ]
    );
    // Room again under the cap.
    orders.get(["bob"]).inc();
    assert_eq!(orders.len(), 1);
}

fn expiring(cap: usize, idle: Duration) -> (Registry, Arc<SparseFamily<Counter, 1>>) {
    let registry = Registry::new();
    let family = registry
        .register(
            "orders",
            "Orders by customer.",
            SparseFamily::<Counter, 1>::new(["customer"], cap)
                .unwrap()
                .idle_timeout(idle),
        )
        .unwrap();
    (registry, family)
}

const MINUTE: Duration = Duration::from_secs(60);

#[test]
fn idle_series_expire_after_the_timeout_and_not_before() {
    let (registry, orders) = expiring(10, 10 * MINUTE);
    let t0 = Instant::now();
    orders.get(["ada"]).inc();
    orders.get(["bob"]).inc();
    // The sweep that first sees them unused notes when; the timeout runs from there.
    assert_eq!(orders.expire_idle_at(t0 + MINUTE), 0);
    assert_eq!(orders.expire_idle_at(t0 + 10 * MINUTE), 0);
    orders.get(["ada"]).inc();
    assert_eq!(orders.expire_idle_at(t0 + 11 * MINUTE), 1);
    assert_eq!(
        samples(&registry),
        [
            r#"orders_total{customer="ada"} 2"#,
            r#"vitalsign_series_expired_total{metric="orders"} 1"#
        ]
    );
    // Ada was last seen used by the sweep at 11 minutes.
    assert_eq!(orders.expire_idle_at(t0 + 20 * MINUTE), 0);
    assert_eq!(orders.expire_idle_at(t0 + 21 * MINUTE), 1);
    assert_eq!(
        samples(&registry),
        [r#"vitalsign_series_expired_total{metric="orders"} 2"#]
    );
    // Used again: a new series from zero (this thread's cache held the old one).
    orders.get(["ada"]).inc();
    assert_eq!(samples(&registry)[0], r#"orders_total{customer="ada"} 1"#);
}

/// The rule `idle_timeout` states: with a sweep every 15 s and a 10-minute timeout, a series
/// expires between 10 minutes and 10 minutes plus two sweeps after its last lookup, wherever
/// the lookup falls between sweeps; and a single sweep long after a lookup keeps it (that sweep
/// is the one that sees the lookup), the next drops it.
#[test]
fn idle_series_expire_within_two_sweeps_of_the_timeout() {
    let sweep = Duration::from_secs(15);
    for offset in [0u64, 1, 7, 14] {
        let (_registry, orders) = expiring(10, 10 * MINUTE);
        let t0 = Instant::now();
        let mut now = t0;
        let lookup = t0 + Duration::from_secs(30 + offset);
        let mut looked = false;
        let expired_at = loop {
            now += sweep;
            if !looked && now > lookup {
                // The lookup happened between the previous sweep and this one.
                orders.get(["ada"]).inc();
                looked = true;
            }
            if orders.expire_idle_at(now) == 1 {
                break now - lookup;
            }
            assert!(now < t0 + 20 * MINUTE, "never expired");
        };
        assert!(
            expired_at >= 10 * MINUTE && expired_at <= 10 * MINUTE + 2 * sweep,
            "lookup {offset} s into a sweep interval expired {expired_at:?} after it"
        );
    }
    let (_registry, orders) = expiring(10, 10 * MINUTE);
    let t0 = Instant::now();
    orders.get(["bob"]).inc();
    assert_eq!(orders.expire_idle_at(t0 + 30 * MINUTE), 0);
    assert_eq!(orders.expire_idle_at(t0 + 40 * MINUTE), 1);
}

#[test]
fn an_expiring_family_reports_zero_expiries_from_the_start() {
    let (registry, _orders) = expiring(10, MINUTE);
    assert_eq!(
        registry.render(Format::OpenMetrics),
        "# HELP orders Orders by customer.\n# TYPE orders counter\n\
         # HELP vitalsign_series_overflow Lookups that found a sparse family full and went to its overflow series.\n\
         # TYPE vitalsign_series_overflow counter\n\
         vitalsign_series_overflow_total{metric=\"orders\"} 0\n\
         # HELP vitalsign_series_removed Series removed from a sparse family (remove, retain or clear).\n\
         # TYPE vitalsign_series_removed counter\n\
         vitalsign_series_removed_total{metric=\"orders\"} 0\n\
         # HELP vitalsign_series_expired Series a sparse family dropped after their idle timeout.\n\
         # TYPE vitalsign_series_expired counter\n\
         vitalsign_series_expired_total{metric=\"orders\"} 0\n# EOF\n"
    );
}

#[test]
fn a_held_series_never_expires() {
    let (registry, orders) = expiring(10, MINUTE);
    let t0 = Instant::now();
    let ada = orders.get(["ada"]);
    orders.expire_idle_at(t0 + MINUTE);
    assert_eq!(orders.expire_idle_at(t0 + 60 * MINUTE), 0);
    ada.inc();
    assert_eq!(samples(&registry)[0], r#"orders_total{customer="ada"} 1"#);
    drop(ada);
    assert_eq!(orders.expire_idle_at(t0 + 120 * MINUTE), 1);
    assert_eq!(orders.len(), 0);
}

/// The issue's case: 30,000 customers, each active for a while, through a family capped at 500.
/// Without expiry most of them land in the overflow series and departed ones stay exported;
/// with a 2-minute idle timeout and a sweep a minute, every customer gets its own series (the
/// 500 slots hold the five latest minutes' customers), nothing overflows, and each departed
/// customer is expired exactly once.
#[test]
fn churning_customers_never_overflow_with_an_idle_timeout() {
    let t0 = Instant::now();
    let run = |orders: &SparseFamily<Counter, 1>| {
        // 100 new customers a minute, each ordering for 3 minutes (30 orders).
        for minute in 0..300u32 {
            for c in minute.saturating_sub(2) * 100..(minute + 1) * 100 {
                if c < 30_000 {
                    for _ in 0..10 {
                        orders.get([&format!("c{c}")]).inc();
                    }
                }
            }
            orders.expire_idle_at(t0 + MINUTE * (minute + 1));
        }
    };
    let (_, without) = customers(500);
    run(&without);
    // 500 customers hold every slot for good; everyone after them overflows.
    assert_eq!(without.len(), 500);
    let overflow_orders = without.get(["__overflow__"]).get();
    // Every order but the first 500 customers' 30 each; the last two minutes' customers
    // placed 10 and 20 (the run stops at minute 300).
    assert_eq!(overflow_orders, 30_000 * 30 - 100 * (10 + 20) - 500 * 30);

    let (registry, with) = expiring(500, 2 * MINUTE);
    run(&with);
    let text = registry.render(Format::Prometheus);
    assert!(!text.contains("__overflow__"), "{text}");
    // A customer first seen in minute `a` is last seen used by the sweep at `a + 3` and
    // expired by the one at `a + 5`: the last sweep (at 300) leaves those of minutes 296-299.
    assert_eq!(with.len(), 400);
    assert_eq!(
        text.lines().last().unwrap(),
        "vitalsign_series_expired_total{metric=\"orders\"} 29600"
    );
}

struct Pool(usize);

impl Collector for Pool {
    fn describe(&self) -> Vec<(MetricType, Descriptor)> {
        vec![(
            MetricType::Gauge,
            Descriptor::new("pool_connections", "Connections."),
        )]
    }

    fn collect(
        &self,
        out: &mut Collect<'_>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        for i in 0..self.0 {
            out.gauge("pool_connections", &[("pool", &i.to_string())], 1)?;
        }
        Ok(())
    }

    fn series_bound(&self) -> Option<u64> {
        Some(2)
    }
}

/// The bound over dense families needs label types, which the derives write.
#[cfg(feature = "macros")]
mod bound {
    use super::*;
    use vitalsign::{Buckets, Family, Gauge, Histogram, LabelSet, LabelValue, StateSet};

    struct Unsaid;

    impl Collector for Unsaid {
        fn describe(&self) -> Vec<(MetricType, Descriptor)> {
            vec![(MetricType::Gauge, Descriptor::new("anything", "Anything."))]
        }

        fn collect(
            &self,
            _: &mut Collect<'_>,
        ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
            Ok(())
        }
    }

    #[derive(LabelValue, Clone, Copy, Default, PartialEq, Debug)]
    enum Phase {
        #[default]
        Idle,
        Busy,
    }

    #[derive(LabelSet)]
    struct Route {
        method: Phase,
        cached: bool,
    }

    #[test]
    fn the_registry_states_the_most_series_it_can_write() {
        let registry = Registry::new();
        registry.register("jobs", "Jobs.", Counter::new()).unwrap();
        registry
            .register(
                "routes",
                "By route.",
                Family::<Route, Histogram>::new_with(|| Histogram::new(Buckets::latency())),
            )
            .unwrap();
        registry
            .register("phase", "Phase.", StateSet::<Phase>::default())
            .unwrap();
        registry
            .register(
                "tenants",
                "By tenant.",
                SparseFamily::<Gauge, 2>::new(["tenant", "region"], 50)
                    .unwrap()
                    .idle_timeout(MINUTE),
            )
            .unwrap();
        registry.register_collector(Pool(2)).unwrap();
        let bound = registry.series_bound();
        assert_eq!(
            bound.families().collect::<Vec<_>>(),
            [
                ("jobs", Some(1)),
                ("routes", Some(4)),
                ("phase", Some(2)),
                ("tenants", Some(51)),
                ("pool_connections", Some(2)),
                // One overflow count for the one capped family, one collect-error count for
                // the one family a scrape can leave out (the collector's).
                ("vitalsign_series_overflow", Some(1)),
                ("vitalsign_series_removed", Some(1)),
                ("vitalsign_series_expired", Some(1)),
                ("vitalsign_collect_errors", Some(1)),
            ]
        );
        assert_eq!(bound.total(), Some(64));
        assert_eq!(bound.to_string(), "at most 64 series");
        registry.register_collector(Unsaid).unwrap();
        let bound = registry.series_bound();
        assert_eq!(bound.total(), None);
        assert_eq!(bound.unbounded().collect::<Vec<_>>(), ["anything"]);
        assert_eq!(bound.to_string(), "unbounded: anything");
    }
}

/// A collector's declared bound is kept: writing past it leaves the collector out of the
/// scrape and counts an error, so the registry's answer stays true.
#[test]
fn a_collector_past_its_declared_bound_is_left_out() {
    let registry = Registry::new();
    registry.register_collector(Pool(3)).unwrap();
    assert_eq!(
        samples(&registry),
        [r#"vitalsign_collect_errors_total{metric="pool_connections"} 1"#]
    );
}

/// Lookups, removals and re-creations of the same label values run while scrapes do: no scrape
/// ever writes a label set twice (a series removed and made again during a scrape waits for the
/// next one), and every scrape is of at most the cap's series.
#[test]
fn scrapes_racing_removals_never_repeat_a_series() {
    let (registry, orders) = customers(2_000);
    for i in 0..2_000 {
        orders.get([&format!("c{i}")]).inc();
    }
    let churn = {
        let orders = orders.clone();
        std::thread::spawn(move || {
            for round in 0..200 {
                for i in (round % 7..2_000).step_by(7) {
                    let key = format!("c{i}");
                    orders.remove([&key]);
                    orders.get([&key]).inc();
                }
            }
        })
    };
    let mut scrapes = 0;
    while !churn.is_finished() && scrapes < 2_000 {
        let lines = samples(&registry);
        let mut sorted: Vec<&str> = lines
            .iter()
            .map(|l| l.rsplit_once(' ').unwrap().0)
            .collect();
        sorted.sort_unstable();
        let n = sorted.len();
        sorted.dedup();
        assert_eq!(sorted.len(), n, "a label set written twice in one scrape");
        assert!(n <= 2_000, "{n} series");
        scrapes += 1;
    }
    churn.join().unwrap();
    assert_eq!(samples(&registry).len(), 2_000);
}

/// vitalsign's own counters exist from registration, at zero, for every family they can count:
/// an overflow and a removal count for each sparse family, a collect-error count for each family a scrape can
/// leave out (callbacks, collectors), so `increase(...) > 0` sees the first one. Families that
/// can neither overflow nor fail get neither.
#[test]
fn overflow_counts_exist_from_registration() {
    let (registry, _orders) = customers(10);
    registry.register("jobs", "Jobs.", Counter::new()).unwrap();
    registry
        .register(
            "pool_idle",
            "Idle connections.",
            vitalsign::CallbackGauge::new(|| 3.0),
        )
        .unwrap();
    let own: Vec<String> = registry
        .render(Format::Prometheus)
        .lines()
        .filter(|l| l.starts_with("vitalsign_"))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        own,
        [
            r#"vitalsign_series_overflow_total{metric="orders"} 0"#,
            r#"vitalsign_series_removed_total{metric="orders"} 0"#,
            r#"vitalsign_collect_errors_total{metric="pool_idle"} 0"#
        ]
    );
    assert_eq!(
        registry.series_bound().total(),
        Some(11 + 1 + 1 + 1 + 1 + 1)
    );
}
