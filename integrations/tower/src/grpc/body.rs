//! The bodies a gRPC layer wraps: the request body counts the messages it carries; the response
//! body (the layers' shared [`WatchedBody`]) counts its messages, reads the status from the
//! trailers, and ends the call when the stream ends, fails or is dropped.

use std::io::IoSlice;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Buf;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use vitalsign::Counter;

use super::code::Code;
use super::metrics::Call;
use crate::body::{Watch, WatchedBody};

/// Finds message boundaries in a gRPC stream: each message is a 1-byte flag, a 4-byte
/// big-endian length, then that many bytes, and frames split them anywhere.
#[derive(Debug, Default)]
pub(crate) struct Frames {
    header: [u8; 5],
    header_len: u8,
    remaining: u32,
}

impl Frames {
    /// Reads `data` and returns how many messages it completed.
    pub(crate) fn feed(&mut self, mut data: &[u8]) -> u64 {
        let mut complete = 0;
        while !data.is_empty() {
            if self.remaining > 0 {
                let take = data.len().min(self.remaining as usize);
                self.remaining -= take as u32;
                data = &data[take..];
                complete += u64::from(self.remaining == 0);
                continue;
            }
            let at = usize::from(self.header_len);
            let take = data.len().min(5 - at);
            self.header[at..at + take].copy_from_slice(&data[..take]);
            self.header_len += take as u8;
            data = &data[take..];
            if self.header_len == 5 {
                self.header_len = 0;
                let [_, a, b, c, d] = self.header;
                self.remaining = u32::from_be_bytes([a, b, c, d]);
                complete += u64::from(self.remaining == 0);
            }
        }
        complete
    }

    /// Reads every chunk of `buf` without consuming it.
    fn feed_buf(&mut self, buf: &impl Buf) -> u64 {
        let first = buf.chunk();
        // One contiguous chunk (`Bytes`, what HTTP stacks pass) needs no vectored read.
        if first.len() == buf.remaining() {
            return self.feed(first);
        }
        let mut slices = [IoSlice::new(&[]); 16];
        let n = buf.chunks_vectored(&mut slices);
        slices[..n].iter().map(|s| self.feed(s)).sum()
    }
}

pin_project! {
    /// A request body whose messages are counted (`msg_received` on a server, `msg_sent` on a
    /// client).
    pub struct GrpcRequestBody<B> {
        #[pin]
        inner: B,
        frames: Frames,
        messages: Option<Arc<Counter>>,
    }
}

impl<B> GrpcRequestBody<B> {
    pub(crate) fn new(inner: B, messages: Arc<Counter>) -> Self {
        Self {
            inner,
            frames: Frames::default(),
            messages: Some(messages),
        }
    }

    /// The wrapped body.
    pub fn into_inner(self) -> B {
        self.inner
    }
}

impl<B> std::fmt::Debug for GrpcRequestBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcRequestBody").finish_non_exhaustive()
    }
}

impl<B: Body> Body for GrpcRequestBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        if let (Some(Ok(f)), Some(counter)) = (&frame, this.messages.as_ref()) {
            if let Some(data) = f.data_ref() {
                let n = this.frames.feed_buf(data);
                if n > 0 {
                    counter.inc_by(n);
                }
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

/// What a gRPC response body keeps for its call: it counts the messages, and ends the call with
/// the status of its trailers, `Unknown` if it ends without one, or `Canceled`
/// (`DeadlineExceeded` past the caller's deadline) if it is dropped before its end.
#[allow(
    unreachable_pub,
    reason = "named by the public `GrpcResponseBody` alias as its watch, and nameable nowhere else"
)]
pub struct ResponseWatch {
    frames: Frames,
    call: Call,
    // The status of a Trailers-Only response, or from its HTTP status.
    code: Option<Code>,
}

impl ResponseWatch {
    pub(crate) fn new(call: Call, code: Option<Code>) -> Self {
        Self {
            frames: Frames::default(),
            call,
            code,
        }
    }
}

impl std::fmt::Debug for ResponseWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseWatch").finish_non_exhaustive()
    }
}

impl Watch for ResponseWatch {
    fn frame<D: Buf>(&mut self, frame: &Frame<D>, end_stream: bool) -> bool {
        if let Some(data) = frame.data_ref() {
            self.call.response_messages(self.frames.feed_buf(data));
            if end_stream {
                self.call.finish(self.code.unwrap_or(Code::Unknown));
            }
        } else if let Some(trailers) = frame.trailers_ref() {
            let code = self.code.or(Code::from_headers(trailers));
            self.call.finish(code.unwrap_or(Code::Unknown));
        }
        self.call.is_done()
    }

    fn failed(&mut self) -> bool {
        self.call.failed();
        self.call.is_done()
    }

    fn ended(&mut self) -> bool {
        self.call.finish(self.code.unwrap_or(Code::Unknown));
        self.call.is_done()
    }
}

/// A response body that counts its messages and ends its call: with the status of its
/// trailers, `Unknown` if it ends without one, or `Canceled` (`DeadlineExceeded` past the
/// caller's deadline) if it is dropped before its end.
pub type GrpcResponseBody<B> = WatchedBody<B, ResponseWatch>;

#[cfg(test)]
mod tests {
    use super::Frames;

    #[test]
    fn messages_are_counted_across_any_split() {
        // Three messages: 3 bytes, empty, 300 bytes.
        let mut stream = vec![0, 0, 0, 0, 3, 1, 2, 3, 0, 0, 0, 0, 0, 1, 0, 0, 1, 44];
        stream.extend(std::iter::repeat_n(7, 300));
        for split in 1..stream.len() {
            let mut frames = Frames::default();
            let n: u64 = stream.chunks(split).map(|c| frames.feed(c)).sum();
            assert_eq!(n, 3, "chunks of {split}");
        }
        // A message whose bytes have not all arrived is not counted.
        let mut frames = Frames::default();
        assert_eq!(frames.feed(&stream[..stream.len() - 1]), 2);
        assert_eq!(frames.feed(&stream[stream.len() - 1..]), 1);
    }
}
