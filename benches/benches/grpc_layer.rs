//! What the gRPC layers add to one unary call, in process: a service that reads the request's
//! one message and answers one message and `grpc-status: 0` trailers, called through tower with
//! no layer, with vitalsign's server layer, with its client layer, and with
//! `tonic_prometheus_layer`'s server layer (the crate people use today; it times to the response
//! headers and reads the status from them only). Each iteration reads the response to its
//! trailers, so every layer's recording is inside the measured time. Samples of 32 calls: left
//! to itself divan times single calls here, whose medians the timer's 20 ns precision rounds.

use std::hint::black_box;

use http::{Request, Response};
use http_body::Body;
use http_body_util::BodyExt;
use tower::{Layer, Service, ServiceExt, service_fn};
use vitalsign::Registry;
use vitalsign_bench::grpc::{ReqBody, echo, methods, request};
use vitalsign_tower::grpc::{GrpcClientLayer, GrpcServerLayer};

fn main() {
    divan::main();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// Calls `svc` and reads its response to the end.
fn call<S, B>(rt: &tokio::runtime::Runtime, svc: &S)
where
    S: Service<Request<ReqBody>, Response = Response<B>> + Clone,
    S::Error: std::fmt::Debug,
    B: Body,
    B::Error: std::fmt::Debug,
{
    rt.block_on(async {
        let response = svc.clone().oneshot(black_box(request())).await.unwrap();
        black_box(response.into_body().collect().await.unwrap());
    });
}

#[divan::bench(sample_count = 500, sample_size = 32)]
fn no_layer(bencher: divan::Bencher<'_, '_>) {
    let rt = runtime();
    let svc = service_fn(echo::<ReqBody>);
    bencher.bench_local(|| call(&rt, &svc));
}

#[divan::bench(sample_count = 500, sample_size = 32)]
fn vitalsign_server(bencher: divan::Bencher<'_, '_>) {
    let rt = runtime();
    let registry: &'static Registry = Box::leak(Box::default());
    let layer = GrpcServerLayer::builder(methods())
        .registry(registry)
        .build()
        .unwrap();
    let svc = layer.layer(service_fn(echo));
    call(&rt, &svc);
    bencher.bench_local(|| call(&rt, &svc));
}

#[divan::bench(sample_count = 500, sample_size = 32)]
fn vitalsign_client(bencher: divan::Bencher<'_, '_>) {
    let rt = runtime();
    let registry: &'static Registry = Box::leak(Box::default());
    let layer = GrpcClientLayer::builder(methods())
        .registry(registry)
        .build()
        .unwrap();
    let svc = layer.layer(service_fn(echo::<ReqBody>));
    call(&rt, &svc);
    bencher.bench_local(|| call(&rt, &svc));
}

#[divan::bench(sample_count = 500, sample_size = 32)]
fn tonic_prometheus_layer(bencher: divan::Bencher<'_, '_>) {
    let rt = runtime();
    let svc = tonic_prometheus_layer::MetricsLayer::new().layer(service_fn(echo::<ReqBody>));
    call(&rt, &svc);
    bencher.bench_local(|| call(&rt, &svc));
}
