//! The per-thread lookup cache: direct-mapped, a few dozen entries, each holding a series
//! (type-erased, since one cache serves every family) under its family's id and packed key.
//! An entry holds a `Weak`, so a cached series still counts as unheld: a removal or expiry
//! can drop it, after which the entry no longer upgrades and the lookup goes to the map.

use std::any::Any;
use std::cell::RefCell;

use super::Activity;
use crate::sync::{Arc, Weak};

const SLOTS: usize = 64;

/// A `Weak` of any series type: unsized in place normally; boxed under loom, whose
/// stand-in `Weak` cannot be.
#[cfg(not(loom))]
type Erased = Weak<dyn Any + Send + Sync>;
#[cfg(loom)]
type Erased = Box<dyn Any + Send + Sync>;

#[cfg(not(loom))]
fn erase<M: Send + Sync + 'static>(series: &Arc<M>) -> Erased {
    Arc::downgrade(series) as Weak<dyn Any + Send + Sync>
}
#[cfg(loom)]
fn erase<M: Send + Sync + 'static>(series: &Arc<M>) -> Erased {
    Box::new(Arc::downgrade(series))
}

#[cfg(not(loom))]
fn upgrade<M: Send + Sync + 'static>(series: &Erased) -> Option<Arc<M>> {
    series.upgrade()?.downcast().ok()
}
#[cfg(loom)]
fn upgrade<M: Send + Sync + 'static>(series: &Erased) -> Option<Arc<M>> {
    series.downcast_ref::<Weak<M>>()?.upgrade()
}

struct Entry {
    family: u64,
    hash: u64,
    key: Vec<u8>,
    series: Erased,
    activity: std::sync::Arc<Activity>,
}

#[cfg(not(loom))]
thread_local! {
    static CACHE: RefCell<Vec<Option<Entry>>> = const { RefCell::new(Vec::new()) };
}
#[cfg(loom)]
loom::thread_local! {
    static CACHE: RefCell<Vec<Option<Entry>>> = RefCell::new(Vec::new());
}

/// The cached series for the key `is_key` accepts, if the entry is that key's and its
/// series still exists (the lookup is noted, as the map's lookups are).
#[inline]
pub(super) fn get<M: Send + Sync + 'static>(
    family: u64,
    hash: u64,
    is_key: impl FnOnce(&[u8]) -> bool,
) -> Option<Arc<M>> {
    CACHE.with(|cache| {
        let cache = cache.borrow();
        let entry = cache.get(hash as usize % SLOTS)?.as_ref()?;
        if entry.family != family || entry.hash != hash || !is_key(&entry.key) {
            return None;
        }
        let series = upgrade(&entry.series)?;
        entry.activity.touch();
        Some(series)
    })
}

pub(super) fn put<M: Send + Sync + 'static>(
    family: u64,
    hash: u64,
    key: &[u8],
    series: &Arc<M>,
    activity: std::sync::Arc<Activity>,
) {
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.is_empty() {
            cache.resize_with(SLOTS, || None);
        }
        let Some(slot) = cache.get_mut(hash as usize % SLOTS) else {
            return;
        };
        match slot {
            // Reuse the evicted entry's key buffer: no allocation once it is big enough.
            Some(entry) => {
                entry.family = family;
                entry.hash = hash;
                entry.key.clear();
                entry.key.extend_from_slice(key);
                entry.series = erase(series);
                entry.activity = activity;
            }
            None => {
                *slot = Some(Entry {
                    family,
                    hash,
                    key: key.to_owned(),
                    series: erase(series),
                    activity,
                });
            }
        }
    });
}
