//! Exemplars from trace context: a request's `traceparent` becomes the exemplar of the duration
//! buckets of the request (the HTTP layer) and of the instrumented functions it runs, in
//! OpenMetrics only, and real consumers read them back.

use vitalsign_tests as support;

use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::routing::post;
use http::Request;
use http_body_util::BodyExt;
use tower::ServiceExt;
use vitalsign::trace::TraceContext;
use vitalsign::{Buckets, Counter, Format, Histogram, Registry, instrument_metrics};
use vitalsign_tower::MetricsLayer;

static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::new);

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN: &str = "00f067aa0ba902b7";

/// Yields before it returns, so the runtime may poll it again on another worker thread.
#[instrument_metrics(registry = REGISTRY, buckets = [10.0])]
async fn charge(cents: u64) -> u64 {
    tokio::task::yield_now().await;
    tokio::time::sleep(Duration::from_millis(1)).await;
    cents
}

fn app() -> Router {
    let layer = MetricsLayer::builder()
        .registry(&REGISTRY)
        .buckets(Buckets::new([10.0]).unwrap())
        .build()
        .unwrap();
    Router::new()
        .route("/pay", post(|| async { charge(5).await.to_string() }))
        .layer(layer)
}

async fn pay(app: &Router, traceparent: Option<&str>) {
    let mut request = Request::builder().method("POST").uri("/pay");
    if let Some(t) = traceparent {
        request = request.header("traceparent", t);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"5");
}

/// Each OpenMetrics line with an exemplar: the sample part, the exemplar's labels, its value
/// and its timestamp.
fn exemplars(text: &str) -> Vec<(String, String, f64, f64)> {
    text.lines()
        .filter_map(|line| {
            let (sample, exemplar) = line.split_once(" # ")?;
            let (labels, rest) = exemplar.split_once("} ")?;
            let (value, ts) = rest.split_once(' ')?;
            Some((
                sample.to_owned(),
                format!("{labels}}}"),
                value.parse().unwrap(),
                ts.parse().unwrap(),
            ))
        })
        .collect()
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_trace_is_the_exemplar_of_its_buckets() {
    let app = app();
    let before = now();
    pay(&app, Some(&format!("00-{TRACE}-{SPAN}-01"))).await;
    // Unsampled, absent and malformed contexts leave the exemplars as they are.
    pay(&app, Some(&format!("00-{}-{SPAN}-00", "1".repeat(32)))).await;
    pay(&app, None).await;
    pay(&app, Some("00-not-a-trace-01")).await;
    let after = now();

    let text = REGISTRY.render(Format::OpenMetrics);
    let found = exemplars(&text);
    let samples: Vec<&str> = found.iter().map(|(s, ..)| s.as_str()).collect();
    assert_eq!(
        samples,
        [
            r#"function_calls_duration_seconds_bucket{function="charge",module="exemplars",le="10.0"} 4"#,
            r#"http_server_request_duration_seconds_bucket{http_request_method="POST",http_route="/pay",http_response_status_code="200",le="10.0"} 4"#,
        ],
        "{text}"
    );
    for (sample, labels, value, ts) in &found {
        assert_eq!(
            labels,
            &format!(r#"{{trace_id="{TRACE}",span_id="{SPAN}"}}"#),
            "{sample}"
        );
        // Durations in seconds: at least the handler's 1 ms sleep, under the test's span.
        assert!(
            *value >= 0.001 && *value <= after - before + 0.01,
            "{sample}: {value}"
        );
        assert!(
            *ts >= before.floor() - 0.001 && *ts <= after + 0.001,
            "{sample}: {ts} not in {before}..{after}"
        );
    }
    // The 0.0.4 format has no exemplars.
    assert_eq!(
        REGISTRY.render(Format::Prometheus).matches(" # ").count(),
        0
    );

    // The latest sampled trace wins.
    let later = "0af7651916cd43dd8448eb211c80319c";
    pay(&app, Some(&format!("00-{later}-b7ad6b7169203331-01"))).await;
    let found = exemplars(&REGISTRY.render(Format::OpenMetrics));
    let labels: Vec<&str> = found.iter().map(|(_, l, ..)| l.as_str()).collect();
    let expected = format!(r#"{{trace_id="{later}",span_id="b7ad6b7169203331"}}"#);
    assert_eq!(labels, [expected.as_str(), expected.as_str()]);
}

/// Exemplars land in the bucket their value landed in, on histograms and on traced counters.
#[test]
fn exemplars_go_to_the_bucket_observed() {
    let registry = Registry::new();
    let h = registry
        .register(
            "payment_seconds",
            "Payment latency.",
            Histogram::new(Buckets::new([0.1, 1.0]).unwrap()),
        )
        .unwrap();
    let refunds = registry
        .register("refunds", "Refunds.", Counter::new())
        .unwrap();
    let a = TraceContext::new([0xaa; 16], [0x0a; 8], true).unwrap();
    let b = TraceContext::new([0xbb; 16], [0x0b; 8], true).unwrap();
    a.scope(|| {
        h.observe(0.05);
        refunds.inc_by_traced(2);
        refunds.inc(); // plain `inc` keeps the exemplar it has
    });
    b.scope(|| h.observe(5.0));
    h.observe(0.5); // no context: no exemplar for the middle bucket
    let text = registry.render(Format::OpenMetrics);
    let got: Vec<(String, String, f64)> = exemplars(&text)
        .into_iter()
        .map(|(s, l, v, _)| (s, l, v))
        .collect();
    let ids = |c: u8, s: u8| {
        format!(
            r#"{{trace_id="{}",span_id="{}"}}"#,
            format!("{c:02x}").repeat(16),
            format!("{s:02x}").repeat(8)
        )
    };
    assert_eq!(
        got,
        [
            (
                r#"payment_seconds_bucket{le="0.1"} 1"#.to_owned(),
                ids(0xaa, 0x0a),
                0.05
            ),
            (
                r#"payment_seconds_bucket{le="+Inf"} 3"#.to_owned(),
                ids(0xbb, 0x0b),
                5.0
            ),
            ("refunds_total 3".to_owned(), ids(0xaa, 0x0a), 2.0),
        ],
        "{text}"
    );
}

/// Both of prometheus_client's parsers read the output: the strict OpenMetrics one with the
/// exemplars, the 0.0.4 one without.
#[test]
#[ignore = "needs python3 with prometheus_client"]
fn python_parsers_read_the_exemplars() {
    let registry = Registry::new();
    let h = registry
        .register(
            "payment_seconds",
            "Payment latency.",
            Histogram::new(Buckets::new([0.1, 1.0]).unwrap()),
        )
        .unwrap();
    let cx = TraceContext::from_traceparent(&format!("00-{TRACE}-{SPAN}-01")).unwrap();
    cx.scope(|| h.observe(0.25));
    let text = registry.render(Format::OpenMetrics);
    let ts = exemplars(&text)[0].3;
    let dump = support::python_dump("openmetrics", &text);
    let exemplar_lines: Vec<&str> = dump.lines().filter(|l| l.starts_with("E ")).collect();
    assert_eq!(
        exemplar_lines,
        [format!("E span_id={SPAN},trace_id={TRACE} 0.25 {ts:?}")],
        "{dump}"
    );
    let plain = support::python_dump("text", &registry.render(Format::Prometheus));
    assert_eq!(plain.lines().filter(|l| l.starts_with("E ")).count(), 0);
    assert_eq!(plain.lines().filter(|l| l.starts_with("S ")).count(), 5);
}
