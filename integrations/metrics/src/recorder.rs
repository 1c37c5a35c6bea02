//! The recorder: names sanitised and described, families made on first use (one sparse family
//! per name, for the label count of its first use), handles cached per key, and refusals said.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::Duration;

use metrics::{Key, KeyName, Metadata, SharedString, Unit};
use vitalsign::{Buckets, Descriptor, Histogram, Metric, SparseFamily};

use crate::config::Config;
use crate::handles::{FacadeCounter, FacadeGauge, FacadeHistogram};

/// The recorder: see the [crate documentation](crate).
#[derive(Clone)]
pub struct VitalsignRecorder {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for VitalsignRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VitalsignRecorder").finish_non_exhaustive()
    }
}

impl VitalsignRecorder {
    /// A recorder with `config`'s settings.
    pub(crate) fn with(config: Config) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                families: RwLock::new(HashMap::new()),
                handles: Default::default(),
                descriptions: Mutex::new(HashMap::new()),
                rejected: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Why each metric that records nothing was refused, one line per name.
    pub fn rejected(&self) -> Vec<String> {
        self.inner
            .rejected
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

struct Inner {
    config: Config,
    /// Per name: its kind and family (or why it was refused).
    families: RwLock<HashMap<String, Result<Family, ()>>>,
    /// Handles already made, per kind (counter, gauge, histogram) and key: what the macros look
    /// up at every call. Held weakly, so a label set the family expires or removes goes (the
    /// next lookup makes it again).
    handles: [RwLock<HashMap<Key, Cached>>; 3],
    descriptions: Mutex<HashMap<String, (Option<Unit>, String)>>,
    rejected: Mutex<Vec<String>>,
}

#[derive(Clone)]
enum Handle {
    Counter(Arc<FacadeCounter>),
    Gauge(Arc<FacadeGauge>),
    Histogram(Arc<FacadeHistogram>),
    Nothing,
}

/// A [`Handle`] as the cache keeps it.
enum Cached {
    Counter(Weak<FacadeCounter>),
    Gauge(Weak<FacadeGauge>),
    Histogram(Weak<FacadeHistogram>),
    Nothing,
}

impl Cached {
    fn new(handle: &Handle) -> Self {
        match handle {
            Handle::Counter(h) => Cached::Counter(Arc::downgrade(h)),
            Handle::Gauge(h) => Cached::Gauge(Arc::downgrade(h)),
            Handle::Histogram(h) => Cached::Histogram(Arc::downgrade(h)),
            Handle::Nothing => Cached::Nothing,
        }
    }

    /// The handle, unless its series is gone.
    fn upgrade(&self) -> Option<Handle> {
        Some(match self {
            Cached::Counter(h) => Handle::Counter(h.upgrade()?),
            Cached::Gauge(h) => Handle::Gauge(h.upgrade()?),
            Cached::Histogram(h) => Handle::Histogram(h.upgrade()?),
            Cached::Nothing => Handle::Nothing,
        })
    }
}

/// A facade family: one of vitalsign's sparse families, for the label count of the name's first
/// use.
#[derive(Clone)]
struct Family {
    kind: Kind,
    labels: Vec<String>,
    sets: Sets,
}

/// `SparseFamily<M, N>` for `N` from 0 to 8.
macro_rules! sets {
    ($($v:ident $n:literal),*) => {
        #[derive(Clone)]
        enum Sets {
            $($v(Typed<$n>),)*
        }

        #[derive(Clone)]
        enum Typed<const N: usize> {
            Counter(Arc<SparseFamily<FacadeCounter, N>>),
            Gauge(Arc<SparseFamily<FacadeGauge, N>>),
            Histogram(Arc<SparseFamily<FacadeHistogram, N>>),
        }

        impl Sets {
            fn new(kind: Kind, names: &[&str], cap: usize, idle: Option<Duration>, histogram: impl Fn() -> Histogram + Send + Sync + 'static) -> vitalsign::Result<Self> {
                Ok(match names.len() {
                    $($n => Sets::$v(Typed::new(kind, names.try_into().unwrap_or([""; $n]), cap, idle, histogram)?),)*
                    _ => return Err(vitalsign::Error::new(
                        vitalsign::ErrorKind::InvalidLabelName,
                        format!("{} labels: at most 8", names.len()),
                    )),
                })
            }

            fn metric(&self) -> Arc<dyn Metric> {
                match self {
                    $(Sets::$v(t) => t.metric(),)*
                }
            }

            /// The handle for these values, and whether it is the overflow series.
            fn handle(&self, values: &[&str]) -> (Handle, bool) {
                match self {
                    $(Sets::$v(t) => values.try_into().map_or((Handle::Nothing, false), |v| t.handle(v)),)*
                }
            }
        }
    };
}

sets!(L0 0, L1 1, L2 2, L3 3, L4 4, L5 5, L6 6, L7 7, L8 8);

impl<const N: usize> Typed<N> {
    fn new(
        kind: Kind,
        names: [&str; N],
        cap: usize,
        idle: Option<Duration>,
        histogram: impl Fn() -> Histogram + Send + Sync + 'static,
    ) -> vitalsign::Result<Self> {
        fn expiring<M, const N: usize>(
            family: SparseFamily<M, N>,
            idle: Option<Duration>,
        ) -> Arc<SparseFamily<M, N>> {
            Arc::new(match idle {
                Some(idle) => family.idle_timeout(idle),
                None => family,
            })
        }
        Ok(match kind {
            Kind::Counter => Typed::Counter(expiring(SparseFamily::new(names, cap)?, idle)),
            Kind::Gauge => Typed::Gauge(expiring(SparseFamily::new(names, cap)?, idle)),
            Kind::Histogram => Typed::Histogram(expiring(
                SparseFamily::new_with(names, cap, move || FacadeHistogram(histogram()))?,
                idle,
            )),
        })
    }

    fn metric(&self) -> Arc<dyn Metric> {
        match self {
            Typed::Counter(f) => f.clone(),
            Typed::Gauge(f) => f.clone(),
            Typed::Histogram(f) => f.clone(),
        }
    }

    fn handle(&self, values: [&str; N]) -> (Handle, bool) {
        match self {
            Typed::Counter(f) => {
                let h = f.get(values);
                let overflow = f.is_overflow(&h);
                (Handle::Counter(h), overflow)
            }
            Typed::Gauge(f) => {
                let h = f.get(values);
                let overflow = f.is_overflow(&h);
                (Handle::Gauge(h), overflow)
            }
            Typed::Histogram(f) => {
                let h = f.get(values);
                let overflow = f.is_overflow(&h);
                (Handle::Histogram(h), overflow)
            }
        }
    }
}

/// `name` as the registry takes it: any UTF-8 name is kept as it is (a scrape escapes it for a
/// scraper that does not take UTF-8 names: `http.requests` reaches Prometheus 2 as
/// `http_requests`, Prometheus 3 as it is); only the two a registry refuses are changed: the
/// empty name becomes `_`, and a leading run of underscores (`__` is reserved) one underscore.
fn sanitize(name: &str) -> String {
    if name.is_empty() {
        return "_".to_owned();
    }
    if name.starts_with("__") {
        return format!("_{}", name.trim_start_matches('_'));
    }
    name.to_owned()
}

impl Inner {
    fn handle(&self, kind: Kind, key: &Key) -> Handle {
        // With an idle timeout every lookup goes to the family, whose own lookups are what
        // mark a label set used.
        if self.config.idle_timeout.is_some() {
            return self.make_handle(kind, key).0;
        }
        let cache = &self.handles[kind as usize];
        if let Some(h) = cache
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .and_then(Cached::upgrade)
        {
            return h;
        }
        let (handle, _) = self.make_handle(kind, key);
        let mut handles = cache.write().unwrap_or_else(PoisonError::into_inner);
        // Bounded as the families are: past the cap, label sets share the overflow series and
        // need no entry of their own; entries of expired series go first.
        let max = self.config.max_series.saturating_mul(64).max(1024);
        if handles.len() >= max {
            handles.retain(|_, h| h.upgrade().is_some());
        }
        if handles.len() < max {
            handles.insert(key.clone(), Cached::new(&handle));
        }
        handle
    }

    /// The handle for `key`, and whether it is an overflow series.
    fn make_handle(&self, kind: Kind, key: &Key) -> (Handle, bool) {
        let name = key.name();
        let labels: Vec<(String, &str)> = key
            .labels()
            .map(|l| (sanitize(l.key()), l.value()))
            .collect();
        let family = self.family(kind, name, &labels);
        let Some(family) = family else {
            return (Handle::Nothing, false);
        };
        let names: Vec<&str> = labels.iter().map(|(n, _)| n.as_str()).collect();
        if names != family.labels.iter().map(String::as_str).collect::<Vec<_>>() {
            self.reject(
                name,
                format!(
                    "labels {names:?} differ from the labels of its first use, {:?}",
                    family.labels
                ),
            );
            return (Handle::Nothing, false);
        }
        let values: Vec<&str> = labels.iter().map(|(_, v)| *v).collect();
        family.sets.handle(&values)
    }

    /// The family of `name`, registering it on first use.
    fn family(&self, kind: Kind, name: &str, labels: &[(String, &str)]) -> Option<Family> {
        if let Some(f) = self
            .families
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
        {
            return f
                .as_ref()
                .ok()
                .filter(|f| f.kind == kind)
                .cloned()
                .or_else(|| {
                    if f.is_ok() {
                        self.reject(name, "recorded as two kinds of metric".into());
                    }
                    None
                });
        }
        let mut families = self
            .families
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(f) = families.get(name) {
            return f.as_ref().ok().filter(|f| f.kind == kind).cloned();
        }
        let made = self.register(kind, name, labels);
        let result = match made {
            Ok(f) => Ok(f),
            Err(e) => {
                self.reject(name, e.to_string());
                Err(())
            }
        };
        families.insert(name.to_owned(), result.clone());
        result.ok()
    }

    fn register(
        &self,
        kind: Kind,
        name: &str,
        labels: &[(String, &str)],
    ) -> vitalsign::Result<Family> {
        let (unit, help) = self
            .descriptions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
            .unwrap_or((
                None,
                format!("{name}, recorded through the metrics facade."),
            ));
        let mut exposed = sanitize(name);
        if let Some(unit) = unit.filter(|u| *u != Unit::Count) {
            let suffix = format!("_{}", unit.as_str());
            let stem = exposed
                .strip_suffix("_total")
                .unwrap_or(&exposed)
                .to_owned();
            if !stem.ends_with(&suffix) {
                let total = exposed.ends_with("_total");
                exposed = format!("{stem}{suffix}{}", if total { "_total" } else { "" });
            }
        }
        let names: Vec<&str> = labels.iter().map(|(n, _)| n.as_str()).collect();
        let buckets = self
            .config
            .buckets
            .iter()
            .find(|(m, _)| m.matches(name))
            .map_or_else(Buckets::latency, |(_, b)| b.clone());
        let native = self.config.native;
        let idle = self.config.idle_timeout;
        let sets = Sets::new(
            kind,
            &names,
            self.config.max_series,
            idle,
            move || match native {
                Some(n) => Histogram::with_native(buckets.clone(), n),
                None => Histogram::new(buckets.clone()),
            },
        )?;
        self.config.registry.register_shared(
            Descriptor::new(exposed, help).source(vitalsign::catalog::Source::Facade),
            sets.metric(),
        )?;
        Ok(Family {
            kind,
            labels: names.iter().map(|n| (*n).to_owned()).collect(),
            sets,
        })
    }

    fn reject(&self, name: &str, why: String) {
        let line = format!("metric `{name}` records nothing: {why}");
        let mut rejected = self.rejected.lock().unwrap_or_else(PoisonError::into_inner);
        if !rejected.contains(&line) && rejected.len() < 1000 {
            eprintln!("vitalsign-metrics: {line}");
            rejected.push(line);
        }
    }

    fn describe(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        let mut descriptions = self
            .descriptions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if descriptions.len() < 10_000 {
            descriptions
                .entry(key.as_str().to_owned())
                .or_insert((unit, description.into_owned()));
        }
    }
}

impl metrics::Recorder for VitalsignRecorder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe(key, unit, description);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe(key, unit, description);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe(key, unit, description);
    }

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> metrics::Counter {
        match self.inner.handle(Kind::Counter, key) {
            Handle::Counter(c) => metrics::Counter::from_arc(c),
            _ => metrics::Counter::noop(),
        }
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> metrics::Gauge {
        match self.inner.handle(Kind::Gauge, key) {
            Handle::Gauge(g) => metrics::Gauge::from_arc(g),
            _ => metrics::Gauge::noop(),
        }
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> metrics::Histogram {
        match self.inner.handle(Kind::Histogram, key) {
            Handle::Histogram(h) => metrics::Histogram::from_arc(h),
            _ => metrics::Histogram::noop(),
        }
    }
}
