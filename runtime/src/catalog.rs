//! What a registry exports, as data: every family with its name as served, its type, unit and
//! HELP, its labels (with every value where the family bounds them), the most series it can
//! write, and what made it. [`Registry::catalog`](crate::Registry::catalog) builds one;
//! [`Catalog::to_markdown`] renders it for docs and reviews, `Catalog::to_json` (feature
//! `dashboards`) for tools, and `vitalsign::dashboard` (same feature) turns it into a Grafana
//! dashboard. [`assert_committed`] makes a test fail when a committed copy is stale: a
//! renamed metric or a dropped label blanks every dashboard that reads it.
//!
//! ```
//! use vitalsign::{Counter, Family, LabelValue, LabelSet, Registry};
//! use vitalsign::catalog::Source;
//!
//! #[derive(Clone, Copy, LabelValue)]
//! enum Outcome { Paid, Declined }
//! #[derive(LabelSet)]
//! struct Labels { outcome: Outcome }
//!
//! let registry = Registry::new();
//! registry.register("checkouts", "Checkouts by outcome.", Family::<Labels, Counter>::new())?;
//! let catalog = registry.catalog();
//! let checkouts = catalog.entry("checkouts").unwrap();
//! assert_eq!(checkouts.samples, ["checkouts_total"]);
//! assert_eq!(checkouts.labels[0].values.as_deref(), Some(&["paid".to_owned(), "declined".to_owned()][..]));
//! assert_eq!(checkouts.series_bound, Some(2));
//! assert_eq!(checkouts.source, Source::User);
//! // Markdown for docs and reviews: a table of every family (vitalsign's own self-metrics
//! // too), then a section per family.
//! let markdown = catalog.to_markdown();
//! assert_eq!(markdown.lines().take(5).collect::<Vec<_>>(), [
//!     "# Metrics",
//!     "",
//!     "| family | type | unit | labels | series | made by |",
//!     "|---|---|---|---|---|---|",
//!     "| `checkouts_total` | counter |  | `outcome` | 2 | user |",
//! ]);
//! assert!(markdown.contains("\n## `checkouts_total`\n\nCheckouts by outcome.\n\n- `outcome`: `paid`, `declined`\n"));
//! # Ok::<(), vitalsign::Error>(())
//! ```

use std::fmt::Write as _;
use std::path::Path;

use crate::encoding::MetricType;
use crate::encoding::names::Escaping;

/// What made a family: it says which row of a generated dashboard reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(
    feature = "dashboards",
    derive(serde::Serialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum Source {
    /// Registered by the application (the default).
    #[default]
    User,
    /// `#[instrument_metrics]` functions (`function_calls_*`).
    Function,
    /// vitalsign-tower's `MetricsLayer` (`http_server_*`).
    HttpServer,
    /// vitalsign-tower's outbound HTTP layer (`http_client_*`).
    HttpClient,
    /// vitalsign-tower's gRPC server layer (`grpc_server_*`).
    GrpcServer,
    /// vitalsign-tower's gRPC client layer (`grpc_client_*`).
    GrpcClient,
    /// A [`Collector`](crate::Collector): process, build info, the tokio runtime, or the
    /// application's own.
    Collector,
    /// The `metrics` facade (vitalsign-metrics).
    Facade,
    /// vitalsign's own self-metrics (`vitalsign_*`).
    Vitalsign,
}

impl Source {
    /// The name the catalogue writes (`http_server`).
    pub fn as_str(self) -> &'static str {
        match self {
            Source::User => "user",
            Source::Function => "function",
            Source::HttpServer => "http_server",
            Source::HttpClient => "http_client",
            Source::GrpcServer => "grpc_server",
            Source::GrpcClient => "grpc_client",
            Source::Collector => "collector",
            Source::Facade => "facade",
            Source::Vitalsign => "vitalsign",
        }
    }
}

/// One label of a family.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "dashboards", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Label {
    /// The name as registered.
    pub name: String,
    /// Every value the label can take, where the family bounds them (a dense family's label
    /// set, a constant label); `None` where they are open (a sparse family's).
    pub values: Option<Vec<String>>,
}

/// One family of the catalogue.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "dashboards", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Entry {
    /// The family name as registered, which Prometheus 3 gets as it is (`http.server.duration`
    /// may be UTF-8); a counter's family name has no `_total`.
    pub name: String,
    /// The family name as a scraper without UTF-8 names gets it (escaped with underscores).
    pub legacy_name: String,
    /// The sample names a scrape writes, as PromQL selects them in the legacy form
    /// (`x_total`; `h_bucket`, `h_count`, `h_sum`).
    pub samples: Vec<String>,
    /// The family's type.
    #[cfg_attr(
        feature = "dashboards",
        serde(rename = "type", serialize_with = "kind")
    )]
    pub kind: MetricType,
    /// The declared unit (`seconds`).
    pub unit: Option<String>,
    /// The HELP text.
    pub help: String,
    /// The labels its series carry, constant labels first.
    pub labels: Vec<Label>,
    /// The most series it can write in one scrape (a histogram's buckets count as one), or
    /// `None` where it cannot say.
    pub series_bound: Option<u64>,
    /// What made it.
    pub source: Source,
}

#[cfg(feature = "dashboards")]
fn kind<S: serde::Serializer>(kind: &MetricType, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(kind_name(*kind))
}

fn kind_name(kind: MetricType) -> &'static str {
    kind.type_name(crate::encoding::Format::OpenMetrics)
}

impl Entry {
    pub(crate) fn new(
        name: &str,
        kind: MetricType,
        unit: Option<&str>,
        help: &str,
        source: Source,
    ) -> Self {
        let legacy_name = Escaping::Underscores.escape(name, false).into_owned();
        let suffixes: &[&str] = match kind {
            MetricType::Counter => &["_total"],
            MetricType::Gauge | MetricType::StateSet => &[""],
            MetricType::Histogram => &["_bucket", "_count", "_sum"],
            MetricType::Summary => &["_count", "_sum"],
            MetricType::Info => &["_info"],
        };
        Self {
            samples: suffixes
                .iter()
                .map(|s| format!("{legacy_name}{s}"))
                .collect(),
            name: name.to_owned(),
            legacy_name,
            kind,
            unit: unit.map(str::to_owned),
            help: help.to_owned(),
            labels: Vec::new(),
            series_bound: Some(0),
            source,
        }
    }

    /// Adds `values` to label `name` (a new label if it has none yet); values `None` make the
    /// label open.
    pub(crate) fn add_label(&mut self, name: &str, values: Option<Vec<String>>) {
        let Some(label) = self.labels.iter_mut().find(|l| l.name == name) else {
            self.labels.push(Label {
                name: name.to_owned(),
                values,
            });
            return;
        };
        match (&mut label.values, values) {
            (Some(known), Some(more)) => {
                for v in more {
                    if !known.contains(&v) {
                        known.push(v);
                    }
                }
            }
            (known, _) => *known = None,
        }
    }

    /// The name a PromQL selector uses for the family's main sample: `x_total` for a counter,
    /// the family name for a histogram (its native form; add `_bucket` and friends for the
    /// classic one), `x_info` for an info, the name itself otherwise.
    pub fn selector_name(&self) -> &str {
        match self.kind {
            MetricType::Counter | MetricType::Info => &self.samples[0],
            _ => &self.legacy_name,
        }
    }

    /// The label called `name`, if the family has one.
    pub fn label(&self, name: &str) -> Option<&Label> {
        self.labels.iter().find(|l| l.name == name)
    }
}

/// Every family a registry exports, sorted by name.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "dashboards", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Catalog {
    /// The families, sorted by name.
    pub families: Vec<Entry>,
}

impl Catalog {
    pub(crate) fn new(mut families: Vec<Entry>) -> Self {
        families.sort_by(|a, b| a.name.cmp(&b.name));
        Self { families }
    }

    /// The family called `name` (as registered, or a sample name such as `x_total`).
    pub fn entry(&self, name: &str) -> Option<&Entry> {
        self.families
            .iter()
            .find(|f| f.name == name || f.samples.iter().any(|s| s == name))
    }

    /// The families made by `source`.
    pub fn made_by(&self, source: Source) -> impl Iterator<Item = &Entry> {
        self.families.iter().filter(move |f| f.source == source)
    }

    /// The catalogue as Markdown: a table of every family, then a section per family with its
    /// HELP and each label's values.
    pub fn to_markdown(&self) -> String {
        let mut out = String::from(
            "# Metrics\n\n| family | type | unit | labels | series | made by |\n|---|---|---|---|---|---|\n",
        );
        let code = |s: &str| format!("`{}`", s.replace('|', "\\|"));
        for f in &self.families {
            let labels: Vec<String> = f.labels.iter().map(|l| code(&l.name)).collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                code(f.selector_name()),
                kind_name(f.kind),
                f.unit.as_deref().unwrap_or(""),
                labels.join(", "),
                f.series_bound
                    .map_or_else(|| "unbounded".to_owned(), |b| b.to_string()),
                f.source.as_str(),
            );
        }
        for f in &self.families {
            let _ = write!(
                out,
                "\n## {}\n\n{}\n",
                code(f.selector_name()),
                f.help.trim()
            );
            if !f.labels.is_empty() {
                out.push('\n');
            }
            for l in &f.labels {
                let values = match &l.values {
                    // An empty value (no error kind) is written as PromQL matches it.
                    Some(values) => values
                        .iter()
                        .map(|v| if v.is_empty() { code("\"\"") } else { code(v) })
                        .collect::<Vec<_>>()
                        .join(", "),
                    None => "open".to_owned(),
                };
                let _ = writeln!(out, "- {}: {values}", code(&l.name));
            }
        }
        out
    }

    /// The catalogue as pretty-printed JSON (feature `dashboards`).
    #[cfg(feature = "dashboards")]
    pub fn to_json(&self) -> String {
        let mut json = serde_json::to_string_pretty(self).unwrap_or_default();
        json.push('\n');
        json
    }
}

/// Fails the calling test unless the file at `path` holds exactly `generated` (a catalogue, a
/// dashboard, a rules file), saying how to update it; with `VITALSIGN_BLESS=1` in the
/// environment it writes `generated` there instead. For a user's own tests:
///
/// ```no_run
/// # fn check() {
/// let catalog = vitalsign::default_registry().catalog();
/// vitalsign::catalog::assert_committed("docs/metrics.md", &catalog.to_markdown());
/// # }
/// ```
///
/// # Panics
///
/// When the file is missing or differs, which is the point: it is a test assertion.
#[track_caller]
pub fn assert_committed(path: impl AsRef<Path>, generated: &str) {
    let path = path.as_ref();
    if std::env::var_os("VITALSIGN_BLESS").is_some_and(|v| v == "1") {
        if let Err(e) = std::fs::write(path, generated) {
            panic!("cannot write {}: {e}", path.display());
        }
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    if committed == generated {
        return;
    }
    let line = committed
        .lines()
        .zip(generated.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
    panic!(
        "{} is stale: it differs from what the code generates from line {} on \
         (committed: {:?}, generated: {:?}); run the test again with VITALSIGN_BLESS=1 to \
         update it, and review the change",
        path.display(),
        line + 1,
        committed.lines().nth(line).unwrap_or("<end of file>"),
        generated.lines().nth(line).unwrap_or("<end of file>"),
    );
}
