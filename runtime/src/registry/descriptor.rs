//! What a family is called and how it is described, and the checks that turn a user's
//! [`Descriptor`] into the validated, pre-rendered form a scrape writes.

use std::borrow::Cow;

use crate::catalog::Source;
use crate::encoding::names::Escaping;
use crate::encoding::{ConstLabels, FamilyHeader, Format, MetricType};
use crate::error::{Error, ErrorKind, Result};
use crate::name;

/// Units that a name's last word declares by itself (`request_duration_seconds` → `seconds`).
const BASE_UNITS: &[&str] = &[
    "seconds", "bytes", "ratio", "meters", "grams", "volts", "amperes", "joules", "celsius",
];

/// A family's name, help text, unit and constant labels.
///
/// ```
/// use std::sync::Arc;
/// use vitalsign::{Counter, Descriptor, Format, Registry};
///
/// let registry = Registry::new();
/// let a = Arc::new(Counter::new());
/// let b = Arc::new(Counter::new());
/// let desc = |shard| Descriptor::new("jobs", "Jobs done.").const_label("shard", shard);
/// registry.register_shared(desc("a"), a.clone())?;
/// registry.register_shared(desc("b"), b.clone())?;
/// b.inc();
/// assert_eq!(registry.render(Format::Prometheus), r#"# HELP jobs_total Jobs done.
/// ## TYPE jobs_total counter
/// jobs_total{shard="a"} 0
/// jobs_total{shard="b"} 1
/// "#);
/// # Ok::<(), vitalsign::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Descriptor {
    name: Cow<'static, str>,
    help: Cow<'static, str>,
    unit: Option<Cow<'static, str>>,
    const_labels: Vec<(Cow<'static, str>, Cow<'static, str>)>,
    source: Source,
}

impl Descriptor {
    /// A family called `name`, described by `help`. Spaces and tabs at either end of `help` are
    /// dropped: the formats have no escape for them, and parsers skip them.
    pub fn new(name: impl Into<Cow<'static, str>>, help: impl Into<Cow<'static, str>>) -> Self {
        Self {
            name: name.into(),
            help: help.into(),
            unit: None,
            const_labels: Vec::new(),
            source: Source::User,
        }
    }

    /// Says what made the family, for its [catalogue](crate::catalog) entry and the dashboards
    /// built from it (vitalsign's layers and macros set it; the default is [`Source::User`]).
    #[must_use]
    pub fn source(mut self, source: Source) -> Self {
        self.source = source;
        self
    }

    /// Declares the unit; `_<unit>` is appended to the name if it does not end with it.
    #[must_use]
    pub fn unit(mut self, unit: impl Into<Cow<'static, str>>) -> Self {
        self.unit = Some(unit.into());
        self
    }

    /// Adds a label every series of this registration carries. Several registrations may share
    /// one family name when they differ in constant labels.
    #[must_use]
    pub fn const_label(
        mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<Cow<'static, str>>,
    ) -> Self {
        self.const_labels.push((name.into(), value.into()));
        self
    }

    /// The name as given.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn resolve(&self, kind: MetricType) -> Result<Resolved> {
        name::check_metric_name(&self.name)?;
        if kind == MetricType::StateSet && self.name.contains(':') {
            // Escaped, it would be one name as a metric and another as its label.
            return Err(Error::new(
                ErrorKind::InvalidMetricName,
                format!(
                    "invalid metric name {:?} for a state set: its name is also its state label, \
                     and a scraper without UTF-8 names keeps `:` in a metric name but escapes it \
                     in a label name ({:?}), so it would see two names",
                    self.name,
                    Escaping::Underscores.escape(&self.name, true)
                ),
            ));
        }
        let stripped = match kind {
            MetricType::Counter => self.name.strip_suffix("_total"),
            MetricType::Info => self.name.strip_suffix("_info"),
            _ => None,
        };
        let mut base = stripped.unwrap_or(&self.name).to_owned();
        if base.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidMetricName,
                format!(
                    "invalid metric name {:?}: nothing is left before the suffix",
                    self.name
                ),
            ));
        }
        let unit = self.unit_of(kind, &mut base)?;

        let mut resolved = Resolved {
            given: self.name.as_ref().into(),
            name: base.into(),
            help: self.help.trim_matches([' ', '\t']).into(),
            unit: unit.map(Into::into),
            kind,
            source: self.source,
            const_names: Vec::new(),
            const_labels: ConstLabels::default(),
            keys: Box::default(),
        };
        let mut pairs = Vec::with_capacity(self.const_labels.len());
        for (k, v) in &self.const_labels {
            resolved.check_label(k)?;
            resolved.const_names.push(k.as_ref().into());
            pairs.push((k.as_ref().into(), v.as_ref().into()));
        }
        resolved.const_labels = ConstLabels::new(pairs);
        resolved.keys = sample_keys(&resolved.name, kind);
        Ok(resolved)
    }

    /// The family's unit (given, or inferred from a base unit the name ends in), with `base`
    /// made to end in it.
    fn unit_of(&self, kind: MetricType, base: &mut String) -> Result<Option<String>> {
        let unit_allowed = !matches!(kind, MetricType::Info | MetricType::StateSet);
        let unit = match &self.unit {
            Some(_) if !unit_allowed => {
                return Err(Error::new(
                    ErrorKind::InvalidMetricName,
                    format!(
                        "metric `{}`: {} metrics have no unit",
                        self.name,
                        kind.type_name(Format::OpenMetrics)
                    ),
                ));
            }
            Some(unit) => {
                if unit.is_empty() || !unit.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
                {
                    return Err(Error::new(
                        ErrorKind::InvalidMetricName,
                        format!("metric `{}`: invalid unit {unit:?}", self.name),
                    ));
                }
                if !base.ends_with(&format!("_{unit}")) {
                    *base = format!("{base}_{unit}");
                }
                Some(unit.to_string())
            }
            None if unit_allowed => BASE_UNITS
                .iter()
                .find(|u| base.len() > u.len() + 1 && base.ends_with(&format!("_{u}")))
                .map(|u| (*u).to_owned()),
            None => None,
        };
        Ok(unit)
    }
}

/// Every sample name of a family named `name`, and what a scraper without UTF-8 names sees of
/// each (escaped with underscores, dots or values): two families must not look alike to it
/// either.
fn sample_keys(name: &str, kind: MetricType) -> Box<[Box<str>]> {
    let mut keys: Vec<Box<str>> = Vec::new();
    let samples = std::iter::once(name.to_owned()).chain(
        kind.sample_suffixes()
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| format!("{name}{s}")),
    );
    for sample in samples {
        for escaping in [Escaping::Underscores, Escaping::Dots, Escaping::Values] {
            let escaped = escaping.escape(&sample, false);
            if !keys.iter().any(|k| **k == *escaped) {
                keys.push(escaped.into());
            }
        }
        if !keys.iter().any(|k| **k == *sample) {
            keys.push(sample.into());
        }
    }
    keys.into()
}

/// A validated descriptor.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    /// The name as registered (`foo_total`), for collectors to refer to.
    pub(crate) given: Box<str>,
    /// The family name (`foo`).
    pub(crate) name: Box<str>,
    pub(crate) help: Box<str>,
    pub(crate) unit: Option<Box<str>>,
    pub(crate) kind: MetricType,
    /// What made it.
    pub(crate) source: Source,
    pub(crate) const_names: Vec<Box<str>>,
    /// The constant labels, in `const_names` order.
    pub(crate) const_labels: ConstLabels,
    /// The family name and every sample name the family writes.
    keys: Box<[Box<str>]>,
}

impl Resolved {
    pub(crate) fn self_metric(name: &str, help: &str) -> Self {
        Self {
            given: name.into(),
            name: name.into(),
            help: help.into(),
            unit: None,
            kind: MetricType::Counter,
            source: Source::Vitalsign,
            const_names: Vec::new(),
            const_labels: ConstLabels::default(),
            keys: Box::default(),
        }
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = Box<str>> + '_ {
        self.keys.iter().cloned()
    }

    /// Why another registration of this family's name may not join it as one more part, if it
    /// may not: parts of one family share its type, HELP and unit.
    pub(crate) fn incompatibility(&self, other: &Resolved) -> Option<&'static str> {
        if self.kind != other.kind {
            Some("")
        } else if self.help != other.help {
            Some(" with a different HELP text (parts of one family share it)")
        } else if self.unit != other.unit {
            Some(" with a different unit (parts of one family share it)")
        } else {
            None
        }
    }

    /// Checks a label name a series of this family carries.
    pub(crate) fn check_label(&self, label: &str) -> Result<()> {
        name::check_label_name(
            &format_args!("metric `{}`", self.name),
            label,
            self.kind.reserved_labels(),
        )?;
        if self.kind == MetricType::StateSet && label == &*self.name {
            return Err(Error::new(
                ErrorKind::InvalidLabelName,
                format!(
                    "invalid label name {label:?} on metric `{}`: a state set's own name is its state label",
                    self.name
                ),
            ));
        }
        if self.const_names.iter().any(|n| &**n == label) {
            return Err(Error::new(
                ErrorKind::InvalidLabelName,
                format!(
                    "invalid label name {label:?} on metric `{}`: it is also a constant label",
                    self.name
                ),
            ));
        }
        Ok(())
    }

    /// Whether a `?name[]=` selection includes this family.
    pub(crate) fn selected(&self, names: Option<&[&str]>) -> bool {
        names.is_none_or(|names| {
            names
                .iter()
                .any(|n| self.keys.iter().any(|k| &**k == *n) || *n == &*self.given)
        })
    }

    /// The family as data, with `series`.
    pub(crate) fn gathered(
        &self,
        series: Vec<crate::encoding::gather::Series>,
    ) -> crate::encoding::gather::Family {
        crate::encoding::gather::Family {
            name: self.name.to_string(),
            kind: self.kind,
            unit: self.unit.as_deref().map(str::to_owned),
            help: self.help.to_string(),
            series,
        }
    }

    /// What the family's header says, for the encoder.
    pub(crate) fn header(&self) -> FamilyHeader<'_> {
        FamilyHeader {
            name: &self.name,
            help: &self.help,
            unit: self.unit.as_deref(),
            kind: self.kind,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(name: &'static str, kind: MetricType) -> Result<Resolved> {
        Descriptor::new(name, "h").resolve(kind)
    }

    #[test]
    fn names_units_and_suffixes() {
        let r = resolve("http_requests_total", MetricType::Counter).unwrap();
        assert_eq!((&*r.name, r.unit.as_deref()), ("http_requests", None));
        let r = resolve("cpu_seconds_total", MetricType::Counter).unwrap();
        assert_eq!(
            (&*r.name, r.unit.as_deref()),
            ("cpu_seconds", Some("seconds"))
        );
        let r = resolve("build_info", MetricType::Info).unwrap();
        assert_eq!(&*r.name, "build");
        let r = Descriptor::new("payload", "h")
            .unit("bytes")
            .resolve(MetricType::Histogram)
            .unwrap();
        assert_eq!(
            (&*r.name, r.unit.as_deref()),
            ("payload_bytes", Some("bytes"))
        );
        // A bare unit word is a name, not a unit.
        assert_eq!(resolve("seconds", MetricType::Gauge).unwrap().unit, None);
        assert_eq!(
            resolve("_total", MetricType::Counter)
                .unwrap_err()
                .to_string(),
            "invalid metric name \"_total\": nothing is left before the suffix"
        );
        assert_eq!(
            Descriptor::new("mode", "h")
                .unit("seconds")
                .resolve(MetricType::StateSet)
                .unwrap_err()
                .to_string(),
            "metric `mode`: stateset metrics have no unit"
        );
    }

    #[test]
    fn reserved_labels() {
        let h = resolve("lat_seconds", MetricType::Histogram).unwrap();
        assert_eq!(
            h.check_label("le").unwrap_err().to_string(),
            "invalid label name \"le\" on metric `lat_seconds`: `le` is reserved on this metric type"
        );
        let s = resolve("mode", MetricType::StateSet).unwrap();
        assert_eq!(
            s.check_label("mode").unwrap_err().kind(),
            ErrorKind::InvalidLabelName
        );
        let c = Descriptor::new("c", "h")
            .const_label("quantile", "x")
            .resolve(MetricType::Summary)
            .unwrap_err();
        assert_eq!(
            c.to_string(),
            "invalid label name \"quantile\" on metric `c`: `quantile` is reserved on this metric type"
        );
    }
}
