use tower::Layer;
use vitalsign::{Registry, default_registry};

use super::MetricsService;
use super::families::{Config, HttpMetrics, Shared};
use super::route::DefaultRoute;
use crate::options::{DEFAULT_MAX_SERIES, DurationBuckets, duration_bucket_options};

/// Instruments every request of the service it wraps. See the [crate docs](crate).
///
/// [`MetricsLayer::new`] records into families in the default registry shared by every layer
/// made that way; [`MetricsLayer::builder`] chooses the registry, buckets, a name prefix and the
/// body size histograms.
#[derive(Clone)]
pub struct MetricsLayer<C = DefaultRoute, X = ()> {
    pub(crate) metrics: Shared,
    pub(crate) classifier: C,
    pub(crate) extra: X,
}

impl MetricsLayer {
    /// A layer recording into the default registry, routes from [`DefaultRoute`].
    pub fn new() -> Self {
        Self {
            metrics: HttpMetrics::shared_default(),
            classifier: DefaultRoute::default(),
            extra: (),
        }
    }

    /// A builder for a layer with its own families.
    pub fn builder() -> MetricsLayerBuilder<'static> {
        MetricsLayerBuilder {
            registry: default_registry(),
            durations: DurationBuckets::default(),
            prefix: None,
            body_sizes: false,
            max_series: DEFAULT_MAX_SERIES,
            extra_label: None,
            classifier: DefaultRoute::default(),
            extra: (),
        }
    }
}

impl Default for MetricsLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<C, X> MetricsLayer<C, X> {
    /// Uses `classifier` for the `http_route` label (see [`ClassifyRoute`](crate::ClassifyRoute)).
    pub fn classify_route<C2>(self, classifier: C2) -> MetricsLayer<C2, X> {
        MetricsLayer {
            metrics: self.metrics,
            classifier,
            extra: self.extra,
        }
    }
}

impl<S, C: Clone, X: Clone> Layer<S> for MetricsLayer<C, X> {
    type Service = MetricsService<S, C, X>;

    fn layer(&self, inner: S) -> Self::Service {
        MetricsService::new(
            inner,
            self.metrics.clone(),
            self.classifier.clone(),
            self.extra.clone(),
        )
    }
}

impl<C, X> std::fmt::Debug for MetricsLayer<C, X> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsLayer")
            .field("metrics", &self.metrics)
            .finish_non_exhaustive()
    }
}

/// Configures a [`MetricsLayer`] with its own families.
///
/// ```
/// use vitalsign::{Buckets, Format, Registry};
/// use vitalsign_tower::MetricsLayer;
///
/// let registry = Registry::new();
/// let layer = MetricsLayer::builder()
///     .registry(&registry)
///     .buckets(Buckets::new([0.01, 0.1, 1.0])?)
///     .prefix("shop")
///     .body_sizes(true)
///     .build()?;
/// // No request yet: the families are described, with no series.
/// assert_eq!(registry.render(Format::Prometheus), "\
/// ## HELP shop_http_server_request_duration_seconds Duration of HTTP server requests.
/// ## TYPE shop_http_server_request_duration_seconds histogram
/// ## HELP shop_http_server_active_requests Number of active HTTP server requests.
/// ## TYPE shop_http_server_active_requests gauge
/// ## HELP shop_http_server_request_body_size_bytes Size of HTTP server request bodies.
/// ## TYPE shop_http_server_request_body_size_bytes histogram
/// ## HELP shop_http_server_response_body_size_bytes Size of HTTP server response bodies.
/// ## TYPE shop_http_server_response_body_size_bytes histogram
/// ## HELP vitalsign_series_overflow_total Lookups that found a sparse family full and went to its overflow series.
/// ## TYPE vitalsign_series_overflow_total counter
/// vitalsign_series_overflow_total{metric=\"shop_http_server_request_duration_seconds\"} 0
/// vitalsign_series_overflow_total{metric=\"shop_http_server_active_requests\"} 0
/// vitalsign_series_overflow_total{metric=\"shop_http_server_request_body_size_bytes\"} 0
/// vitalsign_series_overflow_total{metric=\"shop_http_server_response_body_size_bytes\"} 0
/// ");
/// # let _ = layer;
/// # Ok::<(), vitalsign::Error>(())
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct MetricsLayerBuilder<'r, C = DefaultRoute, X = ()> {
    registry: &'r Registry,
    durations: DurationBuckets,
    prefix: Option<String>,
    body_sizes: bool,
    max_series: usize,
    extra_label: Option<&'static str>,
    classifier: C,
    extra: X,
}

impl<C, X> std::fmt::Debug for MetricsLayerBuilder<'_, C, X> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsLayerBuilder")
            .field("durations", &self.durations)
            .field("prefix", &self.prefix)
            .field("body_sizes", &self.body_sizes)
            .field("max_series", &self.max_series)
            .field("extra_label", &self.extra_label)
            .finish_non_exhaustive()
    }
}

impl<'r, C, X> MetricsLayerBuilder<'r, C, X> {
    /// Registers the families in `registry` instead of the default one.
    pub fn registry<'s>(self, registry: &'s Registry) -> MetricsLayerBuilder<'s, C, X> {
        MetricsLayerBuilder {
            registry,
            durations: self.durations,
            prefix: self.prefix,
            body_sizes: self.body_sizes,
            max_series: self.max_series,
            extra_label: self.extra_label,
            classifier: self.classifier,
            extra: self.extra,
        }
    }

    /// Uses `classifier` for the `http_route` label (see [`ClassifyRoute`](crate::ClassifyRoute)).
    pub fn classify_route<C2>(self, classifier: C2) -> MetricsLayerBuilder<'r, C2, X> {
        MetricsLayerBuilder {
            registry: self.registry,
            durations: self.durations,
            prefix: self.prefix,
            body_sizes: self.body_sizes,
            max_series: self.max_series,
            extra_label: self.extra_label,
            classifier,
            extra: self.extra,
        }
    }

    duration_bucket_options!();

    /// Prefixes every family name with `prefix_`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// Also records request and response body sizes.
    pub fn body_sizes(mut self, on: bool) -> Self {
        self.body_sizes = on;
        self
    }

    /// The most label sets per family before new ones share the overflow series (default 2,000).
    ///
    /// It bounds the method, route (and extra label) combinations the layer keeps: requests
    /// with a combination past the first `max` go to every family's overflow series (labels
    /// `__overflow__`), whatever their status. The layer finds a request's series through a
    /// table of 8 to 16 bytes per combination it may keep (16 KB for the default), made with
    /// the layer, and about 400 bytes per combination seen.
    pub fn max_series(mut self, max: usize) -> Self {
        self.max_series = max;
        self
    }

    /// Adds a label named `name` to every family, its value from `classifier` (see
    /// [`ClassifyExtra`](crate::ClassifyExtra); empty when it returns `None`).
    pub fn extra_label<X2>(
        self,
        name: &'static str,
        classifier: X2,
    ) -> MetricsLayerBuilder<'r, C, X2> {
        MetricsLayerBuilder {
            registry: self.registry,
            durations: self.durations,
            prefix: self.prefix,
            body_sizes: self.body_sizes,
            max_series: self.max_series,
            extra_label: Some(name),
            classifier: self.classifier,
            extra: classifier,
        }
    }

    /// Registers the families; fails if a name is taken or the prefix is not a valid name.
    pub fn build(self) -> vitalsign::Result<MetricsLayer<C, X>> {
        let metrics = HttpMetrics::register(Config {
            registry: self.registry,
            durations: self.durations,
            prefix: self.prefix,
            body_sizes: self.body_sizes,
            max_series: self.max_series,
            extra_label: self.extra_label,
        })?;
        Ok(MetricsLayer {
            metrics,
            classifier: self.classifier,
            extra: self.extra,
        })
    }
}
