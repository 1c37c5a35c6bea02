//! The HTTP server families and the per-request tracker that records into them.
//!
//! The families have three labels (method, route, status; two on the active gauge), or four
//! with an extra label from a classifier; [`Families`] is generic over that arity so both shapes
//! share one implementation.

use std::sync::{Arc, LazyLock};

use http::StatusCode;
use vitalsign::trace::TraceContext;
use vitalsign::{
    Buckets, Descriptor, Gauge, Histogram, NativeBuckets, Registry, SparseFamily, Stopwatch,
    default_registry,
};

use crate::route::{ExtraLabel, Route};

pub(crate) const DURATION: &str = "http_server_request_duration_seconds";
pub(crate) const ACTIVE: &str = "http_server_active_requests";
pub(crate) const REQUEST_SIZE: &str = "http_server_request_body_size_bytes";
pub(crate) const RESPONSE_SIZE: &str = "http_server_response_body_size_bytes";
const METHOD: &str = "http_request_method";
const ROUTE: &str = "http_route";
const STATUS: &str = "http_response_status_code";

/// How many label sets each family keeps before new ones share its overflow series.
pub(crate) const DEFAULT_MAX_SERIES: usize = 2_000;

/// The label names are constants or checked by the builder; a sparse family only refuses
/// invalid names.
const VALID: &str = "the HTTP label names are valid";

/// The families, with `D` labels on the histograms and `A` on the active gauge.
struct Families<const D: usize, const A: usize> {
    duration: Arc<SparseFamily<Histogram, D>>,
    active: Arc<SparseFamily<Gauge, A>>,
    request_size: Option<Arc<SparseFamily<Histogram, D>>>,
    response_size: Option<Arc<SparseFamily<Histogram, D>>>,
}

impl<const D: usize, const A: usize> Families<D, A> {
    fn new(
        names: [&str; D],
        active_names: [&str; A],
        buckets: &Buckets,
        body_sizes: bool,
        max_series: usize,
    ) -> Self {
        let histograms = |buckets: &Buckets, native: Option<NativeBuckets>| {
            let buckets = buckets.clone();
            let family = SparseFamily::new_with(names, max_series, move || match native {
                Some(n) => Histogram::with_native(buckets.clone(), n),
                None => Histogram::new(buckets.clone()),
            });
            Arc::new(family.expect(VALID))
        };
        let sizes = Buckets::exponential(64.0, 4.0, 10).unwrap_or_else(|_| Buckets::latency());
        let histograms_native =
            |buckets: &Buckets| histograms(buckets, Some(NativeBuckets::default()));
        let histograms = |buckets: &Buckets| histograms(buckets, None);
        Self {
            // Durations are classic and native: a Prometheus with native histograms turned on
            // gets them with no code.
            duration: histograms_native(buckets),
            active: Arc::new(SparseFamily::new(active_names, max_series).expect(VALID)),
            request_size: body_sizes.then(|| histograms(&sizes)),
            response_size: body_sizes.then(|| histograms(&sizes)),
        }
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

    fn record(&self, labels: [&str; D], ns: u64, request_bytes: Option<u64>, response_bytes: u64) {
        self.duration.get(labels).observe_ns(ns);
        if let (Some(family), Some(n)) = (&self.request_size, request_bytes) {
            family.get(labels).observe(n as f64);
        }
        if let Some(family) = &self.response_size {
            family.get(labels).observe(response_bytes as f64);
        }
    }
}

enum Shape {
    Plain(Families<3, 2>),
    Extra(Families<4, 3>),
}

pub(crate) struct HttpMetrics {
    shape: Shape,
}

impl std::fmt::Debug for HttpMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (series, extra) = match &self.shape {
            Shape::Plain(f) => (f.duration.len(), false),
            Shape::Extra(f) => (f.duration.len(), true),
        };
        f.debug_struct("HttpMetrics")
            .field("series", &series)
            .field("extra_label", &extra)
            .finish()
    }
}

pub(crate) struct Config<'a> {
    pub(crate) registry: &'a Registry,
    pub(crate) buckets: Buckets,
    pub(crate) prefix: Option<String>,
    pub(crate) body_sizes: bool,
    pub(crate) max_series: usize,
    pub(crate) extra_label: Option<&'static str>,
}

impl HttpMetrics {
    fn new(buckets: &Buckets, body_sizes: bool, max_series: usize, extra: Option<&str>) -> Self {
        let shape = match extra {
            None => Shape::Plain(Families::new(
                [METHOD, ROUTE, STATUS],
                [METHOD, ROUTE],
                buckets,
                body_sizes,
                max_series,
            )),
            Some(extra) => Shape::Extra(Families::new(
                [METHOD, ROUTE, STATUS, extra],
                [METHOD, ROUTE, extra],
                buckets,
                body_sizes,
                max_series,
            )),
        };
        Self { shape }
    }

    /// Builds the families and registers them, under `prefix_` names if a prefix is given.
    pub(crate) fn register(config: Config<'_>) -> vitalsign::Result<Arc<Self>> {
        if let Some(extra) = config.extra_label {
            let reserved = [METHOD, ROUTE, STATUS, "le"];
            if !vitalsign::is_valid_label_name(extra) || reserved.contains(&extra) {
                return Err(invalid_extra(extra));
            }
        }
        let metrics = Self::new(
            &config.buckets,
            config.body_sizes,
            config.max_series,
            config.extra_label,
        );
        metrics.register_into(config.registry, config.prefix.as_deref())?;
        Ok(Arc::new(metrics))
    }

    fn register_into(&self, registry: &Registry, prefix: Option<&str>) -> vitalsign::Result<()> {
        match &self.shape {
            Shape::Plain(f) => f.register_into(registry, prefix),
            Shape::Extra(f) => f.register_into(registry, prefix),
        }
    }

    /// The families every [`MetricsLayer::new`](crate::MetricsLayer::new) shares, in the
    /// default registry. If a name there is taken, requests are still tracked, the clash is
    /// printed once, and the families are not exported.
    pub(crate) fn shared_default() -> Arc<Self> {
        static DEFAULT: LazyLock<Arc<HttpMetrics>> = LazyLock::new(|| {
            let metrics = HttpMetrics::new(&Buckets::latency(), false, DEFAULT_MAX_SERIES, None);
            if let Err(e) = metrics.register_into(default_registry(), None) {
                eprintln!("vitalsign-tower: HTTP metrics not exported: {e}");
            }
            Arc::new(metrics)
        });
        DEFAULT.clone()
    }

    fn active(&self, method: &str, route: &str, extra: &str) -> Arc<Gauge> {
        match &self.shape {
            Shape::Plain(f) => f.active.get([method, route]),
            Shape::Extra(f) => f.active.get([method, route, extra]),
        }
    }
}

fn invalid_extra(name: &str) -> vitalsign::Error {
    let why = if vitalsign::is_valid_label_name(name) {
        "the HTTP layer sets that label itself"
    } else {
        "label names match `[a-zA-Z_][a-zA-Z0-9_]*` and do not start with `__`"
    };
    vitalsign::Error::new(
        vitalsign::ErrorKind::InvalidLabelName,
        format!("invalid extra label name {name:?}: {why}"),
    )
}

/// One request in flight: holds the active gauge up, records duration and sizes once, when
/// the response body ends, fails or is dropped, or when the request is abandoned.
pub(crate) struct Tracker {
    metrics: Arc<HttpMetrics>,
    method: &'static str,
    route: Route,
    extra: &'static str,
    watch: Stopwatch,
    active: Arc<Gauge>,
    pub(crate) status: Option<StatusCode>,
    request_bytes: Option<u64>,
    pub(crate) response_bytes: u64,
    /// The request's `traceparent`: current while the durations are recorded, so their buckets
    /// keep it as their exemplar.
    trace: Option<TraceContext>,
}

impl Tracker {
    pub(crate) fn start(
        metrics: Arc<HttpMetrics>,
        method: &'static str,
        route: Route,
        extra: Option<ExtraLabel>,
        request_bytes: Option<u64>,
        trace: Option<TraceContext>,
    ) -> Self {
        let extra = extra.map_or("", ExtraLabel::as_str);
        let active = metrics.active(method, route.as_str(), extra);
        active.inc();
        Self {
            metrics,
            method,
            route,
            extra,
            watch: Stopwatch::start(),
            active,
            status: None,
            request_bytes,
            response_bytes: 0,
            trace,
        }
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        self.active.dec();
        // Without a status the client went away before a response: nothing to time.
        let Some(status) = self.status else { return };
        let (m, r, s) = (self.method, self.route.as_str(), status.as_str());
        let ns = self.watch.elapsed_ns();
        let record = || match &self.metrics.shape {
            Shape::Plain(f) => f.record([m, r, s], ns, self.request_bytes, self.response_bytes),
            Shape::Extra(f) => {
                f.record(
                    [m, r, s, self.extra],
                    ns,
                    self.request_bytes,
                    self.response_bytes,
                );
            }
        };
        match self.trace {
            Some(cx) => cx.scope(record),
            None => record(),
        }
    }
}
