use std::task::{Context, Poll};

use http::{Request, Response};
use http_body::Body;
use tower::Service;

use super::families::{Shared, Tracker};
use super::route::{ClassifyExtra, ClassifyRoute, UNMATCHED};
use super::{MetricsBody, ResponseFuture};
use crate::method::method_label;

/// The service [`MetricsLayer`](crate::MetricsLayer) wraps around yours.
#[derive(Clone)]
pub struct MetricsService<S, C, X = ()> {
    inner: S,
    metrics: Shared,
    classifier: C,
    extra: X,
}

impl<S, C, X> MetricsService<S, C, X> {
    pub(crate) fn new(inner: S, metrics: Shared, classifier: C, extra: X) -> Self {
        Self {
            inner,
            metrics,
            classifier,
            extra,
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

impl<S: std::fmt::Debug, C, X> std::fmt::Debug for MetricsService<S, C, X> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, C, X, ReqBody, ResBody> Service<Request<ReqBody>> for MetricsService<S, C, X>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    C: ClassifyRoute<ReqBody>,
    X: ClassifyExtra<ReqBody>,
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
        let trace = crate::traceparent::extract(request.headers());
        let tracker = self.classifier.with_route(&request, |route| {
            Tracker::start(
                &self.metrics,
                method_label(request.method()),
                route.unwrap_or(UNMATCHED),
                self.extra.classify(&request),
                request.body().size_hint().exact(),
                trace,
            )
        });
        let inner = match trace {
            Some(cx) => cx.scope(|| self.inner.call(request)),
            None => self.inner.call(request),
        };
        ResponseFuture::new(inner, tracker)
    }
}
