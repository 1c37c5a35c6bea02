//! What `MetricsLayer` adds to one request, in process: a trivial service called through tower
//! with no layer, with a layer that does nothing, and with the metrics layer (route from a
//! classifier, one active-gauge update, one histogram observation when the body is dropped).
//! Each iteration drops the response, so the observation is inside the measured time. Samples of
//! 64 requests: left to itself divan times single requests here, whose medians the timer's
//! 20 ns precision rounds.

use std::convert::Infallible;
use std::hint::black_box;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{Empty, Full};
use tower::{Layer, Service, ServiceExt, service_fn};
use vitalsign_tower::{MetricsLayer, Route};

fn main() {
    divan::main();
}

async fn hello(_: Request<Empty<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(b"hello"))))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

fn request() -> Request<Empty<Bytes>> {
    Request::get("/hello").body(Empty::new()).unwrap()
}

#[divan::bench(sample_count = 500, sample_size = 64)]
fn no_layer(bencher: divan::Bencher<'_, '_>) {
    let rt = runtime();
    let svc = service_fn(hello);
    bencher.bench_local(|| drop(rt.block_on(svc.oneshot(black_box(request())))));
}

#[divan::bench(sample_count = 500, sample_size = 64)]
fn noop_layer(bencher: divan::Bencher<'_, '_>) {
    let rt = runtime();
    let svc = tower::layer::util::Identity::new().layer(service_fn(hello));
    bencher.bench_local(|| drop(rt.block_on(svc.oneshot(black_box(request())))));
}

#[divan::bench(sample_count = 500, sample_size = 64)]
fn metrics_layer(bencher: divan::Bencher<'_, '_>) {
    let rt = runtime();
    let layer = MetricsLayer::new()
        .classify_route(|_: &Request<Empty<Bytes>>| Some(Route::from_static("/hello")));
    let mut svc = layer.layer(service_fn(hello));
    // The first request creates the series.
    drop(rt.block_on(svc.call(request())));
    bencher.bench_local(|| drop(rt.block_on(svc.clone().oneshot(black_box(request())))));
}

/// One scrape answered by `MetricsHandler`, as sent and gzipped: 1,000 labelled counters (about
/// 40 KB of text) encoded into the response body, and compressed when asked.
#[divan::bench(args = ["identity", "gzip"])]
fn scrape(bencher: divan::Bencher<'_, '_>, encoding: &str) {
    let registry: &'static vitalsign::Registry = Box::leak(Box::default());
    let family = registry
        .register(
            "requests",
            "Requests by tenant.",
            vitalsign::SparseFamily::<vitalsign::Counter, 1>::new(["tenant"], 1_000).unwrap(),
        )
        .unwrap();
    for i in 0..1_000u64 {
        family.get([&format!("tenant-{i}")]).inc_by(i * 7919);
    }
    let handler = vitalsign_tower::MetricsHandler::new(registry);
    let request = Request::get("/metrics")
        .header("accept-encoding", encoding)
        .body(())
        .unwrap();
    bencher.bench_local(|| handler.handle(black_box(&request)));
}
