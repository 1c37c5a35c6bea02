//! The checks a registration passes before it touches the registry: reserved names, label names
//! (valid, and each once per series), and the errors that name both sides of a clash.

use super::descriptor::Resolved;
use crate::encoding::names::is_legacy;
use crate::encoding::{Escaping, Format, MetricType};
use crate::error::{Error, ErrorKind, Result};
use crate::metrics::Metric;

/// Who is registering: a user, or vitalsign itself (its self-metrics).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    User,
    Vitalsign,
}

/// Names starting with this are vitalsign's own self-metrics.
const RESERVED_PREFIX: &str = "vitalsign_";

pub(super) fn check_reserved(desc: &Resolved, origin: Origin) -> Result<()> {
    if origin == Origin::User && desc.name.starts_with(RESERVED_PREFIX) {
        return Err(Error::new(
            ErrorKind::Clash,
            format!(
                "cannot register `{}`: names starting with `{RESERVED_PREFIX}` are reserved for \
                 vitalsign's own self-metrics",
                desc.name
            ),
        ));
    }
    Ok(())
}

/// Every label name a series of `metric` registered as `desc` carries, sorted, after checking
/// each and refusing any that appears twice.
pub(super) fn label_names(desc: &Resolved, metric: &dyn Metric) -> Result<Vec<Box<str>>> {
    for (i, a) in desc.const_names.iter().enumerate() {
        if let Some(b) = desc.const_names[..i].iter().find(|b| same_label(a, b)) {
            return Err(Error::new(
                ErrorKind::InvalidLabelName,
                format!(
                    "invalid constant label {a:?} on metric `{}`: {}",
                    desc.name,
                    if a == b {
                        "it is given twice".to_owned()
                    } else {
                        format!(
                            "{b:?} is the same label to a scraper without UTF-8 names (escaped \
                             with underscores, dots or values)"
                        )
                    }
                ),
            ));
        }
    }
    let mut names: Vec<Box<str>> = desc.const_names.clone();
    let mut error = None;
    metric.label_names(&mut |label| {
        if error.is_some() {
            return;
        }
        if let Err(e) = desc.check_label(label) {
            error = Some(e);
        } else if let Some(other) = names.iter().find(|n| same_label(n, label)) {
            let why = if **other == *label {
                "the metric's series carry it twice".to_owned()
            } else {
                format!(
                    "the metric's series also carry {other:?}, which is the same label to a \
                     scraper without UTF-8 names (escaped with underscores, dots or values)"
                )
            };
            error = Some(Error::new(
                ErrorKind::InvalidLabelName,
                format!(
                    "invalid label name {label:?} on metric `{}`: {why}",
                    desc.name
                ),
            ));
        } else {
            names.push(label.into());
        }
    });
    if let Some(e) = error {
        return Err(e);
    }
    names.sort_unstable();
    Ok(names)
}

pub(super) fn braced(before: &str, labels: &str) -> String {
    if labels.is_empty() {
        String::new()
    } else {
        format!("{before}{{{labels}}}")
    }
}

/// What took a name: the family's name and type, and its place.
#[derive(Clone)]
pub(super) struct Taken {
    pub(super) name: Box<str>,
    pub(super) kind: MetricType,
    /// Index into `families`, or `None` for a collector's family.
    pub(super) family: Option<usize>,
}

pub(super) fn clash(new: &Resolved, key: &str, existing: &Taken) -> Error {
    let existing_kind = kind_name(existing.kind);
    let what = match (key == &*new.name, key == &*existing.name) {
        (true, true) => format!("`{key}` is already registered as a {existing_kind}"),
        (true, false) => format!(
            "`{key}` is a sample name of {existing_kind} `{}`",
            existing.name
        ),
        (false, true) => {
            format!("its sample name `{key}` is already registered as a {existing_kind}")
        }
        (false, false) => format!(
            "its sample name `{key}` is also a sample name of {existing_kind} `{}`",
            existing.name
        ),
    };
    let hint = if is_legacy(&new.name, false) && is_legacy(&existing.name, false) {
        ""
    } else {
        " (as a scraper without UTF-8 names sees them, escaped with underscores, dots or values)"
    };
    Error::new(
        ErrorKind::Clash,
        format!(
            "cannot register `{}` ({}): {what}{hint}",
            new.name,
            kind_name(new.kind)
        ),
    )
}

/// Whether two label names are one to some scraper: equal, or equal once escaped for one
/// without UTF-8 names.
pub(super) fn same_label(a: &str, b: &str) -> bool {
    a == b
        || LEGACY_SCHEMES
            .iter()
            .any(|e| e.escape(a, true) == e.escape(b, true))
}

/// The schemes that write names the legacy rules do not allow as legacy names: two names that
/// any of them writes alike are one name to that scraper.
pub(super) const LEGACY_SCHEMES: [Escaping; 3] =
    [Escaping::Underscores, Escaping::Dots, Escaping::Values];

pub(super) fn kind_name(kind: MetricType) -> &'static str {
    kind.type_name(Format::OpenMetrics)
}
