//! The one response-body wrapper of the three layers. It passes every frame through as it is,
//! shows each to what the layer keeps for the call (a [`Watch`]: it counts bytes or messages
//! and reads trailers), tells it when the body ends or fails, and drops it then, which records
//! the call. A body dropped half-way drops its watch with it, which records the call as cut
//! short.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

pub(crate) use watch::Watch;

mod watch {
    use http_body::Frame;

    /// What a layer keeps for one call while its response body streams. Public only so that
    /// the layers' body types can name it; no type outside this crate implements it.
    pub trait Watch {
        /// A frame went by; `end_stream` says whether the body has ended with it. Whether the
        /// call is done.
        fn frame<D: bytes::Buf>(&mut self, frame: &Frame<D>, end_stream: bool) -> bool;

        /// The body failed. Whether the call is done.
        fn failed(&mut self) -> bool;

        /// The body ended (after its last frame, with no trailers that ended the call). Whether
        /// the call is done.
        fn ended(&mut self) -> bool;
    }
}

pin_project! {
    /// A response body that records its call when the body ends, fails or is dropped half-way
    /// (each layer's body type is this, with what that layer keeps for a call).
    pub struct WatchedBody<B, W> {
        #[pin]
        inner: B,
        watch: Option<W>,
    }
}

impl<B, W> WatchedBody<B, W> {
    pub(crate) fn new(inner: B, watch: Option<W>) -> Self {
        Self { inner, watch }
    }

    /// The wrapped body (the call it carried is recorded as cut short, if it was not done).
    pub fn into_inner(self) -> B {
        self.inner
    }
}

impl<B, W> std::fmt::Debug for WatchedBody<B, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchedBody")
            .field("watching", &self.watch.is_some())
            .finish_non_exhaustive()
    }
}

impl<B: Body, W: Watch> Body for WatchedBody<B, W> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let mut inner = this.inner;
        let frame = ready!(inner.as_mut().poll_frame(cx));
        if let Some(watch) = this.watch.as_mut() {
            let done = match &frame {
                // A body that says it has ended may never be polled again.
                Some(Ok(f)) => watch.frame(f, inner.is_end_stream()),
                Some(Err(_)) => watch.failed(),
                None => watch.ended(),
            };
            if done {
                // Dropping the watch records the call.
                *this.watch = None;
            }
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
