use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::Response;
use pin_project_lite::pin_project;

use super::MetricsBody;
use super::families::Tracker;

pin_project! {
    /// The response future of [`MetricsService`](crate::MetricsService): hands the tracker to the
    /// response body, or records an error response if the service fails.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        tracker: Option<Tracker>,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, tracker: Tracker) -> Self {
        Self {
            inner,
            tracker: Some(tracker),
        }
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<MetricsBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // The request's trace is current for everything the service runs in this task.
        let trace = this.tracker.as_ref().and_then(|t| t.trace);
        let result = ready!(match trace {
            Some(trace) => trace.scope(|| this.inner.poll(cx)),
            None => this.inner.poll(cx),
        });
        let mut tracker = this.tracker.take();
        Poll::Ready(match result {
            Ok(response) => {
                if let Some(t) = &mut tracker {
                    t.status = Some(response.status());
                }
                Ok(response.map(|body| MetricsBody::new(body, tracker)))
            }
            // The service failed: the server answers 500 and the request is recorded as such.
            Err(e) => {
                if let Some(t) = &mut tracker {
                    t.status = Some(http::StatusCode::INTERNAL_SERVER_ERROR);
                }
                Err(e)
            }
        })
    }
}
