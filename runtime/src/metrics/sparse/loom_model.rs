//! Run with `RUSTFLAGS="--cfg loom" cargo test -p vitalsign --lib --release loom`
//! (`.ci/run` does).

use super::*;
use crate::metrics::Counter;

fn values(family: &SparseFamily<Counter, 1>) -> Vec<(String, u64)> {
    let state = family.state.read().unwrap();
    let mut seen: Vec<_> = state
        .series
        .iter()
        .flatten()
        .map(|slot| {
            let mut text = String::new();
            Labels::from_fn(&family.visit(&slot.key)).render(&mut text);
            (text, slot.series.get())
        })
        .collect();
    seen.push(("overflow".to_owned(), family.overflow.get()));
    seen
}

/// Two threads ask for the same new label set at once: in every interleaving they share one
/// series (the write lock re-checks what the read lock missed), and nothing overflows.
#[test]
fn loom_racing_lookups_of_one_new_label_set_share_one_series() {
    loom::model(|| {
        let family = Arc::new(SparseFamily::<Counter, 1>::new(["user"], 2).unwrap());
        let other = {
            let family = family.clone();
            loom::thread::spawn(move || family.get(["ada"]).inc())
        };
        family.get(["ada"]).inc();
        other.join().unwrap();
        assert_eq!(
            values(&family),
            [("user=\"ada\"".to_owned(), 2), ("overflow".to_owned(), 0)]
        );
        assert_eq!(family.overflowed.load(Ordering::Relaxed), 0);
    });
}

/// Two threads race for the last free slot: one label set gets it, the other goes to the
/// overflow series and is counted once, whichever comes first.
#[test]
fn loom_racing_label_sets_never_exceed_the_cap() {
    loom::model(|| {
        let family = Arc::new(SparseFamily::<Counter, 1>::new(["user"], 1).unwrap());
        let other = {
            let family = family.clone();
            loom::thread::spawn(move || family.get(["bob"]).inc())
        };
        family.get(["ada"]).inc();
        other.join().unwrap();
        let seen = values(&family);
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert!(
            seen[0] == ("user=\"ada\"".to_owned(), 1) || seen[0] == ("user=\"bob\"".to_owned(), 1),
            "{seen:?}"
        );
        assert_eq!(seen[1], ("overflow".to_owned(), 1));
        assert_eq!(family.overflowed.load(Ordering::Relaxed), 1);
    });
}

/// A family whose series `ada` exists, sits in this thread's lookup cache, and was seen
/// unused by one sweep: the next sweep drops it unless someone uses or holds it.
fn idle_ada() -> Arc<SparseFamily<Counter, 1>> {
    let family = Arc::new(
        SparseFamily::<Counter, 1>::new(["user"], 2)
            .unwrap()
            .idle_timeout(Duration::ZERO),
    );
    drop(family.get(["ada"]));
    assert_eq!(family.expire_idle(), 0);
    family
}

/// A lookup answered by the per-thread cache (a `Weak` upgraded) races an expiry: whichever
/// wins, the handle it returns is a series the family still shows, so the increment made
/// through it after the sweep is scraped. The sweep either passes over the held series or
/// dropped it before the upgrade, which then fails and the lookup makes a new series.
#[test]
fn loom_a_cached_lookup_racing_an_expiry_never_holds_a_dropped_series() {
    loom::model(|| {
        let family = idle_ada();
        let sweeper = {
            let family = family.clone();
            loom::thread::spawn(move || family.expire_idle())
        };
        let handle = family.get(["ada"]);
        let expired = sweeper.join().unwrap();
        handle.inc();
        assert_eq!(
            values(&family),
            [("user=\"ada\"".to_owned(), 1), ("overflow".to_owned(), 0)]
        );
        assert!(expired <= 1);
        assert_eq!(family.expired.load(Ordering::Relaxed), expired as u64);
    });
}

/// A removal races a cached lookup: the handle the lookup returns is shown by the family as
/// long as it is held (the removal waits for it, or came first and the lookup made a new
/// series); once it is dropped, a sweep completes a removal that came after the lookup.
#[test]
fn loom_a_removal_racing_a_cached_lookup_waits_for_the_handle() {
    loom::model(|| {
        let family = idle_ada();
        let remover = {
            let family = family.clone();
            loom::thread::spawn(move || family.remove(["ada"]))
        };
        let handle = family.get(["ada"]);
        assert!(remover.join().unwrap());
        handle.inc();
        assert_eq!(
            values(&family),
            [("user=\"ada\"".to_owned(), 1), ("overflow".to_owned(), 0)]
        );
        drop(handle);
        family.expire_idle();
        let seen = values(&family);
        // Removed after the lookup: gone now. Removed before it: the lookup's new series,
        // used since the last sweep, stays.
        assert!(
            seen == [("overflow".to_owned(), 0)]
                || seen == [("user=\"ada\"".to_owned(), 1), ("overflow".to_owned(), 0)],
            "{seen:?}"
        );
    });
}

/// A lookup through the map (a thread with nothing cached) and its increment race an
/// expiry: the map's lock orders them, so the sweep either finds the series used and keeps
/// it, or drops it before the lookup, which makes a new series: the increment is shown.
#[test]
fn loom_a_map_lookup_racing_an_expiry_is_shown() {
    loom::model(|| {
        let family = idle_ada();
        let worker = {
            let family = family.clone();
            loom::thread::spawn(move || family.get(["ada"]).inc())
        };
        let expired = family.expire_idle();
        worker.join().unwrap();
        assert!(expired <= 1);
        assert_eq!(
            values(&family),
            [("user=\"ada\"".to_owned(), 1), ("overflow".to_owned(), 0)],
            "expired {expired}"
        );
    });
}
