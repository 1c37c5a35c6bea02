//! [`MetricsLayer`] and the service, future and body it wraps requests in.
//!
//! A request starts a tracker (active gauge up, clock started); the response future gives it the
//! status; the response body carries it until the last frame is sent or the body is dropped,
//! and then it records once. If the client hangs up before a response, or the handler panics,
//! dropping the future drops the tracker, which puts the gauge back and records nothing.
//!
//! A request with a valid W3C `traceparent` header has that trace context current while the
//! service runs (its synchronous call, and every poll of its future: the handler and the
//! `#[instrument_metrics]` functions it awaits) and while its durations are recorded, so a
//! sampled trace becomes the exemplar of the buckets it landed in. Tasks the handler spawns run
//! outside it; wrap them with `TraceContext::instrument` (`vitalsign::trace::current()` gives
//! the context to pass on).

mod body;
mod future;
#[allow(clippy::module_inception)] // tower-http's layout: `layer/layer.rs` holds the `Layer`
mod layer;
mod service;

pub use body::MetricsBody;
pub use future::ResponseFuture;
pub use layer::{MetricsLayer, MetricsLayerBuilder};
pub use service::MetricsService;
