//! Each route's series, found with one probe per request.
//!
//! A request's method, route and extra label pick one [`RouteEntry`]: the route's active gauge
//! and its series for each status it has answered with. The entry is found in a probe table
//! read with plain atomic loads ([`vitalsign::lookup::Table`]), keyed by a cheap hash of the
//! labels, so a request does not hash its label values through the sparse families twice (once
//! to start, once to record); the families stay the authority and make every series. Entries are never removed
//! (the layer's families drop no series), so a request can keep an entry's index and find it
//! again when it ends.

use std::sync::{Arc, OnceLock};

use vitalsign::lookup::{self, Table, same_bytes};

use crate::kept::{Found, Kept};
use vitalsign::{Gauge, Histogram};

/// Statuses an entry keeps series for; a route answering with more statuses finds the series of
/// the others through the families at each request.
const STATUSES: usize = 8;

/// The index of the overflow entry: requests whose label set found the table full.
pub(crate) const OVERFLOW: u32 = u32::MAX;

/// One label set of the active gauge (method, route, extra label) and its series.
pub(crate) struct RouteEntry {
    method: &'static str,
    route: Box<str>,
    extra: &'static str,
    pub(crate) active: Arc<Gauge>,
    statuses: Kept<u16, StatusSeries, STATUSES>,
}

/// A route's series for one status.
pub(crate) struct StatusSeries {
    pub(crate) duration: Arc<Histogram>,
    pub(crate) request_size: Option<Arc<Histogram>>,
    pub(crate) response_size: Option<Arc<Histogram>>,
}

impl StatusSeries {
    pub(crate) fn new(
        duration: Arc<Histogram>,
        request_size: Option<Arc<Histogram>>,
        response_size: Option<Arc<Histogram>>,
    ) -> Self {
        Self {
            duration,
            request_size,
            response_size,
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
        let same = |a: &str, b: &str| same_bytes(a.as_bytes(), b.as_bytes());
        same(self.method, method) && same(&self.route, route) && same(self.extra, extra)
    }

    /// The series for `code`: the entry's own once it has made them, else made by `make` (and
    /// kept, while the entry has room).
    pub(crate) fn status(
        &self,
        code: u16,
        make: impl Fn() -> StatusSeries,
    ) -> Found<'_, StatusSeries> {
        self.statuses.get(code, make)
    }
}

/// The entries of one layer's families, at most `cap` of them plus the overflow entry.
pub(crate) struct RouteTable {
    entries: Table<RouteEntry>,
    /// Made when the table first turns a label set away (making it marks the families'
    /// overflow series as used, which shows them).
    overflow: OnceLock<RouteEntry>,
}

impl RouteTable {
    /// A table for at most `cap` entries; past that, requests share an overflow entry.
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            entries: Table::new(cap.min(OVERFLOW as usize - 1)),
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
        // Not a defence against chosen collisions, which only lengthen probes: routes are the
        // server's.
        let hash = lookup::hash(0, &[method, route, extra]);
        let found = self
            .entries
            .find_or_insert(hash, |e| e.is(method, route, extra), make);
        found.unwrap_or_else(|| {
            self.overflow.get_or_init(overflow);
            OVERFLOW
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(method: &'static str, route: &str) -> RouteEntry {
        RouteEntry::new(method, route, "", Arc::new(Gauge::new()))
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
}
