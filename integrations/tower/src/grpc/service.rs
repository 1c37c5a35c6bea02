//! The services the gRPC layers wrap around a server's routes or a client's channel.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use http_body::Body;
use tower::Service;

use super::body::{GrpcRequestBody, GrpcResponseBody};
use super::future::GrpcResponseFuture;
use super::metrics::{Call, GrpcMetrics, timeout};

/// The service [`GrpcServerLayer`](super::GrpcServerLayer) wraps around a gRPC server's routes.
#[derive(Clone)]
pub struct GrpcServerService<S> {
    inner: S,
    metrics: Arc<GrpcMetrics>,
}

crate::wrapper_accessors!(GrpcServerService, GrpcMetrics);

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
        let trace = crate::traceparent::extract(request.headers());
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
/// Its request body is the channel's own, wrapped to count messages and handed back as a
/// [`ClientBody`]: tonic's body (feature `tonic`) and http-body-util's boxed bodies.
#[derive(Clone)]
pub struct GrpcClientService<S> {
    inner: S,
    metrics: Arc<GrpcMetrics>,
}

crate::wrapper_accessors!(GrpcClientService, GrpcMetrics);

/// A request body that [`GrpcClientService`] can hand back to the channel it wraps once it has
/// wrapped it to count messages: tonic's `Body` (feature `tonic`), http-body-util's `BoxBody`
/// and `UnsyncBoxBody`.
#[diagnostic::on_unimplemented(
    message = "`GrpcClientLayer` cannot hand a `{Self}` request body back to the channel it wraps",
    label = "the channel's request body",
    note = "around a tonic `Channel`, turn on vitalsign-tower's `tonic` feature: `vitalsign-tower = {{ version = \"0.1\", features = [\"tonic\"] }}`",
    note = "for another client, box its request body (`http_body_util::combinators::BoxBody`) or implement `vitalsign_tower::grpc::ClientBody` for it"
)]
pub trait ClientBody: Body + Sized {
    /// The channel's body again, around the counting wrapper.
    fn rewrap(body: GrpcRequestBody<Self>) -> Self;
}

impl<S, B, ResBody> Service<Request<B>> for GrpcClientService<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    B: ClientBody,
    ResBody: Body,
{
    type Response = Response<GrpcResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = GrpcResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let trace = crate::traceparent::inject(request.headers_mut());
        let cells = self.metrics.lookup(request.uri().path()).clone();
        let call = Call::start(cells, self.metrics.side, timeout(request.headers()), trace);
        let counter = call.request_messages();
        let request = request.map(|body| B::rewrap(GrpcRequestBody::new(body, counter)));
        GrpcResponseFuture::new(self.inner.call(request), call, false)
    }
}

#[cfg(feature = "tonic")]
impl ClientBody for tonic::body::Body {
    fn rewrap(body: GrpcRequestBody<Self>) -> Self {
        tonic::body::Body::new(body)
    }
}

impl<D, E> ClientBody for http_body_util::combinators::BoxBody<D, E>
where
    D: bytes::Buf + 'static,
    E: 'static,
{
    fn rewrap(body: GrpcRequestBody<Self>) -> Self {
        Self::new(body)
    }
}

impl<D, E> ClientBody for http_body_util::combinators::UnsyncBoxBody<D, E>
where
    D: bytes::Buf + 'static,
    E: 'static,
{
    fn rewrap(body: GrpcRequestBody<Self>) -> Self {
        Self::new(body)
    }
}
