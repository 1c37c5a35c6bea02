//! vitalsign for HTTP servers built on tower: hyper, axum, and anything else speaking
//! `http::Request`/`http::Response`.
//!
//! - [`MetricsLayer`] (feature `server`, on by default) instruments every request with the OpenTelemetry HTTP server metrics as
//!   Prometheus renders them: `http_server_request_duration_seconds{http_request_method,
//!   http_route, http_response_status_code}` and `http_server_active_requests{http_request_method,
//!   http_route}`, plus opt-in body size histograms. Latency ends when the response body ends or
//!   is dropped, not at the headers.
//! - [`MetricsHandler`] answers `GET /metrics`: content negotiation, gzip, `?name[]=` selection,
//!   an optional cap on concurrent scrapes. With the `axum` feature, [`metrics_handler`] mounts it
//!   on a router.
//! - [`serve`] runs a standalone exporter on tokio and hyper, like Python's `start_http_server`.
//! - [`grpc`] (feature `grpc`, on by default): layers for gRPC servers and clients (tonic's, or
//!   any tower HTTP/2 stack) with Go's `grpc_server_*`/`grpc_client_*` families.
//! - [`client`] (feature `client`, on by default): a layer for outbound HTTP with
//!   OpenTelemetry's `http_client_*` families; with `reqwest`, a `reqwest-middleware` middleware.
//!
//! No label ever comes from the raw path, the query or a header: the route is the router's
//! template (axum's `MatchedPath`) or what a [`ClassifyRoute`] returns, requests that match no
//! route share the label `unmatched`, and methods outside the standard set are `_OTHER`. A
//! million distinct URLs add no series.
//!
//! ```no_run
//! # #[cfg(feature = "axum")]
//! # async fn app() {
//! use axum::{Router, routing::get};
//! use vitalsign_tower::{MetricsLayer, metrics_handler};
//!
//! let app: Router = Router::new()
//!     .route("/orders/{id}", get(|| async { "order" }))
//!     .route("/metrics", get(metrics_handler))
//!     .layer(MetricsLayer::new());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await.unwrap();
//! axum::serve(listener, app).await.unwrap();
//! # }
//! ```

#![forbid(unsafe_code)]

/// `new`, `get_ref`, `get_mut`, `into_inner` and `Debug` for a service that wraps `inner` and
/// keeps its layer's `metrics`.
#[cfg(any(feature = "grpc", feature = "client"))]
macro_rules! wrapper_accessors {
    ($name:ident, $metrics:ty) => {
        impl<S> $name<S> {
            pub(crate) fn new(inner: S, metrics: std::sync::Arc<$metrics>) -> Self {
                Self { inner, metrics }
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

        impl<S: std::fmt::Debug> std::fmt::Debug for $name<S> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("inner", &self.inner)
                    .field("metrics", &self.metrics)
                    .finish()
            }
        }
    };
}
#[cfg(any(feature = "grpc", feature = "client"))]
pub(crate) use wrapper_accessors;

#[cfg(any(feature = "server", feature = "client", feature = "grpc"))]
mod body;
#[cfg(feature = "client")]
pub mod client;
#[cfg(any(feature = "server", feature = "client", feature = "grpc"))]
mod described;
mod endpoint;
#[cfg(feature = "grpc")]
pub mod grpc;
#[cfg(any(feature = "server", feature = "grpc"))]
mod header;
#[cfg(any(feature = "server", feature = "client"))]
mod kept;
#[cfg(any(feature = "server", feature = "client"))]
mod method;
#[cfg(any(feature = "server", feature = "client", feature = "grpc"))]
mod options;
mod serve;
#[cfg(feature = "server")]
mod server;
#[cfg(any(feature = "server", feature = "client", feature = "grpc"))]
mod traceparent;

pub use endpoint::MetricsHandler;
#[cfg(feature = "axum")]
pub use endpoint::metrics_handler;
pub use serve::{
    Exporter, ServeError, ServeLimits, serve, serve_handler, serve_service, serve_with_shutdown,
};
#[cfg(feature = "server")]
pub use server::{
    ClassifyExtra, ClassifyRoute, DefaultRoute, ExtraLabel, MetricsBody, MetricsLayer,
    MetricsLayerBuilder, MetricsService, ResponseFuture, Route, UNMATCHED,
};
