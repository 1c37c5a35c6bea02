//! The W3C `traceparent` header on both ends of a call: a server reads the caller's context
//! from it, a client sends the current one in it.

use http::{HeaderMap, HeaderName};
use vitalsign::trace::TraceContext;

static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// The trace context a request carries, if its `traceparent` is valid.
#[cfg(any(feature = "server", feature = "grpc"))]
pub(crate) fn extract(headers: &HeaderMap) -> Option<TraceContext> {
    crate::header::get(headers, &TRACEPARENT)
        .and_then(|v| v.to_str().ok())
        .and_then(TraceContext::from_traceparent)
}

/// Sends the current trace context as `traceparent`, unless the request already has one, and
/// returns it (its calls' durations keep it as their exemplar).
#[cfg(any(feature = "grpc", feature = "client"))]
pub(crate) fn inject(headers: &mut HeaderMap) -> Option<TraceContext> {
    let cx = vitalsign::trace::current()?;
    if !headers.contains_key(&TRACEPARENT) {
        if let Ok(v) = http::HeaderValue::from_str(&cx.to_string()) {
            headers.insert(TRACEPARENT.clone(), v);
        }
    }
    Some(cx)
}
