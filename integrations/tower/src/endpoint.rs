//! The `/metrics` endpoint: `GET` and `HEAD` answer the registry's exposition in the format the
//! scraper asks for, gzipped when it accepts gzip.

use std::cell::RefCell;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
#[cfg(feature = "axum")]
use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, ACCEPT_ENCODING, ALLOW, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use vitalsign::encoding::negotiate;
use vitalsign::{
    Buckets, Counter, Descriptor, EncodeOptions, Family, Format, Histogram, LabelSet, LabelValue,
    Metric, Registry, Stopwatch, default_registry,
};

/// The most `name[]` selectors one scrape may carry.
const MAX_SELECTORS: usize = 256;

#[derive(Clone, Copy, LabelValue)]
enum ScrapeStatus {
    #[label(rename = "200")]
    Ok,
    #[label(rename = "400")]
    BadRequest,
    #[label(rename = "405")]
    MethodNotAllowed,
    #[label(rename = "503")]
    Busy,
}

#[derive(LabelSet)]
struct ScrapeLabels {
    code: ScrapeStatus,
}

/// Scrape self-metrics of one registry, shared by every handler serving it.
struct ScrapeMetrics {
    scrapes: Family<ScrapeLabels, Counter>,
    encode_seconds: Histogram,
}

impl ScrapeMetrics {
    fn count(&self, code: ScrapeStatus) {
        self.scrapes.get(&ScrapeLabels { code }).inc();
    }

    /// The self-metrics of `registry`, registered in it the first time.
    fn of(registry: &'static Registry) -> Arc<Self> {
        static BY_REGISTRY: Mutex<Vec<(usize, Arc<ScrapeMetrics>)>> = Mutex::new(Vec::new());
        let key = std::ptr::from_ref(registry) as usize;
        let mut all = BY_REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, m)) = all.iter().find(|(k, _)| *k == key) {
            return m.clone();
        }
        let buckets = Buckets::exponential(0.0001, 4.0, 9).unwrap_or_else(|_| Buckets::latency());
        let metrics = Arc::new(ScrapeMetrics {
            scrapes: Family::new(),
            encode_seconds: Histogram::new(buckets),
        });
        let scrapes = Arc::new(Shared(metrics.clone(), |m| &m.scrapes));
        let encode = Arc::new(Shared(metrics.clone(), |m| &m.encode_seconds));
        let registered = registry
            .register_shared(
                Descriptor::new("vitalsign_scrapes", "Scrapes answered, by status code."),
                scrapes,
            )
            .and_then(|()| {
                registry.register_shared(
                    Descriptor::new(
                        "vitalsign_scrape_encode_duration_seconds",
                        "Time to encode (and compress) one scrape.",
                    ),
                    encode,
                )
            });
        if let Err(e) = registered {
            eprintln!("vitalsign-tower: scrape self-metrics not exported: {e}");
        }
        all.push((key, metrics.clone()));
        metrics
    }
}

/// One field of the shared self-metrics, registered as a metric of its own.
struct Shared<M: 'static>(Arc<ScrapeMetrics>, fn(&ScrapeMetrics) -> &M);

impl<M: Metric> Metric for Shared<M> {
    fn metric_type(&self) -> vitalsign::MetricType {
        (self.1)(&self.0).metric_type()
    }

    fn label_names(&self, f: &mut dyn FnMut(&str)) {
        (self.1)(&self.0).label_names(f);
    }

    fn encode(&self, encoder: &mut vitalsign::MetricEncoder<'_>) {
        (self.1)(&self.0).encode(encoder);
    }
}

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
        }
    }

    /// A handler for the [default registry](vitalsign::default_registry).
    pub fn default_registry() -> Self {
        Self::new(default_registry())
    }

    /// Answers `503` to scrapes beyond `max` running at once.
    pub fn max_concurrent_scrapes(mut self, max: usize) -> Self {
        self.max_concurrent = Some(max);
        self
    }

    /// Whether to gzip when the scraper accepts it (on by default with the `gzip` feature).
    pub fn gzip(mut self, on: bool) -> Self {
        self.gzip = on && cfg!(feature = "gzip");
        self
    }

    /// Answers `503` to a scrape still encoding after `timeout` (a collector that blocks), rather
    /// than leaving the scraper waiting. The encoding runs on tokio's blocking pool and finishes
    /// in the background; [`max_concurrent_scrapes`](Self::max_concurrent_scrapes) bounds how many
    /// can be stuck at once. Applies when the handler is called as a tower `Service` (and through
    /// [`metrics_handler`] and [`serve`](crate::serve), which use 10 s) inside a tokio runtime
    /// with its time driver enabled.
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
        let encoding = runtime.spawn_blocking(move || handler.handle(&request));
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
        let gzip = self.gzip && accepts_gzip(header(ACCEPT_ENCODING));
        self.scrape_metrics.count(ScrapeStatus::Ok);

        let watch = Stopwatch::start();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let body = BUFFER.with(|buffer| {
            let mut buffer = buffer.borrow_mut();
            buffer.clear();
            let options = EncodeOptions {
                format,
                created: false,
                names: (!names.is_empty()).then_some(&names[..]),
            };
            self.registry.encode(&mut buffer, &options);
            if gzip {
                compress(&buffer)
            } else {
                Bytes::copy_from_slice(&buffer)
            }
        });
        self.scrape_metrics
            .encode_seconds
            .observe_ns(watch.elapsed_ns());

        let mut response = Response::new(Full::new(body));
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type(format)));
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

thread_local! {
    /// The encoding buffer, reused across scrapes on each thread.
    static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

fn content_type(format: Format) -> &'static str {
    format.content_type()
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

/// The `name[]` selectors of a query string, percent-decoded.
fn selectors(query: Option<&str>) -> Result<Vec<String>, &'static str> {
    let mut names = Vec::new();
    for pair in query.unwrap_or("").split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if decode(key).as_deref() != Some("name[]") {
            continue;
        }
        if names.len() == MAX_SELECTORS {
            return Err("too many name[] selectors (at most 256)\n");
        }
        match decode(value) {
            Some(v) => names.push(v),
            None => return Err("a name[] selector is not valid percent-encoded UTF-8\n"),
        }
    }
    Ok(names)
}

/// Percent-decodes a query component (`+` is a space), `None` if it is not valid UTF-8.
fn decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Whether an `Accept-Encoding` value allows gzip (`gzip` or `*` with a non-zero quality).
fn accepts_gzip(accept_encoding: Option<&str>) -> bool {
    accept_encoding.is_some_and(|v| {
        v.split(',').take(32).any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let zero = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !zero
        })
    })
}

#[cfg(feature = "gzip")]
fn compress(data: &[u8]) -> Bytes {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 4),
        flate2::Compression::fast(),
    );
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(data);
    Bytes::from(encoder.finish().unwrap_or_default())
}

#[cfg(not(feature = "gzip"))]
fn compress(data: &[u8]) -> Bytes {
    Bytes::copy_from_slice(data)
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
#[cfg(feature = "axum")]
pub async fn metrics_handler(request: axum::extract::Request) -> axum::response::Response {
    static HANDLER: LazyLock<MetricsHandler> =
        LazyLock::new(|| MetricsHandler::default_registry().timeout(crate::serve::SCRAPE_TIMEOUT));
    HANDLER.respond(&request).await.map(axum::body::Body::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_and_decoding() {
        assert_eq!(
            selectors(Some("name[]=a_total&x=1&name%5B%5D=b%20c&name[]=%zz")),
            Ok(vec![
                "a_total".to_owned(),
                "b c".to_owned(),
                "%zz".to_owned()
            ])
        );
        assert_eq!(
            selectors(Some("name[]=%ff")),
            Err("a name[] selector is not valid percent-encoded UTF-8\n")
        );
        assert_eq!(selectors(Some("name[]=%")), Ok(vec!["%".to_owned()]));
        let many = vec!["name[]=x"; 257].join("&");
        assert_eq!(
            selectors(Some(&many)),
            Err("too many name[] selectors (at most 256)\n")
        );
        assert_eq!(selectors(None), Ok(vec![]));
    }

    #[test]
    fn gzip_acceptance() {
        assert!(accepts_gzip(Some("gzip")));
        assert!(accepts_gzip(Some("deflate, gzip;q=0.5")));
        assert!(accepts_gzip(Some("*")));
        assert!(!accepts_gzip(Some("gzip;q=0")));
        assert!(!accepts_gzip(Some("identity")));
        assert!(!accepts_gzip(Some(";;;,,,")));
        assert!(!accepts_gzip(None));
    }
}
