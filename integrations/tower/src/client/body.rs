use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::metrics::Tracker;

pin_project! {
    /// A response body that records its request when it ends, fails or is dropped.
    pub struct HttpClientBody<B> {
        #[pin]
        inner: B,
        tracker: Option<Tracker>,
    }
}

impl<B> HttpClientBody<B> {
    pub(crate) fn new(inner: B, tracker: Option<Tracker>) -> Self {
        Self { inner, tracker }
    }
}

impl<B> std::fmt::Debug for HttpClientBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClientBody").finish_non_exhaustive()
    }
}

impl<B: Body> Body for HttpClientBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let mut inner = this.inner;
        let frame = ready!(inner.as_mut().poll_frame(cx));
        let ended = match &frame {
            Some(Ok(_)) => inner.is_end_stream(),
            Some(Err(_)) => {
                if let Some(t) = this.tracker.as_mut() {
                    t.error.get_or_insert(super::ErrorType::Closed);
                }
                true
            }
            None => true,
        };
        if ended {
            drop(this.tracker.take());
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
