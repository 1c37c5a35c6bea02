//! [`MetricsHandler`]: answers `GET`/`HEAD` with the registry's exposition in the negotiated
//! format, gzipped when accepted, within a timeout, with a cap on concurrent scrapes.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
#[cfg(feature = "axum")]
use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, ACCEPT_ENCODING, ALLOW, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use vitalsign::encoding::{accepts_encoding, negotiate, negotiate_escaping};
use vitalsign::{EncodeOptions, Format, Registry, Stopwatch, default_registry};

use super::pool::Pool;
use super::query::selectors;
use super::scrape_thread::ScrapeThread;
use super::self_metrics::{ScrapeMetrics, ScrapeStatus};

/// How long a scrape may take before [`serve`](crate::serve) and [`metrics_handler`] answer
/// `503` (Prometheus' own default scrape timeout).
pub(crate) const SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);

/// Answers scrapes of one registry. Usable as a tower `Service` (any request path: mount it
/// where you like) and, with the `axum` feature, through [`metrics_handler`].
///
/// Self-metrics go into the same registry: `vitalsign_scrapes_total{code}` and
/// `vitalsign_scrape_encode_duration_seconds`.
#[derive(Clone)]
pub struct MetricsHandler {
    registry: &'static Registry,
    scrape_metrics: Arc<ScrapeMetrics>,
    in_flight: Arc<AtomicUsize>,
    max_concurrent: Option<usize>,
    gzip: bool,
    format: Option<Format>,
    timeout: Option<Duration>,
    pool: Arc<Pool>,
    thread: Arc<ScrapeThread>,
}

impl MetricsHandler {
    /// A handler for `registry`.
    pub fn new(registry: &'static Registry) -> Self {
        Self {
            registry,
            scrape_metrics: ScrapeMetrics::of(registry),
            in_flight: Arc::new(AtomicUsize::new(0)),
            max_concurrent: None,
            gzip: cfg!(feature = "gzip"),
            format: None,
            timeout: None,
            pool: Arc::default(),
            thread: Arc::default(),
        }
    }

    pub(crate) fn registry(&self) -> &'static Registry {
        self.registry
    }

    /// A handler for the [default registry](vitalsign::default_registry).
    pub fn for_default_registry() -> Self {
        Self::new(default_registry())
    }

    /// Answers `503` to scrapes beyond `max` running at once.
    #[must_use]
    pub fn max_concurrent_scrapes(mut self, max: usize) -> Self {
        self.max_concurrent = Some(max);
        self
    }

    /// Whether to gzip when the scraper accepts it (on by default with the `gzip` feature).
    #[must_use]
    pub fn gzip(mut self, on: bool) -> Self {
        self.gzip = on && cfg!(feature = "gzip");
        self
    }

    /// Answers `503` to a scrape still encoding after `timeout` (a collector that blocks), rather
    /// than leaving the scraper waiting. The encoding runs on a thread the handler keeps (or on
    /// tokio's blocking pool while that one is busy) and finishes in the background; [`max_concurrent_scrapes`](Self::max_concurrent_scrapes) bounds how many
    /// can be stuck at once. Applies when the handler is called as a tower `Service` (and through
    /// [`metrics_handler`] and [`serve`](crate::serve), which use 10 s) inside a tokio runtime
    /// with its time driver enabled.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Answers one request, on a blocking thread and within the [timeout](Self::timeout) if one
    /// is set and a tokio runtime is running; otherwise as [`handle`](Self::handle) does.
    pub fn respond<B>(
        &self,
        request: &Request<B>,
    ) -> impl Future<Output = Response<Full<Bytes>>> + Send + 'static {
        // Only what `handle` reads, so the future owns it and the body need not be `Sync`.
        let mut copy = Request::new(());
        *copy.method_mut() = request.method().clone();
        *copy.uri_mut() = request.uri().clone();
        *copy.headers_mut() = request.headers().clone();
        self.clone().respond_owned(copy)
    }

    async fn respond_owned(self, request: Request<()>) -> Response<Full<Bytes>> {
        let (Some(timeout), Ok(runtime)) = (self.timeout, tokio::runtime::Handle::try_current())
        else {
            return self.handle(&request);
        };
        let handler = self.clone();
        let (done, encoding) = tokio::sync::oneshot::channel();
        self.thread.run(&runtime, move || {
            let _ = done.send(handler.handle(&request));
        });
        match tokio::time::timeout(timeout, encoding).await {
            Ok(Ok(response)) => response,
            Ok(Err(_)) => plain(StatusCode::INTERNAL_SERVER_ERROR, "the scrape failed\n"),
            Err(_) => {
                self.scrape_metrics.count(ScrapeStatus::Busy);
                plain(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the scrape timed out: a collector is slow\n",
                )
            }
        }
    }

    /// Answers every scrape in `format`, whatever its `Accept` header asks for.
    #[must_use]
    pub fn format(mut self, format: Format) -> Self {
        self.format = Some(format);
        self
    }

    /// Answers one request.
    pub fn handle<B>(&self, request: &Request<B>) -> Response<Full<Bytes>> {
        if request.method() != Method::GET && request.method() != Method::HEAD {
            self.scrape_metrics.count(ScrapeStatus::MethodNotAllowed);
            let mut response = plain(
                StatusCode::METHOD_NOT_ALLOWED,
                "metrics are read with GET or HEAD\n",
            );
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        let Some(_slot) = self.slot() else {
            self.scrape_metrics.count(ScrapeStatus::Busy);
            let mut response = plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many scrapes at once; retry shortly\n",
            );
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static("1"));
            return response;
        };
        let names = match selectors(request.uri().query()) {
            Ok(names) => names,
            Err(why) => {
                self.scrape_metrics.count(ScrapeStatus::BadRequest);
                return plain(StatusCode::BAD_REQUEST, why);
            }
        };
        let header = |name| {
            request
                .headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        let format = self.format.unwrap_or_else(|| negotiate(header(ACCEPT)));
        let escaping = negotiate_escaping(header(ACCEPT));
        let gzip = self.gzip && accepts_encoding(header(ACCEPT_ENCODING), "gzip");
        self.scrape_metrics.count(ScrapeStatus::Ok);

        let watch = Stopwatch::start();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let options = EncodeOptions::new(format)
            .names((!names.is_empty()).then_some(&names[..]))
            .escaping(escaping);
        let mut body = self.pool.buffer();
        self.registry.encode(&mut body, &options);
        let gzip = gzip && {
            let mut other = self.pool.buffer();
            let zipped = self.pool.gzip(&body, &mut other);
            if zipped {
                std::mem::swap(&mut body, &mut other);
            }
            self.pool.give_back(other);
            zipped
        };
        let body = self.pool.body(body);
        self.scrape_metrics
            .encode_seconds
            .observe_ns(watch.elapsed_ns());

        let mut response = Response::new(Full::new(body));
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(format.content_type_escaped(escaping)),
        );
        if gzip {
            headers.insert(
                http::header::CONTENT_ENCODING,
                HeaderValue::from_static("gzip"),
            );
        }
        if self.gzip {
            headers.insert(
                http::header::VARY,
                HeaderValue::from_static("Accept-Encoding"),
            );
        }
        response
    }

    fn slot(&self) -> Option<Slot> {
        let n = self.in_flight.fetch_add(1, Ordering::AcqRel) + 1;
        let slot = Slot(self.in_flight.clone());
        match self.max_concurrent {
            Some(max) if n > max => None,
            _ => Some(slot),
        }
    }
}

/// One scrape in flight; gives its place back when dropped.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn plain(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

impl std::fmt::Debug for MetricsHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsHandler")
            .field("max_concurrent", &self.max_concurrent)
            .field("gzip", &self.gzip)
            .finish_non_exhaustive()
    }
}

impl<B> tower::Service<Request<B>> for MetricsHandler {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let response = self.respond(&request);
        Box::pin(async move { Ok(response.await) })
    }
}

/// An axum handler answering scrapes of the default registry:
/// `.route("/metrics", get(metrics_handler))`.
///
/// Its self-metrics join the registry at the first request. To have them registered (and in
/// [`Registry::series_bound`](vitalsign::Registry::series_bound) and the
/// [catalogue](vitalsign::catalog)) from the start, mount a handler made up front instead:
/// `.route_service("/metrics", MetricsHandler::for_default_registry())`.
#[cfg(feature = "axum")]
pub async fn metrics_handler(request: axum::extract::Request) -> axum::response::Response {
    static HANDLER: LazyLock<MetricsHandler> =
        LazyLock::new(|| MetricsHandler::for_default_registry().timeout(SCRAPE_TIMEOUT));
    HANDLER.respond(&request).await.map(axum::body::Body::new)
}
