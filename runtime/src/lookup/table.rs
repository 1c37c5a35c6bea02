//! [`Table`]: values that are only ever added, found by hash without a lock.

use std::collections::HashMap;
use std::sync::PoisonError;
use std::sync::atomic::Ordering;

use crate::sync::{AtomicU32, AtomicUsize, Mutex, OnceLock};

/// Values past this many are found through the map behind the table's lock only.
const MAX_PROBED: usize = 1 << 15;

/// Chunks a table's values live in: chunk `k` holds `16 << k`, so 29 hold every index a `u32`
/// gives (less the one kept for "none").
const CHUNKS: usize = 29;

/// Values that are only ever added, at most a fixed number, each found by its hash and an
/// equality test with plain atomic loads: a lookup takes no lock and writes nothing.
///
/// A value's index (`u32`, in the order the values were added) never changes, so a caller can
/// keep it and [`get`](Self::get) the value again. Inserts are serialised by a lock, behind
/// which a map by hash is the authority; the first values (up to a few tens of thousands) are
/// also in an open-addressing probe table read without it. Made for what a program declares
/// (routes, methods): a value is never removed, and the table holds at most the `cap` it was
/// made with.
pub struct Table<T> {
    /// Linear probing: a value's index plus one, or 0 for an empty slot. Written only under
    /// `index`'s lock and never cleared, so a probe that meets an empty slot has passed every
    /// probed value of its hash.
    probes: Box<[AtomicU32]>,
    values: Chunks<T>,
    /// Every value's index by hash.
    index: Mutex<HashMap<u64, Vec<u32>>>,
    cap: usize,
}

impl<T> Table<T> {
    /// A table for at most `cap` values (and at most `u32::MAX - 1`).
    pub fn new(cap: usize) -> Self {
        let cap = cap.min(u32::MAX as usize - 1);
        let slots = (2 * cap.min(MAX_PROBED)).next_power_of_two().max(16);
        Self {
            probes: (0..slots).map(|_| AtomicU32::new(0)).collect(),
            values: Chunks::default(),
            index: Mutex::new(HashMap::new()),
            cap,
        }
    }

    /// The value at `index`, if one was added there.
    #[inline]
    pub fn get(&self, index: u32) -> Option<&T> {
        self.values.get(index)
    }

    /// How many values the table holds.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the table holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The index of the value under `hash` that `is` accepts, if there is one.
    #[inline]
    pub fn find(&self, hash: u64, is: impl Fn(&T) -> bool) -> Option<u32> {
        match self.probe(hash, &is) {
            Probe::Found(i) => Some(i),
            // Every value is probed: the empty slot the probe met proves there is none.
            Probe::Missed if self.len() <= self.probed() => None,
            Probe::Missed => self.find_locked(&self.lock(), hash, &is),
        }
    }

    /// The index of the value under `hash` that `is` accepts, made by `make` and added if there
    /// is none; `None` if there is none and the table is full (`make` is not called then).
    #[inline]
    pub fn find_or_insert(
        &self,
        hash: u64,
        is: impl Fn(&T) -> bool,
        make: impl FnOnce() -> T,
    ) -> Option<u32> {
        match self.probe(hash, &is) {
            Probe::Found(i) => Some(i),
            Probe::Missed => self.insert(hash, &is, make),
        }
    }

    #[cold]
    fn insert(&self, hash: u64, is: &impl Fn(&T) -> bool, make: impl FnOnce() -> T) -> Option<u32> {
        let mut index = self.lock();
        if let Some(i) = self.find_locked(&index, hash, is) {
            return Some(i);
        }
        let made = self.values.len();
        let i = u32::try_from(made).ok().filter(|_| made < self.cap)?;
        if !self.values.push(make()) {
            return None;
        }
        index.entry(hash).or_default().push(i);
        if made < self.probed() {
            let mask = self.probes.len() - 1;
            let mut at = hash as usize & mask;
            while self.probes[at].load(Ordering::Relaxed) != 0 {
                at = (at + 1) & mask;
            }
            self.probes[at].store(i + 1, Ordering::Release);
        }
        Some(i)
    }

    /// How many values the probe table takes: half its slots, so every probe sequence ends at an
    /// empty slot.
    fn probed(&self) -> usize {
        self.probes.len() / 2
    }

    #[inline]
    fn probe(&self, hash: u64, is: &impl Fn(&T) -> bool) -> Probe {
        let mask = self.probes.len() - 1;
        let mut at = hash as usize & mask;
        for _ in 0..self.probes.len() {
            let Some(i) = self.probes[at].load(Ordering::Acquire).checked_sub(1) else {
                break;
            };
            if self.values.get(i).is_some_and(is) {
                return Probe::Found(i);
            }
            at = (at + 1) & mask;
        }
        Probe::Missed
    }

    fn lock(&self) -> crate::sync::MutexGuard<'_, HashMap<u64, Vec<u32>>> {
        self.index.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn find_locked(
        &self,
        index: &HashMap<u64, Vec<u32>>,
        hash: u64,
        is: &impl Fn(&T) -> bool,
    ) -> Option<u32> {
        let same_hash = index.get(&hash)?;
        same_hash
            .iter()
            .copied()
            .find(|&i| self.values.get(i).is_some_and(is))
    }
}

impl<T> std::fmt::Debug for Table<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("len", &self.len())
            .field("cap", &self.cap)
            .finish_non_exhaustive()
    }
}

enum Probe {
    Found(u32),
    /// Met an empty slot, or went round the whole table.
    Missed,
}

/// A vector that only grows, read without a lock: chunk `k` holds `16 << k` values and is made
/// when the first of them is pushed. Pushes are serialised by the caller.
struct Chunks<T> {
    chunks: [OnceLock<Box<[OnceLock<T>]>>; CHUNKS],
    len: AtomicUsize,
}

impl<T> Default for Chunks<T> {
    fn default() -> Self {
        Self {
            chunks: std::array::from_fn(|_| OnceLock::new()),
            len: AtomicUsize::new(0),
        }
    }
}

impl<T> Chunks<T> {
    /// The chunk and the place in it of value `i`.
    #[inline]
    fn locate(i: usize) -> (usize, usize) {
        let j = i + 16;
        let k = (usize::BITS - 1 - j.leading_zeros()) as usize - 4;
        (k, j - (16 << k))
    }

    #[inline]
    fn get(&self, i: u32) -> Option<&T> {
        let (k, at) = Self::locate(i as usize);
        self.chunks.get(k)?.get()?.get(at)?.get()
    }

    fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// Appends `value`; the caller holds the lock that serialises pushes. Past the last chunk
    /// the value is dropped and `false` returned (a table's cap keeps it far from there).
    fn push(&self, value: T) -> bool {
        let i = self.len.load(Ordering::Relaxed);
        let (k, at) = Self::locate(i);
        let Some(chunk) = self.chunks.get(k) else {
            return false;
        };
        let chunk = chunk.get_or_init(|| (0..16 << k).map(|_| OnceLock::new()).collect());
        let pushed = chunk.get(at).is_some_and(|slot| slot.set(value).is_ok());
        if pushed {
            self.len.store(i + 1, Ordering::Release);
        }
        pushed
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn route_table(cap: usize) -> Table<String> {
        Table::new(cap)
    }

    fn add(table: &Table<String>, route: &str) -> Option<u32> {
        let h = crate::lookup::hash(0, &[route]);
        table.find_or_insert(h, |r| r == route, || route.to_owned())
    }

    fn find(table: &Table<String>, route: &str) -> Option<u32> {
        table.find(crate::lookup::hash(0, &[route]), |r| r == route)
    }

    #[test]
    fn chunks_place_values_one_after_another() {
        assert_eq!(Chunks::<()>::locate(0), (0, 0));
        assert_eq!(Chunks::<()>::locate(15), (0, 15));
        assert_eq!(Chunks::<()>::locate(16), (1, 0));
        assert_eq!(Chunks::<()>::locate(47), (1, 31));
        assert_eq!(Chunks::<()>::locate(48), (2, 0));
        // The last chunk ends past the largest index a table hands out.
        let (k, at) = Chunks::<()>::locate(u32::MAX as usize - 2);
        assert_eq!((k, at < 16 << k), (CHUNKS - 1, true));
        let chunks = Chunks::default();
        for i in 0..100u32 {
            assert!(chunks.push(i * 3));
        }
        assert_eq!(chunks.len(), 100);
        let mut want: Vec<_> = (0..100).map(|i| Some(i * 3)).collect();
        want.push(None);
        assert_eq!(
            (0..101).map(|i| chunks.get(i).copied()).collect::<Vec<_>>(),
            want
        );
    }

    #[test]
    fn each_value_gets_one_index_and_keeps_it() {
        let table = route_table(100);
        let routes = [
            "/",
            "/orders/{id}",
            "/orders/{id}/items",
            "/a-long-route/with/parts",
        ];
        let added: Vec<_> = routes.iter().map(|r| add(&table, r)).collect();
        assert_eq!(added, [Some(0), Some(1), Some(2), Some(3)]);
        let again: Vec<_> = routes
            .iter()
            .map(|r| add(&table, &String::from(*r)))
            .collect();
        assert_eq!(again, added);
        let found: Vec<_> = routes.iter().map(|r| find(&table, r)).collect();
        assert_eq!(found, added);
        assert_eq!(find(&table, "/carts"), None);
        assert_eq!(table.get(2).map(String::as_str), Some("/orders/{id}/items"));
        assert_eq!((table.len(), table.get(4)), (4, None));
    }

    #[test]
    fn a_full_table_adds_nothing_and_makes_nothing() {
        let table = route_table(2);
        assert_eq!((add(&table, "/a"), add(&table, "/b")), (Some(0), Some(1)));
        let h = crate::lookup::hash(0, &["/c"]);
        let made = table.find_or_insert(h, |r| r == "/c", || unreachable!("full"));
        assert_eq!(made, None);
        assert_eq!((add(&table, "/a"), table.len()), (Some(0), 2));
    }

    #[test]
    fn values_past_the_probe_table_are_found_through_the_map() {
        // 16 probe slots take 8 values; the other 32 are found behind the lock.
        let table = Table {
            probes: (0..16).map(|_| AtomicU32::new(0)).collect(),
            ..route_table(40)
        };
        let routes: Vec<String> = (0..40).map(|i| format!("/r{i}")).collect();
        for (i, r) in routes.iter().enumerate() {
            assert_eq!(add(&table, r), Some(i as u32));
        }
        let probed = table
            .probes
            .iter()
            .filter(|p| p.load(Ordering::Relaxed) != 0);
        assert_eq!(probed.count(), 8);
        for (i, r) in routes.iter().enumerate() {
            assert_eq!(find(&table, r), Some(i as u32));
        }
        assert_eq!(find(&table, "/r40"), None);
    }

    #[test]
    fn values_sharing_a_hash_are_told_apart_by_the_test() {
        let table = route_table(10);
        for r in ["/a", "/b", "/c"] {
            table.find_or_insert(7, |v| v == r, || r.to_owned());
        }
        let found: Vec<_> = ["/c", "/a", "/b", "/d"]
            .into_iter()
            .map(|r| table.find(7, |v| v == r))
            .collect();
        assert_eq!(found, [Some(2), Some(0), Some(1), None]);
    }

    #[test]
    fn threads_racing_for_new_values_agree_on_one_index_each() {
        let table = route_table(1_000);
        let routes: Vec<String> = (0..200).map(|i| format!("/route/{i}")).collect();
        let made = std::sync::atomic::AtomicUsize::new(0);
        let seen: Vec<Vec<(usize, Option<u32>)>> = std::thread::scope(|s| {
            let threads: Vec<_> = (0..4)
                .map(|t| {
                    let (table, routes, made) = (&table, &routes, &made);
                    s.spawn(move || {
                        let walk = (0..routes.len()).map(|i| (i + t * 50) % routes.len());
                        walk.map(|r| {
                            let h = crate::lookup::hash(0, &[&routes[r]]);
                            let found = table.find_or_insert(
                                h,
                                |v| *v == routes[r],
                                || {
                                    made.fetch_add(1, Ordering::Relaxed);
                                    routes[r].clone()
                                },
                            );
                            (r, found)
                        })
                        .collect()
                    })
                })
                .collect();
            threads
                .into_iter()
                .map(|t| t.join().expect("no panic"))
                .collect()
        });
        assert_eq!(made.load(Ordering::Relaxed), 200);
        let mut by_route = vec![None; 200];
        for &(r, index) in seen.iter().flatten() {
            let index = index.expect("room");
            assert_eq!(*by_route[r].get_or_insert(index), index);
            assert_eq!(table.get(index), Some(&routes[r]));
        }
        assert_eq!(by_route.iter().flatten().count(), 200);
    }
}

/// Run with `RUSTFLAGS="--cfg loom" cargo test -p vitalsign --lib --release loom`
/// (`.ci/run` does).
#[cfg(all(test, loom))]
mod loom_model {
    use super::Table;

    fn add(table: &Table<u32>, key: u32) -> Option<u32> {
        table.find_or_insert(u64::from(key % 2), |v| *v == key, || key)
    }

    /// An insert racing lookups of the same key: a lookup finds nothing or the whole value,
    /// at the index the insert returns.
    #[test]
    fn loom_an_insert_racing_lookups_shows_all_of_the_value_or_none() {
        loom::model(|| {
            let table = loom::sync::Arc::new(Table::<u32>::new(4));
            let reader = {
                let table = table.clone();
                loom::thread::spawn(move || {
                    let i = table.find(1, |v| *v == 5)?;
                    Some((i, *table.get(i)?))
                })
            };
            assert_eq!(add(&table, 5), Some(0));
            let seen = reader.join().expect("no panic");
            assert!(matches!(seen, None | Some((0, 5))), "{seen:?}");
            assert_eq!(table.find(1, |v| *v == 5), Some(0));
        });
    }

    /// Two inserts of the same key: one value made, both given its index.
    #[test]
    fn loom_two_inserts_of_one_key_make_one_value() {
        loom::model(|| {
            let table = loom::sync::Arc::new(Table::<u32>::new(4));
            let other = {
                let table = table.clone();
                loom::thread::spawn(move || add(&table, 3))
            };
            let mine = add(&table, 3);
            let theirs = other.join().expect("no panic");
            assert_eq!((mine, theirs, table.len()), (Some(0), Some(0), 1));
            assert_eq!(add(&table, 4), Some(1));
        });
    }
}
