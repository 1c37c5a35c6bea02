//! The registry: which metrics exist under which names, and the scrape that encodes them.
//!
//! Registration is where names are checked, units inferred, and clashes refused; the hot path
//! never touches the registry. A scrape takes a read lock, writes every family in registration
//! order, then the collectors' families, then the registry's own self-metrics.

mod collect;
mod descriptor;

pub use collect::{Collect, Collector};
pub use descriptor::Descriptor;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, LazyLock, Mutex, OnceLock, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::encoding::{Format, MetricEncoder, MetricType, Value, escape};
use crate::error::{Error, ErrorKind, Result};
use crate::metrics::Metric;

/// Options for one scrape.
#[derive(Debug, Clone, Copy, Default)]
pub struct EncodeOptions<'a> {
    /// The exposition format.
    pub format: Format,
    /// Write `_created` samples for counters, histograms and summaries (OpenMetrics only).
    pub created: bool,
    /// Only these families (by family or sample name, as in `?name[]=`); all when `None`.
    pub names: Option<&'a [&'a str]>,
}

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

#[derive(Default)]
struct Inner {
    families: Vec<FamilyEntry>,
    collectors: Vec<collect::CollectorEntry>,
    /// Family names and every sample name they write, to the family's description.
    taken: HashMap<Box<str>, Taken>,
}

#[derive(Clone)]
struct Taken {
    name: Box<str>,
    kind: MetricType,
    /// Index into `families`, or `None` for a collector's family.
    family: Option<usize>,
}

struct FamilyEntry {
    desc: descriptor::Resolved,
    parts: Vec<Part>,
}

struct Part {
    const_labels: Box<str>,
    metric: MetricRef,
    created: f64,
}

enum MetricRef {
    Static(&'static dyn Metric),
    Shared(Arc<dyn Metric>),
}

impl MetricRef {
    fn get(&self) -> &dyn Metric {
        match self {
            MetricRef::Static(m) => *m,
            MetricRef::Shared(m) => &**m,
        }
    }
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
        self.insert(desc, MetricRef::Shared(metric))
    }

    /// Registers a metric that lives in a `static`. Registering the same static under the same
    /// name again is a no-op.
    pub fn register_static(&self, desc: Descriptor, metric: &'static dyn Metric) -> Result<()> {
        self.insert(desc, MetricRef::Static(metric))
    }

    /// Registers a collector, whose families are produced at every scrape.
    pub fn register_collector(&self, collector: impl Collector + 'static) -> Result<()> {
        let entry = collect::CollectorEntry::new(Box::new(collector))?;
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

    fn insert(&self, desc: Descriptor, metric: MetricRef) -> Result<()> {
        let m = metric.get();
        let resolved = desc.resolve(m.metric_type())?;
        let mut label_error = None;
        m.label_names(&mut |label| {
            if label_error.is_none() {
                label_error = resolved.check_label(label).err();
            }
        });
        if let Some(e) = label_error {
            return Err(e);
        }

        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        let part = Part {
            const_labels: resolved.const_labels.clone(),
            metric,
            created: now(),
        };
        if let Some(t) = inner.taken.get(&resolved.name).cloned() {
            let family = t
                .family
                .filter(|&i| inner.families[i].desc.compatible(&resolved));
            let Some(i) = family else {
                return Err(clash(&resolved, &resolved.name, &t));
            };
            let entry = &mut inner.families[i];
            let new = part.metric.get() as *const dyn Metric;
            if let Some(existing) = entry
                .parts
                .iter()
                .find(|p| p.const_labels == part.const_labels)
            {
                if std::ptr::addr_eq(existing.metric.get() as *const dyn Metric, new) {
                    return Ok(());
                }
                return Err(Error::new(
                    ErrorKind::Clash,
                    format!(
                        "cannot register `{}` ({}): a different metric is already registered \
                         under that name{}",
                        resolved.name,
                        kind_name(resolved.kind),
                        if part.const_labels.is_empty() {
                            String::new()
                        } else {
                            format!(" with labels {{{}}}", part.const_labels)
                        }
                    ),
                ));
            }
            entry.parts.push(part);
            return Ok(());
        }
        for key in resolved.keys() {
            if let Some(t) = inner.taken.get(&*key) {
                return Err(clash(&resolved, &key, t));
            }
        }
        let i = inner.families.len();
        for key in resolved.keys() {
            inner.taken.insert(
                key,
                Taken {
                    name: resolved.name.clone(),
                    kind: resolved.kind,
                    family: Some(i),
                },
            );
        }
        inner.families.push(FamilyEntry {
            desc: resolved,
            parts: vec![part],
        });
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
            for entry in STATIC_REGISTRATIONS {
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

    /// Encodes every family into `out` (appending).
    pub fn encode(&self, out: &mut Vec<u8>, options: &EncodeOptions<'_>) {
        self.claim_statics();
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        let format = options.format;
        let mut overflow: Vec<(&str, u64)> = Vec::new();
        for family in &inner.families {
            let desc = &family.desc;
            if !desc.selected(options.names) {
                continue;
            }
            let mark = out.len();
            desc.write_header(out, format);
            let ok = catch_unwind(AssertUnwindSafe(|| {
                for part in &family.parts {
                    let mut enc = MetricEncoder {
                        out: &mut *out,
                        format,
                        name: &desc.name,
                        const_labels: &part.const_labels,
                        created: options.created.then_some(part.created),
                    };
                    part.metric.get().encode(&mut enc);
                }
            }));
            if ok.is_err() {
                out.truncate(mark);
                self.count_collect_error(&desc.name);
            }
            for part in &family.parts {
                let n = part.metric.get().overflowed();
                if n > 0 {
                    overflow.push((&desc.name, n));
                }
            }
        }
        for collector in &inner.collectors {
            if let Err(left_out) = collector.encode(out, options) {
                left_out
                    .iter()
                    .for_each(|name| self.count_collect_error(name));
            }
        }
        self.encode_self_metrics(out, format, &overflow, options.names);
        if format == Format::OpenMetrics {
            out.extend_from_slice(b"# EOF\n");
        }
    }

    /// Encodes every family into a new `String`.
    pub fn render(&self, format: Format) -> String {
        let mut out = Vec::new();
        self.encode(
            &mut out,
            &EncodeOptions {
                format,
                ..EncodeOptions::default()
            },
        );
        // Everything written is UTF-8: names are ASCII, label values and help come from `&str`.
        String::from_utf8(out).unwrap_or_default()
    }

    fn count_collect_error(&self, name: &str) {
        let mut errors = self
            .collect_errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *errors.entry(name.into()).or_insert(0) += 1;
    }

    fn encode_self_metrics(
        &self,
        out: &mut Vec<u8>,
        format: Format,
        overflow: &[(&str, u64)],
        names: Option<&[&str]>,
    ) {
        let selected = |name: &str| {
            names.is_none_or(|n| n.iter().any(|&n| n == name || n == format!("{name}_total")))
        };
        if !overflow.is_empty() && selected(OVERFLOW) {
            self_family(
                out,
                format,
                OVERFLOW,
                "Label sets that found a sparse family full and went to its overflow series.",
                overflow.iter().map(|&(n, v)| (n, v)),
            );
        }
        let errors = self
            .collect_errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !errors.is_empty() && selected(COLLECT_ERRORS) {
            self_family(
                out,
                format,
                COLLECT_ERRORS,
                "Scrapes that left a family out because its metric or collector failed.",
                errors.iter().map(|(n, &v)| (&**n, v)),
            );
        }
    }
}

const OVERFLOW: &str = "vitalsign_series_overflow";
const COLLECT_ERRORS: &str = "vitalsign_collect_errors";

fn self_family<'a>(
    out: &mut Vec<u8>,
    format: Format,
    name: &str,
    help: &str,
    series: impl Iterator<Item = (&'a str, u64)>,
) {
    let desc = descriptor::Resolved::self_metric(name, help);
    desc.write_header(out, format);
    let mut enc = MetricEncoder {
        out,
        format,
        name,
        const_labels: "",
        created: None,
    };
    let mut labels = Vec::new();
    for (metric, v) in series {
        labels.clear();
        escape::write_label(&mut labels, "metric", metric);
        enc.counter(
            std::str::from_utf8(&labels).unwrap_or_default(),
            Value::U64(v),
        );
    }
}

fn clash(new: &descriptor::Resolved, key: &str, existing: &Taken) -> Error {
    let what = if key == &*existing.name {
        format!(
            "`{key}` is already registered as a {}",
            kind_name(existing.kind)
        )
    } else {
        format!(
            "`{key}` is already a sample of `{}` ({})",
            existing.name,
            kind_name(existing.kind)
        )
    };
    Error::new(
        ErrorKind::Clash,
        format!(
            "cannot register `{}` ({}): {what}",
            new.name,
            kind_name(new.kind)
        ),
    )
}

fn kind_name(kind: MetricType) -> &'static str {
    kind.type_name(Format::OpenMetrics)
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
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
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

/// How a static (from [`metrics!`](crate::metrics!) or an instrumented function) joins its
/// registry: `registry` names the registry, `register` adds the static's families to it.
#[doc(hidden)]
#[derive(Debug)]
pub struct StaticRegistration {
    pub registry: fn() -> &'static Registry,
    pub register: fn(&Registry) -> Result<()>,
}

#[doc(hidden)]
#[linkme::distributed_slice]
pub static STATIC_REGISTRATIONS: [StaticRegistration];

/// Joins a doc comment's lines into HELP text.
#[doc(hidden)]
pub fn help_from_doc(lines: &[&str]) -> String {
    lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

static DEFAULT: LazyLock<Registry> = LazyLock::new(Registry::new);

/// The process-wide registry. Every [`metrics!`](crate::metrics!) static and every
/// instrumented function without a `registry` option is registered in it before its first
/// scrape, so their series are exported at zero from then on.
pub fn default_registry() -> &'static Registry {
    &DEFAULT
}
