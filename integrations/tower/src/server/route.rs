//! The `http_route` label: the route template a request matched, never its raw path.

use std::sync::Arc;

use http::Request;

/// The `http_route` value of requests that matched no route.
pub const UNMATCHED: &str = "unmatched";

/// A route template (`/orders/{id}`), as the `http_route` label.
#[derive(Clone, Debug)]
pub struct Route(Repr);

#[derive(Clone, Debug)]
enum Repr {
    Static(&'static str),
    Shared(Arc<str>),
    #[cfg(feature = "axum")]
    Matched(axum::extract::MatchedPath),
}

impl Route {
    /// A route from a string literal.
    pub const fn from_static(route: &'static str) -> Self {
        Self(Repr::Static(route))
    }

    /// The label value.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(s) => s,
            Repr::Shared(s) => s,
            #[cfg(feature = "axum")]
            Repr::Matched(m) => m.as_str(),
        }
    }
}

impl From<&'static str> for Route {
    fn from(route: &'static str) -> Self {
        Self::from_static(route)
    }
}

impl From<Arc<str>> for Route {
    fn from(route: Arc<str>) -> Self {
        Self(Repr::Shared(route))
    }
}

/// Decides the `http_route` of a request. `None` means the request matched no route.
///
/// Implemented by [`DefaultRoute`] (axum's `MatchedPath` with the `axum` feature, else none),
/// by `()` (every request shares one route label), and by closures
/// `Fn(&Request<B>) -> Option<Route>`, so a plain hyper service can name its routes:
///
/// ```
/// use vitalsign_tower::{MetricsLayer, Route};
///
/// let layer = MetricsLayer::new().classify_route(|req: &http::Request<()>| {
///     match req.uri().path() {
///         "/" => Some(Route::from_static("/")),
///         p if p.starts_with("/orders/") => Some(Route::from_static("/orders/{id}")),
///         _ => None,
///     }
/// });
/// # let _ = layer;
/// ```
///
/// Whatever it returns becomes a label value, so it must come from a bounded set: a template,
/// never the path itself.
pub trait ClassifyRoute<B> {
    /// The route `request` matched, if any.
    fn classify(&self, request: &Request<B>) -> Option<Route>;

    /// Calls `f` with the route `request` matched, lent rather than given where the classifier
    /// can (the layer copies a route only the first time it sees it). The default calls
    /// [`classify`](Self::classify); [`DefaultRoute`] lends axum's `MatchedPath` without
    /// touching its reference count.
    fn with_route<R>(&self, request: &Request<B>, f: impl FnOnce(Option<&str>) -> R) -> R {
        f(self.classify(request).as_ref().map(Route::as_str))
    }
}

impl<B> ClassifyRoute<B> for () {
    fn classify(&self, _: &Request<B>) -> Option<Route> {
        None
    }
}

impl<B, F> ClassifyRoute<B> for F
where
    F: Fn(&Request<B>) -> Option<Route>,
{
    fn classify(&self, request: &Request<B>) -> Option<Route> {
        self(request)
    }
}

/// The route axum matched (`MatchedPath`, nested routers included) with the `axum` feature;
/// without it, no route, so every request is `unmatched`: give plain hyper services a
/// classifier with [`MetricsLayer::classify_route`](crate::MetricsLayer::classify_route).
///
/// axum gives a layer on the router no template for services mounted with `nest_service`;
/// name their mount points and their requests are labelled `prefix/*`:
///
/// ```
/// use vitalsign_tower::{DefaultRoute, MetricsLayer};
///
/// let layer = MetricsLayer::new().classify_route(DefaultRoute::default().nested_service("/static"));
/// # let _ = layer;
/// ```
///
/// (A layer applied inside a nested service sees its mount point by itself.)
#[derive(Clone, Debug, Default)]
pub struct DefaultRoute {
    /// `(prefix with a trailing '/', label)` for each `nest_service` mount point.
    nested: Arc<[(Box<str>, Route)]>,
}

impl DefaultRoute {
    /// Labels requests under `prefix` (a `nest_service` mount point) as `prefix/*`.
    #[must_use]
    pub fn nested_service(self, prefix: &str) -> Self {
        let prefix = prefix.trim_end_matches('/');
        let mut nested = self.nested.to_vec();
        nested.push((
            format!("{prefix}/").into(),
            Route::from(Arc::<str>::from(format!("{prefix}/*"))),
        ));
        // Longest prefix first, so `/static/img` wins over `/static`.
        nested.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        Self {
            nested: nested.into(),
        }
    }
}

impl DefaultRoute {
    /// The `nest_service` mount point `path` is under, as its label.
    fn nested(&self, path: &str) -> Option<&Route> {
        self.nested
            .iter()
            .find(|(prefix, _)| path.starts_with(&**prefix))
            .map(|(_, route)| route)
    }
}

impl<B> ClassifyRoute<B> for DefaultRoute {
    fn classify(&self, request: &Request<B>) -> Option<Route> {
        #[cfg(feature = "axum")]
        {
            let extensions = request.extensions();
            if let Some(matched) = extensions.get::<axum::extract::MatchedPath>() {
                return Some(Route(Repr::Matched(matched.clone())));
            }
            if let Some(nested) = extensions.get::<axum::extract::NestedPath>() {
                let prefix = nested.as_str().trim_end_matches('/');
                return Some(Route(Repr::Shared(Arc::from(format!("{prefix}/*")))));
            }
        }
        self.nested(request.uri().path()).cloned()
    }

    fn with_route<R>(&self, request: &Request<B>, f: impl FnOnce(Option<&str>) -> R) -> R {
        #[cfg(feature = "axum")]
        {
            let extensions = request.extensions();
            if let Some(matched) = extensions.get::<axum::extract::MatchedPath>() {
                return f(Some(matched.as_str()));
            }
            if extensions.get::<axum::extract::NestedPath>().is_some() {
                return f(self.classify(request).as_ref().map(Route::as_str));
            }
        }
        f(self.nested(request.uri().path()).map(Route::as_str))
    }
}

/// A value of the extra label set with
/// [`MetricsLayerBuilder::extra_label`](crate::MetricsLayerBuilder::extra_label): a string of your
/// program, so the set of values is as bounded as the code that names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtraLabel(&'static str);

impl ExtraLabel {
    /// A label value.
    pub const fn new(value: &'static str) -> Self {
        Self(value)
    }

    /// The label value.
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

/// Decides the extra label of a request (a tenant tier an auth layer put in the extensions, an
/// API version); `None` is the empty value. Implemented by `()` (always `None`) and by closures
/// `Fn(&Request<B>) -> Option<ExtraLabel>`:
///
/// ```
/// use vitalsign::Registry;
/// use vitalsign_tower::{ExtraLabel, MetricsLayer};
///
/// #[derive(Clone)]
/// enum Tier { Free, Paid }
///
/// let registry = Registry::new();
/// let layer = MetricsLayer::builder()
///     .registry(&registry)
///     .extra_label("tier", |req: &http::Request<()>| {
///         req.extensions().get::<Tier>().map(|t| match t {
///             Tier::Free => ExtraLabel::new("free"),
///             Tier::Paid => ExtraLabel::new("paid"),
///         })
///     })
///     .build()?;
/// # let _ = layer;
/// # Ok::<(), vitalsign::Error>(())
/// ```
pub trait ClassifyExtra<B> {
    /// The extra label of `request`.
    fn classify(&self, request: &Request<B>) -> Option<ExtraLabel>;
}

impl<B> ClassifyExtra<B> for () {
    fn classify(&self, _: &Request<B>) -> Option<ExtraLabel> {
        None
    }
}

impl<B, F> ClassifyExtra<B> for F
where
    F: Fn(&Request<B>) -> Option<ExtraLabel>,
{
    fn classify(&self, request: &Request<B>) -> Option<ExtraLabel> {
        self(request)
    }
}
