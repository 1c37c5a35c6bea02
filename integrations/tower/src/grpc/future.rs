//! The response future of both gRPC services: reads a Trailers-Only status from the response
//! headers, hands the call to the response body, or ends it if the service fails.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::{Response, StatusCode};
use pin_project_lite::pin_project;

use super::body::{GrpcResponseBody, ResponseWatch};
use super::code::Code;
use super::metrics::Call;

pin_project! {
    /// The response future of [`GrpcServerService`](super::GrpcServerService) and
    /// [`GrpcClientService`](super::GrpcClientService). Dropped before it completes, its call is
    /// `Canceled` (or `DeadlineExceeded` past the caller's deadline).
    pub struct GrpcResponseFuture<F> {
        #[pin]
        inner: F,
        call: Option<Call>,
        // Whether the call's trace is current while the service's future is polled (the
        // server's request context; a client leaves its caller's as it is).
        scoped: bool,
    }
}

impl<F> GrpcResponseFuture<F> {
    pub(crate) fn new(inner: F, call: Call, scoped: bool) -> Self {
        Self {
            inner,
            call: Some(call),
            scoped,
        }
    }
}

impl<F> std::fmt::Debug for GrpcResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for GrpcResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<GrpcResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let trace = this
            .call
            .as_ref()
            .and_then(Call::trace)
            .filter(|_| *this.scoped);
        let result = ready!(match trace {
            Some(trace) => trace.scope(|| this.inner.poll(cx)),
            None => this.inner.poll(cx),
        });
        let mut call = this.call.take();
        Poll::Ready(match result {
            Ok(response) => {
                // A status in the headers is a Trailers-Only response: nothing follows it.
                // Without one, a status other than 200 says what the client will read.
                let code = Code::from_headers(response.headers()).or_else(|| {
                    (response.status() != StatusCode::OK)
                        .then(|| Code::from_http_status(response.status()))
                });
                if let (Some(code), Some(c)) = (code, call.as_mut()) {
                    c.finish(code);
                    call = None;
                }
                Ok(response.map(|body| {
                    GrpcResponseBody::new(body, call.map(|c| ResponseWatch::new(c, code)))
                }))
            }
            Err(e) => {
                if let Some(c) = call.as_mut() {
                    c.failed();
                }
                Err(e)
            }
        })
    }
}
