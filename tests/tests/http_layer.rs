//! `MetricsLayer` on an axum app, in process: route labels for matched, nested, unmatched and
//! odd-method requests; statuses; bodies streamed, finished and dropped; panics and abandoned
//! requests; and a flood of distinct URLs that adds no series.

use std::convert::Infallible;
use std::sync::LazyLock;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use vitalsign::{Buckets, Format, Registry};
use vitalsign_tower::MetricsLayer;

fn app(registry: &'static Registry) -> Router {
    let layer = MetricsLayer::builder()
        .registry(registry)
        .buckets(Buckets::new([0.1, 10.0]).unwrap())
        .build()
        .unwrap();
    let api = Router::new().route("/items/{id}", get(|| async { "item" }));
    Router::new()
        .route(
            "/orders/{id}",
            get(|| async { "order" }).post(|| async { StatusCode::CREATED }),
        )
        .route(
            "/fail",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "no") }),
        )
        .route("/stream", get(|| async { Body::new(Chunks(3)) }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                "late"
            }),
        )
        .route("/panic", get(panics))
        .nest("/api", api)
        .fallback(|| async { StatusCode::NOT_FOUND })
        .layer(layer)
}

async fn panics() -> &'static str {
    panic!("handler bug")
}

/// A body of three `chunk` frames, each returned on its own poll.
struct Chunks(u8);

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        if self.0 == 0 {
            return std::task::Poll::Ready(None);
        }
        self.0 -= 1;
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from_static(
            b"chunk",
        )))))
    }
}

async fn call(app: &Router, method: &str, uri: &str) -> (StatusCode, Bytes) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    (
        status,
        response.into_body().collect().await.unwrap().to_bytes(),
    )
}

fn series(registry: &Registry, family: &str) -> Vec<String> {
    registry
        .render(Format::Prometheus)
        .lines()
        .filter(|l| l.starts_with(family))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn routes_methods_and_statuses() {
    static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::new);
    let app = app(&REGISTRY);
    assert_eq!(
        call(&app, "GET", "/orders/1").await,
        (StatusCode::OK, Bytes::from("order"))
    );
    assert_eq!(call(&app, "GET", "/orders/2?x=1").await.0, StatusCode::OK);
    assert_eq!(call(&app, "POST", "/orders/3").await.0, StatusCode::CREATED);
    assert_eq!(
        call(&app, "GET", "/fail").await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(call(&app, "GET", "/api/items/9").await.0, StatusCode::OK);
    assert_eq!(
        call(&app, "GET", "/no/such/page").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&app, "BREW", "/orders/4").await.0,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        call(&app, "GET", "/stream").await.1,
        Bytes::from("chunkchunkchunk")
    );

    assert_eq!(
        series(&REGISTRY, "http_server_request_duration_seconds_count"),
        [
            "http_server_request_duration_seconds_count{http_request_method=\"GET\",http_route=\"/orders/{id}\",http_response_status_code=\"200\"} 2",
            "http_server_request_duration_seconds_count{http_request_method=\"POST\",http_route=\"/orders/{id}\",http_response_status_code=\"201\"} 1",
            "http_server_request_duration_seconds_count{http_request_method=\"GET\",http_route=\"/fail\",http_response_status_code=\"500\"} 1",
            "http_server_request_duration_seconds_count{http_request_method=\"GET\",http_route=\"/api/items/{id}\",http_response_status_code=\"200\"} 1",
            "http_server_request_duration_seconds_count{http_request_method=\"GET\",http_route=\"unmatched\",http_response_status_code=\"404\"} 1",
            "http_server_request_duration_seconds_count{http_request_method=\"_OTHER\",http_route=\"/orders/{id}\",http_response_status_code=\"405\"} 1",
            "http_server_request_duration_seconds_count{http_request_method=\"GET\",http_route=\"/stream\",http_response_status_code=\"200\"} 1",
        ]
    );
    assert!(
        series(&REGISTRY, "http_server_active_requests")
            .iter()
            .all(|l| l.ends_with(" 0")),
        "{:?}",
        series(&REGISTRY, "http_server_active_requests")
    );
}

#[tokio::test]
async fn bodies_dropped_panics_and_abandoned_requests() {
    static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::new);
    let app = app(&REGISTRY);
    let active = |route: &str| {
        series(&REGISTRY, "http_server_active_requests")
            .into_iter()
            .find(|l| l.contains(&format!("http_route=\"{route}\"")))
    };

    // Headers received, body half read, then dropped: recorded at the drop, gauge back to 0.
    let request = Request::get("/stream").body(Body::empty()).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(
        active("/stream").as_deref(),
        Some("http_server_active_requests{http_request_method=\"GET\",http_route=\"/stream\"} 1")
    );
    let mut body = response.into_body();
    let first = body.frame().await.unwrap().unwrap();
    assert_eq!(first.into_data().unwrap(), Bytes::from("chunk"));
    drop(body);
    assert_eq!(
        active("/stream").as_deref(),
        Some("http_server_active_requests{http_request_method=\"GET\",http_route=\"/stream\"} 0")
    );

    // A panicking handler: the gauge comes back, nothing is timed.
    let request = Request::get("/panic").body(Body::empty()).unwrap();
    let joined = tokio::spawn(app.clone().oneshot(request)).await;
    assert!(joined.unwrap_err().is_panic());
    assert_eq!(
        active("/panic").as_deref(),
        Some("http_server_active_requests{http_request_method=\"GET\",http_route=\"/panic\"} 0")
    );

    // The client goes away before the response.
    let request = Request::get("/slow").body(Body::empty()).unwrap();
    let abandoned =
        tokio::time::timeout(Duration::from_millis(20), app.clone().oneshot(request)).await;
    assert!(abandoned.is_err());
    assert_eq!(
        active("/slow").as_deref(),
        Some("http_server_active_requests{http_request_method=\"GET\",http_route=\"/slow\"} 0")
    );

    assert_eq!(
        series(&REGISTRY, "http_server_request_duration_seconds_count"),
        [
            "http_server_request_duration_seconds_count{http_request_method=\"GET\",http_route=\"/stream\",http_response_status_code=\"200\"} 1"
        ]
    );
}

#[tokio::test]
async fn a_flood_of_distinct_urls_adds_no_series() {
    static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::new);
    let app = app(&REGISTRY);
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for i in 0..100_000u32 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let method = ["GET", "POST", "FOO", "X-RANDOM", "DELETE"][(seed % 5) as usize];
        let request = Request::builder()
            .method(method)
            .uri(format!("/r/{seed:x}/{i}?q={seed}"))
            .header("host", format!("h{seed:x}.example"))
            .header("x-odd", format!("{seed}"))
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
    let counts = series(&REGISTRY, "http_server_request_duration_seconds_count");
    assert_eq!(counts.len(), 4, "GET, POST, DELETE and _OTHER: {counts:?}");
    let total: u64 = counts
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, 100_000);
    assert!(
        counts
            .iter()
            .all(|l| l.contains("http_route=\"unmatched\"")),
        "{counts:?}"
    );
    assert_eq!(series(&REGISTRY, "http_server_active_requests").len(), 4);
}

#[tokio::test]
async fn extra_label_body_sizes_and_nested_services() {
    static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::new);
    #[derive(Clone)]
    struct Paid;
    let layer = MetricsLayer::builder()
        .registry(&REGISTRY)
        .buckets(Buckets::new([1.0]).unwrap())
        .prefix("shop")
        .body_sizes(true)
        .classify_route(vitalsign_tower::DefaultRoute::default().nested_service("/static"))
        .extra_label("tier", |req: &Request<Body>| {
            Some(vitalsign_tower::ExtraLabel::new(
                if req.extensions().get::<Paid>().is_some() {
                    "paid"
                } else {
                    "free"
                },
            ))
        })
        .build()
        .unwrap();
    let files = tower::service_fn(|_req: Request<Body>| async {
        Ok::<_, Infallible>(axum::response::Response::new(Body::from("file!")))
    });
    let app: Router = Router::new()
        .route(
            "/upload",
            axum::routing::post(
                |body: Bytes| async move { Body::from(vec![b'x'; body.len() * 2]) },
            ),
        )
        .nest_service("/static", files)
        .layer(layer);

    let mut request = Request::post("/upload")
        .body(Body::from(vec![0u8; 100]))
        .unwrap();
    request.extensions_mut().insert(Paid);
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .len(),
        200
    );
    let response = app
        .clone()
        .oneshot(Request::get("/static/app.css").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        Bytes::from("file!")
    );

    let text = REGISTRY.render(Format::Prometheus);
    let lines =
        |prefix: &str| -> Vec<&str> { text.lines().filter(|l| l.starts_with(prefix)).collect() };
    assert_eq!(
        lines("shop_http_server_request_duration_seconds_count"),
        [
            r#"shop_http_server_request_duration_seconds_count{http_request_method="POST",http_route="/upload",http_response_status_code="200",tier="paid"} 1"#,
            r#"shop_http_server_request_duration_seconds_count{http_request_method="GET",http_route="/static/*",http_response_status_code="200",tier="free"} 1"#,
        ]
    );
    assert_eq!(
        lines("shop_http_server_request_body_size_bytes_sum"),
        [
            r#"shop_http_server_request_body_size_bytes_sum{http_request_method="POST",http_route="/upload",http_response_status_code="200",tier="paid"} 100"#,
            r#"shop_http_server_request_body_size_bytes_sum{http_request_method="GET",http_route="/static/*",http_response_status_code="200",tier="free"} 0"#,
        ]
    );
    assert_eq!(
        lines("shop_http_server_response_body_size_bytes_sum"),
        [
            r#"shop_http_server_response_body_size_bytes_sum{http_request_method="POST",http_route="/upload",http_response_status_code="200",tier="paid"} 200"#,
            r#"shop_http_server_response_body_size_bytes_sum{http_request_method="GET",http_route="/static/*",http_response_status_code="200",tier="free"} 5"#,
        ]
    );
    assert_eq!(
        lines("shop_http_server_active_requests"),
        [
            r#"shop_http_server_active_requests{http_request_method="POST",http_route="/upload",tier="paid"} 0"#,
            r#"shop_http_server_active_requests{http_request_method="GET",http_route="/static/*",tier="free"} 0"#,
        ]
    );
}

#[test]
fn builder_refuses_bad_names() {
    let registry = Registry::new();
    let err =
        |b: vitalsign_tower::MetricsLayerBuilder<'_, _, ()>| b.build().unwrap_err().to_string();
    assert_eq!(
        err(MetricsLayer::builder()
            .registry(&registry)
            .extra_label("http_route", ())),
        "invalid extra label name \"http_route\": the HTTP layer sets that label itself"
    );
    assert_eq!(
        err(MetricsLayer::builder()
            .registry(&registry)
            .extra_label("bad-name", ())),
        "invalid extra label name \"bad-name\": label names match `[a-zA-Z_][a-zA-Z0-9_]*` and do not start with `__`"
    );
    assert_eq!(
        err(MetricsLayer::builder().registry(&registry).prefix("_")),
        "invalid metric name \"__http_server_request_duration_seconds\": names starting with `__` are reserved"
    );
    MetricsLayer::builder().registry(&registry).build().unwrap();
    assert_eq!(
        err(MetricsLayer::builder().registry(&registry)),
        "cannot register `http_server_request_duration_seconds` (histogram): a different metric is already registered under that name"
    );
}

#[tokio::test]
async fn a_real_hyper_server_with_the_layer() {
    static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::new);
    let app = app(&REGISTRY);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    for path in ["/orders/1", "/orders/2", "/nope", "/stream"] {
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let (status, _) = vitalsign_tests::raw_request(addr, &request).await;
        assert!(status.starts_with("HTTP/1.1 "), "{path}: {status:?}");
    }
    // The connection is closed once the response is written; give the server a moment to drop it.
    for _ in 0..100 {
        if series(&REGISTRY, "http_server_request_duration_seconds_count").len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let counts = series(&REGISTRY, "http_server_request_duration_seconds_count");
    assert_eq!(
        counts,
        [
            r#"http_server_request_duration_seconds_count{http_request_method="GET",http_route="/orders/{id}",http_response_status_code="200"} 2"#,
            r#"http_server_request_duration_seconds_count{http_request_method="GET",http_route="unmatched",http_response_status_code="404"} 1"#,
            r#"http_server_request_duration_seconds_count{http_request_method="GET",http_route="/stream",http_response_status_code="200"} 1"#,
        ]
    );
    server.abort();
}

#[tokio::test]
async fn label_sets_past_max_series_share_the_overflow_series() {
    static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::new);
    let layer = MetricsLayer::builder()
        .registry(&REGISTRY)
        .buckets(Buckets::new([0.1]).unwrap())
        .max_series(2)
        .build()
        .unwrap();
    let app = Router::new()
        .route("/a", get(|| async { "a" }))
        .route("/b", get(|| async { StatusCode::ACCEPTED }))
        .route("/c", get(|| async { StatusCode::NOT_FOUND }))
        .route("/d", get(|| async { "d" }))
        .layer(layer);
    for path in ["/a", "/b", "/c", "/d", "/a", "/c", "/b"] {
        let request = Request::get(path).body(Body::empty()).unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        drop(response.into_body().collect().await.unwrap());
    }
    // `/a` and `/b` took the two places; `/c` and `/d` share the overflow series of each family.
    assert_eq!(
        series(&REGISTRY, "http_server_request_duration_seconds_count"),
        [
            "http_server_request_duration_seconds_count{http_request_method=\"GET\",http_route=\"/a\",http_response_status_code=\"200\"} 2",
            "http_server_request_duration_seconds_count{http_request_method=\"GET\",http_route=\"/b\",http_response_status_code=\"202\"} 2",
            "http_server_request_duration_seconds_count{http_request_method=\"__overflow__\",http_route=\"__overflow__\",http_response_status_code=\"__overflow__\"} 3",
        ]
    );
    assert_eq!(
        series(&REGISTRY, "http_server_active_requests"),
        [
            "http_server_active_requests{http_request_method=\"GET\",http_route=\"/a\"} 0",
            "http_server_active_requests{http_request_method=\"GET\",http_route=\"/b\"} 0",
            "http_server_active_requests{http_request_method=\"__overflow__\",http_route=\"__overflow__\"} 0",
        ]
    );
}
