//! Faults around `/metrics`: a collector that blocks, clients that disconnect mid-scrape, read
//! slowly or stall their headers, and a registry of 2^20 series. Every wait is bounded.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use http::{Request, StatusCode};
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;
use vitalsign::{Collect, Collector, Counter, Descriptor, Family, Format, MetricType, Registry};
use vitalsign_tower::MetricsHandler;

struct Blocking(Duration);

impl Collector for Blocking {
    fn describe(&self) -> Vec<(MetricType, Descriptor)> {
        vec![(
            MetricType::Gauge,
            Descriptor::new("slow_backend", "Read from a slow backend."),
        )]
    }
    fn collect(
        &self,
        out: &mut Collect<'_>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        std::thread::sleep(self.0);
        out.gauge("slow_backend", &[], 1)?;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocking_collector_gets_a_timely_503() {
    static REGISTRY: LazyLock<Registry> = LazyLock::new(|| {
        let r = Registry::new();
        r.register("orders", "Orders.", Counter::new())
            .unwrap()
            .inc();
        r.register_collector(Blocking(Duration::from_millis(1500)))
            .unwrap();
        r
    });
    let handler = MetricsHandler::new(&REGISTRY).timeout(Duration::from_millis(200));
    let started = Instant::now();
    let response = handler
        .clone()
        .oneshot(Request::get("/metrics").body(()).unwrap())
        .await
        .unwrap();
    let waited = started.elapsed();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "the scrape timed out: a collector is slow\n");
    assert!(
        waited < Duration::from_millis(1000),
        "answered after {waited:?}"
    );

    // Once the collector answers, scrapes work again, and the timeout was counted.
    let patient = MetricsHandler::new(&REGISTRY).timeout(Duration::from_secs(10));
    let response = patient
        .oneshot(Request::get("/metrics").body(()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = String::from_utf8(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    assert!(text.contains("\norders_total 1\n"), "{text}");
    assert!(text.contains("\nslow_backend 1\n"), "{text}");
    assert!(
        text.contains("vitalsign_scrapes_total{code=\"503\"} 1\n"),
        "{text}"
    );
}

#[tokio::test]
async fn clients_that_vanish_or_stall_do_not_stop_the_exporter() {
    static REGISTRY: LazyLock<Registry> = LazyLock::new(|| {
        let r = Registry::new();
        let family = r
            .register(
                "wide",
                "Many series.",
                vitalsign::SparseFamily::<Counter, 1>::new(["k"], 20_000).unwrap(),
            )
            .unwrap();
        for i in 0..20_000 {
            family.get([&i.to_string()]).inc();
        }
        r
    });
    let exporter = vitalsign_tower::serve("127.0.0.1:0".parse().unwrap(), &REGISTRY)
        .await
        .unwrap();
    let addr = exporter.local_addr();

    // Asks for a large scrape, reads a few bytes, and hangs up.
    for _ in 0..20 {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut some = [0u8; 16];
        let _ = s.read(&mut some).await.unwrap();
    }
    // Reads its answer one byte at a time for a while.
    let slow_reader = tokio::spawn(async move {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut byte = [0u8; 1];
        for _ in 0..20 {
            s.read_exact(&mut byte).await.unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    // Sends half a request line and stops.
    let mut stalled = tokio::net::TcpStream::connect(addr).await.unwrap();
    stalled.write_all(b"GET /met").await.unwrap();

    // Meanwhile a normal scrape is answered in full.
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /metrics?name[]=wide_total HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut response))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8(response).unwrap();
    assert!(
        text.starts_with("HTTP/1.1 200 OK\r\n"),
        "{}",
        &text[..100.min(text.len())]
    );
    assert_eq!(text.matches("\nwide_total{k=").count(), 20_000);

    slow_reader.await.unwrap();
    // The stalled client is cut off by the header timeout (10 s), not kept forever.
    let mut rest = Vec::new();
    let closed =
        tokio::time::timeout(Duration::from_secs(15), stalled.read_to_end(&mut rest)).await;
    assert!(
        closed.is_ok(),
        "the stalled connection is closed by the exporter"
    );
    exporter.shutdown().await;
}

/// A label with 2^20 values.
struct Wide(usize);

impl vitalsign::LabelSet for Wide {
    const CARDINALITY: usize = vitalsign::MAX_DENSE_SERIES;
    const NAMES: &'static [&'static str] = &["id"];
    fn index(&self) -> usize {
        self.0
    }
    fn visit(i: usize, f: &mut dyn FnMut(&'static str, &str)) {
        f("id", &i.to_string());
    }
}

#[test]
fn a_million_series_cost_bounded_memory_and_still_scrape() {
    let before = vitalsign_tests::resident_bytes();
    let registry = Registry::new();
    let family = registry
        .register("huge", "A million series.", Family::<Wide, Counter>::new())
        .unwrap();
    family.get(&Wide(123_456)).inc();
    let per_series = (vitalsign_tests::resident_bytes().saturating_sub(before)) as f64
        / vitalsign::MAX_DENSE_SERIES as f64;
    // A counter (8 bytes) and its rendered labels (a boxed string of about 12 bytes).
    println!("{per_series:.1} bytes of resident memory per series");
    assert!(per_series < 96.0, "{per_series:.1} bytes per series");
    let text = registry.render(Format::Prometheus);
    assert_eq!(text.lines().count(), vitalsign::MAX_DENSE_SERIES + 2);
    assert!(text.contains("\nhuge_total{id=\"123456\"} 1\n"));
}
