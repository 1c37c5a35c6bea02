//! The `http_route` label: the route template a request matched, never its raw path.

use std::sync::Arc;

use http::{Method, Request};

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

    pub(crate) fn unmatched() -> Self {
        Self::from_static(UNMATCHED)
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
#[derive(Clone, Copy, Debug, Default)]
pub struct DefaultRoute;

impl<B> ClassifyRoute<B> for DefaultRoute {
    fn classify(&self, request: &Request<B>) -> Option<Route> {
        #[cfg(feature = "axum")]
        {
            request
                .extensions()
                .get::<axum::extract::MatchedPath>()
                .cloned()
                .map(|m| Route(Repr::Matched(m)))
        }
        #[cfg(not(feature = "axum"))]
        {
            let _ = request;
            None
        }
    }
}

/// The `http_request_method` label: the standard methods by name, anything else `_OTHER`.
pub(crate) fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::CONNECT => "CONNECT",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::PATCH => "PATCH",
        _ => "_OTHER",
    }
}
