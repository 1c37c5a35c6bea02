//! Each route's series, found with one probe per request.
//!
//! A request's method, route and extra label pick one [`RouteEntry`]: the route's active gauge
//! and its series for each status it has answered with. The entry is found in a probe table
//! read with plain atomic loads, keyed by a cheap hash of the route template, so a request does
//! not hash its label values through the sparse families twice (once to start, once to
//! record); the families stay the authority and make every series. Entries are never removed
//! (the layer's families drop no series), so a request can keep an entry's index and find it
//! again when it ends.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use vitalsign::{Gauge, Histogram};

/// Statuses an entry keeps series for; a route answering with more statuses finds the series of
/// the others through the families at each request.
const STATUSES: usize = 8;

/// Entries past this many are found through the map behind the table's mutex only.
const MAX_PROBED: usize = 1 << 15;

/// The index of the overflow entry: requests whose label set found the table full.
pub(crate) const OVERFLOW: u32 = u32::MAX;

/// One label set of the active gauge (method, route, extra label) and its series.
pub(crate) struct RouteEntry {
    method: &'static str,
    route: Box<str>,
    extra: &'static str,
    pub(crate) active: Arc<Gauge>,
    statuses: [OnceLock<StatusSeries>; STATUSES],
}

/// A route's series for one status.
pub(crate) struct StatusSeries {
    code: u16,
    pub(crate) duration: Arc<Histogram>,
    pub(crate) request_size: Option<Arc<Histogram>>,
    pub(crate) response_size: Option<Arc<Histogram>>,
}

impl StatusSeries {
    pub(crate) fn new(
        code: u16,
        duration: Arc<Histogram>,
        request_size: Option<Arc<Histogram>>,
        response_size: Option<Arc<Histogram>>,
    ) -> Self {
        Self {
            code,
            duration,
            request_size,
            response_size,
        }
    }
}

/// A route's series for a status, kept by its entry or (past [`STATUSES`]) just looked up.
pub(crate) enum Found<'a> {
    Kept(&'a StatusSeries),
    Looked(StatusSeries),
}

impl std::ops::Deref for Found<'_> {
    type Target = StatusSeries;

    fn deref(&self) -> &StatusSeries {
        match self {
            Found::Kept(s) => s,
            Found::Looked(s) => s,
        }
    }
}

impl RouteEntry {
    pub(crate) fn new(
        method: &'static str,
        route: &str,
        extra: &'static str,
        active: Arc<Gauge>,
    ) -> Self {
        Self {
            method,
            route: route.into(),
            extra,
            active,
            statuses: Default::default(),
        }
    }

    pub(crate) fn labels(&self) -> (&'static str, &str, &'static str) {
        (self.method, &self.route, self.extra)
    }

    fn is(&self, method: &str, route: &str, extra: &str) -> bool {
        let same = |a: &str, b: &str| vitalsign::__private::same_bytes(a.as_bytes(), b.as_bytes());
        same(self.method, method) && same(&self.route, route) && same(self.extra, extra)
    }

    /// The series for `code`: the entry's own once it has made them, else made by `make` (and
    /// kept, while the entry has room).
    pub(crate) fn status(&self, code: u16, make: impl Fn() -> StatusSeries) -> Found<'_> {
        for slot in &self.statuses {
            // A slot another status took, or takes now, sends the search on.
            let series = match slot.get() {
                Some(series) => series,
                None => slot.get_or_init(&make),
            };
            if series.code == code {
                return Found::Kept(series);
            }
        }
        Found::Looked(make())
    }
}

/// The entries of one layer's families, at most `cap` of them plus the overflow entry.
pub(crate) struct RouteTable {
    /// Open addressing, linear probing: an entry's index plus one, or 0 for an empty slot.
    /// Written only under `index`'s lock and never cleared, so a probe that meets an empty slot
    /// has passed every entry of its hash.
    probes: Box<[AtomicU32]>,
    entries: Chunks<RouteEntry>,
    /// Every entry by route, then method and extra label: the authority, behind a lock.
    index: Mutex<HashMap<Box<str>, Vec<u32>>>,
    cap: usize,
    /// Made when the table first turns a label set away (making it marks the families'
    /// overflow series as used, which shows them).
    overflow: OnceLock<RouteEntry>,
}

impl RouteTable {
    /// A table for at most `cap` entries; past that, requests share an overflow entry.
    pub(crate) fn new(cap: usize) -> Self {
        let cap = cap.min(OVERFLOW as usize - 1);
        let slots = (2 * cap.min(MAX_PROBED)).next_power_of_two().max(16);
        Self {
            probes: (0..slots).map(|_| AtomicU32::new(0)).collect(),
            entries: Chunks::default(),
            index: Mutex::new(HashMap::new()),
            cap,
            overflow: OnceLock::new(),
        }
    }

    /// The entry at `index`, from [`find_or_make`](Self::find_or_make) (which makes every entry
    /// before it hands out its index: `None` never happens).
    pub(crate) fn get(&self, index: u32) -> Option<&RouteEntry> {
        if index == OVERFLOW {
            return self.overflow.get();
        }
        self.entries.get(index)
    }

    /// Whether `entry` is the overflow entry.
    pub(crate) fn is_overflow(&self, entry: &RouteEntry) -> bool {
        self.overflow.get().is_some_and(|o| std::ptr::eq(o, entry))
    }

    /// The index of the entry for these labels, made by `make` if it is new and there is room,
    /// else [`OVERFLOW`] (its entry made by `overflow` the first time).
    pub(crate) fn find_or_make(
        &self,
        method: &'static str,
        route: &str,
        extra: &'static str,
        make: impl FnOnce() -> RouteEntry,
        overflow: impl FnOnce() -> RouteEntry,
    ) -> u32 {
        let hash = hash(method, route, extra);
        let mask = self.probes.len() - 1;
        let mut at = hash & mask;
        for _ in 0..self.probes.len() {
            let Some(index) = self.probes[at].load(Ordering::Acquire).checked_sub(1) else {
                break;
            };
            if self.holds(index, method, route, extra) {
                return index;
            }
            at = (at + 1) & mask;
        }
        self.find_or_make_locked(hash, method, route, extra, make, overflow)
    }

    #[cold]
    fn find_or_make_locked(
        &self,
        hash: usize,
        method: &'static str,
        route: &str,
        extra: &'static str,
        make: impl FnOnce() -> RouteEntry,
        overflow: impl FnOnce() -> RouteEntry,
    ) -> u32 {
        let mut index = self.index.lock().unwrap_or_else(PoisonError::into_inner);
        let found = index.get(route).and_then(|same_route| {
            same_route
                .iter()
                .copied()
                .find(|&i| self.holds(i, method, route, extra))
        });
        if let Some(i) = found {
            return i;
        }
        let made = self.entries.len();
        let Some(i) = u32::try_from(made).ok().filter(|_| made < self.cap) else {
            self.overflow.get_or_init(overflow);
            return OVERFLOW;
        };
        self.entries.push(make());
        index.entry(route.into()).or_default().push(i);
        // The first entries, up to half the slots, are probed: every probe sequence ends at an
        // empty slot.
        if 2 * (made + 1) <= self.probes.len() {
            let mask = self.probes.len() - 1;
            let mut at = hash & mask;
            while self.probes[at].load(Ordering::Relaxed) != 0 {
                at = (at + 1) & mask;
            }
            self.probes[at].store(i + 1, Ordering::Release);
        }
        i
    }

    /// Whether entry `i` is the one for these labels.
    fn holds(&self, i: u32, method: &str, route: &str, extra: &str) -> bool {
        self.entries
            .get(i)
            .is_some_and(|e| e.is(method, route, extra))
    }
}

/// A hash of the labels for the probe table: the route template read eight bytes at a time. Not
/// a defence against chosen collisions, which only lengthen probes: routes are the server's.
fn hash(method: &str, route: &str, extra: &str) -> usize {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mix = |h: u64, word: u64| (h.rotate_left(5) ^ word).wrapping_mul(K);
    let mut h = (route.len() as u64) ^ ((method.len() as u64) << 32);
    for part in [method, route, extra] {
        let mut rest = part.as_bytes();
        while let Some((word, tail)) = rest.split_first_chunk::<8>() {
            h = mix(h, u64::from_le_bytes(*word));
            rest = tail;
        }
        if !rest.is_empty() {
            h = mix(h, tail_word(rest));
        }
    }
    (h ^ (h >> 32)) as usize
}

/// Up to seven bytes as one word, read without a call to `memcpy` (which a copy of a slice of
/// unknown length becomes).
fn tail_word(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .take(7)
        .enumerate()
        .fold(0, |w, (i, &b)| w | u64::from(b) << (8 * i))
}

/// A vector that only grows, read without a lock: chunk `k` holds `16 << k` values and is made
/// when the first of them is pushed. Pushes are serialised by the caller.
struct Chunks<T> {
    chunks: [OnceLock<Box<[OnceLock<T>]>>; 29],
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
    fn locate(i: usize) -> (usize, usize) {
        let j = i + 16;
        let k = (usize::BITS - 1 - j.leading_zeros()) as usize - 4;
        (k, j - (16 << k))
    }

    fn get(&self, i: u32) -> Option<&T> {
        let (k, at) = Self::locate(i as usize);
        self.chunks.get(k)?.get()?.get(at)?.get()
    }

    fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// Appends `value`; the caller holds the lock that serialises pushes. Past the last chunk
    /// the value is dropped (the table's cap keeps it far from there).
    fn push(&self, value: T) {
        let i = self.len.load(Ordering::Relaxed);
        let (k, at) = Self::locate(i);
        let Some(chunk) = self.chunks.get(k) else {
            return;
        };
        let chunk = chunk.get_or_init(|| (0..16 << k).map(|_| OnceLock::new()).collect());
        if chunk[at].set(value).is_ok() {
            self.len.store(i + 1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vitalsign::Buckets;

    fn entry(method: &'static str, route: &str) -> RouteEntry {
        RouteEntry::new(method, route, "", Arc::new(Gauge::new()))
    }

    #[test]
    fn chunks_place_values_one_after_another() {
        assert_eq!(Chunks::<()>::locate(0), (0, 0));
        assert_eq!(Chunks::<()>::locate(15), (0, 15));
        assert_eq!(Chunks::<()>::locate(16), (1, 0));
        assert_eq!(Chunks::<()>::locate(47), (1, 31));
        assert_eq!(Chunks::<()>::locate(48), (2, 0));
        // The last chunk ends past the largest index a table hands out.
        let (k, at) = Chunks::<()>::locate(OVERFLOW as usize - 1);
        assert_eq!((k, at < 16 << k), (28, true));
        let chunks = Chunks::default();
        for i in 0..100u32 {
            chunks.push(i * 3);
        }
        assert_eq!(chunks.len(), 100);
        assert_eq!(
            (0..101).map(|i| chunks.get(i).copied()).collect::<Vec<_>>(),
            {
                let mut want: Vec<_> = (0..100).map(|i| Some(i * 3)).collect();
                want.push(None);
                want
            }
        );
    }

    #[test]
    fn each_label_set_gets_one_entry_and_keeps_it() {
        let table = RouteTable::new(100);
        let routes = [
            "/",
            "/orders/{id}",
            "/orders/{id}/items",
            "/a-long-route/with/many/parts",
        ];
        let mut made = 0;
        let mut indices = Vec::new();
        for method in ["GET", "POST"] {
            for route in routes {
                let make = || {
                    made += 1;
                    entry(method, route)
                };
                let i = table.find_or_make(method, route, "", make, || unreachable!());
                indices.push(i);
            }
        }
        assert_eq!(made, 8);
        assert_eq!(indices, (0..8).collect::<Vec<u32>>());
        // Found again without being made, each at its own index, by value and not by address.
        for (n, method) in ["GET", "POST"].into_iter().enumerate() {
            for (r, route) in routes.into_iter().enumerate() {
                let owned = route.to_owned();
                let i =
                    table.find_or_make(method, &owned, "", || unreachable!(), || unreachable!());
                assert_eq!(i, (n * 4 + r) as u32);
                assert_eq!(
                    table.get(i).map(RouteEntry::labels),
                    Some((method, route, ""))
                );
            }
        }
    }

    #[test]
    fn past_the_cap_label_sets_share_the_overflow_entry() {
        let table = RouteTable::new(2);
        assert!(table.get(OVERFLOW).is_none());
        let overflows = std::cell::Cell::new(0);
        let overflow = || {
            overflows.set(overflows.get() + 1);
            entry("GET", "__overflow__")
        };
        let i: Vec<u32> = ["/a", "/b", "/c", "/d", "/a"]
            .into_iter()
            .map(|r| table.find_or_make("GET", r, "", || entry("GET", r), overflow))
            .collect();
        assert_eq!(i, [0, 1, OVERFLOW, OVERFLOW, 0]);
        assert_eq!(overflows.get(), 1);
        let o = table.get(OVERFLOW).expect("made");
        assert_eq!(o.labels(), ("GET", "__overflow__", ""));
        assert!(table.is_overflow(o));
        assert!(!table.is_overflow(table.get(0).expect("made")));
    }

    #[test]
    fn entries_past_the_probe_table_are_found_through_the_map() {
        // 16 probe slots hold 8 entries; the other 32 are found behind the lock.
        let table = RouteTable::new(40);
        assert_eq!(table.probes.len(), 128);
        let table = RouteTable {
            probes: (0..16).map(|_| AtomicU32::new(0)).collect(),
            ..table
        };
        let routes: Vec<String> = (0..40).map(|i| format!("/r{i}")).collect();
        for (i, r) in routes.iter().enumerate() {
            let found = table.find_or_make("GET", r, "", || entry("GET", r), || unreachable!());
            assert_eq!(found, i as u32);
        }
        let probed = table
            .probes
            .iter()
            .filter(|p| p.load(Ordering::Relaxed) != 0);
        assert_eq!(probed.count(), 8);
        for (i, r) in routes.iter().enumerate() {
            let found = table.find_or_make("GET", r, "", || unreachable!(), || unreachable!());
            assert_eq!(found, i as u32);
        }
    }

    #[test]
    fn an_entry_keeps_eight_statuses_and_looks_up_the_rest() {
        let e = entry("GET", "/");
        let made = std::cell::Cell::new(0);
        let series = |code: u16| {
            made.set(made.get() + 1);
            StatusSeries::new(
                code,
                Arc::new(Histogram::new(Buckets::latency())),
                None,
                None,
            )
        };
        for code in (200..210).chain(200..210) {
            let found = e.status(code, || series(code));
            assert_eq!(found.code, code);
            assert_eq!(matches!(found, Found::Kept(_)), code < 208);
        }
        // Eight made once each; 208 and 209 made at both of their requests.
        assert_eq!(made.get(), 12);
    }

    #[test]
    fn threads_racing_for_new_label_sets_agree_on_one_entry_each() {
        let table = RouteTable::new(1_000);
        let routes: Vec<String> = (0..200).map(|i| format!("/route/{i}")).collect();
        let made = AtomicUsize::new(0);
        // Each thread walks the routes from its own starting point: (route, index found).
        let seen: Vec<Vec<(usize, u32)>> = std::thread::scope(|s| {
            let threads: Vec<_> = (0..4)
                .map(|t| {
                    let (table, routes, made) = (&table, &routes, &made);
                    s.spawn(move || {
                        let walk = (0..routes.len()).map(|i| (i + t * 50) % routes.len());
                        walk.map(|r| {
                            let make = || {
                                made.fetch_add(1, Ordering::Relaxed);
                                entry("GET", &routes[r])
                            };
                            let found = table.find_or_make("GET", &routes[r], "", make, || {
                                unreachable!("the table has room")
                            });
                            (r, found)
                        })
                        .collect()
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        assert_eq!(made.load(Ordering::Relaxed), 200);
        let mut by_route = vec![None; 200];
        for &(r, index) in seen.iter().flatten() {
            assert_eq!(*by_route[r].get_or_insert(index), index);
            let e = table.get(index).expect("made");
            assert_eq!(e.labels().1, routes[r]);
        }
        assert_eq!(by_route.iter().flatten().count(), 200);
    }
}
