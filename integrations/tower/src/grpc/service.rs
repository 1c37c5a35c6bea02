//! The services the gRPC layers wrap around a server's routes or a client's channel.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{HeaderValue, Request, Response};
use http_body::Body;
use tower::Service;
use vitalsign::trace::{self, TraceContext};

use super::body::{GrpcRequestBody, GrpcResponseBody};
use super::future::GrpcResponseFuture;
use super::metrics::{Call, GrpcMetrics, timeout};

static TRACEPARENT: http::HeaderName = http::HeaderName::from_static("traceparent");

macro_rules! accessors {
    ($name:ident) => {
        impl<S> $name<S> {
            pub(crate) fn new(inner: S, metrics: Arc<GrpcMetrics>) -> Self {
                Self { inner, metrics }
            }

            /// The wrapped service.
            pub fn get_ref(&self) -> &S {
                &self.inner
            }

            /// The wrapped service, mutably.
            pub fn get_mut(&mut self) -> &mut S {
                &mut self.inner
            }

            /// Unwraps the service.
            pub fn into_inner(self) -> S {
                self.inner
            }
        }

        impl<S: std::fmt::Debug> std::fmt::Debug for $name<S> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("inner", &self.inner)
                    .field("metrics", &self.metrics)
                    .finish()
            }
        }
    };
}

/// The service [`GrpcServerLayer`](super::GrpcServerLayer) wraps around a gRPC server's routes.
#[derive(Clone)]
pub struct GrpcServerService<S> {
    inner: S,
    metrics: Arc<GrpcMetrics>,
}

accessors!(GrpcServerService);

impl<S, B, ResBody> Service<Request<B>> for GrpcServerService<S>
where
    S: Service<Request<GrpcRequestBody<B>>, Response = Response<ResBody>>,
    B: Body,
    ResBody: Body,
{
    type Response = Response<GrpcResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = GrpcResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let trace = request
            .headers()
            .get(&TRACEPARENT)
            .and_then(|v| v.to_str().ok())
            .and_then(TraceContext::from_traceparent);
        let cells = self.metrics.lookup(request.uri().path()).clone();
        let call = Call::start(cells, self.metrics.side, timeout(request.headers()), trace);
        let request = request.map(|body| GrpcRequestBody::new(body, call.request_messages()));
        let inner = match trace {
            Some(cx) => cx.scope(|| self.inner.call(request)),
            None => self.inner.call(request),
        };
        GrpcResponseFuture::new(inner, call, true)
    }
}

/// The service [`GrpcClientLayer`](super::GrpcClientLayer) wraps around a gRPC client's
/// channel.
///
/// Its request body is the channel's own, wrapped to count messages and converted back with
/// `From`: implemented for tonic's body (feature `tonic`) and http-body-util's boxed bodies.
#[derive(Clone)]
pub struct GrpcClientService<S> {
    inner: S,
    metrics: Arc<GrpcMetrics>,
}

accessors!(GrpcClientService);

impl<S, B, ResBody> Service<Request<B>> for GrpcClientService<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    B: Body + From<GrpcRequestBody<B>>,
    ResBody: Body,
{
    type Response = Response<GrpcResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = GrpcResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let trace = trace::current();
        if let Some(cx) = trace {
            if !request.headers().contains_key(&TRACEPARENT) {
                if let Ok(v) = HeaderValue::from_str(&cx.to_string()) {
                    request.headers_mut().insert(TRACEPARENT.clone(), v);
                }
            }
        }
        let cells = self.metrics.lookup(request.uri().path()).clone();
        let call = Call::start(cells, self.metrics.side, timeout(request.headers()), trace);
        let counter = call.request_messages();
        let request = request.map(|body| B::from(GrpcRequestBody::new(body, counter)));
        GrpcResponseFuture::new(self.inner.call(request), call, false)
    }
}

#[cfg(feature = "tonic")]
impl From<GrpcRequestBody<tonic::body::Body>> for tonic::body::Body {
    fn from(body: GrpcRequestBody<tonic::body::Body>) -> Self {
        tonic::body::Body::new(body)
    }
}

impl<D, E> From<GrpcRequestBody<http_body_util::combinators::BoxBody<D, E>>>
    for http_body_util::combinators::BoxBody<D, E>
where
    D: bytes::Buf + 'static,
    E: 'static,
{
    fn from(body: GrpcRequestBody<http_body_util::combinators::BoxBody<D, E>>) -> Self {
        Self::new(body)
    }
}

impl<D, E> From<GrpcRequestBody<http_body_util::combinators::UnsyncBoxBody<D, E>>>
    for http_body_util::combinators::UnsyncBoxBody<D, E>
where
    D: bytes::Buf + 'static,
    E: 'static,
{
    fn from(body: GrpcRequestBody<http_body_util::combinators::UnsyncBoxBody<D, E>>) -> Self {
        Self::new(body)
    }
}
