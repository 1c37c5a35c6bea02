//! A plain hyper server (no framework) whose every request is counted and timed by
//! `vitalsign_tower::MetricsLayer`, with routes named by a classifier and `/metrics` served by
//! `MetricsHandler`.
//!
//! Run with: cargo run -p hyper-server -- [--listen 127.0.0.1:8080]
//! Then: curl -s localhost:8080/hello; curl -s localhost:8080/metrics

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tower::ServiceBuilder;
use vitalsign_tower::{MetricsHandler, MetricsLayer, Route};

/// The app: a greeting, users by id, and the scoreboard.
async fn app(
    metrics: MetricsHandler,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path();
    let response = match path {
        "/metrics" => metrics.handle(&request),
        "/hello" => Response::new(Full::new(Bytes::from_static(b"hello\n"))),
        p if p.starts_with("/users/") => {
            Response::new(Full::new(Bytes::from(format!("user {}\n", &p[7..]))))
        }
        _ => {
            let mut r = Response::new(Full::new(Bytes::from_static(b"not found\n")));
            *r.status_mut() = StatusCode::NOT_FOUND;
            r
        }
    };
    Ok(response)
}

/// The route templates of the app: bounded, whatever path a client sends.
fn route(request: &Request<Incoming>) -> Option<Route> {
    match request.uri().path() {
        "/metrics" => Some(Route::from_static("/metrics")),
        "/hello" => Some(Route::from_static("/hello")),
        p if p.starts_with("/users/") => Some(Route::from_static("/users/{id}")),
        _ => None,
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listen: SocketAddr = std::env::args()
        .skip_while(|a| a != "--listen")
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned())
        .parse()?;
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("hyper-server listening on http://{listen} (metrics at /metrics)");

    let handler = MetricsHandler::for_default_registry();
    let layer = MetricsLayer::new().classify_route(route);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => accepted?,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let handler = handler.clone();
        let service = ServiceBuilder::new()
            .layer(layer.clone())
            .service_fn(move |request| app(handler.clone(), request));
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                .await;
        });
    }
}
