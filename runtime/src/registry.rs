//! The registry: which metrics exist under which names, and the scrape that encodes them.
//!
//! Registration is where names are checked, units inferred, and clashes refused (two
//! registrations that could write the same series, a name that is another family's sample name,
//! a label carried twice, a `vitalsign_` name); the hot path never touches the registry. Statics
//! declared for a registry claim their names before its first registration or scrape. A scrape takes a read lock, writes every family in registration
//! order, then the collectors' families, then the registry's own self-metrics.

mod catalog;
mod checks;
mod collect;
mod descriptor;
mod families;
mod reentrancy;
mod scrape;
mod statics;

pub use collect::{Collect, Collector};
pub use descriptor::Descriptor;
pub use scrape::{EncodeOptions, SeriesBound};
pub use statics::{STATIC_REGISTRATIONS, StaticRegistration, help_from_doc, register_self_metric};

use checks::{Origin, Taken, check_reserved, clash, label_names};
use families::{Inner, MetricRef, Part};
use reentrancy::Claiming;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock, Mutex, OnceLock, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::encoding::Format;
use crate::encoding::names::is_legacy;
use crate::error::{Error, ErrorKind, Result};
use crate::metrics::Metric;

/// A set of metric families and collectors that encode together.
///
/// Use [`default_registry`] in applications (instrumented functions and [`metrics!`] statics
/// register into it by themselves); build your own in tests and libraries.
///
/// [`metrics!`]: crate::metrics!
pub struct Registry {
    inner: RwLock<Inner>,
    collect_errors: Mutex<BTreeMap<Box<str>, u64>>,
    registration_errors: Mutex<Vec<Error>>,
    statics_claimed: OnceLock<()>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self {
            inner: RwLock::new(Inner::default()),
            collect_errors: Mutex::new(BTreeMap::new()),
            registration_errors: Mutex::new(Vec::new()),
            statics_claimed: OnceLock::new(),
        }
    }

    /// Registers `metric` under `name` and returns it shared, ready to use.
    ///
    /// Counter names may be given with or without `_total`, info names with or without `_info`.
    /// A name ending in a base unit (`_seconds`, `_bytes`, ...) declares that unit.
    pub fn register<M: Metric + 'static>(
        &self,
        name: impl Into<Cow<'static, str>>,
        help: impl Into<Cow<'static, str>>,
        metric: M,
    ) -> Result<Arc<M>> {
        let metric = Arc::new(metric);
        self.register_shared(Descriptor::new(name, help), metric.clone())?;
        Ok(metric)
    }

    /// Registers a shared metric with a full [`Descriptor`]. Registering the same `Arc` under the
    /// same name again is a no-op.
    pub fn register_shared(&self, desc: Descriptor, metric: Arc<dyn Metric>) -> Result<()> {
        self.insert(desc, MetricRef::Shared(metric), Origin::User)
    }

    /// Registers a metric that lives in a `static`. Registering the same static under the same
    /// name again is a no-op.
    pub fn register_static(&self, desc: Descriptor, metric: &'static dyn Metric) -> Result<()> {
        self.insert(desc, MetricRef::Static(metric), Origin::User)
    }

    /// Registers one of vitalsign's own self-metrics (names starting with `vitalsign_`).
    pub(crate) fn register_reserved(
        &self,
        desc: Descriptor,
        metric: Arc<dyn Metric>,
    ) -> Result<()> {
        self.insert(desc, MetricRef::Shared(metric), Origin::Vitalsign)
    }

    /// Registers a collector, whose families are produced at every scrape.
    pub fn register_collector(&self, collector: impl Collector + 'static) -> Result<()> {
        self.check_not_scraping(&"a collector")?;
        self.claim_statics();
        let entry = collect::CollectorEntry::new(Box::new(collector))?;
        for desc in &entry.families {
            check_reserved(desc, Origin::User)?;
        }
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        let mut claimed: Vec<Box<str>> = Vec::new();
        for desc in &entry.families {
            for key in desc.keys() {
                if let Some(t) = inner.taken.get(&*key) {
                    return Err(clash(desc, &key, t));
                }
                if claimed.contains(&key) {
                    return Err(Error::new(
                        ErrorKind::Clash,
                        format!(
                            "collector describes `{}` twice or with clashing names",
                            desc.name
                        ),
                    ));
                }
                claimed.push(key);
            }
        }
        for desc in &entry.families {
            for key in desc.keys() {
                inner.taken.insert(
                    key,
                    Taken {
                        name: desc.name.clone(),
                        kind: desc.kind,
                        family: None,
                    },
                );
            }
        }
        inner.collectors.push(entry);
        Ok(())
    }

    fn insert(&self, desc: Descriptor, metric: MetricRef, origin: Origin) -> Result<()> {
        self.check_not_scraping(&format_args!("`{}`", desc.name()))?;
        if !reentrancy::claiming(self.addr()) {
            self.claim_statics();
        }
        let m = metric.get();
        let mut resolved = desc.resolve(m.metric_type())?;
        check_reserved(&resolved, origin)?;
        if origin == Origin::Vitalsign {
            resolved.source = crate::catalog::Source::Vitalsign;
        }
        let names = label_names(&resolved, m)?;
        m.validate().map_err(|e| {
            Error::new(
                e.kind(),
                format!("cannot register `{}`: {e}", resolved.name),
            )
        })?;

        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        let plain = is_legacy(&resolved.name, false) && names.iter().all(|n| is_legacy(n, true));
        let part = Part {
            plain,
            const_labels: resolved.const_labels.clone(),
            names,
            metric,
            created: now(),
        };
        match inner.taken.get(&resolved.name).cloned() {
            None => inner.add_family(resolved, part),
            // Only a registration of the family's own name joins it; one named after a sample
            // of another family (`x_created`, `h_count`) is a clash, whatever its type.
            Some(t) => match t.family.filter(|_| t.name == resolved.name) {
                Some(i) => inner.families[i].join(&resolved, part),
                None => Err(clash(&resolved, &resolved.name, &t)),
            },
        }
    }

    fn addr(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }

    /// Refuses a registration made while this thread is scraping this registry: the scrape holds
    /// the registry's read lock, so waiting for the write lock would never end.
    fn check_not_scraping(&self, what: &dyn std::fmt::Display) -> Result<()> {
        if reentrancy::scraping(self.addr()) {
            return Err(Error::new(
                ErrorKind::Reentrant,
                format!(
                    "cannot register {what} while this registry is being scraped on the same \
                     thread (from a callback gauge or a collector); register it before or after"
                ),
            ));
        }
        Ok(())
    }

    /// Errors from registrations that had no caller to return them to: [`metrics!`] statics and
    /// instrumented functions that could not join this registry. Each is also printed to stderr
    /// once.
    ///
    /// [`metrics!`]: crate::metrics!
    pub fn registration_errors(&self) -> Vec<Error> {
        self.claim_statics();
        self.registration_errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Registers, once, every static declared for this registry (by [`metrics!`] or an
    /// instrumented function). They all exist at link time, so one pass before the first scrape
    /// finds them all, and every series is exported from that scrape on.
    ///
    /// [`metrics!`]: crate::metrics!
    fn claim_statics(&self) {
        self.statics_claimed.get_or_init(|| {
            let _claiming = Claiming::mark(self.addr());
            for entry in STATIC_REGISTRATIONS.iter() {
                if !std::ptr::eq((entry.registry)(), self) {
                    continue;
                }
                if let Err(e) = (entry.register)(self) {
                    eprintln!("vitalsign: a static metric was not registered: {e}");
                    self.registration_errors
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(e);
                }
            }
        });
    }
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A scrape on this thread holds the read lock; taking it again could wait on a writer.
        let Ok(inner) = self.inner.try_read() else {
            return f.debug_struct("Registry").finish_non_exhaustive();
        };
        f.debug_struct("Registry")
            .field(
                "families",
                &inner
                    .families
                    .iter()
                    .map(|f| &*f.desc.name)
                    .collect::<Vec<_>>(),
            )
            .field("collectors", &inner.collectors.len())
            .finish()
    }
}

static DEFAULT: LazyLock<Registry> = LazyLock::new(Registry::new);

/// The process-wide registry. Every [`metrics!`](crate::metrics!) static and every
/// instrumented function without a `registry` option is registered in it before its first
/// scrape, so their series are exported at zero from then on.
pub fn default_registry() -> &'static Registry {
    &DEFAULT
}
