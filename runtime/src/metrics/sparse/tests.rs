use super::key::{pack, packs};
use crate::encoding::Format;
use crate::metrics::Metric;
use crate::metrics::{Counter, SparseFamily};
use crate::registry::{Descriptor, Registry};

/// A cache hit compares the values with a packed key in place: exactly the values that pack
/// to that key match it, however they split, and their hash depends on where they split.
#[test]
fn values_match_their_packed_key_and_no_other() {
    let lists: [&[&str]; 7] = [
        &["ab", "c"],
        &["a", "bc"],
        &["abc", ""],
        &["", "abc"],
        &["", ""],
        &["ab", "cd"],
        &["a\u{0}b", "c"],
    ];
    for (i, values) in lists.iter().enumerate() {
        let mut key = Vec::new();
        pack(&mut key, values);
        for (j, other) in lists.iter().enumerate() {
            assert_eq!(packs(&key, other), i == j, "{values:?} against {other:?}");
            assert_eq!(
                crate::lookup::hash(7, values) == crate::lookup::hash(7, other),
                i == j
            );
        }
        // A key with bytes left over, or cut short, is no list's.
        let mut longer = key.clone();
        longer.push(0);
        assert!(!packs(&longer, values));
        assert!(!packs(&key[..key.len() - 1], values));
    }
    assert_ne!(
        crate::lookup::hash(7, &["a"]),
        crate::lookup::hash(8, &["a"])
    );
}

/// Line prefixes are rendered once per series and extended as series are added; a family
/// registered under a second name renders each name's own.
#[test]
fn prefixes_follow_new_series_and_names() {
    let registry = Registry::new();
    let family = std::sync::Arc::new(SparseFamily::<Counter, 1>::new(["user"], 10).unwrap());
    registry
        .register_shared(
            Descriptor::new("logins", "Logins.").const_label("shard", "a"),
            family.clone(),
        )
        .unwrap();
    family.get(["ada"]).inc();
    // The family's lines (its overflow count, at zero, is not what this test is about).
    let lines = |r: &Registry| -> Vec<String> {
        r.render(Format::Prometheus)
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with("vitalsign_"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        lines(&registry),
        ["logins_total{shard=\"a\",user=\"ada\"} 1"]
    );
    family.get(["bob"]).inc_by(2);
    family.get(["ada"]).inc();
    assert_eq!(
        lines(&registry),
        [
            "logins_total{shard=\"a\",user=\"ada\"} 2",
            "logins_total{shard=\"a\",user=\"bob\"} 2"
        ]
    );
    let other = Registry::new();
    other
        .register_shared(Descriptor::new("signins", "Sign-ins."), family.clone())
        .unwrap();
    assert_eq!(
        lines(&other),
        [
            "signins_total{user=\"ada\"} 2",
            "signins_total{user=\"bob\"} 2"
        ]
    );
    assert_eq!(
        lines(&registry)[1],
        "logins_total{shard=\"a\",user=\"bob\"} 2"
    );
}

/// The per-thread cache never confuses families or keys, and never hides an overflow: 300
/// keys over 64 slots, twice each, in two families with the same names, count exactly.
#[test]
fn cached_lookups_count_exactly() {
    let a = SparseFamily::<Counter, 1>::new(["k"], 200).unwrap();
    let b = SparseFamily::<Counter, 1>::new(["k"], 1000).unwrap();
    for _ in 0..2 {
        for i in 0..300 {
            let k = i.to_string();
            a.get([&k]).inc();
            b.get([&k]).inc_by(10);
        }
    }
    assert_eq!((a.len(), b.len()), (200, 300));
    assert_eq!(a.get(["7"]).get(), 2);
    assert_eq!(b.get(["7"]).get(), 20);
    // 100 keys found the family full, twice each.
    assert_eq!(a.overflowed(), Some(200));
    assert_eq!(a.overflow.get(), 200);
    assert!((0..300).all(|i| b.get([&i.to_string()]).get() == 20));
}
