use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::Response;
use pin_project_lite::pin_project;
use tower::BoxError;

use super::metrics::Tracker;
use super::{ErrorType, HttpClientBody};

pin_project! {
    /// The response future of [`HttpClientService`](super::HttpClientService): hands the
    /// tracker to the response body, or records a request that got no response with its
    /// `error_type`. Dropped before it completes (the caller gave up, as `tokio::time::timeout`
    /// does), the request is recorded with `error_type="canceled"`.
    pub struct HttpClientFuture<F> {
        #[pin]
        inner: F,
        tracker: Option<Tracker>,
    }
}

impl<F> HttpClientFuture<F> {
    pub(crate) fn new(inner: F, tracker: Tracker) -> Self {
        Self {
            inner,
            tracker: Some(tracker),
        }
    }
}

impl<F> std::fmt::Debug for HttpClientFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClientFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for HttpClientFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    E: Into<BoxError>,
{
    type Output = Result<Response<HttpClientBody<B>>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        let mut tracker = this.tracker.take();
        Poll::Ready(match result {
            Ok(response) => {
                if let Some(t) = &mut tracker {
                    t.status = Some(response.status());
                }
                Ok(response.map(|body| HttpClientBody::new(body, tracker)))
            }
            Err(e) => {
                let e: BoxError = e.into();
                if let Some(t) = &mut tracker {
                    t.error = Some(ErrorType::of(&*e));
                }
                Err(e)
            }
        })
    }
}
