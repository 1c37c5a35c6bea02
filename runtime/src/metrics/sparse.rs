use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};

use crate::encoding::{Labels, MetricEncoder, MetricType};
use crate::error::{Error, ErrorKind, Result};
use crate::metrics::{Metric, Series};
use crate::name;
use crate::sync::{AtomicBool, AtomicU64, RwLock};

/// The label value every label of the overflow series carries.
pub const OVERFLOW_VALUE: &str = "__overflow__";

/// Series for open label values (user ids, tenant names), created on first use, with a hard cap.
///
/// Past `cap` series, new label sets all share one overflow series whose every label is
/// `"__overflow__"`, and `vitalsign_series_overflow_total{metric="..."}` counts how often that
/// happened. Nothing a caller passes can grow memory without bound. Lookups hash the label values;
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
/// ## HELP vitalsign_series_overflow_total Label sets that found a sparse family full and went to its overflow series.
/// ## TYPE vitalsign_series_overflow_total counter
/// vitalsign_series_overflow_total{metric="logins"} 2
/// "#);
/// # Ok::<(), vitalsign::Error>(())
/// ```
pub struct SparseFamily<M, const N: usize> {
    /// Tells this family's entries apart in the per-thread lookup cache.
    id: u64,
    names: [Box<str>; N],
    cap: usize,
    make: Box<dyn Fn() -> M + Send + Sync>,
    state: RwLock<State<M>>,
    overflow: Arc<M>,
    overflow_key: Box<[u8]>,
    overflow_used: AtomicBool,
    overflowed: AtomicU64,
    /// Each series' whole line prefix, for single-line series, kept across scrapes and extended
    /// as series are added (they are only ever appended).
    prefixes: std::sync::Mutex<Option<Prefixes>>,
}

/// Line prefixes rendered for one family name and set of constant labels.
struct Prefixes {
    name: Box<str>,
    const_labels: Box<str>,
    bytes: Vec<u8>,
    /// Where each series' prefix ends in `bytes`.
    ends: Vec<usize>,
}

/// Each series under its key: its label values packed (see [`pack`]), raw.
struct State<M> {
    index: HashMap<Box<[u8]>, usize>,
    series: Vec<(Box<[u8]>, Arc<M>)>,
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
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            names: names.map(Into::into),
            cap,
            overflow: Arc::new(make()),
            make: Box::new(make),
            state: RwLock::new(State {
                index: HashMap::new(),
                series: Vec::new(),
            }),
            overflow_key: overflow_key.into(),
            overflow_used: AtomicBool::new(false),
            overflowed: AtomicU64::new(0),
            prefixes: std::sync::Mutex::new(None),
        })
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
        KEY.with(|key| {
            let mut key = key.borrow_mut();
            key.clear();
            pack(&mut key, &values);
            let key = key.as_slice();
            if key == &*self.overflow_key {
                self.overflow_used.store(true, Ordering::Relaxed);
                return self.overflow.clone();
            }
            let hash = cache::hash(self.id, key);
            if let Some(series) = cache::get(self.id, hash, key).and_then(|s| s.downcast().ok()) {
                return series;
            }
            let (series, found) = self.lookup(key);
            if found {
                cache::put(self.id, hash, key, series.clone());
            }
            series
        })
    }

    /// The series for a packed key from the map, and whether it is the key's own (not the
    /// overflow series).
    fn lookup(&self, key: &[u8]) -> (Arc<M>, bool) {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(&i) = state.index.get(key) {
            return (state.series[i].1.clone(), true);
        }
        drop(state);
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(&i) = state.index.get(key) {
            return (state.series[i].1.clone(), true);
        }
        if state.series.len() >= self.cap {
            self.overflowed.fetch_add(1, Ordering::Relaxed);
            self.overflow_used.store(true, Ordering::Relaxed);
            return (self.overflow.clone(), false);
        }
        let series = Arc::new((self.make)());
        let i = state.series.len();
        state.series.push((key.into(), series.clone()));
        state.index.insert(key.into(), i);
        (series, true)
    }

    /// How many series exist, not counting the overflow one.
    pub fn len(&self) -> usize {
        self.state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .series
            .len()
    }

    /// Whether no series exists yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<M: Series, const N: usize> SparseFamily<M, N> {
    /// Writes single-line series from line prefixes rendered once per series.
    fn encode_prefixed(
        &self,
        series: &[(Box<[u8]>, Arc<M>)],
        suffix: &str,
        encoder: &mut MetricEncoder<'_>,
    ) {
        let mut cache = self.prefixes.lock().unwrap_or_else(PoisonError::into_inner);
        let stale = cache
            .as_ref()
            .is_none_or(|p| *p.name != *encoder.name() || *p.const_labels != *encoder.const_text());
        if stale {
            *cache = Some(Prefixes {
                name: encoder.name().into(),
                const_labels: encoder.const_text().into(),
                bytes: Vec::new(),
                ends: Vec::new(),
            });
        }
        let Some(prefixes) = cache.as_mut() else {
            return;
        };
        let mut text = String::new();
        for (key, _) in &series[prefixes.ends.len().min(series.len())..] {
            text.clear();
            Labels::from_fn(&self.visit(key)).render(&mut text);
            encoder.line_prefix(&mut prefixes.bytes, suffix, &text);
            prefixes.ends.push(prefixes.bytes.len());
        }
        let mut start = 0;
        for ((_, series), &end) in series.iter().zip(&prefixes.ends) {
            if let Some((_, value)) = series.single_sample() {
                encoder.sample_with_prefix(&prefixes.bytes[start..end], value, series.exemplar());
            }
            start = end;
        }
    }
}

/// The per-thread lookup cache: direct-mapped, a few dozen entries, each holding a series
/// (type-erased, since one cache serves every family) under its family's id and rendered key.
mod cache {
    use std::any::Any;
    use std::cell::RefCell;
    use std::sync::Arc;

    const SLOTS: usize = 64;

    struct Entry {
        family: u64,
        hash: u64,
        key: Vec<u8>,
        series: Arc<dyn Any + Send + Sync>,
    }

    #[cfg(not(loom))]
    thread_local! {
        static CACHE: RefCell<Vec<Option<Entry>>> = const { RefCell::new(Vec::new()) };
    }
    #[cfg(loom)]
    loom::thread_local! {
        static CACHE: RefCell<Vec<Option<Entry>>> = RefCell::new(Vec::new());
    }

    /// A fast, non-cryptographic hash of `key` for family `family` (FxHash's mixing, eight
    /// bytes at a time).
    #[inline]
    pub(super) fn hash(family: u64, key: &[u8]) -> u64 {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mix = |h: u64, word: u64| (h.rotate_left(5) ^ word).wrapping_mul(K);
        let mut h = mix(0, family);
        let mut chunks = key.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            h = mix(h, u64::from_le_bytes(word));
        }
        let mut last = [0u8; 8];
        last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        mix(mix(h, u64::from_le_bytes(last)), key.len() as u64)
    }

    #[inline]
    pub(super) fn get(family: u64, hash: u64, key: &[u8]) -> Option<Arc<dyn Any + Send + Sync>> {
        CACHE.with(|cache| {
            let cache = cache.borrow();
            let entry = cache.get(hash as usize % SLOTS)?.as_ref()?;
            (entry.family == family && entry.hash == hash && entry.key == key)
                .then(|| entry.series.clone())
        })
    }

    pub(super) fn put(family: u64, hash: u64, key: &[u8], series: Arc<dyn Any + Send + Sync>) {
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
                    entry.series = series;
                }
                None => {
                    *slot = Some(Entry {
                        family,
                        hash,
                        key: key.to_owned(),
                        series,
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
            .field("len", &self.len())
            .field("overflowed", &self.overflowed.load(Ordering::Relaxed))
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
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        let single = state.series.first().and_then(|(_, s)| s.single_sample());
        let created = M::TYPE == MetricType::Counter && encoder.writes_created();
        match single.filter(|_| !created && encoder.writes_lines()) {
            Some((suffix, _)) => self.encode_prefixed(&state.series, suffix, encoder),
            None => {
                for (key, series) in &state.series {
                    let visit = self.visit(key);
                    series.encode_series(Labels::from_fn(&visit), encoder);
                }
            }
        }
        drop(state);
        if self.overflow_used.load(Ordering::Relaxed) {
            let visit = self.visit(&self.overflow_key);
            self.overflow
                .encode_series(Labels::from_fn(&visit), encoder);
        }
    }

    fn overflowed(&self) -> u64 {
        self.overflowed.load(Ordering::Relaxed)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::metrics::Metric;
    use crate::{Counter, Descriptor, Format, Registry, SparseFamily};

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
        let lines = |r: &Registry| -> Vec<String> {
            r.render(Format::Prometheus)
                .lines()
                .filter(|l| !l.starts_with('#'))
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
        assert_eq!(a.overflowed(), 200);
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
            .map(|(k, c)| {
                let mut text = String::new();
                Labels::from_fn(&family.visit(k)).render(&mut text);
                (text, c.get())
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
}
