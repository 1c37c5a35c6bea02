//! UTF-8 metric and label names (OpenTelemetry style: `http.server.requests`, `service.name`)
//! in every format and escaping scheme: written exactly, read back by Python's parsers in each
//! scheme, and stored by Prometheus 2.42 (which takes no UTF-8 names) as the escaped legacy names
//! it asked for.

use vitalsign_tests as support;

use std::sync::Arc;
use std::time::Duration;

use vitalsign::encoding::Escaping;
use vitalsign::{
    Buckets, Counter, Descriptor, EncodeOptions, Format, Histogram, Registry, SparseFamily,
};

const SCHEMES: [Escaping; 4] = [
    Escaping::AllowUtf8,
    Escaping::Underscores,
    Escaping::Dots,
    Escaping::Values,
];

/// A counter family and a histogram with UTF-8 names, and a legacy counter beside them.
fn registry() -> Registry {
    let registry = Registry::new();
    let requests = Arc::new(SparseFamily::<Counter, 1>::new(["http.route"], 10).unwrap());
    registry
        .register_shared(
            Descriptor::new("http.server.requests", "Requests served.")
                .const_label("service.name", "shop"),
            requests.clone(),
        )
        .unwrap();
    requests.get(["/cart"]).inc_by(3);
    registry
        .register(
            "http.server.duration",
            "Time to serve.",
            Histogram::new(Buckets::new([0.1]).unwrap()),
        )
        .unwrap()
        .observe(0.25);
    registry
        .register("plain", "A legacy name.", Counter::new())
        .unwrap()
        .inc();
    registry
}

/// The families registered here, without vitalsign's own counts beside them (whose `metric`
/// label holds a family's name as registered, a value that no scheme escapes:
/// `self_metrics_name_families_as_registered`).
fn render(registry: &Registry, format: Format, escaping: Escaping) -> String {
    let mut out = Vec::new();
    registry.encode(&mut out, &EncodeOptions::new(format).escaping(escaping));
    String::from_utf8(out)
        .unwrap()
        .lines()
        .filter(|l| {
            !l.starts_with("vitalsign_")
                && !l.starts_with("# HELP vitalsign_")
                && !l.starts_with("# TYPE vitalsign_")
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn self_metrics_name_families_as_registered() {
    let registry = registry();
    for escaping in SCHEMES {
        let mut out = Vec::new();
        registry.encode(
            &mut out,
            &EncodeOptions::new(Format::Prometheus).escaping(escaping),
        );
        let text = String::from_utf8(out).unwrap();
        let own: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("vitalsign_"))
            .collect();
        assert_eq!(
            own,
            [
                "vitalsign_series_overflow_total{metric=\"http.server.requests\"} 0",
                "vitalsign_series_removed_total{metric=\"http.server.requests\"} 0"
            ],
            "{escaping:?}"
        );
    }
}

#[test]
fn every_scheme_writes_exactly() {
    let registry = registry();
    assert_eq!(
        render(&registry, Format::OpenMetrics, Escaping::AllowUtf8),
        r#"# HELP "http.server.requests" Requests served.
# TYPE "http.server.requests" counter
{"http.server.requests_total","service.name"="shop","http.route"="/cart"} 3
# HELP "http.server.duration" Time to serve.
# TYPE "http.server.duration" histogram
{"http.server.duration_bucket",le="0.1"} 0
{"http.server.duration_bucket",le="+Inf"} 1
{"http.server.duration_count"} 1
{"http.server.duration_sum"} 0.25
# HELP plain A legacy name.
# TYPE plain counter
plain_total 1
# EOF
"#
    );
    assert_eq!(
        render(&registry, Format::Prometheus, Escaping::Underscores),
        r#"# HELP http_server_requests_total Requests served.
# TYPE http_server_requests_total counter
http_server_requests_total{service_name="shop",http_route="/cart"} 3
# HELP http_server_duration Time to serve.
# TYPE http_server_duration histogram
http_server_duration_bucket{le="0.1"} 0
http_server_duration_bucket{le="+Inf"} 1
http_server_duration_count 1
http_server_duration_sum 0.25
# HELP plain_total A legacy name.
# TYPE plain_total counter
plain_total 1
"#
    );
    // The family's name escaped, a sample's suffix after it as it is (parsers find the family).
    let values = render(&registry, Format::Prometheus, Escaping::Values);
    assert!(
        values.contains("\nU__http_2e_server_2e_duration_count 1\n"),
        "{values}"
    );
    let dots = render(&registry, Format::Prometheus, Escaping::Dots);
    assert!(
        dots.contains(
            "\nhttp_dot_server_dot_requests_total{service_dot_name=\"shop\",http_dot_route=\"/cart\"} 3\n"
        ),
        "{dots}"
    );
}

/// The family and sample names, and label names, as Python read them (`F`, `S` lines of
/// `dump.py`, values left out).
fn names(dump: &str) -> Vec<String> {
    dump.lines()
        .map(|line| {
            let mut f = line.split(' ');
            match f.next() {
                Some("F") => format!("F {}", f.next().unwrap_or_default()),
                Some("S") => {
                    let name = f.next().unwrap_or_default();
                    let labels: Vec<&str> = f
                        .next()
                        .unwrap_or_default()
                        .split(',')
                        .map(|l| l.split('=').next().unwrap_or_default())
                        .collect();
                    format!("S {name} {}", labels.join(","))
                }
                _ => line.to_owned(),
            }
        })
        .collect()
}

#[test]
#[ignore = "needs python3 with prometheus_client"]
fn python_reads_every_scheme() {
    let registry = registry();
    for (format, parser) in [
        (Format::OpenMetrics, "openmetrics"),
        (Format::PrometheusV1, "text"),
    ] {
        let texts: Vec<String> = SCHEMES
            .iter()
            .map(|&e| render(&registry, format, e))
            .collect();
        let dumps = support::python_dump_batch(parser, &texts);
        for (scheme, dump) in SCHEMES.iter().zip(&dumps) {
            assert!(!dump.starts_with("ERROR"), "{parser} {scheme:?}: {dump}");
            let label = |n: &str| scheme.escape(n, true).into_owned();
            let requests = scheme.escape("http.server.requests", false);
            let duration = scheme.escape("http.server.duration", false);
            // One family each (Python names a counter's without `_total`), its samples the
            // escaped name and the suffix.
            let want = vec![
                format!("F {requests}"),
                format!(
                    "S {requests}_total {},{}",
                    label("http.route"),
                    label("service.name")
                ),
                format!("F {duration}"),
                format!("S {duration}_bucket le"),
                format!("S {duration}_bucket le"),
                format!("S {duration}_count -"),
                format!("S {duration}_sum -"),
                "F plain".to_owned(),
                "S plain_total -".to_owned(),
            ];
            assert_eq!(names(dump), want, "{parser} {scheme:?}:\n{dump}");
        }
    }
}

#[test]
#[ignore = "needs prometheus (Debian package prometheus)"]
fn prometheus_2_stores_the_escaped_names() {
    let registry: &'static Registry = Box::leak(Box::new(registry()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let exporter = runtime
        .block_on(vitalsign_tower::serve_handler(
            "127.0.0.1:0".parse().expect("addr"),
            vitalsign_tower::MetricsHandler::new(registry),
        ))
        .expect("exporter");
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n\
         \x20 - job_name: utf8\n    static_configs:\n      - targets: ['{}']\n",
        exporter.local_addr()
    );
    let (_prometheus, addr, _dir) = support::start_prometheus(&config, &[]);
    let query = "/api/v1/query?query=http_server_requests_total%7Bservice_name%3D%22shop%22%2Chttp_route%3D%22%2Fcart%22%7D";
    let stored = support::wait_for(Duration::from_secs(60), || {
        let (_, body) = support::http_get(addr, query);
        body.contains("\"3\"]").then_some(body)
    });
    assert!(
        stored.is_some(),
        "Prometheus did not store the escaped counter"
    );
    let (_, body) = support::http_get(
        addr,
        "/api/v1/label/__name__/values?match[]=%7Bjob%3D%22utf8%22%2C__name__%3D~%22http.*%22%7D",
    );
    assert_eq!(
        body,
        r#"{"status":"success","data":["http_server_duration_bucket","http_server_duration_count","http_server_duration_sum","http_server_requests_total"]}"#
    );
    drop(exporter);
}

/// Collectors and infos take UTF-8 names too, and are escaped alike.
#[test]
fn collectors_and_infos_take_utf8_names() {
    use vitalsign::{Collect, Collector, Info, MetricType};
    struct Pods;
    impl Collector for Pods {
        fn describe(&self) -> Vec<(MetricType, Descriptor)> {
            vec![(MetricType::Gauge, Descriptor::new("k8s.pods", "Pods."))]
        }
        fn collect(
            &self,
            out: &mut Collect<'_>,
        ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
            out.gauge("k8s.pods", &[("k8s.namespace", "shop")], 3)?;
            Ok(())
        }
    }
    let registry = Registry::new();
    registry.register_collector(Pods).unwrap();
    registry
        .register(
            "service",
            "The service.",
            Info::new([("service.version", "1.2")]).unwrap(),
        )
        .unwrap();
    assert_eq!(
        render(&registry, Format::Prometheus, Escaping::Underscores),
        r#"# HELP service_info The service.
# TYPE service_info gauge
service_info{service_version="1.2"} 1
# HELP k8s_pods Pods.
# TYPE k8s_pods gauge
k8s_pods{k8s_namespace="shop"} 3
"#
    );
    assert_eq!(
        render(&registry, Format::OpenMetrics, Escaping::AllowUtf8),
        r#"# HELP service The service.
# TYPE service info
service_info{"service.version"="1.2"} 1
# HELP "k8s.pods" Pods.
# TYPE "k8s.pods" gauge
{"k8s.pods","k8s.namespace"="shop"} 3
# EOF
"#
    );
}
