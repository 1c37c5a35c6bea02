//! The `/metrics` endpoint: methods, content negotiation, gzip, `name[]` selection, the scrape
//! cap, a failing collector, and self-metrics; in process and through a real server.

use std::io::Read;
use std::sync::LazyLock;

use http::header::{ACCEPT, ACCEPT_ENCODING, ALLOW, CONTENT_ENCODING, CONTENT_TYPE};
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use vitalsign::{Collect, Collector, Counter, Descriptor, Gauge, MetricType, Registry};
use vitalsign_tower::MetricsHandler;

const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

struct Broken;

impl Collector for Broken {
    fn describe(&self) -> Vec<(MetricType, Descriptor)> {
        vec![(
            MetricType::Gauge,
            Descriptor::new("broken", "Always fails."),
        )]
    }
    fn collect(&self, _: &mut Collect<'_>) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        Err("database unreachable".into())
    }
}

fn shop_registry() -> Registry {
    let r = Registry::new();
    r.register("orders", "Orders.", Counter::new())
        .unwrap()
        .inc_by(3);
    r.register("queue", "Queue.", Gauge::new()).unwrap().set(2);
    r.register_collector(Broken).unwrap();
    r
}

static REGISTRY: LazyLock<Registry> = LazyLock::new(shop_registry);

async fn get(
    handler: &MetricsHandler,
    method: &str,
    uri: &str,
    headers: &[(http::HeaderName, &str)],
) -> (StatusCode, http::HeaderMap, Vec<u8>) {
    let mut request = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        request = request.header(k, *v);
    }
    let response = handler.handle(&request.body(()).unwrap());
    let (parts, body) = response.into_parts();
    (
        parts.status,
        parts.headers,
        body.collect().await.unwrap().to_bytes().to_vec(),
    )
}

fn text(body: &[u8]) -> String {
    String::from_utf8(body.to_vec()).unwrap()
}

#[tokio::test]
async fn negotiation_selection_and_errors() {
    // Its own registry, so the self-metrics count only this test's scrapes.
    static OWN: LazyLock<Registry> = LazyLock::new(shop_registry);
    let handler = MetricsHandler::new(&OWN);

    let (status, headers, body) = get(
        &handler,
        "GET",
        "/metrics?name[]=orders_total",
        &[(ACCEPT, PROMETHEUS_ACCEPT)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // The name escaping used is in the `Content-Type`, as Go's client writes it.
    assert_eq!(
        headers[CONTENT_TYPE],
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"
    );
    assert_eq!(
        text(&body),
        "# HELP orders Orders.\n# TYPE orders counter\norders_total 3\n# EOF\n"
    );

    let (status, headers, body) = get(
        &handler,
        "GET",
        "/metrics?name%5B%5D=queue&name[]=nothing",
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[CONTENT_TYPE],
        "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"
    );
    assert_eq!(
        text(&body),
        "# HELP queue Queue.\n# TYPE queue gauge\nqueue 2\n"
    );

    // Prometheus 3's default `Accept`: OpenMetrics, names as they are.
    let prometheus_3 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,\
        application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,\
        text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
    let (_, headers, _) = get(
        &handler,
        "GET",
        "/metrics?name[]=queue",
        &[(ACCEPT, prometheus_3)],
    )
    .await;
    assert_eq!(
        headers[CONTENT_TYPE],
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8"
    );
    let (_, headers, _) = get(
        &handler,
        "GET",
        "/metrics?name[]=queue",
        &[(ACCEPT, "text/plain;version=1.0.0;escaping=values")],
    )
    .await;
    assert_eq!(
        headers[CONTENT_TYPE],
        "text/plain; version=1.0.0; charset=utf-8; escaping=values"
    );

    // The failing collector is left out; everything else is there, and the failure is counted.
    let (status, _, body) = get(&handler, "GET", "/metrics", &[(ACCEPT, "garbage;;q=oops")]).await;
    assert_eq!(status, StatusCode::OK);
    let body = text(&body);
    assert!(body.starts_with("# HELP orders_total Orders.\n"), "{body}");
    assert!(!body.contains("broken "), "{body}");
    assert!(
        body.contains("vitalsign_collect_errors_total{metric=\"broken\"} "),
        "{body}"
    );
    assert!(
        body.contains("vitalsign_scrapes_total{code=\"200\"} "),
        "{body}"
    );

    let (status, headers, body) = get(&handler, "POST", "/metrics", &[]).await;
    assert_eq!(
        (
            status,
            headers[ALLOW].to_str().unwrap(),
            text(&body).as_str()
        ),
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "GET, HEAD",
            "metrics are read with GET or HEAD\n"
        )
    );

    let (status, headers, _) = get(&handler, "HEAD", "/metrics", &[]).await;
    assert_eq!(
        (status, headers[CONTENT_TYPE].to_str().unwrap()),
        (
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"
        )
    );

    let absurd = format!("/metrics?{}", vec!["name[]=x"; 300].join("&"));
    let (status, _, body) = get(&handler, "GET", &absurd, &[]).await;
    assert_eq!(
        (status, text(&body).as_str()),
        (
            StatusCode::BAD_REQUEST,
            "too many name[] selectors (at most 256)\n"
        )
    );

    let busy = MetricsHandler::new(&OWN).max_concurrent_scrapes(0);
    let (status, headers, body) = get(&busy, "GET", "/metrics", &[]).await;
    assert_eq!(
        (
            status,
            headers[http::header::RETRY_AFTER].to_str().unwrap(),
            text(&body).as_str()
        ),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "1",
            "too many scrapes at once; retry shortly\n"
        )
    );

    // Four 200s above (HEAD included), and this scrape, counted before it is encoded.
    let (_, _, body) = get(
        &handler,
        "GET",
        "/metrics?name[]=vitalsign_scrapes_total",
        &[],
    )
    .await;
    assert_eq!(
        text(&body),
        "# HELP vitalsign_scrapes_total Scrapes answered, by status code.\n# TYPE vitalsign_scrapes_total counter\n\
         vitalsign_scrapes_total{code=\"200\"} 7\nvitalsign_scrapes_total{code=\"400\"} 1\n\
         vitalsign_scrapes_total{code=\"405\"} 1\nvitalsign_scrapes_total{code=\"503\"} 1\n"
    );
}

#[tokio::test]
async fn gzip_when_accepted() {
    let handler = MetricsHandler::new(&REGISTRY);
    let (_, plain_headers, plain) = get(
        &handler,
        "GET",
        "/metrics?name[]=orders",
        &[(ACCEPT_ENCODING, "gzip;q=0")],
    )
    .await;
    assert_eq!(plain_headers.get(CONTENT_ENCODING), None);
    let (_, headers, zipped) = get(
        &handler,
        "GET",
        "/metrics?name[]=orders",
        &[(ACCEPT_ENCODING, "br, gzip")],
    )
    .await;
    assert_eq!(headers[CONTENT_ENCODING], "gzip");
    assert_eq!(headers[http::header::VARY], "Accept-Encoding");
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&zipped[..])
        .read_to_end(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, plain);
    assert_eq!(
        text(&plain),
        "# HELP orders_total Orders.\n# TYPE orders_total counter\norders_total 3\n"
    );
}

use vitalsign_tests::raw_request as raw;

#[tokio::test]
async fn standalone_exporter_serves_and_refuses_a_taken_address() {
    let exporter = vitalsign_tower::serve("127.0.0.1:0".parse().unwrap(), &REGISTRY)
        .await
        .unwrap();
    let addr = exporter.local_addr();
    assert_eq!(addr.ip().to_string(), "127.0.0.1");

    let (status, body) = raw(
        addr,
        "GET /metrics?name[]=queue HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(
        (status.as_str(), body.as_str()),
        (
            "HTTP/1.1 200 OK",
            "# HELP queue Queue.\n# TYPE queue gauge\nqueue 2\n"
        )
    );
    let (status, _) = raw(
        addr,
        "DELETE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, "HTTP/1.1 405 Method Not Allowed");
    let (status, _) = raw(addr, "GARBAGE\r\n\r\n").await;
    assert_eq!(status, "HTTP/1.1 400 Bad Request");

    let taken = vitalsign_tower::serve(addr, &REGISTRY).await.unwrap_err();
    assert_eq!(
        taken.to_string(),
        format!(
            "cannot start the metrics exporter on {addr}: Address already in use (os error 98)"
        )
    );

    exporter.shutdown().await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still listening after shutdown"
    );
}

/// Scrapes with a timeout run on one thread the handler keeps: with tokio's blocking pool set to
/// let an idle thread go after 10 ms, five scrapes 50 ms apart all encode on the same thread
/// (on the pool, each would have started a new one, as at 15 s with the pool's default 10 s).
#[test]
fn scrapes_with_a_timeout_reuse_one_thread() {
    use std::sync::Mutex;
    use std::thread::ThreadId;
    use std::time::Duration;

    static THREADS: Mutex<Vec<ThreadId>> = Mutex::new(Vec::new());
    static REGISTRY: LazyLock<Registry> = LazyLock::new(|| {
        let r = Registry::new();
        r.register(
            "thread_probe",
            "Records which thread encodes.",
            vitalsign::CallbackGauge::new(|| {
                THREADS.lock().unwrap().push(std::thread::current().id());
                1.0
            }),
        )
        .unwrap();
        r
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_keep_alive(Duration::from_millis(10))
        .enable_all()
        .build()
        .unwrap();
    let handler = MetricsHandler::new(&REGISTRY).timeout(Duration::from_secs(5));
    for _ in 0..5 {
        let request = Request::get("/metrics").body(()).unwrap();
        let response = runtime.block_on(handler.respond(&request));
        assert_eq!(response.status(), StatusCode::OK);
        std::thread::sleep(Duration::from_millis(50));
    }
    let threads = THREADS.lock().unwrap().clone();
    assert_eq!(threads.len(), 5);
    assert!(threads.iter().all(|t| *t == threads[0]), "{threads:?}");
    assert_ne!(threads[0], std::thread::current().id());
}

static LOST: LazyLock<Registry> = LazyLock::new(Registry::new);

mod lost_statics {
    /// Two instrumented functions told to report under one name: the second cannot register.
    #[vitalsign::instrument_metrics(registry = super::LOST, name = "charge")]
    pub fn charge_card() {}

    #[vitalsign::instrument_metrics(registry = super::LOST, name = "charge")]
    pub fn charge_wallet() {}
}

/// `serve` refuses a registry whose statics could not all join it, naming the clash, rather
/// than serve while one function's calls are counted nowhere.
#[test]
fn serve_refuses_a_registry_with_lost_statics() {
    lost_statics::charge_card();
    lost_statics::charge_wallet();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let error = runtime
        .block_on(vitalsign_tower::serve(
            "127.0.0.1:0".parse().unwrap(),
            &LOST,
        ))
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "cannot start the metrics exporter on 127.0.0.1:0: static metrics could not be registered: \
         cannot register `function_calls` (counter): a different metric is already registered \
         under that name with labels {function=\"charge\",module=\"http_endpoint::lost_statics\"}"
    );
}
