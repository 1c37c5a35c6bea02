//! The outbound HTTP metrics as a `reqwest-middleware` middleware.

use std::sync::Arc;

use reqwest_middleware::{Middleware, Next};

use super::metrics::{ClientMetrics, Tracker};
use super::{ErrorType, HttpClientLayer};

/// Records `http_client_request_duration_seconds` and `http_client_active_requests` for every
/// request a `reqwest_middleware::ClientWithMiddleware` sends, with the same families, hosts and
/// error types as [`HttpClientLayer`], and sends the current trace context as `traceparent`.
///
/// reqwest hands the response to the caller before its body is read, so here a request's
/// duration ends at the response headers.
///
/// ```no_run
/// # async fn call() -> Result<(), Box<dyn std::error::Error>> {
/// use vitalsign_tower::client::ReqwestMetrics;
///
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(ReqwestMetrics::new())
///     .build();
/// let response = client.post("http://127.0.0.1:8080/charge").send().await?;
/// # let _ = response;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct ReqwestMetrics {
    metrics: Arc<ClientMetrics>,
}

impl ReqwestMetrics {
    /// Records into the default registry's families, which [`HttpClientLayer::new`] shares.
    pub fn new() -> Self {
        Self {
            metrics: ClientMetrics::shared_default(),
        }
    }

    /// Records into `layer`'s families (its registry, hosts and buckets, from
    /// [`HttpClientLayer::builder`]).
    pub fn from_layer(layer: &HttpClientLayer) -> Self {
        Self {
            metrics: layer.metrics.clone(),
        }
    }
}

impl Default for ReqwestMetrics {
    fn default() -> Self {
        Self::new()
    }
}

/// The `error_type` of a request reqwest could not complete.
fn error_type(error: &reqwest_middleware::Error) -> ErrorType {
    match error {
        reqwest_middleware::Error::Reqwest(e) if e.is_timeout() => ErrorType::Timeout,
        reqwest_middleware::Error::Reqwest(e) if e.is_connect() => ErrorType::Connect,
        reqwest_middleware::Error::Reqwest(e) => ErrorType::of(e),
        reqwest_middleware::Error::Middleware(e) => ErrorType::of(e.as_ref()),
    }
}

#[async_trait::async_trait]
impl Middleware for ReqwestMetrics {
    async fn handle(
        &self,
        mut request: reqwest::Request,
        extensions: &mut http::Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let trace = crate::traceparent::inject(request.headers_mut());
        let url = request.url();
        let (host, port) = (
            url.host_str().unwrap_or_default(),
            url.port_or_known_default().unwrap_or(0),
        );
        let mut tracker = Tracker::start_at(
            self.metrics.clone(),
            request.method(),
            host,
            port,
            url.path(),
            trace,
        );
        let result = next.run(request, extensions).await;
        match &result {
            Ok(response) => tracker.status = Some(response.status()),
            Err(e) => tracker.error = Some(error_type(e)),
        }
        tracker.finish();
        result
    }
}
