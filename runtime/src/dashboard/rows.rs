//! The rows of a generated dashboard, one per kind of family a service keeps, each panel a
//! [`Chart`] of queries from [`query`](super::query).

use super::query::{counter_rate, heatmap, histogram_rate, mean, quantile, ratio, sel};
use crate::catalog::{Catalog, Entry, Source};
use crate::encoding::MetricType;
use crate::encoding::names::Escaping;
use crate::objective::charts::Chart;

/// A panel to lay out: a chart, and how Grafana draws it.
pub(super) struct PanelSpec {
    pub(super) chart: Chart,
    pub(super) kind: Kind,
    /// Whether its queries ask for exemplars (latency panels).
    pub(super) exemplars: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    TimeSeries,
    Heatmap,
    Table,
}

/// A row: its title and panels.
pub(super) struct Row {
    pub(super) title: String,
    pub(super) panels: Vec<PanelSpec>,
}

fn chart(title: impl Into<String>, unit: &'static str, queries: Vec<(String, String)>) -> Chart {
    Chart {
        title: title.into(),
        unit,
        queries,
    }
}

fn series(kind: Kind, exemplars: bool, chart: Chart) -> PanelSpec {
    PanelSpec {
        chart,
        kind,
        exemplars,
    }
}

fn plain(chart: Chart) -> PanelSpec {
    series(Kind::TimeSeries, false, chart)
}

/// p50, p95 and p99 of histogram `h` by `labels`, legends naming each label.
fn latency(title: String, h: &str, labels: &[&str], s: &str, unit: &'static str) -> PanelSpec {
    let legend: String = labels.iter().map(|l| format!("{{{{{l}}}}} ")).collect();
    let queries = ["0.5", "0.95", "0.99"]
        .iter()
        .map(|q| {
            let p = match *q {
                "0.5" => "p50",
                "0.95" => "p95",
                _ => "p99",
            };
            (quantile(q, h, labels, s), format!("{legend}{p}"))
        })
        .collect();
    series(Kind::TimeSeries, true, chart(title, unit, queries))
}

fn legend(labels: &[&str]) -> String {
    labels
        .iter()
        .map(|l| format!("{{{{{l}}}}}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The family of `source` whose name ends with `suffix`, of type `kind`.
fn find<'a>(c: &'a Catalog, source: Source, kind: MetricType, suffix: &str) -> Option<&'a Entry> {
    c.made_by(source)
        .find(|f| f.kind == kind && f.legacy_name.ends_with(suffix))
}

/// What tells the HTTP server's row from the client's: the label calls are grouped by, what a
/// call is called, which calls failed, and the titles.
struct HttpSide {
    source: Source,
    row: &'static str,
    by: &'static str,
    what: &'static str,
    failed: &'static str,
    failed_title: &'static str,
    in_flight: &'static str,
}

const SERVED: HttpSide = HttpSide {
    source: Source::HttpServer,
    row: "HTTP served",
    by: "route",
    what: "Requests",
    failed: r#"http_response_status_code=~"5..""#,
    failed_title: "Error ratio by route (5xx)",
    in_flight: "Requests in flight by route",
};

const CALLED: HttpSide = HttpSide {
    source: Source::HttpClient,
    row: "HTTP called",
    by: "host",
    what: "Calls",
    failed: r#"error_type!="""#,
    failed_title: "Error ratio by host (4xx, 5xx or no answer)",
    in_flight: "Calls in flight by host",
};

/// HTTP routes served: rate, error ratio, latency and in-flight by route.
pub(super) fn http_server(c: &Catalog) -> Option<Row> {
    http(c, &SERVED, "http_route")
}

/// Outbound HTTP calls by host: rate, error ratio, latency and calls in flight.
pub(super) fn http_client(c: &Catalog) -> Option<Row> {
    http(c, &CALLED, "server_address")
}

fn http(c: &Catalog, side: &HttpSide, label: &str) -> Option<Row> {
    let d = find(
        c,
        side.source,
        MetricType::Histogram,
        "request_duration_seconds",
    )?;
    let h = &*d.legacy_name;
    let s = sel("");
    let by = [label];
    let all = histogram_rate(h, &by, &s);
    let failed = histogram_rate(h, &by, &sel(side.failed));
    let each = format!("{{{{{label}}}}}");
    let mut panels = vec![
        plain(chart(
            format!("{} per second by {} and status", side.what, side.by),
            "reqps",
            vec![(
                histogram_rate(h, &[label, "http_response_status_code"], &s),
                format!("{each} {{{{http_response_status_code}}}}"),
            )],
        )),
        plain(chart(
            side.failed_title,
            "percentunit",
            vec![(ratio(&failed, &all), each.clone())],
        )),
        latency(format!("Latency by {}", side.by), h, &by, &s, "s"),
    ];
    if let Some(active) = find(c, side.source, MetricType::Gauge, "active_requests") {
        panels.push(plain(chart(
            side.in_flight,
            "short",
            vec![(
                format!("sum by ({label}) ({}{{{s}}})", active.legacy_name),
                each,
            )],
        )));
    }
    Some(Row {
        title: side.row.to_owned(),
        panels,
    })
}

/// The gRPC codes that mean the server failed, as the objectives count them.
const GRPC_FAILED: &str =
    r#"grpc_code=~"Unknown|DeadlineExceeded|Unimplemented|Internal|Unavailable|DataLoss""#;

/// gRPC calls on one side by method and code: rate, error ratio, latency, messages.
pub(super) fn grpc(c: &Catalog, source: Source) -> Option<Row> {
    let handled = find(c, source, MetricType::Counter, "_handled")?;
    let (title, side) = match source {
        Source::GrpcServer => ("gRPC served", "server"),
        _ => ("gRPC called", "client"),
    };
    let s = sel("");
    let by_method = ["grpc_service", "grpc_method"];
    let counter = &*handled.samples[0];
    let all = counter_rate(counter, &by_method, &s);
    let failed = counter_rate(counter, &by_method, &sel(GRPC_FAILED));
    let mut panels = vec![
        plain(chart(
            format!("Calls per second by method and code ({side})"),
            "reqps",
            vec![(
                counter_rate(counter, &["grpc_service", "grpc_method", "grpc_code"], &s),
                "{{grpc_service}}/{{grpc_method}} {{grpc_code}}".to_owned(),
            )],
        )),
        plain(chart(
            format!("Error ratio by method ({side} failures)"),
            "percentunit",
            vec![(
                ratio(&failed, &all),
                "{{grpc_service}}/{{grpc_method}}".to_owned(),
            )],
        )),
    ];
    if let Some(h) = find(c, source, MetricType::Histogram, "_handling_seconds") {
        panels.push(latency(
            format!("Latency by method ({side})"),
            &h.legacy_name,
            &by_method,
            &s,
            "s",
        ));
    }
    let messages: Vec<(String, String)> = ["_msg_received", "_msg_sent"]
        .iter()
        .filter_map(|suffix| find(c, source, MetricType::Counter, suffix))
        .map(|f| {
            let what = f.legacy_name.rsplit('_').next().unwrap_or("");
            (
                counter_rate(&f.samples[0], &by_method, &s),
                format!("{{{{grpc_service}}}}/{{{{grpc_method}}}} {what}"),
            )
        })
        .collect();
    if !messages.is_empty() {
        panels.push(plain(chart(
            format!("Stream messages per second by method ({side})"),
            "short",
            messages,
        )));
    }
    Some(Row {
        title: title.to_owned(),
        panels,
    })
}

/// `#[instrument_metrics]` functions: calls by result, errors by kind, latency, concurrency.
pub(super) fn functions(c: &Catalog) -> Option<Row> {
    let calls = find(c, Source::Function, MetricType::Counter, "calls")?;
    let s = sel("");
    let counter = &*calls.samples[0];
    let mut panels = vec![
        plain(chart(
            "Calls per second by function and result",
            "reqps",
            vec![(
                counter_rate(counter, &["function", "result"], &s),
                "{{function}} {{result}}".to_owned(),
            )],
        )),
        plain(chart(
            "Errors per second by function and kind",
            "reqps",
            vec![(
                counter_rate(counter, &["function", "error"], &sel(r#"result="error""#)),
                "{{function}} {{error}}".to_owned(),
            )],
        )),
    ];
    if let Some(h) = find(
        c,
        Source::Function,
        MetricType::Histogram,
        "duration_seconds",
    ) {
        panels.push(latency(
            "Latency by function".to_owned(),
            &h.legacy_name,
            &["function"],
            &s,
            "s",
        ));
    }
    if let Some(g) = find(c, Source::Function, MetricType::Gauge, "concurrent") {
        panels.push(plain(chart(
            "Calls in progress by function",
            "short",
            vec![(
                format!("sum by (function) ({}{{{s}}})", g.legacy_name),
                "{{function}}".to_owned(),
            )],
        )));
    }
    Some(Row {
        title: "Instrumented functions".to_owned(),
        panels,
    })
}

/// A row of default panels for every family of `sources`, by type.
pub(super) fn by_type(c: &Catalog, title: &str, sources: &[Source]) -> Option<Row> {
    let panels: Vec<PanelSpec> = c
        .families
        .iter()
        .filter(|f| sources.contains(&f.source))
        .flat_map(default_panels)
        .collect();
    (!panels.is_empty()).then(|| Row {
        title: title.to_owned(),
        panels,
    })
}

/// The labels of `f` as PromQL names them (escaped to legacy names).
fn label_names(f: &Entry) -> Vec<String> {
    f.labels
        .iter()
        .filter(|l| l.values.as_ref().is_none_or(|v| v.len() > 1))
        .map(|l| Escaping::Underscores.escape(&l.name, true).into_owned())
        .collect()
}

/// What a family of its type is best seen as: a counter's rate, a gauge's value, a histogram's
/// quantiles and heatmap, a summary's mean, an info's labels.
fn default_panels(f: &Entry) -> Vec<PanelSpec> {
    let owned = label_names(f);
    let labels: Vec<&str> = owned.iter().map(String::as_str).collect();
    let s = sel("");
    let unit = match f.unit.as_deref() {
        Some("seconds") => "s",
        Some("bytes") => "bytes",
        Some("ratio") => "percentunit",
        _ => "short",
    };
    let name = f.selector_name();
    let title = |what: &str| format!("{name}: {what}");
    let by_instance: Vec<&str> = std::iter::once("instance")
        .chain(labels.iter().copied())
        .collect();
    match f.kind {
        MetricType::Counter => {
            let unit = if unit == "s" { "percentunit" } else { unit };
            vec![plain(chart(
                title("per second"),
                unit,
                vec![(counter_rate(name, &by_instance, &s), legend(&by_instance))],
            ))]
        }
        MetricType::Gauge => vec![plain(chart(
            title("value"),
            unit,
            vec![(format!("{name}{{{s}}}"), legend(&by_instance))],
        ))],
        MetricType::StateSet => vec![plain(chart(
            title("current state"),
            "short",
            vec![(format!("{name}{{{s}}} == 1"), legend(&by_instance))],
        ))],
        MetricType::Info => vec![series(
            Kind::Table,
            false,
            chart(
                title("labels"),
                "short",
                vec![(format!("{name}{{{s}}}"), String::new())],
            ),
        )],
        MetricType::Summary => vec![plain(chart(
            title("mean"),
            unit,
            vec![(mean(name, &labels, &s), legend(&labels))],
        ))],
        MetricType::Histogram => vec![
            latency(title("p50, p95, p99"), name, &labels, &s, unit),
            series(
                Kind::Heatmap,
                false,
                chart(
                    title("distribution"),
                    unit,
                    vec![(heatmap(name, &s), String::new())],
                ),
            ),
        ],
    }
}
