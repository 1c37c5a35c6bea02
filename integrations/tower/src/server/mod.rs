//! The HTTP server layer: [`MetricsLayer`], the service, future and body it wraps requests in,
//! the route label (`route.rs`), the families (`families.rs`) and the table that finds a
//! request's series in them (`route_table.rs`).
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

mod families;
mod future;
mod layer;
pub(crate) mod route;
mod route_table;
mod service;

/// The response body of [`MetricsService`]: it records the request when its last frame is sent,
/// when it fails, or when it is dropped half-way.
pub type MetricsBody<B> = crate::body::WatchedBody<B, families::Tracker>;
pub use future::ResponseFuture;
pub use layer::{MetricsLayer, MetricsLayerBuilder};
pub use route::{ClassifyExtra, ClassifyRoute, DefaultRoute, ExtraLabel, Route, UNMATCHED};
pub use service::MetricsService;
