//! Series that leave: how each is used (its [`Activity`]), removal by value, by predicate or
//! all at once, and expiry after an idle timeout, at each scrape or sweep.

use std::sync::PoisonError;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::key::{pack, unpack};
use super::{CHUNK, Slot, SparseFamily, State};
use crate::sync::{AtomicBool, AtomicU64, claim};

/// How a series is used, shared with the lookup caches that hand it out.
#[derive(Debug)]
pub(super) struct Activity {
    /// Set by every lookup that returns the series; cleared by each sweep, which notes the time.
    used: AtomicBool,
    /// When a sweep last found it used (or it was made), in nanoseconds since the family's birth.
    last: AtomicU64,
    /// Removed while held: dropped by the first sweep after its last holder lets go, unless
    /// looked up again before.
    leaving: AtomicBool,
}

impl Activity {
    pub(super) fn new(now: u64) -> Self {
        Self {
            used: AtomicBool::new(true),
            last: AtomicU64::new(now),
            leaving: AtomicBool::new(false),
        }
    }

    /// Notes a lookup: a load of a line that sweeps rarely write, a write only the first time
    /// between two sweeps. The write is a read-modify-write, not a store: it must be ordered
    /// after a sweep's concurrent clearing swap, which a plain store after a stale load need not
    /// be in loom's model of the memory order.
    #[inline]
    pub(super) fn touch(&self) {
        if !self.used.load(Ordering::Relaxed) {
            self.used.swap(true, Ordering::Relaxed);
        }
    }
}

impl<M, const N: usize> SparseFamily<M, N> {
    /// Removes the series with these label values; returns whether there was one. The next
    /// scrape no longer shows it, and a later [`get`](Self::get) starts a new series at zero;
    /// if someone still holds it, it stays (and counts) until the last holder lets go, or for
    /// good if it is looked up again first.
    pub fn remove(&self, values: [&str; N]) -> bool {
        let mut key = Vec::new();
        pack(&mut key, &values);
        self.remove_keys(std::iter::once(key.as_slice())) > 0
    }

    /// Keeps only the series whose label values `keep` accepts (called once per series, outside
    /// the family's lock), removing the others as [`remove`](Self::remove) does. Returns how many
    /// were removed.
    pub fn retain(&self, mut keep: impl FnMut([&str; N]) -> bool) -> usize {
        let keys: Vec<Box<[u8]>> = {
            let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
            state
                .series
                .iter()
                .flatten()
                .map(|s| s.key.clone())
                .collect()
        };
        // Decided before the write lock is taken: `keep` may look at this family.
        let gone: Vec<&[u8]> = keys
            .iter()
            .filter(|key| {
                let mut values = [""; N];
                values.iter_mut().zip(unpack(key)).for_each(|(v, s)| *v = s);
                !keep(values)
            })
            .map(|k| &**k)
            .collect();
        self.remove_keys(gone.into_iter())
    }

    /// Removes every series, as [`remove`](Self::remove) does each. The overflow series stays:
    /// what counted there was counted.
    pub fn clear(&self) -> usize {
        self.retain(|_| false)
    }

    /// Drops the series whose keys are given (those that exist); returns how many there were.
    fn remove_keys<'k>(&self, keys: impl Iterator<Item = &'k [u8]>) -> usize {
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        let mut removed = 0;
        for key in keys {
            let Some(&i) = state.index.get(key) else {
                continue;
            };
            let Some(slot) = take(&mut state, i) else {
                continue;
            };
            removed += 1;
            // A lookup from now on cancels the removal.
            slot.activity.used.store(false, Ordering::Relaxed);
            match claim(slot.series) {
                Ok(()) => {
                    self.removed.fetch_add(1, Ordering::Relaxed);
                }
                Err(series) => {
                    slot.activity.leaving.store(true, Ordering::Relaxed);
                    self.leaving.store(true, Ordering::Relaxed);
                    put_back(&mut state, i, Slot { series, ..slot });
                }
            }
        }
        removed
    }

    /// Drops the series that nobody looked up for the family's idle timeout, and removed series
    /// whose last holder let go; returns how many expired. Scrapes do this by themselves; call
    /// it from a background task to make room under the cap between scrapes.
    pub fn expire_idle(&self) -> usize {
        self.expire_idle_at(Instant::now())
    }

    /// [`expire_idle`](Self::expire_idle) as if the time were `now` (for tests, and for callers
    /// that keep their own clock). A series expires when no lookup returned it since the last
    /// sweep that saw it used, and that sweep was at least the idle timeout before `now` (the
    /// rule [`idle_timeout`](Self::idle_timeout) states).
    pub fn expire_idle_at(&self, now: Instant) -> usize {
        if self.idle.is_none() && !self.leaving.load(Ordering::Relaxed) {
            return 0;
        }
        let now = self.nanos(now);
        let idle = self.idle.map_or(u64::MAX, |d| {
            u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
        });
        // A removal that comes during this sweep sets the flag again.
        self.leaving.store(false, Ordering::Relaxed);
        let mut still_leaving = false;
        // Under the read lock, a chunk at a time: note uses and pick candidates. Lookups and
        // scrapes go on; a new series waits for one chunk.
        let mut candidates: Vec<usize> = Vec::new();
        let mut start = 0;
        loop {
            let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
            let end = state.series.len().min(start + CHUNK);
            let chunk = state.series.get(start..end).unwrap_or_default();
            for (i, slot) in (start..).zip(chunk) {
                let Some(a) = slot.as_ref().map(|s| &s.activity) else {
                    continue;
                };
                if a.used.swap(false, Ordering::Relaxed) {
                    a.last.fetch_max(now, Ordering::Relaxed);
                    a.leaving.store(false, Ordering::Relaxed);
                } else if a.leaving.load(Ordering::Relaxed)
                    || now.saturating_sub(a.last.load(Ordering::Relaxed)) >= idle
                {
                    candidates.push(i);
                }
            }
            if end >= state.series.len() {
                break;
            }
            start = end;
        }
        // Under the write lock, a few at a time: drop the candidates still unused and unheld.
        let mut expired = 0;
        let mut removed = 0;
        for some in candidates.chunks(32) {
            let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
            for &i in some {
                // The slot may have been emptied or refilled between the locks: check afresh
                // whatever it holds now.
                let Some(slot) = state.series.get(i).and_then(Option::as_ref) else {
                    continue;
                };
                let a = &slot.activity;
                let leaving = a.leaving.load(Ordering::Relaxed);
                let idle_now = now.saturating_sub(a.last.load(Ordering::Relaxed)) >= idle;
                if a.used.load(Ordering::Relaxed) || !(leaving || idle_now) {
                    still_leaving |= leaving;
                    continue;
                }
                let Some(slot) = take(&mut state, i) else {
                    continue;
                };
                match claim(slot.series) {
                    // A removed series that waited for its last holder leaves now.
                    Ok(()) if leaving => removed += 1,
                    Ok(()) => expired += 1,
                    Err(series) => {
                        still_leaving |= leaving;
                        put_back(&mut state, i, Slot { series, ..slot });
                    }
                }
            }
        }
        if still_leaving {
            self.leaving.store(true, Ordering::Relaxed);
        }
        self.expired.fetch_add(expired, Ordering::Relaxed);
        self.removed.fetch_add(removed, Ordering::Relaxed);
        usize::try_from(expired).unwrap_or(usize::MAX)
    }

    /// Nanoseconds from the family's birth to `t` (zero before it).
    pub(super) fn nanos(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.born).as_nanos()).unwrap_or(u64::MAX)
    }
}

/// Takes the series in slot `i` out of `state`, leaving the slot free.
fn take<M>(state: &mut State<M>, i: usize) -> Option<Slot<M>> {
    let slot = state.series.get_mut(i)?.take()?;
    state.index.remove(&slot.key);
    state.free.push(i);
    state.live -= 1;
    Some(slot)
}

/// Puts a series taken by [`take`] back into its slot `i`, still free.
fn put_back<M>(state: &mut State<M>, i: usize, slot: Slot<M>) {
    if let Some(f) = state.free.iter().rposition(|&f| f == i) {
        state.free.swap_remove(f);
    }
    state.index.insert(slot.key.clone(), i);
    state.live += 1;
    if let Some(place) = state.series.get_mut(i) {
        *place = Some(slot);
    }
}
