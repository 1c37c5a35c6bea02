//! What the gRPC layers add to one unary call, in process: a service that reads the request's
//! one message and answers one message and `grpc-status: 0` trailers, called through tower with
//! no layer, with vitalsign's server layer, with its client layer, and with
//! `tonic_prometheus_layer`'s server layer (the crate people use today; it times to the response
//! headers and reads the status from them only). Each iteration reads the response to its
//! trailers, so every layer's recording is inside the measured time. Samples of 32 calls: left
//! to itself divan times single calls here, whose medians the timer's 20 ns precision rounds.

use std::convert::Infallible;
use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use http_body::{Body, Frame};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use tower::{Layer, Service, ServiceExt, service_fn};
use vitalsign::Registry;
use vitalsign_tower::grpc::{GrpcClientLayer, GrpcMethods, GrpcServerLayer, GrpcType};

fn main() {
    divan::main();
}

const PATH: &str = "/bench.v1.Echo/Unary";

/// One message (a 5-byte prefix and 3 bytes), then `grpc-status: 0` trailers.
struct UnaryBody {
    state: u8,
}

impl Body for UnaryBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.state += 1;
        Poll::Ready(match self.state {
            1 => Some(Ok(Frame::data(Bytes::from_static(b"\0\0\0\0\x03abc")))),
            2 => {
                let mut trailers = HeaderMap::new();
                trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
                Some(Ok(Frame::trailers(trailers)))
            }
            _ => None,
        })
    }
}

type ReqBody = UnsyncBoxBody<Bytes, Infallible>;

/// Reads the request's message, answers one.
async fn echo<B: Body>(request: Request<B>) -> Result<Response<UnaryBody>, Infallible> {
    let _ = request.into_body().collect().await;
    let mut response = Response::new(UnaryBody { state: 0 });
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/grpc"),
    );
    Ok(response)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

fn request() -> Request<ReqBody> {
    let body = Full::new(Bytes::from_static(b"\0\0\0\0\x03abc")).boxed_unsync();
    Request::post(PATH).body(body).unwrap()
}

fn methods() -> GrpcMethods {
    GrpcMethods::new().method("bench.v1.Echo", "Unary", GrpcType::Unary)
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
