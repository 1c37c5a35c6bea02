//! [`Registry::catalog`]: the registry's families, collectors and self-metrics as a
//! [`Catalog`], read under the registry's lock like a scrape but writing no sample.

use std::sync::PoisonError;

use super::Registry;
use crate::catalog::{Catalog, Entry, Source};
use crate::encoding::MetricType;

impl Registry {
    /// What this registry exports: every family with its names, type, unit, HELP, labels
    /// (their values where bounded), series bound and what made it, sorted by name. The
    /// registry's own self-metrics (`vitalsign_*`) are listed too, since a scrape may write them.
    ///
    /// Families registered later (a layer built after this call) are not in it: build the
    /// catalogue once the service has registered everything, as its `/metrics` would serve it.
    pub fn catalog(&self) -> Catalog {
        self.claim_statics();
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        let mut entries = Vec::with_capacity(inner.families.len() + inner.collectors.len() + 3);
        for family in &inner.families {
            let d = &family.desc;
            let mut entry = Entry::new(&d.name, d.kind, d.unit.as_deref(), &d.help, d.source);
            let mut bound = Some(0u64);
            for part in &family.parts {
                for (k, v) in part.const_labels.pairs() {
                    if !v.is_empty() {
                        entry.add_label(k, Some(vec![v.to_string()]));
                    }
                }
                let metric = part.metric.get();
                metric.label_values(&mut |name, values| entry.add_label(name, values));
                bound = bound.zip(metric.series_bound()).map(|(a, b)| a + b);
            }
            entry.series_bound = bound;
            if family.parts.len() > 1 {
                // Parts join in registration order, which link order decides for statics.
                for label in &mut entry.labels {
                    if let Some(values) = &mut label.values {
                        values.sort_unstable();
                    }
                }
            }
            entries.push(entry);
        }
        for collector in &inner.collectors {
            for d in &collector.families {
                let source = match d.source {
                    Source::User => Source::Collector,
                    other => other,
                };
                let mut entry = Entry::new(&d.name, d.kind, d.unit.as_deref(), &d.help, source);
                for (k, v) in d.const_labels.pairs() {
                    entry.add_label(k, Some(vec![v.to_string()]));
                }
                // A collector declares one bound for all its families.
                entry.series_bound = None;
                entries.push(entry);
            }
        }
        // vitalsign's own: a series for each family with a cap, whose series can be removed,
        // with an idle timeout, or that a scrape may leave out (the collectors' among them).
        let which = |f: fn(&dyn crate::metrics::Metric) -> bool| -> Vec<String> {
            inner
                .families
                .iter()
                .filter(|family| family.parts.iter().any(|p| f(p.metric.get())))
                .map(|family| family.desc.name.to_string())
                .collect()
        };
        let mut fallible = which(|m| m.fallible());
        fallible.extend(
            inner
                .collectors
                .iter()
                .flat_map(|c| c.families.iter().map(|d| d.name.to_string())),
        );
        for (name, help, families) in [
            (OVERFLOW, OVERFLOW_HELP, which(|m| m.overflowed().is_some())),
            (REMOVED, REMOVED_HELP, which(|m| m.removed().is_some())),
            (EXPIRED, EXPIRED_HELP, which(|m| m.expired().is_some())),
            (COLLECT_ERRORS, COLLECT_ERRORS_HELP, fallible),
        ] {
            if families.is_empty() {
                continue;
            }
            let mut entry = Entry::new(name, MetricType::Counter, None, help, Source::Vitalsign);
            entry.series_bound = Some(families.len() as u64);
            entry.add_label("metric", Some(families));
            entries.push(entry);
        }
        Catalog::new(entries)
    }
}

// vitalsign's own families: their names, and their HELP texts.
pub(super) const OVERFLOW: &str = "vitalsign_series_overflow";
pub(super) const EXPIRED: &str = "vitalsign_series_expired";
pub(super) const REMOVED: &str = "vitalsign_series_removed";
pub(super) const COLLECT_ERRORS: &str = "vitalsign_collect_errors";
pub(super) const OVERFLOW_HELP: &str =
    "Lookups that found a sparse family full and went to its overflow series.";
pub(super) const REMOVED_HELP: &str =
    "Series removed from a sparse family (remove, retain or clear).";
pub(super) const EXPIRED_HELP: &str = "Series a sparse family dropped after their idle timeout.";
pub(super) const COLLECT_ERRORS_HELP: &str =
    "Scrapes that left a family out because its metric or collector failed.";
