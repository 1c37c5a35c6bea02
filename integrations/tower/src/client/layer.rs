use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use tower::Layer;
use vitalsign::{Registry, default_registry};

use super::HttpClientService;
use super::metrics::{ClientMetrics, Config, DEFAULT_MAX_HOSTS, Hosts};
use super::template::UrlTemplates;
use crate::options::{DEFAULT_MAX_SERIES, DurationBuckets, duration_bucket_options};

/// Instruments every request an HTTP client sends. See the [module docs](super).
///
/// [`HttpClientLayer::new`] records into families in the default registry shared by every layer
/// made that way; [`HttpClientLayer::builder`] chooses the registry, the hosts and buckets.
#[derive(Clone, Debug)]
pub struct HttpClientLayer {
    pub(crate) metrics: Arc<ClientMetrics>,
}

impl HttpClientLayer {
    /// A layer recording into the default registry; the first 100 hosts it sees get their own
    /// `server_address`, later ones share `_OTHER`.
    pub fn new() -> Self {
        Self {
            metrics: ClientMetrics::shared_default(),
        }
    }

    /// A builder for a layer with its own families.
    pub fn builder() -> HttpClientLayerBuilder<'static> {
        HttpClientLayerBuilder {
            registry: default_registry(),
            durations: DurationBuckets::default(),
            hosts: None,
            max_hosts: DEFAULT_MAX_HOSTS,
            max_series: DEFAULT_MAX_SERIES,
            templates: None,
        }
    }
}

impl Default for HttpClientLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Layer<S> for HttpClientLayer {
    type Service = HttpClientService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpClientService::new(inner, self.metrics.clone())
    }
}

/// Configures an [`HttpClientLayer`] with its own families.
///
/// ```
/// use vitalsign::{Format, Registry};
/// use vitalsign_tower::client::HttpClientLayer;
///
/// let registry = Registry::new();
/// let layer = HttpClientLayer::builder()
///     .registry(&registry)
///     .hosts(["payments.example.com"])
///     .build()?;
/// assert_eq!(registry.render(Format::Prometheus), "\
/// ## HELP http_client_request_duration_seconds Duration of HTTP client requests.
/// ## TYPE http_client_request_duration_seconds histogram
/// ## HELP http_client_active_requests Number of active HTTP client requests.
/// ## TYPE http_client_active_requests gauge
/// ## HELP vitalsign_series_overflow_total Lookups that found a sparse family full and went to its overflow series.
/// ## TYPE vitalsign_series_overflow_total counter
/// vitalsign_series_overflow_total{metric=\"http_client_request_duration_seconds\"} 0
/// vitalsign_series_overflow_total{metric=\"http_client_active_requests\"} 0
/// ");
/// # let _ = layer;
/// # Ok::<(), vitalsign::Error>(())
/// ```
#[derive(Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct HttpClientLayerBuilder<'r> {
    registry: &'r Registry,
    durations: DurationBuckets,
    hosts: Option<HashSet<Arc<str>>>,
    max_hosts: usize,
    max_series: usize,
    /// Declared URL templates, parsed by `build`.
    templates: Option<Vec<String>>,
}

impl HttpClientLayerBuilder<'_> {
    /// Registers the families in `registry` instead of the default one.
    pub fn registry(self, registry: &Registry) -> HttpClientLayerBuilder<'_> {
        HttpClientLayerBuilder {
            registry,
            durations: self.durations,
            hosts: self.hosts,
            max_hosts: self.max_hosts,
            max_series: self.max_series,
            templates: self.templates,
        }
    }

    /// The only hosts that get their own `server_address`; requests to any other host are
    /// `_OTHER` (a client that follows redirects anywhere adds no series).
    pub fn hosts<I, H>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = H>,
        H: AsRef<str>,
    {
        let set = self.hosts.get_or_insert_with(HashSet::new);
        set.extend(hosts.into_iter().map(|h| Arc::from(h.as_ref())));
        self
    }

    /// Without declared hosts, how many distinct hosts get their own `server_address` before
    /// the rest share `_OTHER` (default 100).
    pub fn max_hosts(mut self, max: usize) -> Self {
        self.max_hosts = max;
        self
    }

    /// Adds `url_template` to both families (OpenTelemetry's `url.template`): the first of
    /// `templates` the request path matches, or `_OTHER`. A template is a path whose `{name}`
    /// segments match any one segment (`/v1/charges/{id}`), so two APIs on one host are told
    /// apart (and an objective can name one, [`Target::url_template`]) while the label stays
    /// bounded. An invalid template (not starting with `/`, a placeholder that is not a whole
    /// segment) fails [`build`](Self::build).
    ///
    /// [`Target::url_template`]: vitalsign::objective::Target::url_template
    pub fn url_templates<I, T>(mut self, templates: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        let given = templates.into_iter().map(|t| t.as_ref().to_owned());
        self.templates.get_or_insert_with(Vec::new).extend(given);
        self
    }

    /// How many label sets each family keeps before new ones share its overflow series
    /// (default 2,000): what [`Registry::series_bound`](vitalsign::Registry::series_bound)
    /// counts for each, plus the overflow series. Methods, declared hosts, ports, statuses and
    /// error types multiply; size it to what the client calls.
    pub fn max_series(mut self, max: usize) -> Self {
        self.max_series = max;
        self
    }

    duration_bucket_options!();

    /// Registers the families; fails if a name is taken.
    pub fn build(self) -> vitalsign::Result<HttpClientLayer> {
        let hosts = match self.hosts {
            Some(set) => Hosts::Declared(set),
            None => Hosts::FirstSeen {
                seen: RwLock::default(),
                max: self.max_hosts,
            },
        };
        let metrics = ClientMetrics::register(Config {
            registry: self.registry,
            durations: self.durations,
            hosts,
            max_series: self.max_series,
            templates: self.templates.map(UrlTemplates::new).transpose()?,
        })?;
        Ok(HttpClientLayer { metrics })
    }
}
