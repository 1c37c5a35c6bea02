//! The HTTP server families and the per-request tracker that records into them.

use std::sync::{Arc, LazyLock};

use http::StatusCode;
use vitalsign::{
    Buckets, Descriptor, Gauge, Histogram, Registry, SparseFamily, Stopwatch, default_registry,
};

use crate::route::Route;

pub(crate) const DURATION: &str = "http_server_request_duration_seconds";
pub(crate) const ACTIVE: &str = "http_server_active_requests";
pub(crate) const REQUEST_SIZE: &str = "http_server_request_body_size_bytes";
pub(crate) const RESPONSE_SIZE: &str = "http_server_response_body_size_bytes";
const METHOD: &str = "http_request_method";
const ROUTE: &str = "http_route";
const STATUS: &str = "http_response_status_code";

/// How many label sets each family keeps before new ones share its overflow series.
pub(crate) const DEFAULT_MAX_SERIES: usize = 2_000;

pub(crate) struct HttpMetrics {
    duration: Arc<SparseFamily<Histogram, 3>>,
    active: Arc<SparseFamily<Gauge, 2>>,
    request_size: Option<Arc<SparseFamily<Histogram, 3>>>,
    response_size: Option<Arc<SparseFamily<Histogram, 3>>>,
}

impl std::fmt::Debug for HttpMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpMetrics")
            .field("series", &self.duration.len())
            .field("body_sizes", &self.request_size.is_some())
            .finish()
    }
}

pub(crate) struct Config<'a> {
    pub(crate) registry: &'a Registry,
    pub(crate) buckets: Buckets,
    pub(crate) prefix: Option<String>,
    pub(crate) body_sizes: bool,
    pub(crate) max_series: usize,
}

impl HttpMetrics {
    fn new(buckets: &Buckets, body_sizes: bool, max_series: usize) -> Self {
        // The label names are constants; a sparse family only refuses invalid names.
        const VALID: &str = "the HTTP label names are valid";
        let histograms = |buckets: &Buckets| {
            let buckets = buckets.clone();
            let family = SparseFamily::new_with([METHOD, ROUTE, STATUS], max_series, move || {
                Histogram::new(buckets.clone())
            });
            Arc::new(family.expect(VALID))
        };
        let sizes = Buckets::exponential(64.0, 4.0, 10).unwrap_or_else(|_| Buckets::latency());
        Self {
            duration: histograms(buckets),
            active: Arc::new(SparseFamily::new([METHOD, ROUTE], max_series).expect(VALID)),
            request_size: body_sizes.then(|| histograms(&sizes)),
            response_size: body_sizes.then(|| histograms(&sizes)),
        }
    }

    /// Builds the families and registers them, under `prefix_` names if a prefix is given.
    pub(crate) fn register(config: Config<'_>) -> vitalsign::Result<Arc<Self>> {
        let metrics = Self::new(&config.buckets, config.body_sizes, config.max_series);
        metrics.register_into(config.registry, config.prefix.as_deref())?;
        Ok(Arc::new(metrics))
    }

    fn register_into(&self, registry: &Registry, prefix: Option<&str>) -> vitalsign::Result<()> {
        let name = |base: &str| match prefix {
            Some(p) => format!("{p}_{base}"),
            None => base.to_owned(),
        };
        registry.register_shared(
            Descriptor::new(name(DURATION), "Duration of HTTP server requests."),
            self.duration.clone(),
        )?;
        registry.register_shared(
            Descriptor::new(name(ACTIVE), "Number of active HTTP server requests."),
            self.active.clone(),
        )?;
        if let (Some(req), Some(resp)) = (&self.request_size, &self.response_size) {
            registry.register_shared(
                Descriptor::new(name(REQUEST_SIZE), "Size of HTTP server request bodies."),
                req.clone(),
            )?;
            registry.register_shared(
                Descriptor::new(name(RESPONSE_SIZE), "Size of HTTP server response bodies."),
                resp.clone(),
            )?;
        }
        Ok(())
    }

    /// The families every [`MetricsLayer::new`](crate::MetricsLayer::new) shares, in the
    /// default registry. If a name there is taken, requests are still tracked, the clash is
    /// printed once, and the families are not exported.
    pub(crate) fn shared_default() -> Arc<Self> {
        static DEFAULT: LazyLock<Arc<HttpMetrics>> = LazyLock::new(|| {
            let metrics = HttpMetrics::new(&Buckets::latency(), false, DEFAULT_MAX_SERIES);
            if let Err(e) = metrics.register_into(default_registry(), None) {
                eprintln!("vitalsign-tower: HTTP metrics not exported: {e}");
            }
            Arc::new(metrics)
        });
        DEFAULT.clone()
    }
}

/// One request in flight: holds the active gauge up, records duration and sizes once, when
/// the response body ends, fails or is dropped, or when the request is abandoned.
pub(crate) struct Tracker {
    metrics: Arc<HttpMetrics>,
    method: &'static str,
    route: Route,
    watch: Stopwatch,
    active: Arc<Gauge>,
    pub(crate) status: Option<StatusCode>,
    request_bytes: Option<u64>,
    pub(crate) response_bytes: u64,
}

impl Tracker {
    pub(crate) fn start(
        metrics: Arc<HttpMetrics>,
        method: &'static str,
        route: Route,
        request_bytes: Option<u64>,
    ) -> Self {
        let active = metrics.active.get([method, route.as_str()]);
        active.inc();
        Self {
            metrics,
            method,
            route,
            watch: Stopwatch::start(),
            active,
            status: None,
            request_bytes,
            response_bytes: 0,
        }
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        self.active.dec();
        // Without a status the client went away before a response: nothing to time.
        let Some(status) = self.status else { return };
        let labels = [self.method, self.route.as_str(), status.as_str()];
        self.metrics
            .duration
            .get(labels)
            .observe_ns(self.watch.elapsed_ns());
        if let (Some(family), Some(n)) = (&self.metrics.request_size, self.request_bytes) {
            family.get(labels).observe(n as f64);
        }
        if let Some(family) = &self.metrics.response_size {
            family.get(labels).observe(self.response_bytes as f64);
        }
    }
}
