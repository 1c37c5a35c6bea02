use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use http_body::Body;
use tower::Service;

use super::{MetricsBody, ResponseFuture};
use crate::metrics::{HttpMetrics, Tracker};
use crate::route::{ClassifyRoute, Route, method_label};

/// The service [`MetricsLayer`](crate::MetricsLayer) wraps around yours.
#[derive(Clone)]
pub struct MetricsService<S, C> {
    inner: S,
    metrics: Arc<HttpMetrics>,
    classifier: C,
}

impl<S, C> MetricsService<S, C> {
    pub(crate) fn new(inner: S, metrics: Arc<HttpMetrics>, classifier: C) -> Self {
        Self {
            inner,
            metrics,
            classifier,
        }
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

impl<S: std::fmt::Debug, C> std::fmt::Debug for MetricsService<S, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, C, ReqBody, ResBody> Service<Request<ReqBody>> for MetricsService<S, C>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    C: ClassifyRoute<ReqBody>,
    ReqBody: Body,
    ResBody: Body,
{
    type Response = Response<MetricsBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let route = self
            .classifier
            .classify(&request)
            .unwrap_or_else(Route::unmatched);
        let tracker = Tracker::start(
            self.metrics.clone(),
            method_label(request.method()),
            route,
            request.body().size_hint().exact(),
        );
        ResponseFuture::new(self.inner.call(request), tracker)
    }
}
