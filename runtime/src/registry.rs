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
mod reentrancy;
mod statics;

pub use collect::{Collect, Collector};
pub use descriptor::Descriptor;
pub use statics::{STATIC_REGISTRATIONS, StaticRegistration, help_from_doc, register_self_metric};

use checks::{Origin, braced, check_reserved, clash, kind_name, label_names};
use reentrancy::{Claiming, Scraping};

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, LazyLock, Mutex, OnceLock, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::encoding::names::is_legacy;
use crate::encoding::{ConstLabels, Escaping, Format, Labels, MetricEncoder, MetricType, Value};
use crate::error::{Error, ErrorKind, Result};
use crate::metrics::Metric;

/// Options for one scrape: `EncodeOptions::new(Format::OpenMetrics).names(&["x"])`.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct EncodeOptions<'a> {
    /// The exposition format.
    pub format: Format,
    /// Write `_created` samples for counters, histograms and summaries (OpenMetrics only).
    pub created: bool,
    /// Only these families (by family or sample name, as in `?name[]=`); all when `None`.
    pub names: Option<&'a [&'a str]>,
    /// How names the legacy rules do not allow are written (what the scraper asked for with
    /// `escaping=`; [`negotiate_escaping`](crate::encoding::negotiate_escaping) reads it).
    pub escaping: Escaping,
}

impl<'a> EncodeOptions<'a> {
    /// Every family in `format`, without `_created` samples.
    pub fn new(format: Format) -> Self {
        Self {
            format,
            created: false,
            names: None,
            escaping: Escaping::default(),
        }
    }

    /// How names the legacy rules do not allow are written (default: with underscores).
    #[must_use]
    pub fn escaping(mut self, escaping: Escaping) -> Self {
        self.escaping = escaping;
        self
    }

    /// Whether to write `_created` samples (OpenMetrics only).
    #[must_use]
    pub fn created(mut self, created: bool) -> Self {
        self.created = created;
        self
    }

    /// Only these families (by family or sample name); all when `None`.
    #[must_use]
    pub fn names(mut self, names: Option<&'a [&'a str]>) -> Self {
        self.names = names;
        self
    }
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
    const_labels: ConstLabels,
    /// Whether the family's name and every label name are legacy names (written as they are
    /// whatever the escaping).
    plain: bool,
    /// Every label name a series of this part carries, sorted.
    names: Vec<Box<str>>,
    metric: MetricRef,
    created: f64,
}

impl Part {
    /// Whether a series of `self` could have exactly the labels of a series of `other`, to
    /// any scraper: with names as they are, or as a scraper without UTF-8 names gets them
    /// escaped (`a-b` and `a_b` are one label to it). A constant label both carry with
    /// different values keeps them apart; otherwise only different label names do, where a
    /// constant label with an empty value counts as none: to Prometheus `x{a=""}` is `x`.
    fn may_overlap(&self, other: &Part) -> bool {
        std::iter::once(Escaping::AllowUtf8)
            .chain(checks::LEGACY_SCHEMES)
            .any(|scheme| self.overlaps_as(other, scheme))
    }

    fn overlaps_as(&self, other: &Part, scheme: Escaping) -> bool {
        let name = |n: &str| scheme.escape(n, true).into_owned();
        let apart = self.const_labels.pairs().iter().any(|(k, v)| {
            other
                .const_labels
                .pairs()
                .iter()
                .any(|(other_k, other_v)| name(other_k) == name(k) && other_v != v)
        });
        let written = |p: &Part| {
            let mut names: Vec<String> = p.written_names().map(name).collect();
            names.sort_unstable();
            names
        };
        !apart && written(self) == written(other)
    }

    /// The label names its series carry, less constant labels whose value is empty.
    fn written_names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(|n| &**n).filter(|n| {
            !self
                .const_labels
                .pairs()
                .iter()
                .any(|(k, v)| &**k == *n && v.is_empty())
        })
    }

    /// Whether it carries a constant label with an empty value.
    fn has_empty_const(&self) -> bool {
        self.const_labels.pairs().iter().any(|(_, v)| v.is_empty())
    }
}

impl Inner {
    /// A new family, if none of its sample names is taken.
    fn add_family(&mut self, desc: descriptor::Resolved, part: Part) -> Result<()> {
        for key in desc.keys() {
            if let Some(t) = self.taken.get(&*key) {
                return Err(clash(&desc, &key, t));
            }
        }
        let i = self.families.len();
        for key in desc.keys() {
            self.taken.insert(
                key,
                Taken {
                    name: desc.name.clone(),
                    kind: desc.kind,
                    family: Some(i),
                },
            );
        }
        self.families.push(FamilyEntry {
            desc,
            parts: vec![part],
        });
        Ok(())
    }
}

impl FamilyEntry {
    /// One more part of this family, if it agrees with the family and can write no series
    /// another part writes; the same metric under the same labels again is a no-op.
    fn join(&mut self, resolved: &descriptor::Resolved, part: Part) -> Result<()> {
        if let Some(why) = self.desc.incompatibility(resolved) {
            return Err(Error::new(
                ErrorKind::Clash,
                format!(
                    "cannot register `{}` ({}): `{}` is already registered as a {}{why}",
                    resolved.name,
                    kind_name(resolved.kind),
                    self.desc.name,
                    kind_name(self.desc.kind),
                ),
            ));
        }
        let new = part.metric.get() as *const dyn Metric;
        for existing in &self.parts {
            let same_labels = existing.const_labels == part.const_labels;
            if same_labels && std::ptr::addr_eq(existing.metric.get() as *const dyn Metric, new) {
                return Ok(());
            }
            if same_labels {
                return Err(Error::new(
                    ErrorKind::Clash,
                    format!(
                        "cannot register `{}` ({}): a different metric is already registered \
                         under that name{}",
                        resolved.name,
                        kind_name(resolved.kind),
                        braced(" with labels ", part.const_labels.text()),
                    ),
                ));
            }
            if existing.may_overlap(&part) {
                let hint = if existing.names != part.names
                    && (existing.has_empty_const() || part.has_empty_const())
                {
                    "to Prometheus a label with an empty value is no label"
                } else {
                    "give them a constant label with different values, or different label names"
                };
                return Err(Error::new(
                    ErrorKind::Clash,
                    format!(
                        "cannot register `{}` ({}){}: the metric already registered under that \
                         name{} could write the same series ({hint})",
                        resolved.name,
                        kind_name(resolved.kind),
                        braced(" with labels ", part.const_labels.text()),
                        braced(" with labels ", existing.const_labels.text()),
                    ),
                ));
            }
        }
        self.parts.push(part);
        Ok(())
    }
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

    /// Encodes every family into `out` (appending).
    ///
    /// A scrape started from inside a scrape of the same registry on the same thread (a
    /// collector or callback that renders its own registry) writes nothing, rather than waiting
    /// for itself.
    pub fn encode(&self, out: &mut Vec<u8>, options: &EncodeOptions<'_>) {
        if reentrancy::scraping(self.addr()) {
            return;
        }
        self.claim_statics();
        let Some(_scraping) = Scraping::enter(self.addr()) else {
            return;
        };
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        let format = options.format;
        let mut overflow: Vec<(&str, u64)> = Vec::new();
        let mut removed: Vec<(&str, u64)> = Vec::new();
        let mut expired: Vec<(&str, u64)> = Vec::new();
        let mut fallible: Vec<&str> = Vec::new();
        for family in &inner.families {
            let desc = &family.desc;
            if desc.selected(options.names) {
                self.encode_family(out, options, family);
            }
            // vitalsign's own counts of every family, selected or not (a scrape may select only
            // them), read after the family's scrape (which may expire series): one series each,
            // at zero from the start, however many parts the family has.
            let sum = |f: fn(&dyn Metric) -> Option<u64>| {
                family
                    .parts
                    .iter()
                    .filter_map(|p| f(p.metric.get()))
                    .reduce(|a, b| a + b)
            };
            let name = &*desc.name;
            overflow.extend(sum(|m| m.overflowed()).map(|n| (name, n)));
            removed.extend(sum(|m| m.removed()).map(|n| (name, n)));
            expired.extend(sum(|m| m.expired()).map(|n| (name, n)));
            if family.parts.iter().any(|p| p.metric.get().fallible()) {
                fallible.push(name);
            }
        }
        for collector in &inner.collectors {
            fallible.extend(collector.families.iter().map(|d| &*d.name));
            if let Err(left_out) = collector.encode(out, options) {
                left_out
                    .iter()
                    .for_each(|name| self.count_collect_error(name));
            }
        }
        let counts = SelfCounts {
            overflow: &overflow,
            removed: &removed,
            expired: &expired,
            fallible: &fallible,
        };
        self.encode_self_metrics(out, format, &counts, options.names);
        if format == Format::OpenMetrics {
            out.extend_from_slice(b"# EOF\n");
        }
    }

    /// Writes one family; a part that panics leaves the whole family out, counted.
    fn encode_family(&self, out: &mut Vec<u8>, options: &EncodeOptions<'_>, family: &FamilyEntry) {
        let desc = &family.desc;
        let format = options.format;
        let mark = out.len();
        desc.write_header(out, format, options.escaping);
        let ok = catch_unwind(AssertUnwindSafe(|| {
            for part in &family.parts {
                // Protobuf always carries start timestamps (Prometheus 3 uses them in
                // `rate()`); OpenMetrics writes `_created` lines only when asked.
                let created = (options.created || !format.is_text()).then_some(part.created);
                let mut enc =
                    MetricEncoder::new(&mut *out, format, &desc.name, &part.const_labels, created)
                        .escaping(options.escaping, part.plain);
                part.metric.get().encode(&mut enc);
            }
        }));
        if ok.is_err() {
            out.truncate(mark);
            self.count_collect_error(&desc.name);
        } else {
            desc.finish(out, mark, format, options.escaping);
        }
    }

    /// Encodes every family into a new `String`, in a text format. [`Format::Protobuf`] is
    /// binary: this returns it as an empty string; [`encode`](Self::encode) it into bytes.
    pub fn render(&self, format: Format) -> String {
        let mut out = Vec::new();
        self.encode(&mut out, &EncodeOptions::new(format));
        // Everything written is UTF-8: names are ASCII, label values and help come from `&str`.
        String::from_utf8(out).unwrap_or_default()
    }

    /// The most series this registry can ever write in one scrape, family by family: a dense
    /// family its label set's combinations, a sparse family its cap plus the overflow series,
    /// an instrumented function every outcome by every label combination, a collector the bound
    /// it declares ([`Collector::series_bound`]), and vitalsign's own families one series per
    /// family they report on (an overflow and a removal count for each sparse family, an expiry
    /// count for each with an idle timeout, a collect-error count for each a scrape can leave out:
    /// callbacks and collectors). Series are label sets: a histogram's buckets, `_sum`
    /// and `_count` count once (multiply by its lines per series for a sample count), a state
    /// set once per state. What cannot say makes the total unbounded, and the answer names it.
    ///
    /// ```
    /// use vitalsign::{Counter, Family, Registry, SparseFamily};
    ///
    /// let registry = Registry::new();
    /// registry.register("jobs", "Jobs run.", Counter::new())?;
    /// registry.register("by_tenant", "Requests by tenant.", SparseFamily::<Counter, 1>::new(["tenant"], 100)?)?;
    /// let bound = registry.series_bound();
    /// // 1 + (100 + 1), and the sparse family's `vitalsign_series_overflow_total` and
    /// // `vitalsign_series_removed_total` series.
    /// assert_eq!(bound.total(), Some(104));
    /// assert_eq!(bound.to_string(), "at most 104 series");
    /// # Ok::<(), vitalsign::Error>(())
    /// ```
    pub fn series_bound(&self) -> SeriesBound {
        self.claim_statics();
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        let mut families: Vec<(String, Option<u64>)> = Vec::new();
        let mut expiring = 0u64;
        let mut capped = 0u64;
        let mut removable = 0u64;
        let mut reported = 0u64;
        for family in &inner.families {
            let bound = family.parts.iter().try_fold(0u64, |sum, p| {
                sum.checked_add(p.metric.get().series_bound()?)
            });
            families.push((family.desc.name.to_string(), bound));
            let any = |f: fn(&dyn Metric) -> bool| family.parts.iter().any(|p| f(p.metric.get()));
            expiring += u64::from(any(|m| m.expired().is_some()));
            capped += u64::from(any(|m| m.overflowed().is_some()));
            removable += u64::from(any(|m| m.removed().is_some()));
            reported += u64::from(any(|m| m.fallible()));
        }
        for collector in &inner.collectors {
            let names: Vec<&str> = collector.families.iter().map(|d| &*d.name).collect();
            families.push((names.join(", "), collector.series_bound()));
            reported += names.len() as u64;
        }
        // vitalsign's own series: one per capped, expiring and fallible family.
        for (name, n) in [
            (OVERFLOW, capped),
            (REMOVED, removable),
            (EXPIRED, expiring),
            (COLLECT_ERRORS, reported),
        ] {
            if n > 0 {
                families.push((name.to_owned(), Some(n)));
            }
        }
        SeriesBound { families }
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
        counts: &SelfCounts<'_>,
        names: Option<&[&str]>,
    ) {
        let SelfCounts {
            overflow,
            removed,
            expired,
            fallible,
        } = *counts;
        let selected = |name: &str| {
            names.is_none_or(|n| n.iter().any(|&n| n == name || n == format!("{name}_total")))
        };
        if !overflow.is_empty() && selected(OVERFLOW) {
            self_family(
                out,
                format,
                OVERFLOW,
                catalog::OVERFLOW_HELP,
                overflow.iter().map(|&(n, v)| (n, v)),
            );
        }
        if !removed.is_empty() && selected(REMOVED) {
            self_family(
                out,
                format,
                REMOVED,
                catalog::REMOVED_HELP,
                removed.iter().map(|&(n, v)| (n, v)),
            );
        }
        if !expired.is_empty() && selected(EXPIRED) {
            self_family(
                out,
                format,
                EXPIRED,
                catalog::EXPIRED_HELP,
                expired.iter().map(|&(n, v)| (n, v)),
            );
        }
        let errors = self
            .collect_errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Every family that can be left out, at zero until it is, then any other that was.
        let mut rows: Vec<(&str, u64)> = fallible
            .iter()
            .map(|&n| (n, errors.get(n).copied().unwrap_or(0)))
            .collect();
        rows.extend(
            errors
                .iter()
                .filter(|(n, _)| !fallible.contains(&&***n))
                .map(|(n, &v)| (&**n, v)),
        );
        if !rows.is_empty() && selected(COLLECT_ERRORS) {
            self_family(
                out,
                format,
                COLLECT_ERRORS,
                catalog::COLLECT_ERRORS_HELP,
                rows.into_iter(),
            );
        }
    }
}

/// What one scrape saw of its families, for the self-metrics: each capped family's overflows
/// and removals, each expiring family's expiries, and the families a scrape may leave out.
#[derive(Clone, Copy)]
struct SelfCounts<'a> {
    overflow: &'a [(&'a str, u64)],
    removed: &'a [(&'a str, u64)],
    expired: &'a [(&'a str, u64)],
    fallible: &'a [&'a str],
}

const OVERFLOW: &str = "vitalsign_series_overflow";
const EXPIRED: &str = "vitalsign_series_expired";
const REMOVED: &str = "vitalsign_series_removed";
const COLLECT_ERRORS: &str = "vitalsign_collect_errors";

fn self_family<'a>(
    out: &mut Vec<u8>,
    format: Format,
    name: &str,
    help: &str,
    series: impl Iterator<Item = (&'a str, u64)>,
) {
    let desc = descriptor::Resolved::self_metric(name, help);
    let mark = out.len();
    desc.write_header(out, format, Escaping::default());
    let consts = ConstLabels::default();
    let mut enc = MetricEncoder::new(&mut *out, format, name, &consts, None);
    for (metric, v) in series {
        enc.counter(Labels::new(&[("metric", metric)]), Value::U64(v));
    }
    desc.finish(out, mark, format, Escaping::default());
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

/// What [`Registry::series_bound`] answers: the most series each family (or collector) can
/// write in one scrape, and their total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesBound {
    families: Vec<(String, Option<u64>)>,
}

impl SeriesBound {
    /// The most series a scrape can hold, or `None` if a family or collector cannot say.
    pub fn total(&self) -> Option<u64> {
        self.families
            .iter()
            .try_fold(0u64, |sum, &(_, b)| sum.checked_add(b?))
    }

    /// Each family (a collector: its families' names joined) with its bound, in registration
    /// order, vitalsign's own families last.
    pub fn families(&self) -> impl Iterator<Item = (&str, Option<u64>)> {
        self.families.iter().map(|(n, b)| (&**n, *b))
    }

    /// The families and collectors that cannot say.
    pub fn unbounded(&self) -> impl Iterator<Item = &str> {
        self.families
            .iter()
            .filter(|(_, b)| b.is_none())
            .map(|(n, _)| &**n)
    }
}

impl std::fmt::Display for SeriesBound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.total() {
            Some(n) => write!(f, "at most {n} series"),
            None => {
                let unbounded: Vec<&str> = self.unbounded().collect();
                write!(f, "unbounded: {}", unbounded.join("; "))
            }
        }
    }
}

static DEFAULT: LazyLock<Registry> = LazyLock::new(Registry::new);

/// The process-wide registry. Every [`metrics!`](crate::metrics!) static and every
/// instrumented function without a `registry` option is registered in it before its first
/// scrape, so their series are exported at zero from then on.
pub fn default_registry() -> &'static Registry {
    &DEFAULT
}
