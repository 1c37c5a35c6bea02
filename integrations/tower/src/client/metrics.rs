//! The HTTP client families, the hosts they may name, and the per-request tracker.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock, PoisonError, RwLock};

use http::{Request, StatusCode, Uri};
use vitalsign::trace::TraceContext;
use vitalsign::{
    Descriptor, Gauge, Histogram, Registry, SparseFamily, Stopwatch, default_registry,
};

use super::entries::{HostEntry, HostTable};
use super::error::ErrorType;
use super::template::UrlTemplates;
use crate::body::Watch;
use crate::described::{Described, Values};
use crate::method::method_label;
use crate::options::{DEFAULT_MAX_SERIES, DurationBuckets};

pub(crate) const DURATION: &str = "http_client_request_duration_seconds";
pub(crate) const ACTIVE: &str = "http_client_active_requests";
const LABELS: [&str; 5] = [
    "http_request_method",
    "server_address",
    "server_port",
    "http_response_status_code",
    "error_type",
];
/// The client-side route label, with declared URL templates (OpenTelemetry's `url.template`).
const TEMPLATE: &str = "url_template";

/// The `server_address` of hosts past the cap or outside the declared ones.
pub const OTHER_HOST: &str = "_OTHER";

/// How many distinct hosts get their own `server_address` when none are declared.
pub(crate) const DEFAULT_MAX_HOSTS: usize = 100;
const VALID: &str = "the HTTP client label names are valid";

/// The hosts that may be label values: declared, or the first `max` seen.
#[derive(Debug)]
pub(crate) enum Hosts {
    Declared(HashSet<Arc<str>>),
    FirstSeen {
        seen: RwLock<HashSet<Arc<str>>>,
        max: usize,
    },
}

impl Hosts {
    /// The `server_address` label for `host`.
    fn label(&self, host: &str) -> Arc<str> {
        static OTHER: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from(OTHER_HOST));
        match self {
            Hosts::Declared(hosts) => hosts.get(host).unwrap_or(&OTHER).clone(),
            Hosts::FirstSeen { seen, max } => {
                {
                    let seen = seen.read().unwrap_or_else(PoisonError::into_inner);
                    if let Some(h) = seen.get(host) {
                        return h.clone();
                    }
                    // Full: every host past the cap is `_OTHER` without taking the write lock.
                    if seen.len() >= *max {
                        return OTHER.clone();
                    }
                }
                let mut seen = seen.write().unwrap_or_else(PoisonError::into_inner);
                if let Some(h) = seen.get(host) {
                    return h.clone();
                }
                if seen.len() >= *max {
                    return OTHER.clone();
                }
                let h: Arc<str> = host.into();
                seen.insert(h.clone());
                h
            }
        }
    }
}

/// One client's families, host policy, and the table that finds a request's series in them.
pub(crate) struct ClientMetrics {
    families: Families,
    hosts: Hosts,
    entries: HostTable,
}

/// The families: without `url_template`, or with it (and the templates it matches).
enum Families {
    Plain {
        duration: Arc<SparseFamily<Histogram, 5>>,
        active: Arc<SparseFamily<Gauge, 3>>,
    },
    Templated {
        duration: Arc<SparseFamily<Histogram, 6>>,
        active: Arc<SparseFamily<Gauge, 4>>,
        templates: UrlTemplates,
    },
}

impl std::fmt::Debug for ClientMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let series = match &self.families {
            Families::Plain { duration, .. } => duration.len(),
            Families::Templated { duration, .. } => duration.len(),
        };
        f.debug_struct("ClientMetrics")
            .field("series", &series)
            .field("hosts", &self.hosts)
            .finish()
    }
}

pub(crate) struct Config<'a> {
    pub(crate) registry: &'a Registry,
    pub(crate) durations: DurationBuckets,
    pub(crate) hosts: Hosts,
    pub(crate) max_series: usize,
    pub(crate) templates: Option<UrlTemplates>,
}

impl ClientMetrics {
    fn new(
        durations: DurationBuckets,
        hosts: Hosts,
        max: usize,
        templates: Option<UrlTemplates>,
    ) -> Self {
        let histogram = durations.maker();
        let [method, address, port, status, error] = LABELS;
        let families = match templates {
            None => Families::Plain {
                duration: Arc::new(SparseFamily::new_with(LABELS, max, histogram).expect(VALID)),
                active: Arc::new(SparseFamily::new([method, address, port], max).expect(VALID)),
            },
            Some(templates) => Families::Templated {
                duration: Arc::new(
                    SparseFamily::new_with(
                        [method, address, port, TEMPLATE, status, error],
                        max,
                        histogram,
                    )
                    .expect(VALID),
                ),
                active: Arc::new(
                    SparseFamily::new([method, address, port, TEMPLATE], max).expect(VALID),
                ),
                templates,
            },
        };
        Self {
            families,
            hosts,
            entries: HostTable::new(max),
        }
    }

    fn register_into(&self, registry: &Registry) -> vitalsign::Result<()> {
        // `server_address` is closed when the hosts are declared: those, or `_OTHER`.
        let hosts = match &self.hosts {
            Hosts::Declared(hosts) => {
                let mut hosts: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
                hosts.sort_unstable();
                hosts.push(OTHER_HOST.to_owned());
                vec![(1, Values::Declared(hosts))]
            }
            Hosts::FirstSeen { .. } => Vec::new(),
        };
        let (duration, active): (Arc<dyn vitalsign::Metric>, Arc<dyn vitalsign::Metric>) =
            match &self.families {
                Families::Plain { duration, active } => (
                    Arc::new(Described::http(duration.clone(), &hosts)),
                    Arc::new(Described::http(active.clone(), &hosts)),
                ),
                Families::Templated {
                    duration,
                    active,
                    templates,
                } => {
                    let mut known = hosts.clone();
                    known.push((3, Values::Declared(templates.values())));
                    (
                        Arc::new(Described::http(duration.clone(), &known)),
                        Arc::new(Described::http(active.clone(), &known)),
                    )
                }
            };
        registry.register_shared(
            Descriptor::new(DURATION, "Duration of HTTP client requests.")
                .source(vitalsign::catalog::Source::HttpClient),
            duration,
        )?;
        registry.register_shared(
            Descriptor::new(ACTIVE, "Number of active HTTP client requests.")
                .source(vitalsign::catalog::Source::HttpClient),
            active,
        )
    }

    pub(crate) fn register(config: Config<'_>) -> vitalsign::Result<Arc<Self>> {
        let metrics = Self::new(
            config.durations,
            config.hosts,
            config.max_series,
            config.templates,
        );
        metrics.register_into(config.registry)?;
        Ok(Arc::new(metrics))
    }

    /// The families every [`HttpClientLayer::new`](super::HttpClientLayer::new) shares, in the
    /// default registry (the first 100 hosts seen get their own `server_address`).
    pub(crate) fn shared_default() -> Arc<Self> {
        static DEFAULT: LazyLock<Arc<ClientMetrics>> = LazyLock::new(|| {
            let hosts = Hosts::FirstSeen {
                seen: RwLock::default(),
                max: DEFAULT_MAX_HOSTS,
            };
            let metrics =
                ClientMetrics::new(DurationBuckets::default(), hosts, DEFAULT_MAX_SERIES, None);
            if let Err(e) = metrics.register_into(default_registry()) {
                eprintln!("vitalsign-tower: HTTP client metrics not exported: {e}");
            }
            Arc::new(metrics)
        });
        DEFAULT.clone()
    }
}

/// `server_address` and `server_port` of a request: its URI's host and port (the scheme's
/// default port when none is given), else its `Host` header.
fn address<B>(request: &Request<B>) -> (&str, u16) {
    let uri = request.uri();
    let default_port = |uri: &Uri| match uri.scheme_str() {
        Some("https") => 443,
        _ => 80,
    };
    if let Some(host) = uri.host() {
        return (host, uri.port_u16().unwrap_or(default_port(uri)));
    }
    let host = request
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok());
    match host.map(split_port) {
        Some((h, port)) => (h, port.unwrap_or(80)),
        None => ("", 0),
    }
}
/// `host:port` as its parts (`[::1]` has no port).
fn split_port(h: &str) -> (&str, Option<u16>) {
    match h.rsplit_once(':') {
        Some((name, port)) if !h.ends_with(']') => (name, port.parse().ok()),
        _ => (h, None),
    }
}

/// One request in flight: holds the active gauge up, and records its duration once, when the
/// response body ends, fails or is dropped, or when the request fails without a response.
#[allow(
    unreachable_pub,
    reason = "named by the public `HttpClientBody` alias as its watch, and nameable nowhere else"
)]
pub struct Tracker {
    metrics: Arc<ClientMetrics>,
    /// The request's entry in the table, or one of its own when the table is full.
    entry: Place,
    watch: Stopwatch,
    trace: Option<TraceContext>,
    pub(crate) status: Option<StatusCode>,
    pub(crate) error: Option<ErrorType>,
    done: bool,
}

enum Place {
    Table(u32),
    Own(Box<HostEntry>),
}

impl ClientMetrics {
    /// The entry for these labels: found in the table, made there if new, or made for the
    /// request alone when the table is full.
    fn entry(&self, key: (&'static str, &str, u16, usize)) -> Place {
        let make = || {
            let (method, host, port, template) = key;
            let label = self.hosts.label(host);
            let port = Port::new(port);
            let active = match &self.families {
                Families::Plain { active, .. } => active.get([method, &label, port.as_str()]),
                Families::Templated {
                    active, templates, ..
                } => active.get([method, &label, port.as_str(), templates.name(template)]),
            };
            HostEntry::new(key, label, active)
        };
        match self.entries.find_or_make(key, make) {
            Some(i) => Place::Table(i),
            None => Place::Own(Box::new(make())),
        }
    }

    /// The duration series of `entry` for `outcome`, from the families.
    fn duration(&self, entry: &HostEntry, key: Key<'_>) -> Arc<Histogram> {
        let Key {
            method,
            port,
            status,
            error,
            template,
        } = key;
        let host = &*entry.label;
        match &self.families {
            Families::Plain { duration, .. } => duration.get([method, host, port, status, error]),
            Families::Templated {
                duration,
                templates,
                ..
            } => duration.get([method, host, port, templates.name(template), status, error]),
        }
    }
}

/// The labels of a request's duration series besides `server_address`.
#[derive(Clone, Copy)]
struct Key<'a> {
    method: &'static str,
    port: &'a str,
    status: &'a str,
    error: &'a str,
    template: usize,
}

impl Tracker {
    pub(crate) fn start<B>(
        metrics: Arc<ClientMetrics>,
        request: &Request<B>,
        trace: Option<TraceContext>,
    ) -> Self {
        let (host, port) = address(request);
        let path = request.uri().path();
        Self::start_at(metrics, request.method(), host, port, path, trace)
    }

    /// A request with `method` to `host:port` and `path`.
    pub(crate) fn start_at(
        metrics: Arc<ClientMetrics>,
        method: &http::Method,
        host: &str,
        port: u16,
        path: &str,
        trace: Option<TraceContext>,
    ) -> Self {
        let method = method_label(method);
        let template = match &metrics.families {
            Families::Plain { .. } => 0,
            Families::Templated { templates, .. } => templates.index(path),
        };
        let entry = metrics.entry((method, host, port, template));
        if let Some(e) = Self::entry_of(&metrics, &entry) {
            e.active.inc();
        }
        Self {
            metrics,
            entry,
            watch: Stopwatch::start(),
            trace,
            status: None,
            error: None,
            done: false,
        }
    }

    fn entry_of<'a>(metrics: &'a ClientMetrics, place: &'a Place) -> Option<&'a HostEntry> {
        match place {
            Place::Table(i) => metrics.entries.get(*i),
            Place::Own(entry) => Some(entry),
        }
    }

    /// Records the request, once.
    pub(crate) fn finish(&mut self) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let Some(entry) = Self::entry_of(&self.metrics, &self.entry) else {
            return;
        };
        entry.active.dec();
        let status = self.status.as_ref().map_or("", StatusCode::as_str);
        let error = match (self.error, self.status) {
            (Some(e), _) => e.as_str(),
            // A 4xx or 5xx response: the convention's error type is the status code.
            (None, Some(s)) if s.as_u16() >= 400 => status,
            (None, _) => "",
        };
        let ns = self.watch.elapsed_ns();
        let outcome = (self.status.map_or(0, |s| s.as_u16()), self.error);
        let duration = entry.duration(outcome, || {
            let port = Port::new(entry.port);
            let key = Key {
                method: entry.method,
                port: port.as_str(),
                status,
                error,
                template: entry.template,
            };
            self.metrics.duration(entry, key)
        });
        match self.trace {
            Some(cx) => cx.scope(|| duration.observe_ns(ns)),
            None => duration.observe_ns(ns),
        }
    }
}

impl std::fmt::Debug for Tracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracker").finish_non_exhaustive()
    }
}

impl Watch for Tracker {
    fn frame<D: bytes::Buf>(&mut self, _: &http_body::Frame<D>, end_stream: bool) -> bool {
        end_stream
    }

    fn failed(&mut self) -> bool {
        self.error.get_or_insert(ErrorType::Closed);
        true
    }

    fn ended(&mut self) -> bool {
        true
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        if self.status.is_none() && self.error.is_none() {
            self.error = Some(ErrorType::Canceled);
        }
        self.finish();
    }
}

/// A port number as its label, without an allocation.
struct Port {
    digits: [u8; 5],
    start: usize,
}

impl Port {
    fn new(mut n: u16) -> Self {
        let mut digits = [b'0'; 5];
        let mut start = 5;
        loop {
            start -= 1;
            digits[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break Self { digits, start };
            }
        }
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.digits[self.start..]).unwrap_or("0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_and_addresses() {
        assert_eq!(
            [0, 7, 80, 443, 65535].map(|p| Port::new(p).as_str().to_owned()),
            ["0", "7", "80", "443", "65535"]
        );
        let req = |uri: &str| Request::get(uri).body(()).unwrap();
        assert_eq!(
            address(&req("http://pay.example/charge")),
            ("pay.example", 80)
        );
        assert_eq!(
            address(&req("https://pay.example/charge")),
            ("pay.example", 443)
        );
        assert_eq!(
            address(&req("http://127.0.0.1:9000/x")),
            ("127.0.0.1", 9000)
        );
        let mut r = req("/x");
        r.headers_mut()
            .insert("host", "inventory:81".parse().unwrap());
        assert_eq!(address(&r), ("inventory", 81));
        assert_eq!(address(&req("/x")), ("", 0));
    }

    #[test]
    fn hosts_past_the_cap_or_undeclared_are_other() {
        let hosts = Hosts::FirstSeen {
            seen: RwLock::default(),
            max: 2,
        };
        let labels: Vec<String> = ["a", "b", "a", "c", "b"]
            .iter()
            .map(|h| hosts.label(h).to_string())
            .collect();
        assert_eq!(labels, ["a", "b", "a", "_OTHER", "b"]);
        let hosts = Hosts::Declared(["a".into()].into_iter().collect());
        assert_eq!((&*hosts.label("a"), &*hosts.label("b")), ("a", "_OTHER"));
    }
}
