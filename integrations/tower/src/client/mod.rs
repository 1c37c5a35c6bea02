//! Outbound HTTP: a tower layer around an HTTP client (hyper-util's, or any tower service of
//! `http::Request`s), and with the `reqwest` feature a `reqwest-middleware` middleware
//! (`ReqwestMetrics`), that record OpenTelemetry's stable HTTP client metrics as Prometheus
//! renders them.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `http_client_request_duration_seconds` | histogram (classic and native) | `http_request_method`, `server_address`, `server_port`, `http_response_status_code`, `error_type` |
//! | `http_client_active_requests` | gauge | `http_request_method`, `server_address`, `server_port` |
//!
//! - A request that gets no response is counted too: `http_response_status_code=""` and an
//!   [`ErrorType`] (`timeout`, `connect`, `closed`, `canceled` or `_OTHER`) from the client's
//!   error. A response with a 4xx or 5xx status has its status code as `error_type`; any other
//!   has `error_type=""`.
//! - `url_template` (OpenTelemetry's `url.template`), with
//!   [`HttpClientLayerBuilder::url_templates`] only: the first declared template the request
//!   path matches (`/v1/charges/{id}`), else `_OTHER`, so two APIs on one host are told apart.
//! - `server_address` is the request URI's host: one of the hosts you declare
//!   ([`HttpClientLayerBuilder::hosts`]) or, without a list, one of the first 100 hosts seen;
//!   any other is `_OTHER`, so a client that follows redirects anywhere adds no series.
//! - The duration ends when the response body ends, fails or is dropped; a request whose
//!   future is dropped before a response is `error_type="canceled"`.
//! - The current trace context ([`vitalsign::trace::current`]) goes out as `traceparent` on
//!   every request that has none, so the callee's exemplars name the caller's trace; the
//!   duration's own exemplar is the same trace.
//!
//! ```no_run
//! # async fn call() -> Result<(), tower::BoxError> {
//! use http_body_util::{BodyExt, Full};
//! use hyper_util::client::legacy::Client;
//! use tower::{Service, ServiceBuilder, ServiceExt};
//! use vitalsign_tower::client::HttpClientLayer;
//!
//! let client = Client::builder(hyper_util::rt::TokioExecutor::new()).build_http::<Full<bytes::Bytes>>();
//! let mut client = ServiceBuilder::new()
//!     .layer(HttpClientLayer::new())
//!     .timeout(std::time::Duration::from_secs(2))
//!     .service(client);
//! let request = http::Request::post("http://127.0.0.1:8080/charge").body(Full::default())?;
//! let response = client.ready().await?.call(request).await?;
//! let body = response.into_body().collect().await?;
//! # let _ = body;
//! # Ok(())
//! # }
//! ```

mod entries;
mod error;
mod future;
mod layer;
mod metrics;
#[cfg(feature = "reqwest")]
mod reqwest;
mod service;
mod template;

/// The response body of [`HttpClientService`]: it records the request when it ends, fails or is
/// dropped.
pub type HttpClientBody<B> = crate::body::WatchedBody<B, metrics::Tracker>;
pub use error::ErrorType;
pub use future::HttpClientFuture;
pub use layer::{HttpClientLayer, HttpClientLayerBuilder};
pub use metrics::OTHER_HOST;
#[cfg(feature = "reqwest")]
pub use reqwest::ReqwestMetrics;
pub use service::HttpClientService;
