use std::sync::Arc;
use std::task::{Context, Poll};

use http::{HeaderValue, Request, Response};
use tower::{BoxError, Service};
use vitalsign::trace;

use super::metrics::{ClientMetrics, Tracker};
use super::{HttpClientBody, HttpClientFuture};

/// The service [`HttpClientLayer`](super::HttpClientLayer) wraps around an HTTP client.
#[derive(Clone)]
pub struct HttpClientService<S> {
    inner: S,
    metrics: Arc<ClientMetrics>,
}

impl<S> HttpClientService<S> {
    pub(crate) fn new(inner: S, metrics: Arc<ClientMetrics>) -> Self {
        Self { inner, metrics }
    }

    /// The wrapped client.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped client, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the client.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: std::fmt::Debug> std::fmt::Debug for HttpClientService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClientService")
            .field("inner", &self.inner)
            .field("metrics", &self.metrics)
            .finish()
    }
}

impl<S, B, ResBody> Service<Request<B>> for HttpClientService<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    S::Error: Into<BoxError>,
{
    type Response = Response<HttpClientBody<ResBody>>;
    type Error = BoxError;
    type Future = HttpClientFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let trace = trace::current();
        if let Some(cx) = trace {
            if !request.headers().contains_key("traceparent") {
                if let Ok(v) = HeaderValue::from_str(&cx.to_string()) {
                    request.headers_mut().insert("traceparent", v);
                }
            }
        }
        let tracker = Tracker::start(self.metrics.clone(), &request, trace);
        HttpClientFuture::new(self.inner.call(request), tracker)
    }
}
