use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower::{BoxError, Service};

use super::metrics::{ClientMetrics, Tracker};
use super::{HttpClientBody, HttpClientFuture};

/// The service [`HttpClientLayer`](super::HttpClientLayer) wraps around an HTTP client.
#[derive(Clone)]
pub struct HttpClientService<S> {
    inner: S,
    metrics: Arc<ClientMetrics>,
}

crate::wrapper_accessors!(HttpClientService, ClientMetrics);

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
        let trace = crate::traceparent::inject(request.headers_mut());
        let tracker = Tracker::start(self.metrics.clone(), &request, trace);
        HttpClientFuture::new(self.inner.call(request), tracker)
    }
}
