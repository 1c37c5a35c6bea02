//! The registry's bookkeeping of names: each family and its parts, every sample name a family
//! takes, and the rules by which another registration joins a family or is refused.

use std::collections::HashMap;
use std::sync::Arc;

use super::checks::{self, Taken, braced, clash, kind_name};
use super::{collect, descriptor};
use crate::encoding::{ConstLabels, Escaping};
use crate::error::{Error, ErrorKind, Result};
use crate::metrics::Metric;

#[derive(Default)]
pub(super) struct Inner {
    pub(super) families: Vec<FamilyEntry>,
    pub(super) collectors: Vec<collect::CollectorEntry>,
    /// Family names and every sample name they write, to the family's description.
    pub(super) taken: HashMap<Box<str>, Taken>,
}

pub(super) struct FamilyEntry {
    pub(super) desc: descriptor::Resolved,
    pub(super) parts: Vec<Part>,
}

pub(super) struct Part {
    pub(super) const_labels: ConstLabels,
    /// Whether the family's name and every label name are legacy names (written as they are
    /// whatever the escaping).
    pub(super) plain: bool,
    /// Every label name a series of this part carries, sorted.
    pub(super) names: Vec<Box<str>>,
    pub(super) metric: MetricRef,
    pub(super) created: f64,
}

impl Part {
    /// Whether a series of `self` could have exactly the labels of a series of `other`, to
    /// any scraper: with names as they are, or as a scraper without UTF-8 names gets them
    /// escaped (`a-b` and `a_b` are one label to it). A constant label both carry with
    /// different values keeps them apart; otherwise only different label names do, where a
    /// constant label with an empty value counts as none: to Prometheus `x{a=""}` is `x`.
    pub(super) fn may_overlap(&self, other: &Part) -> bool {
        std::iter::once(Escaping::AllowUtf8)
            .chain(checks::LEGACY_SCHEMES)
            .any(|scheme| self.overlaps_as(other, scheme))
    }

    pub(super) fn overlaps_as(&self, other: &Part, scheme: Escaping) -> bool {
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
    pub(super) fn written_names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(|n| &**n).filter(|n| {
            !self
                .const_labels
                .pairs()
                .iter()
                .any(|(k, v)| &**k == *n && v.is_empty())
        })
    }

    /// Whether it carries a constant label with an empty value.
    pub(super) fn has_empty_const(&self) -> bool {
        self.const_labels.pairs().iter().any(|(_, v)| v.is_empty())
    }
}

impl Inner {
    /// A new family, if none of its sample names is taken.
    pub(super) fn add_family(&mut self, desc: descriptor::Resolved, part: Part) -> Result<()> {
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
    pub(super) fn join(&mut self, resolved: &descriptor::Resolved, part: Part) -> Result<()> {
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

pub(super) enum MetricRef {
    Static(&'static dyn Metric),
    Shared(Arc<dyn Metric>),
}

impl MetricRef {
    pub(super) fn get(&self) -> &dyn Metric {
        match self {
            MetricRef::Static(m) => *m,
            MetricRef::Shared(m) => &**m,
        }
    }
}
