//! Grafana dashboards generated from what a service registers (its [`Catalog`]) and the
//! objectives in its code (feature `dashboards`).
//!
//! [`grafana`] writes Grafana's classic dashboard JSON (`schemaVersion` 39, what every Grafana
//! since 10 imports), a row per kind of family the service keeps:
//!
//! - **HTTP served** (`MetricsLayer`): requests a second by route and status, the 5xx ratio by
//!   route, p50/p95/p99 by route (with exemplars), requests in flight;
//! - **HTTP called** (the outbound layer): the same by `server_address`;
//! - **gRPC served** and **gRPC called**: calls by method and code, the failure ratio (the codes
//!   that mean the server failed), latency, stream messages;
//! - **Instrumented functions**: calls by result, errors by kind, latency, calls in progress;
//! - **Objectives**: each objective's SLIs, error budget left, burn rate per alert window and the
//!   regression alert's ratio, read from the series its rules record (load the rules
//!   [`alert_rules`](crate::objective::alert_rules) generates into the same Prometheus);
//! - **Runtime and process** (collectors) and **Other families** (the application's own and the
//!   `metrics` facade's): a default panel per family by type (a counter's rate, a gauge's
//!   value, a histogram's quantiles and heatmap, a summary's mean, an info's labels).
//!
//! Variables choose the data source, `job` and `instance`. Every query works whether
//! Prometheus stores a histogram as classic series, as a native histogram
//! (`--enable-feature=native-histograms` without `scrape_classic_histograms`: no `_bucket`,
//! `_count` or `_sum`), or both: each reads the classic form `or` the native one.
//!
//! ```
//! use vitalsign::dashboard::{self, Options};
//! use vitalsign::{Buckets, Histogram, Registry};
//!
//! let registry = Registry::new();
//! registry.register("job_duration_seconds", "How long jobs take.", Histogram::new(Buckets::latency()))?;
//! let json = dashboard::grafana(&registry.catalog(), &Options::new("Jobs").uid("jobs"))?;
//! assert!(json.contains(r#""schemaVersion": 39"#));
//! assert!(json.contains(r#""title": "job_duration_seconds: p50, p95, p99""#));
//! // The p95 from classic buckets, or from the native histogram where Prometheus keeps only that.
//! assert!(json.contains(r#"histogram_quantile(0.95, sum by (le) (rate(job_duration_seconds_bucket{job=\"$job\",instance=~\"$instance\"}[$__rate_interval]))) or histogram_quantile(0.95, sum (rate(job_duration_seconds{job=\"$job\",instance=~\"$instance\"}[$__rate_interval])))"#));
//! # Ok::<(), vitalsign::Error>(())
//! ```

mod model;
mod query;
mod rows;

use crate::catalog::{Catalog, Source};
use crate::error::Result;
use crate::objective::{Objective, RuleOptions, Target, charts};
use model::{GridPos, List, PROMETHEUS, Panel, Variable};
use rows::{Kind, PanelSpec, Row};

/// What a generated dashboard is called and which objectives it shows.
#[derive(Debug, Clone)]
#[must_use]
pub struct Options {
    title: String,
    uid: String,
    job: Option<String>,
    rules: RuleOptions,
    targets: Vec<(Objective, Target)>,
}

impl Options {
    /// A dashboard titled `title`, its uid derived from it.
    pub fn new(title: &str) -> Self {
        let uid: String = title
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .take(40)
            .collect();
        Self {
            title: title.to_owned(),
            uid,
            job: None,
            rules: RuleOptions::default(),
            targets: Vec::new(),
        }
    }

    /// Grafana's uid for it (at most 40 characters).
    pub fn uid(mut self, uid: &str) -> Self {
        self.uid = uid.chars().take(40).collect();
        self
    }

    /// The `job` the variable selects when the dashboard opens.
    pub fn job(mut self, job: &str) -> Self {
        self.job = Some(job.to_owned());
        self
    }

    /// The objectives over calls a layer measures, as given to
    /// [`alert_rules_with`](crate::objective::alert_rules_with), and the options those rules
    /// were generated with (their windows name the recorded series). Objectives attached to
    /// instrumented functions are shown without being named here.
    pub fn objectives(mut self, rules: RuleOptions, targets: &[(Objective, Target)]) -> Self {
        self.rules = rules;
        self.targets = targets.to_vec();
        self
    }
}

/// The Grafana dashboard of a service that registered `catalog`, as pretty-printed JSON.
///
/// Fails as [`alert_rules_with`](crate::objective::alert_rules_with) does: two objectives with
/// one name but different targets.
pub fn grafana(catalog: &Catalog, options: &Options) -> Result<String> {
    let mut rows: Vec<Row> = [
        rows::http_server(catalog),
        rows::http_client(catalog),
        rows::grpc(catalog, Source::GrpcServer),
        rows::grpc(catalog, Source::GrpcClient),
        rows::functions(catalog),
    ]
    .into_iter()
    .flatten()
    .collect();
    for (o, _) in crate::objective::declared(&options.targets)?.values() {
        rows.push(Row {
            title: format!("Objective: {}", o.name()),
            panels: charts::charts(o, &options.rules)
                .into_iter()
                .map(|chart| PanelSpec {
                    chart,
                    kind: Kind::TimeSeries,
                    exemplars: false,
                })
                .collect(),
        });
    }
    rows.extend(rows::by_type(
        catalog,
        "Runtime and process",
        &[Source::Collector],
    ));
    rows.extend(rows::by_type(
        catalog,
        "Other families",
        &[Source::User, Source::Facade],
    ));
    let dashboard = model::Dashboard {
        title: options.title.clone(),
        uid: options.uid.clone(),
        description: "Generated by vitalsign from the service's registry and objectives; \
                      regenerate it rather than editing it."
            .to_owned(),
        tags: vec!["vitalsign"],
        schema_version: model::SCHEMA_VERSION,
        version: 1,
        editable: true,
        graph_tooltip: 1,
        refresh: "10s",
        time: model::Time {
            from: "now-1h",
            to: "now",
        },
        timezone: "browser",
        annotations: List { list: Vec::new() },
        templating: List {
            list: variables(options.job.as_deref()),
        },
        panels: layout(rows),
    };
    let mut json = serde_json::to_string_pretty(&dashboard).unwrap_or_default();
    json.push('\n');
    Ok(json)
}

/// The data source, `job` and `instance` variables.
fn variables(job: Option<&str>) -> Vec<Variable> {
    let current = |v: Option<&str>| match v {
        Some(v) => serde_json::json!({ "selected": true, "text": v, "value": v }),
        None => serde_json::json!({}),
    };
    let query =
        |name: &'static str, label: &'static str, q: &str, all: bool, now: Option<&str>| Variable {
            name,
            label,
            kind: "query",
            datasource: Some(PROMETHEUS),
            query: serde_json::json!({ "query": q, "refId": name }),
            definition: Some(q.to_owned()),
            current: current(now),
            options: Vec::new(),
            refresh: 2,
            regex: "",
            hide: 0,
            include_all: all,
            multi: all,
            all_value: all.then_some(".*"),
            sort: 1,
        };
    vec![
        Variable {
            name: "datasource",
            label: "Data source",
            kind: "datasource",
            datasource: None,
            query: serde_json::json!("prometheus"),
            definition: None,
            current: current(None),
            options: Vec::new(),
            refresh: 1,
            regex: "",
            hide: 0,
            include_all: false,
            multi: false,
            all_value: None,
            sort: 0,
        },
        query("job", "Job", "label_values(up, job)", false, job),
        query(
            "instance",
            "Instance",
            "label_values(up{job=\"$job\"}, instance)",
            true,
            Some("$__all"),
        ),
    ]
}

/// Rows and their panels placed on Grafana's 24-column grid, two panels a line.
fn layout(rows: Vec<Row>) -> Vec<Panel> {
    let mut panels = Vec::new();
    let mut id = 0;
    let mut y = 0;
    for row in rows {
        id += 1;
        panels.push(Panel {
            id,
            kind: "row",
            title: row.title,
            grid_pos: GridPos {
                h: 1,
                w: 24,
                x: 0,
                y,
            },
            description: None,
            datasource: None,
            collapsed: Some(false),
            field_config: None,
            options: None,
            panels: Some(Vec::new()),
            targets: Vec::new(),
        });
        y += 1;
        for (i, spec) in row.panels.into_iter().enumerate() {
            id += 1;
            let x = if i % 2 == 0 { 0 } else { 12 };
            panels.push(panel(id, spec, GridPos { h: 8, w: 12, x, y }));
            if i % 2 == 1 {
                y += 8;
            }
        }
        if panels
            .last()
            .is_some_and(|p| p.grid_pos.x == 0 && p.kind != "row")
        {
            y += 8;
        }
    }
    panels
}

fn panel(id: u32, spec: PanelSpec, grid_pos: GridPos) -> Panel {
    let PanelSpec {
        chart,
        kind,
        exemplars,
    } = spec;
    let (kind_name, format, instant) = match kind {
        Kind::TimeSeries => ("timeseries", "time_series", false),
        Kind::Heatmap => ("heatmap", "heatmap", false),
        Kind::Table => ("table", "table", true),
    };
    let options = match kind {
        Kind::TimeSeries => serde_json::json!({
            "legend": { "displayMode": "list", "placement": "bottom", "showLegend": true },
            "tooltip": { "mode": "multi", "sort": "desc" }
        }),
        Kind::Heatmap => serde_json::json!({
            "calculate": false,
            "cellGap": 1,
            "color": { "mode": "scheme", "scheme": "Oranges" },
            "yAxis": { "unit": chart.unit },
            "tooltip": { "show": true, "yHistogram": true }
        }),
        Kind::Table => serde_json::json!({ "showHeader": true }),
    };
    let targets = chart
        .queries
        .into_iter()
        .enumerate()
        .map(|(i, (expr, legend))| model::Target {
            ref_id: ref_id(i),
            datasource: PROMETHEUS,
            expr,
            legend_format: legend,
            range: !instant,
            instant,
            exemplar: exemplars,
            format,
        })
        .collect();
    Panel {
        id,
        kind: kind_name,
        title: chart.title,
        grid_pos,
        description: None,
        datasource: Some(PROMETHEUS),
        collapsed: None,
        field_config: Some(serde_json::json!({
            "defaults": { "unit": chart.unit },
            "overrides": []
        })),
        options: Some(options),
        panels: None,
        targets,
    }
}

/// `A`, `B`, ... `Z`, `AA`, ...
fn ref_id(i: usize) -> String {
    let letter = |n: usize| char::from(b'A' + (n % 26) as u8);
    if i < 26 {
        letter(i).to_string()
    } else {
        format!("{}{}", letter(i / 26 - 1), letter(i))
    }
}
