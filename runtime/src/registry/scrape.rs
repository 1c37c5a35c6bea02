//! The scrape: every family, then the collectors' families, then vitalsign's own counts, in one
//! format; and the bound on how many series that can be.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::PoisonError;

use super::catalog::{
    COLLECT_ERRORS, COLLECT_ERRORS_HELP, EXPIRED, EXPIRED_HELP, OVERFLOW, OVERFLOW_HELP, REMOVED,
    REMOVED_HELP,
};
use super::families::FamilyEntry;
use super::reentrancy::{self, Scraping};
use super::{Registry, descriptor};
use crate::encoding::gather;
use crate::encoding::{
    ConstLabels, Escaping, Format, Labels, MetricEncoder, Value, end_exposition,
};
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

impl Registry {
    /// Encodes every family into `out` (appending).
    ///
    /// A scrape started from inside a scrape of the same registry on the same thread (a
    /// collector or callback that renders its own registry) writes nothing, rather than waiting
    /// for itself.
    pub fn encode(&self, out: &mut Vec<u8>, options: &EncodeOptions<'_>) {
        if self.scrape(&mut Sink::Bytes {
            out: &mut *out,
            options,
        }) {
            end_exposition(out, options.format);
        }
    }

    /// Every family and its series as data, read as a scrape reads them: see
    /// [`gather`](crate::gather). Families with no series are left out (as protobuf leaves
    /// them out); a family a metric panicked in is left out and counted, as in a scrape.
    /// Called from inside a scrape of this registry on the same thread, it returns nothing.
    pub fn gather(&self) -> Vec<gather::Family> {
        let mut families = Vec::new();
        self.scrape(&mut Sink::Gather(&mut families));
        families
    }

    /// One scrape into `sink`: every family, the collectors', then vitalsign's own counts.
    /// Whether it ran (not from inside a scrape of this registry on this thread).
    fn scrape(&self, sink: &mut Sink<'_, '_>) -> bool {
        if reentrancy::scraping(self.addr()) {
            return false;
        }
        self.claim_statics();
        let Some(_scraping) = Scraping::enter(self.addr()) else {
            return false;
        };
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        let mut overflow: Vec<(&str, u64)> = Vec::new();
        let mut removed: Vec<(&str, u64)> = Vec::new();
        let mut expired: Vec<(&str, u64)> = Vec::new();
        let mut fallible: Vec<&str> = Vec::new();
        for family in &inner.families {
            let desc = &family.desc;
            if sink.selects(desc) {
                self.encode_family(sink, family);
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
            let written = match sink {
                Sink::Bytes { out, options } => collector.encode(out, options),
                Sink::Gather(families) => collector.gather(families),
            };
            if let Err(left_out) = written {
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
        self.encode_self_metrics(sink, &counts);
        true
    }

    /// Writes one family; a part that panics leaves the whole family out, counted.
    fn encode_family(&self, sink: &mut Sink<'_, '_>, family: &FamilyEntry) {
        let desc = &family.desc;
        let ok = match sink {
            Sink::Bytes { out, options } => {
                let format = options.format;
                let created = format.carries_start_times(options.created);
                desc.header().encode(out, format, options.escaping, |out| {
                    let parts = || {
                        for part in &family.parts {
                            let created = created.then_some(part.created);
                            let consts = &part.const_labels;
                            let mut enc =
                                MetricEncoder::new(out, format, &desc.name, consts, created)
                                    .escaping(options.escaping, part.plain);
                            part.metric.get().encode(&mut enc);
                        }
                    };
                    catch_unwind(AssertUnwindSafe(parts)).is_ok()
                })
            }
            Sink::Gather(families) => {
                let mut series = Vec::new();
                let parts = || {
                    for part in &family.parts {
                        let (mut none, consts) = (Vec::new(), &part.const_labels);
                        let created = Some(part.created);
                        let mut enc = MetricEncoder::gathering(
                            &mut none,
                            &mut series,
                            &desc.name,
                            consts,
                            created,
                        );
                        part.metric.get().encode(&mut enc);
                    }
                };
                let ok = catch_unwind(AssertUnwindSafe(parts)).is_ok();
                if ok && !series.is_empty() {
                    families.push(desc.gathered(series));
                }
                ok
            }
        };
        if !ok {
            self.count_collect_error(&desc.name);
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
    /// it declares ([`Collector::series_bound`](crate::Collector::series_bound)), and vitalsign's own families one series per
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

    fn encode_self_metrics(&self, sink: &mut Sink<'_, '_>, counts: &SelfCounts<'_>) {
        let SelfCounts {
            overflow,
            removed,
            expired,
            fallible,
        } = *counts;
        let names = match sink {
            Sink::Bytes { options, .. } => options.names,
            Sink::Gather(_) => None,
        };
        let selected = |name: &str| {
            names.is_none_or(|n| n.iter().any(|&n| n == name || n == format!("{name}_total")))
        };
        if !overflow.is_empty() && selected(OVERFLOW) {
            self_family(
                sink,
                OVERFLOW,
                OVERFLOW_HELP,
                overflow.iter().map(|&(n, v)| (n, v)),
            );
        }
        if !removed.is_empty() && selected(REMOVED) {
            self_family(
                sink,
                REMOVED,
                REMOVED_HELP,
                removed.iter().map(|&(n, v)| (n, v)),
            );
        }
        if !expired.is_empty() && selected(EXPIRED) {
            self_family(
                sink,
                EXPIRED,
                EXPIRED_HELP,
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
            self_family(sink, COLLECT_ERRORS, COLLECT_ERRORS_HELP, rows.into_iter());
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

fn self_family<'a>(
    sink: &mut Sink<'_, '_>,
    name: &str,
    help: &str,
    series: impl Iterator<Item = (&'a str, u64)>,
) {
    let desc = descriptor::Resolved::self_metric(name, help);
    let consts = ConstLabels::default();
    let write = |enc: &mut MetricEncoder<'_>, series: &mut dyn Iterator<Item = (&'a str, u64)>| {
        for (metric, v) in series {
            enc.counter(Labels::new(&[("metric", metric)]), Value::U64(v));
        }
    };
    let mut series = series;
    match sink {
        Sink::Bytes { out, options } => {
            let format = options.format;
            desc.header()
                .encode(out, format, Escaping::default(), |out| {
                    write(
                        &mut MetricEncoder::new(out, format, name, &consts, None),
                        &mut series,
                    );
                    true
                });
        }
        Sink::Gather(families) => {
            let (mut none, mut gathered) = (Vec::new(), Vec::new());
            write(
                &mut MetricEncoder::gathering(&mut none, &mut gathered, name, &consts, None),
                &mut series,
            );
            families.push(desc.gathered(gathered));
        }
    }
}

/// Where a scrape goes: bytes in a format, or families as data.
enum Sink<'s, 'o> {
    Bytes {
        out: &'s mut Vec<u8>,
        options: &'s EncodeOptions<'o>,
    },
    Gather(&'s mut Vec<gather::Family>),
}

impl Sink<'_, '_> {
    /// Whether the scrape writes `desc`'s family (a `?name[]=` selection; all when gathered).
    fn selects(&self, desc: &descriptor::Resolved) -> bool {
        match self {
            Sink::Bytes { options, .. } => desc.selected(options.names),
            Sink::Gather(_) => true,
        }
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
