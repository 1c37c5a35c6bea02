use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{OnceLock, PoisonError};
use std::time::{Duration, Instant};

use crate::encoding::{Labels, MetricEncoder, MetricType};
use crate::error::{Error, ErrorKind, Result};
use crate::metrics::{Metric, Series};
use crate::name;
use crate::sync::{Arc, AtomicBool, AtomicU64, RwLock};

mod cache;
mod expiry;
mod key;
#[cfg(all(test, loom))]
mod loom_model;
#[cfg(all(test, not(loom)))]
mod tests;

use expiry::Activity;
use key::{KEY, pack, packs, unpack};

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
        let hash = crate::lookup::hash(self.id, &values);
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
}

/// Slots a scrape writes under one hold of the read lock: a new series waits for at most one
/// chunk's encoding (about 256 lines, a few microseconds), not for the whole family's.
pub(super) const CHUNK: usize = 256;

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

impl<M, const N: usize> SparseFamily<M, N> {
    /// Calls its argument with each label of the series under `key`.
    #[allow(
        clippy::type_complexity,
        reason = "the visitor type `Labels::from_fn` takes, spelled where it is made"
    )]
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
