//! The HTTP server families and the per-request tracker that records into them.
//!
//! The families have three labels (method, route, status; two on the active gauge), or four
//! with an extra label from a classifier; [`Families`] is generic over that arity so both shapes
//! share one implementation.

use std::sync::{Arc, LazyLock};

use bytes::Buf;
use http::StatusCode;
use http_body::Frame;
use vitalsign::catalog::Source;
use vitalsign::trace::TraceContext;
use vitalsign::{
    Buckets, Descriptor, Gauge, Histogram, OVERFLOW_VALUE, Registry, SparseFamily, Stopwatch,
    default_registry,
};

use super::route::ExtraLabel;
use super::route_table::{RouteEntry, RouteTable, StatusSeries};
use crate::body::Watch;
use crate::described::Described;
use crate::options::{DEFAULT_MAX_SERIES, DurationBuckets};

pub(crate) const DURATION: &str = "http_server_request_duration_seconds";
pub(crate) const ACTIVE: &str = "http_server_active_requests";
pub(crate) const REQUEST_SIZE: &str = "http_server_request_body_size_bytes";
pub(crate) const RESPONSE_SIZE: &str = "http_server_response_body_size_bytes";
const METHOD: &str = "http_request_method";
const ROUTE: &str = "http_route";
const STATUS: &str = "http_response_status_code";

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
        durations: &DurationBuckets,
        body_sizes: bool,
        max_series: usize,
    ) -> Self {
        let histograms = |buckets: DurationBuckets| {
            let family = SparseFamily::new_with(names, max_series, buckets.maker());
            Arc::new(family.expect(VALID))
        };
        // Body sizes are classic only.
        let sizes = DurationBuckets {
            classic: Buckets::exponential(64.0, 4.0, 10).unwrap_or_else(|_| Buckets::latency()),
            native: None,
        };
        Self {
            // Durations are classic and native by default: a Prometheus with native histograms
            // turned on gets them with no code.
            duration: histograms(durations.clone()),
            active: Arc::new(SparseFamily::new(active_names, max_series).expect(VALID)),
            request_size: body_sizes.then(|| histograms(sizes.clone())),
            response_size: body_sizes.then(|| histograms(sizes)),
        }
    }

    fn register_into(&self, registry: &Registry, prefix: Option<&str>) -> vitalsign::Result<()> {
        let name = |base: &str| match prefix {
            Some(p) => format!("{p}_{base}"),
            None => base.to_owned(),
        };
        registry.register_shared(
            Descriptor::new(name(DURATION), "Duration of HTTP server requests.")
                .source(Source::HttpServer),
            Arc::new(Described::http(self.duration.clone(), &[])),
        )?;
        registry.register_shared(
            Descriptor::new(name(ACTIVE), "Number of active HTTP server requests.")
                .source(Source::HttpServer),
            Arc::new(Described::http(self.active.clone(), &[])),
        )?;
        if let (Some(req), Some(resp)) = (&self.request_size, &self.response_size) {
            registry.register_shared(
                Descriptor::new(name(REQUEST_SIZE), "Size of HTTP server request bodies.")
                    .source(Source::HttpServer),
                Arc::new(Described::http(req.clone(), &[])),
            )?;
            registry.register_shared(
                Descriptor::new(name(RESPONSE_SIZE), "Size of HTTP server response bodies.")
                    .source(Source::HttpServer),
                Arc::new(Described::http(resp.clone(), &[])),
            )?;
        }
        Ok(())
    }

    /// The series of the labels of a route and its status.
    fn status(&self, labels: [&str; D]) -> StatusSeries {
        StatusSeries::new(
            self.duration.get(labels),
            self.request_size.as_ref().map(|f| f.get(labels)),
            self.response_size.as_ref().map(|f| f.get(labels)),
        )
    }

    /// The overflow series, as the series of any status of the overflow entry.
    fn overflow_status(&self) -> StatusSeries {
        self.status([OVERFLOW_VALUE; D])
    }
}

enum Shape {
    Plain(Families<3, 2>),
    Extra(Families<4, 3>),
}

pub(crate) struct HttpMetrics {
    shape: Shape,
    routes: RouteTable,
}

/// The families a layer records into: the default layer's live in a static, so that its services
/// and requests hold them without a reference count.
#[derive(Clone)]
pub(crate) enum Shared {
    Static(&'static HttpMetrics),
    Counted(Arc<HttpMetrics>),
}

impl std::ops::Deref for Shared {
    type Target = HttpMetrics;

    fn deref(&self) -> &HttpMetrics {
        match self {
            Shared::Static(m) => m,
            Shared::Counted(m) => m,
        }
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
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
    pub(crate) durations: DurationBuckets,
    pub(crate) prefix: Option<String>,
    pub(crate) body_sizes: bool,
    pub(crate) max_series: usize,
    pub(crate) extra_label: Option<&'static str>,
}

impl HttpMetrics {
    fn new(
        durations: &DurationBuckets,
        body_sizes: bool,
        max_series: usize,
        extra: Option<&str>,
    ) -> Self {
        let shape = match extra {
            None => Shape::Plain(Families::new(
                [METHOD, ROUTE, STATUS],
                [METHOD, ROUTE],
                durations,
                body_sizes,
                max_series,
            )),
            Some(extra) => Shape::Extra(Families::new(
                [METHOD, ROUTE, STATUS, extra],
                [METHOD, ROUTE, extra],
                durations,
                body_sizes,
                max_series,
            )),
        };
        Self {
            shape,
            routes: RouteTable::new(max_series),
        }
    }

    /// Builds the families and registers them, under `prefix_` names if a prefix is given.
    pub(crate) fn register(config: Config<'_>) -> vitalsign::Result<Shared> {
        if let Some(extra) = config.extra_label {
            let reserved = [METHOD, ROUTE, STATUS, "le"];
            if !vitalsign::is_valid_label_name(extra) || reserved.contains(&extra) {
                return Err(invalid_extra(extra));
            }
        }
        let metrics = Self::new(
            &config.durations,
            config.body_sizes,
            config.max_series,
            config.extra_label,
        );
        metrics.register_into(config.registry, config.prefix.as_deref())?;
        Ok(Shared::Counted(Arc::new(metrics)))
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
    pub(crate) fn shared_default() -> Shared {
        static DEFAULT: LazyLock<HttpMetrics> = LazyLock::new(|| {
            let metrics =
                HttpMetrics::new(&DurationBuckets::default(), false, DEFAULT_MAX_SERIES, None);
            if let Err(e) = metrics.register_into(default_registry(), None) {
                eprintln!("vitalsign-tower: HTTP metrics not exported: {e}");
            }
            metrics
        });
        Shared::Static(&DEFAULT)
    }

    /// The entry of a request's labels, made with its active gauge if new.
    fn entry(&self, method: &'static str, route: &str, extra: &'static str) -> u32 {
        let active = |labels: [&str; 3]| match &self.shape {
            Shape::Plain(f) => f.active.get([labels[0], labels[1]]),
            Shape::Extra(f) => f.active.get(labels),
        };
        let make = || RouteEntry::new(method, route, extra, active([method, route, extra]));
        // The table holds as many label sets as the active gauge's family: a label set it turns
        // away would find that family full, and the others too unless they were filled by fewer
        // label sets (those have a status more), so every family's overflow series takes it.
        let overflow = || {
            let o = OVERFLOW_VALUE;
            RouteEntry::new(o, o, o, active([o; 3]))
        };
        self.routes
            .find_or_make(method, route, extra, make, overflow)
    }

    /// The series of `entry`'s route for `status`, made in the families if new.
    fn status(&self, entry: &RouteEntry, status: StatusCode) -> StatusSeries {
        let (m, r, x) = entry.labels();
        let overflow = self.routes.is_overflow(entry);
        match &self.shape {
            Shape::Plain(f) if overflow => f.overflow_status(),
            Shape::Extra(f) if overflow => f.overflow_status(),
            Shape::Plain(f) => f.status([m, r, status.as_str()]),
            Shape::Extra(f) => f.status([m, r, status.as_str(), x]),
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
#[allow(
    unreachable_pub,
    reason = "named by the public `MetricsBody` alias as its watch, and nameable nowhere else"
)]
pub struct Tracker {
    metrics: Shared,
    /// The request's entry in `metrics`' route table.
    entry: u32,
    watch: Stopwatch,
    pub(crate) status: Option<StatusCode>,
    request_bytes: Option<u64>,
    pub(crate) response_bytes: u64,
    /// The request's `traceparent`: current while the durations are recorded, so their buckets
    /// keep it as their exemplar.
    pub(crate) trace: Option<TraceContext>,
}

impl Tracker {
    pub(crate) fn start(
        metrics: &Shared,
        method: &'static str,
        route: &str,
        extra: Option<ExtraLabel>,
        request_bytes: Option<u64>,
        trace: Option<TraceContext>,
    ) -> Self {
        let extra = extra.map_or("", ExtraLabel::as_str);
        let entry = metrics.entry(method, route, extra);
        if let Some(e) = metrics.routes.get(entry) {
            e.active.inc();
        }
        Self {
            metrics: metrics.clone(),
            entry,
            watch: Stopwatch::start(),
            status: None,
            request_bytes,
            response_bytes: 0,
            trace,
        }
    }
}

impl std::fmt::Debug for Tracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracker").finish_non_exhaustive()
    }
}

impl Watch for Tracker {
    fn frame<D: Buf>(&mut self, frame: &Frame<D>, end_stream: bool) -> bool {
        if let Some(data) = frame.data_ref() {
            self.response_bytes += data.remaining() as u64;
        }
        end_stream
    }

    fn failed(&mut self) -> bool {
        true
    }

    fn ended(&mut self) -> bool {
        true
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        let Some(entry) = self.metrics.routes.get(self.entry) else {
            return;
        };
        entry.active.dec();
        // Without a status the client went away before a response: nothing to time.
        let Some(status) = self.status else { return };
        let ns = self.watch.elapsed_ns();
        let series = entry.status(status.as_u16(), || self.metrics.status(entry, status));
        let record = || {
            series.duration.observe_ns(ns);
            if let (Some(h), Some(n)) = (&series.request_size, self.request_bytes) {
                h.observe(n as f64);
            }
            if let Some(h) = &series.response_size {
                h.observe(self.response_bytes as f64);
            }
        };
        match self.trace {
            Some(cx) => cx.scope(record),
            None => record(),
        }
    }
}
