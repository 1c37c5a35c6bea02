//! A standalone exporter: an HTTP/1.1 server on tokio and hyper that answers scrapes on any path,
//! like Python's `start_http_server`. It binds exactly the address given. Its accept loop,
//! [`serve_service`], serves any tower service (an axum `Router`) with the same bounds.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinHandle;
use vitalsign::Registry;

use crate::endpoint::MetricsHandler;
use crate::endpoint::SCRAPE_TIMEOUT;

/// How many connections the exporter serves at once; more wait to be accepted.
const EXPORTER_CONNECTIONS: usize = 256;

/// The bounds [`serve_service`] keeps: how long a connection may take to send a request's
/// headers (new, or idle between keep-alive requests) before it is closed, how many
/// connections are served at once (more wait in the kernel's accept queue), and how long a
/// graceful shutdown waits for requests in progress.
///
/// ```
/// use std::time::Duration;
/// use vitalsign_tower::ServeLimits;
///
/// let limits = ServeLimits::default().max_connections(64);
/// assert_eq!(limits.header_timeout, Duration::from_secs(10));
/// assert_eq!((limits.max_connections, limits.drain_timeout), (64, Duration::from_secs(5)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServeLimits {
    /// How long a connection may take to send a request's headers (default 10 s).
    pub header_timeout: Duration,
    /// How many connections are served at once (default 1,024).
    pub max_connections: usize,
    /// How long a graceful shutdown waits for requests in progress (default 5 s).
    pub drain_timeout: Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            max_connections: 1024,
            drain_timeout: Duration::from_secs(5),
        }
    }
}

impl ServeLimits {
    /// The header timeout.
    #[must_use]
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// How many connections are served at once (at least one).
    #[must_use]
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// How long a graceful shutdown waits.
    #[must_use]
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }
}

/// Why the exporter could not start: the address could not be bound, or metrics declared in
/// `static`s could not join the registry (their counts would be lost without a word).
#[derive(Debug)]
pub struct ServeError {
    addr: SocketAddr,
    why: Why,
}

#[derive(Debug)]
enum Why {
    Bind(std::io::Error),
    Registration(Vec<vitalsign::Error>),
}

impl std::fmt::Display for ServeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot start the metrics exporter on {}: ", self.addr)?;
        match &self.why {
            Why::Bind(e) => write!(f, "{e}"),
            Why::Registration(errors) => {
                f.write_str("static metrics could not be registered: ")?;
                for (i, e) in errors.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ServeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.why {
            Why::Bind(e) => Some(e),
            Why::Registration(errors) => errors.first().map(|e| e as _),
        }
    }
}

/// Refuses to serve a registry some of whose statics were lost.
fn check_statics(addr: SocketAddr, registry: &Registry) -> Result<(), ServeError> {
    let errors = registry.registration_errors();
    if errors.is_empty() {
        return Ok(());
    }
    Err(ServeError {
        addr,
        why: Why::Registration(errors),
    })
}

/// A running exporter, started by [`serve`]. Dropping it leaves the server running in the
/// background; [`shutdown`](Self::shutdown) stops it gracefully.
#[derive(Debug)]
pub struct Exporter {
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Exporter {
    /// The address it listens on (the real port when `:0` was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, lets scrapes in progress finish (for up to 5 s), and returns.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// Starts an exporter for `registry` on `addr` in the background of the current tokio runtime.
///
/// Fails if `addr` cannot be bound, or if a [`metrics!`](vitalsign::metrics!) static or an
/// instrumented function could not join `registry` (two of them declare one name): that is a
/// mistake to fix before serving, not counts to lose in silence.
///
/// ```no_run
/// # async fn run() -> Result<(), vitalsign_tower::ServeError> {
/// let exporter = vitalsign_tower::serve("127.0.0.1:9464".parse().unwrap(), vitalsign::default_registry()).await?;
/// println!("metrics on http://{}/metrics", exporter.local_addr());
/// # Ok(()) }
/// ```
pub async fn serve(addr: SocketAddr, registry: &'static Registry) -> Result<Exporter, ServeError> {
    serve_handler(addr, MetricsHandler::new(registry).timeout(SCRAPE_TIMEOUT)).await
}

/// Like [`serve`], with a configured [`MetricsHandler`] (a scrape cap, a fixed format, a
/// timeout; `serve` uses 10 s).
pub async fn serve_handler(
    addr: SocketAddr,
    handler: MetricsHandler,
) -> Result<Exporter, ServeError> {
    check_statics(addr, handler.registry())?;
    let listener = bind(addr).await?;
    let local_addr = listener.local_addr().map_err(|e| ServeError {
        addr,
        why: Why::Bind(e),
    })?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(run(listener, handler, async {
        let _ = stopped.await;
    }));
    Ok(Exporter {
        local_addr,
        stop: Some(stop),
        task,
    })
}

/// Runs an exporter for `registry` on `addr` until `signal` completes (for example
/// `tokio::signal::ctrl_c()`), then shuts down gracefully.
pub async fn serve_with_shutdown(
    addr: SocketAddr,
    registry: &'static Registry,
    signal: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    check_statics(addr, registry)?;
    let listener = bind(addr).await?;
    let handler = MetricsHandler::new(registry).timeout(SCRAPE_TIMEOUT);
    run(listener, handler, signal).await;
    Ok(())
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr).await.map_err(|e| ServeError {
        addr,
        why: Why::Bind(e),
    })
}

async fn run(listener: TcpListener, handler: MetricsHandler, signal: impl Future<Output = ()>) {
    let service = tower::service_fn(move |request: http::Request<Incoming>| {
        let handler = handler.clone();
        async move { Ok::<_, std::convert::Infallible>(handler.respond(&request).await) }
    });
    let limits = ServeLimits::default().max_connections(EXPORTER_CONNECTIONS);
    serve_service(listener, service, limits, signal).await;
}

/// Serves `service` (an axum `Router`, any tower service of HTTP requests) over HTTP/1.1 on
/// `listener` until `signal` completes, then drains, with the bounds a server facing clients
/// needs and `axum::serve` does not set: a connection that sends no request headers within
/// [`ServeLimits::header_timeout`] (new, or idle between requests) is closed, so sockets that
/// never speak cannot pile up, and at most [`ServeLimits::max_connections`] are served at once.
///
/// ```no_run
/// # #[cfg(feature = "axum")]
/// # async fn run() -> std::io::Result<()> {
/// use axum::{Router, routing::get};
/// use vitalsign_tower::{MetricsLayer, ServeLimits, metrics_handler, serve_service};
///
/// let app: Router = Router::new()
///     .route("/metrics", get(metrics_handler))
///     .layer(MetricsLayer::new());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// # drop(stop);
/// serve_service(listener, app, ServeLimits::default(), async {
///     let _ = stopped.await;
/// })
/// .await;
/// # Ok(()) }
/// ```
pub async fn serve_service<S, B>(
    listener: TcpListener,
    service: S,
    limits: ServeLimits,
    signal: impl Future<Output = ()>,
) where
    S: tower::Service<http::Request<Incoming>, Response = http::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut signal = std::pin::pin!(signal);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit,
            () = &mut signal => break,
        };
        let Ok(permit) = permit else { break };
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                // Out of file descriptors or similar: back off rather than spin.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut signal => break,
        };
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .serve_connection(
                TokioIo::new(stream),
                TowerToHyperService::new(service.clone()),
            );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(limits.drain_timeout, graceful.shutdown()).await;
}
