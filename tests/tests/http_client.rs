//! The outbound HTTP layer around hyper-util's client, and the same metrics as a
//! `reqwest-middleware` middleware, calling a real server on loopback: a response of each kind,
//! a refused connection, a timeout, a call the caller abandons, a host nobody declared and the
//! trace context sent along, each asserting the exact series.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use tower::{Service, ServiceBuilder, ServiceExt};
use vitalsign::{Format, Registry};
use vitalsign_tower::client::{HttpClientLayer, HttpClientService};

/// `count` lines of the duration histogram as `METHOD host port status error_type count`, and
/// the active gauge's non-zero lines.
fn series(registry: &Registry) -> Vec<String> {
    let text = registry.render(Format::Prometheus);
    let mut out: Vec<String> = text
        .lines()
        .filter(|l| {
            l.starts_with("http_client_request_duration_seconds_count{")
                || l.starts_with("http_client_active_requests{") && !l.ends_with(" 0")
        })
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap();
            let labels = series.split_once('{').unwrap().1.trim_end_matches('}');
            let values: Vec<&str> = labels
                .split(',')
                .map(|kv| kv.split_once('=').unwrap().1.trim_matches('"'))
                .collect();
            format!("{} {value}", values.join(" "))
        })
        .collect();
    out.sort();
    out
}

async fn server() -> SocketAddr {
    let app = Router::new()
        .route("/ok", get(|| async { "ok" }))
        .route(
            "/charge",
            post(|| async { (StatusCode::SERVICE_UNAVAILABLE, "busy") }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                "late"
            }),
        )
        .route(
            "/trace",
            get(|h: HeaderMap| async move {
                h.get("traceparent")
                    .map(|v| v.to_str().unwrap_or("").to_owned())
                    .unwrap_or_default()
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

type Hyper = Client<HttpConnector, Full<Bytes>>;

fn client(
    registry: &Registry,
    hosts: &[&str],
) -> HttpClientService<tower::timeout::Timeout<Hyper>> {
    let hyper = Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let layer = HttpClientLayer::builder()
        .registry(registry)
        .hosts(hosts)
        .build()
        .unwrap();
    ServiceBuilder::new()
        .layer(layer)
        .timeout(Duration::from_millis(300))
        .service(hyper)
}

async fn send(
    client: &mut HttpClientService<tower::timeout::Timeout<Hyper>>,
    method: &str,
    uri: String,
) -> Result<(u16, String), tower::BoxError> {
    let request = http::Request::builder()
        .method(method)
        .uri(uri)
        .body(Full::default())?;
    let response = client.ready().await?.call(request).await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

#[tokio::test]
async fn responses_refusals_timeouts_and_abandoned_calls() {
    let addr = server().await;
    let port = addr.port();
    let registry = Registry::new();
    let mut c = client(&registry, &["127.0.0.1"]);

    assert_eq!(
        send(&mut c, "GET", format!("http://{addr}/ok"))
            .await
            .unwrap(),
        (200, "ok".into())
    );
    assert_eq!(
        send(&mut c, "GET", format!("http://{addr}/ok"))
            .await
            .unwrap()
            .0,
        200
    );
    assert_eq!(
        send(&mut c, "POST", format!("http://{addr}/charge"))
            .await
            .unwrap()
            .0,
        503
    );
    assert_eq!(
        send(&mut c, "GET", format!("http://{addr}/nope"))
            .await
            .unwrap()
            .0,
        404
    );

    // A port nobody listens on: refused.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = send(&mut c, "GET", format!("http://127.0.0.1:{closed}/ok"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("client error"), "{err}");
    // Slower than the 300 ms timeout inside the layer.
    let err = send(&mut c, "GET", format!("http://{addr}/slow"))
        .await
        .unwrap_err();
    assert!(err.is::<tower::timeout::error::Elapsed>(), "{err}");
    // The caller gives up first (a timeout outside the layer).
    let abandoned = tokio::time::timeout(
        Duration::from_millis(100),
        send(&mut c, "GET", format!("http://{addr}/slow")),
    )
    .await;
    assert!(abandoned.is_err());
    // Declared hosts only: `localhost` is another host.
    assert_eq!(
        send(&mut c, "GET", format!("http://localhost:{port}/ok"))
            .await
            .unwrap()
            .0,
        200
    );

    let mut expected = [
        format!("GET 127.0.0.1 {closed}  connect 1"),
        format!("GET 127.0.0.1 {port}  canceled 1"),
        format!("GET 127.0.0.1 {port}  timeout 1"),
        format!("GET 127.0.0.1 {port} 200  2"),
        format!("GET 127.0.0.1 {port} 404 404 1"),
        format!("GET _OTHER {port} 200  1"),
        format!("POST 127.0.0.1 {port} 503 503 1"),
    ];
    expected.sort();
    assert_eq!(series(&registry), expected);
}

#[tokio::test]
async fn hosts_past_the_cap_share_one_series() {
    let addr = server().await;
    let registry = Registry::new();
    let hyper: Hyper = Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let layer = HttpClientLayer::builder()
        .registry(&registry)
        .max_hosts(1)
        .build()
        .unwrap();
    let mut c = ServiceBuilder::new().layer(layer).service(hyper);
    // Two names of one server: the first seen keeps its own series.
    for host in ["127.0.0.1", "localhost", "localhost"] {
        let uri = format!("http://{host}:{}/ok", addr.port());
        let request = http::Request::get(uri).body(Full::default()).unwrap();
        let response = c.ready().await.unwrap().call(request).await.unwrap();
        response.into_body().collect().await.unwrap();
    }
    let port = addr.port();
    assert_eq!(
        series(&registry),
        [
            format!("GET 127.0.0.1 {port} 200  1"),
            format!("GET _OTHER {port} 200  2")
        ]
    );
}

#[tokio::test]
async fn the_current_trace_goes_out_as_traceparent() {
    let addr = server().await;
    let registry = Registry::new();
    let mut c = client(&registry, &["127.0.0.1"]);
    let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let cx = vitalsign::trace::TraceContext::from_traceparent(parent).unwrap();
    let (_, echoed) = cx
        .instrument(send(&mut c, "GET", format!("http://{addr}/trace")))
        .await
        .unwrap();
    assert_eq!(echoed, parent);
    let (_, echoed) = send(&mut c, "GET", format!("http://{addr}/trace"))
        .await
        .unwrap();
    assert_eq!(echoed, "");
    // The sampled call's duration keeps the trace as its exemplar.
    let text = registry.render(Format::OpenMetrics);
    let exemplars = text
        .lines()
        .filter(|l| l.contains("trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\""))
        .count();
    assert_eq!(exemplars, 1, "{text}");
}

#[tokio::test]
async fn reqwest_through_the_middleware() {
    use vitalsign_tower::client::ReqwestMetrics;
    let addr = server().await;
    let port = addr.port();
    let registry = Registry::new();
    let layer = HttpClientLayer::builder()
        .registry(&registry)
        .hosts(["127.0.0.1"])
        .build()
        .unwrap();
    let reqwest = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let client = reqwest_middleware::ClientBuilder::new(reqwest)
        .with(ReqwestMetrics::from_layer(&layer))
        .build();
    let status = |r: reqwest_middleware::Result<reqwest::Response>| r.map(|r| r.status().as_u16());
    assert_eq!(
        status(client.get(format!("http://{addr}/ok")).send().await).unwrap(),
        200
    );
    assert_eq!(
        status(client.post(format!("http://{addr}/charge")).send().await).unwrap(),
        503
    );
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    assert!(
        client
            .get(format!("http://127.0.0.1:{closed}/ok"))
            .send()
            .await
            .is_err()
    );
    assert!(
        client
            .get(format!("http://{addr}/slow"))
            .send()
            .await
            .is_err()
    );
    let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let cx = vitalsign::trace::TraceContext::from_traceparent(parent).unwrap();
    let echoed = cx
        .instrument(async {
            client
                .get(format!("http://{addr}/trace"))
                .send()
                .await?
                .text()
                .await
                .map_err(Into::into)
        })
        .await;
    assert_eq!(
        echoed
            .map_err(|e: reqwest_middleware::Error| e.to_string())
            .unwrap(),
        parent
    );
    let mut expected = [
        format!("GET 127.0.0.1 {closed}  connect 1"),
        format!("GET 127.0.0.1 {port}  timeout 1"),
        format!("GET 127.0.0.1 {port} 200  2"),
        format!("POST 127.0.0.1 {port} 503 503 1"),
    ];
    expected.sort();
    assert_eq!(series(&registry), expected);
}

/// The builder's series cap is each family's bound (plus its overflow series).
#[test]
fn max_series_bounds_each_family() {
    let registry = Registry::new();
    let _layer = HttpClientLayer::builder()
        .registry(&registry)
        .hosts(["payments.example.com"])
        .max_series(50)
        .build()
        .unwrap();
    let bound = registry.series_bound();
    let families: Vec<(&str, Option<u64>)> = bound
        .families()
        .filter(|(name, _)| name.starts_with("http_client"))
        .collect();
    assert_eq!(
        families,
        [
            ("http_client_request_duration_seconds", Some(51)),
            ("http_client_active_requests", Some(51))
        ]
    );
}

/// The catalogue says what the layer guarantees: declared hosts (and `_OTHER`) are the only
/// `server_address` values, and the method is one of the standard ones or `_OTHER`.
#[test]
fn the_catalogue_lists_declared_hosts_and_methods() {
    let registry = Registry::new();
    let _layer = HttpClientLayer::builder()
        .registry(&registry)
        .hosts(["payments.example.com", "auth.example.com"])
        .build()
        .unwrap();
    let catalog = registry.catalog();
    let values = |family: &str, label: &str| {
        catalog
            .entry(family)
            .and_then(|f| f.label(label))
            .map(|l| l.values.clone())
    };
    let hosts = Some(Some(vec![
        "auth.example.com".to_owned(),
        "payments.example.com".to_owned(),
        "_OTHER".to_owned(),
    ]));
    assert_eq!(
        values("http_client_request_duration_seconds", "server_address"),
        hosts
    );
    assert_eq!(
        values("http_client_active_requests", "server_address"),
        hosts
    );
    assert_eq!(
        values(
            "http_client_request_duration_seconds",
            "http_request_method"
        )
        .flatten()
        .map(|m| m.len()),
        Some(10)
    );
    assert_eq!(
        values("http_client_request_duration_seconds", "server_port"),
        Some(None)
    );
    let layer = HttpClientLayer::builder()
        .registry(&Registry::new())
        .build();
    assert!(layer.is_ok());
}

/// With declared URL templates, each call carries the template its path matched (`_OTHER` for
/// none), on both families; the catalogue lists the templates; and an invalid template fails
/// the build with an error naming it.
#[tokio::test]
async fn url_templates_tell_apis_apart() {
    let addr = server().await;
    let registry = Registry::new();
    let hyper = Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let layer = HttpClientLayer::builder()
        .registry(&registry)
        .hosts(["127.0.0.1"])
        .url_templates(["/ok", "/charge/{id}"])
        .build()
        .unwrap();
    let mut client: HttpClientService<Hyper> = ServiceBuilder::new().layer(layer).service(hyper);
    let send = |client: &mut HttpClientService<Hyper>, method: &str, path: &str| {
        let request = http::Request::builder()
            .method(method)
            .uri(format!("http://{addr}{path}"))
            .body(Full::default())
            .unwrap();
        let call = client.call(request);
        async move {
            let response = call.await.unwrap();
            let status = response.status().as_u16();
            let _ = response.into_body().collect().await;
            status
        }
    };
    client.ready().await.unwrap();
    assert_eq!(send(&mut client, "GET", "/ok").await, 200);
    client.ready().await.unwrap();
    assert_eq!(send(&mut client, "POST", "/charge/ch_1").await, 404);
    client.ready().await.unwrap();
    assert_eq!(send(&mut client, "GET", "/trace").await, 200);
    let port = addr.port();
    let counts: Vec<String> = registry
        .render(Format::Prometheus)
        .lines()
        .filter(|l| l.starts_with("http_client_request_duration_seconds_count{"))
        .map(str::to_owned)
        .collect();
    let line = |method: &str, template: &str, status: &str, error: &str| {
        format!(
            "http_client_request_duration_seconds_count{{http_request_method=\"{method}\",\
             server_address=\"127.0.0.1\",server_port=\"{port}\",url_template=\"{template}\",\
             http_response_status_code=\"{status}\",error_type=\"{error}\"}} 1"
        )
    };
    let mut expected = vec![
        line("GET", "/ok", "200", ""),
        line("POST", "/charge/{id}", "404", "404"),
        line("GET", "_OTHER", "200", ""),
    ];
    let mut counts = counts;
    counts.sort();
    expected.sort();
    assert_eq!(counts, expected);
    let catalog = registry.catalog();
    let template = catalog
        .entry("http_client_active_requests")
        .and_then(|f| f.label("url_template"))
        .and_then(|l| l.values.clone());
    assert_eq!(
        template,
        Some(vec![
            "/ok".to_owned(),
            "/charge/{id}".to_owned(),
            "_OTHER".to_owned()
        ])
    );
    let err = HttpClientLayer::builder()
        .registry(&Registry::new())
        .url_templates(["charge"])
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid URL template \"charge\": it does not start with `/`"
    );
}
