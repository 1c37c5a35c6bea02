use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{OnceLock, PoisonError};
use std::time::{Duration, Instant};

use crate::encoding::{Labels, MetricEncoder, MetricType};
use crate::error::{Error, ErrorKind, Result};
use crate::metrics::{Metric, Series};
use crate::name;
use crate::sync::{Arc, AtomicBool, AtomicU64, RwLock, claim};

/// The label value every label of the overflow series carries.
pub const OVERFLOW_VALUE: &str = "__overflow__";

/// Series for open label values (user ids, tenant names), created on first use, with a hard cap.
///
/// Past `cap` series, new label sets all share one overflow series whose every label is
/// `"__overflow__"`, and `vitalsign_series_overflow_total{metric="..."}` counts how often that
/// happened (and `vitalsign_series_removed_total` the series [removed](Self::remove)), both at
/// zero from the start. Nothing a caller passes can grow memory without bound. Lookups hash the label values;
/// keep the returned `Arc` where a series is hot.
///
/// ```
/// use vitalsign::{Counter, Format, Registry, SparseFamily};
///
/// let registry = Registry::new();
/// let logins = registry.register(
///     "logins",
///     "Logins by tenant.",
///     SparseFamily::<Counter, 1>::new(["tenant"], 2)?,
/// )?;
/// for tenant in ["acme", "globex", "acme", "initech", "hooli"] {
///     logins.get(["tenant"].map(|_| tenant)).inc();
/// }
/// assert_eq!(registry.render(Format::Prometheus), r#"# HELP logins_total Logins by tenant.
/// ## TYPE logins_total counter
/// logins_total{tenant="acme"} 2
/// logins_total{tenant="globex"} 1
/// logins_total{tenant="__overflow__"} 2
/// ## HELP vitalsign_series_overflow_total Lookups that found a sparse family full and went to its overflow series.
/// ## TYPE vitalsign_series_overflow_total counter
/// vitalsign_series_overflow_total{metric="logins"} 2
/// ## HELP vitalsign_series_removed_total Series removed from a sparse family (remove, retain or clear).
/// ## TYPE vitalsign_series_removed_total counter
/// vitalsign_series_removed_total{metric="logins"} 0
/// "#);
/// # Ok::<(), vitalsign::Error>(())
/// ```
///
/// # Series that come and go
///
/// Label values that come and go (customers, tenants, peers) need their series to go too, or
/// the cap fills with departed values and every newcomer lands in the overflow series. A series
/// can be [removed](Self::remove), [kept by a predicate](Self::retain) or [cleared](Self::clear),
/// and a family built with an [idle timeout](Self::idle_timeout) drops the series nobody looked
/// up for that long, at each scrape (or when [`expire_idle`](Self::expire_idle) is called, from a
/// background task), never on the caller's path. Dropped series make room under the cap;
/// `vitalsign_series_expired_total{metric="..."}` counts the expired ones.
///
/// - A series that is used again after it was dropped starts from zero: to Prometheus a new
///   series, which `rate()` and `increase()` read correctly.
/// - A series that someone holds (an `Arc` returned by [`get`](Self::get) and not yet dropped) is
///   never dropped: a handle never counts into a series that no scrape shows. Removing a held
///   series drops it once the last holder lets go (at the next scrape or sweep after that),
///   unless it is looked up again first; an idle timeout passes it over while held. Keep an
///   `Arc` for a hot series that always exists; look up per use a series that should expire.
/// - Every increment lands in a series a later scrape shows, or in one that was dropped after
///   the increment happened.
///
/// ```
/// use std::time::{Duration, Instant};
/// use vitalsign::{Counter, Format, Registry, SparseFamily};
///
/// let registry = Registry::new();
/// let orders = registry.register(
///     "orders",
///     "Orders by customer.",
///     SparseFamily::<Counter, 1>::new(["customer"], 2)?.idle_timeout(Duration::from_secs(600)),
/// )?;
/// orders.get(["ada"]).inc();
/// orders.get(["bob"]).inc();
/// let start = Instant::now();
/// // Ada keeps ordering; Bob has not been seen for an hour.
/// orders.expire_idle_at(start + Duration::from_secs(1800));
/// orders.get(["ada"]).inc();
/// assert_eq!(orders.expire_idle_at(start + Duration::from_secs(3600)), 1);
/// // Carol gets Bob's place instead of the overflow series.
/// orders.get(["carol"]).inc();
/// assert_eq!(registry.render(Format::Prometheus), r#"# HELP orders_total Orders by customer.
/// ## TYPE orders_total counter
/// orders_total{customer="ada"} 2
/// orders_total{customer="carol"} 1
/// ## HELP vitalsign_series_overflow_total Lookups that found a sparse family full and went to its overflow series.
/// ## TYPE vitalsign_series_overflow_total counter
/// vitalsign_series_overflow_total{metric="orders"} 0
/// ## HELP vitalsign_series_removed_total Series removed from a sparse family (remove, retain or clear).
/// ## TYPE vitalsign_series_removed_total counter
/// vitalsign_series_removed_total{metric="orders"} 0
/// ## HELP vitalsign_series_expired_total Series a sparse family dropped after their idle timeout.
/// ## TYPE vitalsign_series_expired_total counter
/// vitalsign_series_expired_total{metric="orders"} 1
/// "#);
/// # Ok::<(), vitalsign::Error>(())
/// ```
pub struct SparseFamily<M, const N: usize> {
    /// Tells this family's entries apart in the per-thread lookup cache.
    id: u64,
    names: [Box<str>; N],
    cap: usize,
    idle: Option<Duration>,
    /// When the family was made: the origin of [`Activity::last`].
    born: Instant,
    make: Box<dyn Fn() -> M + Send + Sync>,
    state: RwLock<State<M>>,
    overflow: Arc<M>,
    overflow_key: Box<[u8]>,
    overflow_used: AtomicBool,
    overflowed: AtomicU64,
    expired: AtomicU64,
    /// Series that left by `remove`, `retain` or `clear` (a held one when its last holder let
    /// go): `vitalsign_series_removed_total`.
    removed: AtomicU64,
    /// Whether a removed series waits for its holders to let go.
    leaving: AtomicBool,
    /// The family name and constant labels that series' line prefixes are rendered for (the
    /// first registration's; a family registered under a second name renders its lines there
    /// at every scrape).
    prefixed_for: OnceLock<(Box<str>, Box<str>)>,
}

/// Each series under its key (its label values packed, see [`pack`]), in an index by key.
///
/// A series keeps its slot for life (a removed one leaves a hole the next new series fills), so
/// a scrape can release the lock between chunks of slots without missing or repeating a series.
struct State<M> {
    index: HashMap<Box<[u8]>, usize>,
    series: Vec<Option<Slot<M>>>,
    /// Empty slots, reused before the vector grows: it never holds more than `cap` slots.
    free: Vec<usize>,
    /// Series that exist (slots that are not empty).
    live: usize,
    /// The sequence number the next new series gets.
    next_seq: u64,
}

struct Slot<M> {
    key: Box<[u8]>,
    /// When it was made, in the family's order of series: a scrape writes only series made
    /// before it started.
    seq: u64,
    series: Arc<M>,
    activity: std::sync::Arc<Activity>,
    /// The whole line prefix of a single-line series, rendered at its first scrape.
    prefix: OnceLock<Box<[u8]>>,
}

/// How a series is used, shared with the lookup caches that hand it out.
#[derive(Debug)]
struct Activity {
    /// Set by every lookup that returns the series; cleared by each sweep, which notes the time.
    used: AtomicBool,
    /// When a sweep last found it used (or it was made), in nanoseconds since the family's birth.
    last: AtomicU64,
    /// Removed while held: dropped by the first sweep after its last holder lets go, unless
    /// looked up again before.
    leaving: AtomicBool,
}

impl Activity {
    fn new(now: u64) -> Self {
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
    fn touch(&self) {
        if !self.used.load(Ordering::Relaxed) {
            self.used.swap(true, Ordering::Relaxed);
        }
    }
}

// The label values packed as a lookup key, reused so a hit allocates nothing. Loom runs its
// threads on one OS thread, so a model needs loom's per-model-thread locals.
#[cfg(not(loom))]
thread_local! {
    static KEY: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}
#[cfg(loom)]
loom::thread_local! {
    static KEY: RefCell<Vec<u8>> = RefCell::new(Vec::new());
}

/// Appends label values as one key: each value's length (four bytes, little-endian), then its
/// bytes. Unlike a joined string, no two lists of values pack alike.
fn pack(into: &mut Vec<u8>, values: &[&str]) {
    for v in values {
        // A label value past 4 GiB is not a label value; its length is cut, not its bytes.
        let len = u32::try_from(v.len()).unwrap_or(u32::MAX);
        into.extend_from_slice(&len.to_le_bytes());
        into.extend_from_slice(v.as_bytes());
    }
}

/// Whether `a` and `b` hold the same bytes, compared in line eight, four, two and one at a time.
/// Label values are short, and calling the C library's `memcmp` for a few bytes costs more than
/// comparing them: on this project's benchmark machine (an AMD EPYC) glibc's AVX-512 `memcmp`
/// took about 25 ns a call on short strings, a fifth of the HTTP layer's time.
#[inline]
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut a, mut b) = (a, b);
    while let (Some((x, a_rest)), Some((y, b_rest))) =
        (a.split_first_chunk::<8>(), b.split_first_chunk::<8>())
    {
        if x != y {
            return false;
        }
        (a, b) = (a_rest, b_rest);
    }
    if let (Some((x, a_rest)), Some((y, b_rest))) =
        (a.split_first_chunk::<4>(), b.split_first_chunk::<4>())
    {
        if x != y {
            return false;
        }
        (a, b) = (a_rest, b_rest);
    }
    if let (Some((x, a_rest)), Some((y, b_rest))) =
        (a.split_first_chunk::<2>(), b.split_first_chunk::<2>())
    {
        if x != y {
            return false;
        }
        (a, b) = (a_rest, b_rest);
    }
    a.first() == b.first()
}

/// Whether `key` is what [`pack`] makes of `values`, compared in place.
#[inline]
fn packs(key: &[u8], values: &[&str]) -> bool {
    let mut rest = key;
    for v in values {
        let len = u32::try_from(v.len()).unwrap_or(u32::MAX);
        let Some((packed_len, tail)) = rest.split_first_chunk::<4>() else {
            return false;
        };
        if *packed_len != len.to_le_bytes() {
            return false;
        }
        let Some((bytes, tail)) = tail.split_at_checked(v.len()) else {
            return false;
        };
        if !same_bytes(bytes, v.as_bytes()) {
            return false;
        }
        rest = tail;
    }
    rest.is_empty()
}

/// The values [`pack`] packed, in order.
fn unpack(mut key: &[u8]) -> impl Iterator<Item = &str> {
    std::iter::from_fn(move || {
        let (len, rest) = key.split_first_chunk::<4>()?;
        let len = (u32::from_le_bytes(*len) as usize).min(rest.len());
        let (value, rest) = rest.split_at(len);
        key = rest;
        // Packed from `&str`s.
        Some(std::str::from_utf8(value).unwrap_or_default())
    })
}

impl<M: Default + 'static, const N: usize> SparseFamily<M, N> {
    /// A family with these label names, holding at most `cap` series besides the overflow one.
    pub fn new(names: [&str; N], cap: usize) -> Result<Self> {
        Self::new_with(names, cap, M::default)
    }
}

impl<M, const N: usize> SparseFamily<M, N> {
    /// Like [`new`](Self::new), with series made by `make`.
    pub fn new_with(
        names: [&str; N],
        cap: usize,
        make: impl Fn() -> M + Send + Sync + 'static,
    ) -> Result<Self> {
        for (i, n) in names.iter().enumerate() {
            name::check_label_name(&"a sparse family", n, &[])?;
            if names[..i].contains(n) {
                return Err(Error::new(
                    ErrorKind::InvalidLabelName,
                    format!("invalid label name {n:?} on a sparse family: it is given twice"),
                ));
            }
        }
        let mut overflow_key = Vec::new();
        pack(&mut overflow_key, &[OVERFLOW_VALUE; N]);
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Ok(Self {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            names: names.map(Into::into),
            cap,
            idle: None,
            born: Instant::now(),
            overflow: Arc::new(make()),
            make: Box::new(make),
            state: RwLock::new(State {
                index: HashMap::new(),
                series: Vec::new(),
                free: Vec::new(),
                live: 0,
                next_seq: 0,
            }),
            overflow_key: overflow_key.into(),
            overflow_used: AtomicBool::new(false),
            overflowed: AtomicU64::new(0),
            expired: AtomicU64::new(0),
            removed: AtomicU64::new(0),
            leaving: AtomicBool::new(false),
            prefixed_for: OnceLock::new(),
        })
    }

    /// Drops series that nobody looked up for `idle` (at each scrape, or when
    /// [`expire_idle`](Self::expire_idle) is called), so their room under the cap goes to new
    /// label values; a series someone holds is never dropped.
    ///
    /// A lookup only sets a flag (no clock read on the caller's path); each sweep notes which
    /// series were looked up since the one before. A series is dropped by the first sweep that
    /// comes at least `idle` after the sweep that last saw it used: so it lives at least `idle`
    /// after its last lookup, and at most `idle` plus two sweep intervals (with a scrape every
    /// 15 s and `idle` of 10 minutes, between 10 and 10.5 minutes).
    ///
    /// Choose `idle` well above the longest gap you expect between two uses of one value (a
    /// tenant that calls every few minutes, a peer that reports every 30 s): a value that comes
    /// back after its series expired starts a new series at zero, which `rate()` and
    /// `increase()` read correctly but which is one more series for Prometheus each time. Ten
    /// times the usual gap is a safe start; shorter only makes room under the cap sooner.
    #[must_use]
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.idle = Some(idle);
        self
    }

    /// The series for these label values (in the order of the names given to `new`), created if
    /// new and there is room, else the overflow series.
    ///
    /// A small cache per thread, keyed by a fast hash of the label values, answers repeated
    /// lookups without the map's lock or its SipHash; the map stays the authority, so values
    /// chosen to collide only evict cache entries.
    pub fn get(&self, values: [&str; N]) -> Arc<M>
    where
        M: Send + Sync + 'static,
    {
        if packs(&self.overflow_key, &values) {
            self.overflow_used.store(true, Ordering::Relaxed);
            return self.overflow.clone();
        }
        // A hit reads the values where they are: they are packed into a key only for the map.
        let hash = cache::hash(self.id, &values);
        if let Some(series) = cache::get::<M>(self.id, hash, |key| packs(key, &values)) {
            return series;
        }
        KEY.with(|key| {
            let mut key = key.borrow_mut();
            key.clear();
            pack(&mut key, &values);
            let key = key.as_slice();
            let (series, activity) = self.lookup(key);
            if let Some(activity) = activity {
                cache::put(self.id, hash, key, &series, activity);
            }
            series
        })
    }

    /// The series for a packed key from the map, and its activity when it is the key's own (not
    /// the overflow series).
    fn lookup(&self, key: &[u8]) -> (Arc<M>, Option<std::sync::Arc<Activity>>) {
        let found = |state: &State<M>| {
            let slot = state
                .index
                .get(key)
                .and_then(|&i| state.series.get(i)?.as_ref());
            slot.map(|slot| {
                slot.activity.touch();
                (slot.series.clone(), Some(slot.activity.clone()))
            })
        };
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(hit) = found(&state) {
            return hit;
        }
        let full = state.live >= self.cap;
        drop(state);
        // Made before the write lock, which is then held only to insert: other new label sets
        // and scrapes wait for a map insertion, not for allocations.
        let made = (!full).then(|| {
            let series = Arc::new((self.make)());
            let activity = std::sync::Arc::new(Activity::new(self.nanos(Instant::now())));
            let key: Box<[u8]> = key.into();
            (series, activity, key.clone(), key)
        });
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(hit) = found(&state) {
            return hit;
        }
        let Some((series, activity, slot_key, index_key)) = made.filter(|_| state.live < self.cap)
        else {
            drop(state);
            self.overflowed.fetch_add(1, Ordering::Relaxed);
            self.overflow_used.store(true, Ordering::Relaxed);
            return (self.overflow.clone(), None);
        };
        let slot = Slot {
            key: slot_key,
            seq: state.next_seq,
            series: series.clone(),
            activity: activity.clone(),
            prefix: OnceLock::new(),
        };
        state.next_seq += 1;
        state.live += 1;
        let i = match state.free.pop() {
            Some(i) => i,
            None => {
                state.series.push(None);
                state.series.len() - 1
            }
        };
        state.series[i] = Some(slot);
        state.index.insert(index_key, i);
        (series, Some(activity))
    }

    /// Whether `series` is this family's overflow series (what [`get`](Self::get) returns for
    /// label values that found the family full).
    pub fn is_overflow(&self, series: &Arc<M>) -> bool {
        std::ptr::eq::<M>(&**series, &*self.overflow)
    }

    /// How many series exist, not counting the overflow one.
    pub fn len(&self) -> usize {
        self.state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .live
    }

    /// Whether no series exists yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The label values of every series that exists now, not counting the overflow one, in no
    /// particular order.
    ///
    /// ```
    /// use vitalsign::{Counter, SparseFamily};
    ///
    /// let logins = SparseFamily::<Counter, 1>::new(["tenant"], 10)?;
    /// logins.get(["acme"]).inc();
    /// assert_eq!(logins.label_sets(), [["acme".to_owned()]]);
    /// # Ok::<(), vitalsign::Error>(())
    /// ```
    pub fn label_sets(&self) -> Vec<[String; N]> {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        state
            .series
            .iter()
            .flatten()
            .map(|slot| {
                let mut values = unpack(&slot.key);
                std::array::from_fn(|_| values.next().unwrap_or_default().to_owned())
            })
            .collect()
    }

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
    fn nanos(&self, t: Instant) -> u64 {
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

/// Slots a scrape writes under one hold of the read lock: a new series waits for at most one
/// chunk's encoding (about 256 lines, a few microseconds), not for the whole family's.
const CHUNK: usize = 256;

impl<M: Series, const N: usize> SparseFamily<M, N> {
    /// Writes every series made before the scrape started, chunk by chunk: a single-line series
    /// from its line prefix (rendered at its first scrape) when `suffix` says the family is
    /// written that way, else through [`Series::encode_series`].
    fn encode_slots(&self, suffix: Option<&str>, encoder: &mut MetricEncoder<'_>) {
        let mut text = String::new();
        let mut start = 0;
        let mut before = None;
        loop {
            let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
            let before = *before.get_or_insert(state.next_seq);
            let end = state.series.len().min(start + CHUNK);
            let chunk = state.series.get(start..end).unwrap_or_default();
            for slot in chunk.iter().flatten().filter(|s| s.seq < before) {
                match suffix {
                    Some(suffix) => {
                        let prefix = slot.prefix.get_or_init(|| {
                            text.clear();
                            Labels::from_fn(&self.visit(&slot.key)).render(&mut text);
                            let mut prefix = Vec::new();
                            encoder.line_prefix(&mut prefix, suffix, &text);
                            prefix.into()
                        });
                        if let Some((_, value)) = slot.series.single_sample() {
                            encoder.sample_with_prefix(prefix, value, slot.series.exemplar());
                        }
                    }
                    None => {
                        let visit = self.visit(&slot.key);
                        slot.series.encode_series(Labels::from_fn(&visit), encoder);
                    }
                }
            }
            if end >= state.series.len() {
                return;
            }
            start = end;
        }
    }

    /// The suffix of this family's lines if they can be written from line prefixes kept for
    /// this encoder (single-line series, a text format, the first registration's name).
    fn prefixed_suffix(&self, encoder: &MetricEncoder<'_>) -> Option<&'static str> {
        let (suffix, _) = self.overflow.single_sample()?;
        let created = M::TYPE == MetricType::Counter && encoder.writes_created();
        if created || !encoder.writes_lines() {
            return None;
        }
        let (name, consts) = self
            .prefixed_for
            .get_or_init(|| (encoder.name().into(), encoder.const_text().into()));
        (**name == *encoder.name() && **consts == *encoder.const_text()).then_some(suffix)
    }
}

/// The per-thread lookup cache: direct-mapped, a few dozen entries, each holding a series
/// (type-erased, since one cache serves every family) under its family's id and packed key.
/// An entry holds a `Weak`, so a cached series still counts as unheld: a removal or expiry
/// can drop it, after which the entry no longer upgrades and the lookup goes to the map.
mod cache {
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

    /// A fast, non-cryptographic hash of label values for family `family` (FxHash's mixing,
    /// eight bytes at a time, each value's length after its bytes).
    #[inline]
    pub(super) fn hash(family: u64, values: &[&str]) -> u64 {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mix = |h: u64, word: u64| (h.rotate_left(5) ^ word).wrapping_mul(K);
        let mut h = mix(0, family);
        for v in values {
            let mut chunks = v.as_bytes().chunks_exact(8);
            for chunk in &mut chunks {
                let mut word = [0u8; 8];
                word.copy_from_slice(chunk);
                h = mix(h, u64::from_le_bytes(word));
            }
            let mut last = [0u8; 8];
            last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
            h = mix(mix(h, u64::from_le_bytes(last)), v.len() as u64);
        }
        h
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
}

impl<M, const N: usize> SparseFamily<M, N> {
    /// Calls its argument with each label of the series under `key`.
    #[allow(clippy::type_complexity)]
    fn visit<'k>(&'k self, key: &'k [u8]) -> impl Fn(&mut dyn FnMut(&str, &str)) + 'k {
        move |f| {
            for (name, value) in self.names.iter().zip(unpack(key)) {
                f(name, value);
            }
        }
    }
}

impl<M, const N: usize> std::fmt::Debug for SparseFamily<M, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SparseFamily")
            .field("names", &self.names)
            .field("cap", &self.cap)
            .field("idle_timeout", &self.idle)
            .field("len", &self.len())
            .field("overflowed", &self.overflowed.load(Ordering::Relaxed))
            .field("expired", &self.expired.load(Ordering::Relaxed))
            .field("removed", &self.removed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<M: Series, const N: usize> Metric for SparseFamily<M, N> {
    fn metric_type(&self) -> MetricType {
        M::TYPE
    }

    fn label_names(&self, f: &mut dyn FnMut(&str)) {
        self.names.iter().for_each(|n| f(n));
        self.overflow.own_label_names(f);
    }

    fn encode(&self, encoder: &mut MetricEncoder<'_>) {
        self.expire_idle();
        let suffix = self.prefixed_suffix(encoder);
        self.encode_slots(suffix, encoder);
        if self.overflow_used.load(Ordering::Relaxed) {
            let visit = self.visit(&self.overflow_key);
            self.overflow
                .encode_series(Labels::from_fn(&visit), encoder);
        }
    }

    fn overflowed(&self) -> Option<u64> {
        // Without labels there is one label set: nothing can overflow.
        (N > 0).then(|| self.overflowed.load(Ordering::Relaxed))
    }

    fn fallible(&self) -> bool {
        self.overflow.fallible_series()
    }

    fn expired(&self) -> Option<u64> {
        self.idle.map(|_| self.expired.load(Ordering::Relaxed))
    }

    fn removed(&self) -> Option<u64> {
        (N > 0).then(|| self.removed.load(Ordering::Relaxed))
    }

    fn series_bound(&self) -> Option<u64> {
        let per = self.overflow.label_sets();
        u64::try_from(self.cap)
            .ok()?
            .checked_add(1)?
            .checked_mul(per)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::{cache, pack, packs, same_bytes};
    use crate::metrics::Metric;
    use crate::{Counter, Descriptor, Format, Registry, SparseFamily};

    /// Every length from 0 to 40 (each mix of eight-, four-, two- and one-byte steps) against
    /// itself, a copy, one byte changed at each place, and one byte longer or shorter.
    #[test]
    fn same_bytes_is_slice_equality() {
        let bytes: Vec<u8> = (0..41u8).map(|i| i.wrapping_mul(37)).collect();
        for len in 0..=40 {
            let a = &bytes[..len];
            let copy = a.to_vec();
            assert!(same_bytes(a, &copy), "len {len}");
            for at in 0..len {
                let mut changed = copy.clone();
                changed[at] ^= 0x80;
                assert!(!same_bytes(a, &changed), "len {len}, changed at {at}");
            }
            assert!(!same_bytes(a, &bytes[..len + 1]), "len {len} and one more");
            if len > 0 {
                assert!(!same_bytes(a, &bytes[..len - 1]), "len {len} and one fewer");
            }
        }
    }

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
                assert_eq!(cache::hash(7, values) == cache::hash(7, other), i == j);
            }
            // A key with bytes left over, or cut short, is no list's.
            let mut longer = key.clone();
            longer.push(0);
            assert!(!packs(&longer, values));
            assert!(!packs(&key[..key.len() - 1], values));
        }
        assert_ne!(cache::hash(7, &["a"]), cache::hash(8, &["a"]));
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
}

/// Run with `RUSTFLAGS="--cfg loom" cargo test -p vitalsign --lib --release loom`
/// (`.ci/run` does).
#[cfg(all(test, loom))]
mod loom_model {
    use super::*;
    use crate::Counter;

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
                seen[0] == ("user=\"ada\"".to_owned(), 1)
                    || seen[0] == ("user=\"bob\"".to_owned(), 1),
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
}
