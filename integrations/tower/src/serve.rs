//! A standalone exporter: an HTTP/1.1 server on tokio and hyper that answers scrapes on any path,
//! like Python's `start_http_server`. It binds exactly the address given.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinHandle;
use vitalsign::Registry;

use crate::MetricsHandler;
use crate::endpoint::SCRAPE_TIMEOUT;

/// How long a client may take to send its request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How many connections are served at once; more wait to be accepted.
const MAX_CONNECTIONS: usize = 256;
/// How long a graceful shutdown waits for connections in progress.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

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
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut signal = std::pin::pin!(signal);
    loop {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
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
        let handler = handler.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let handler = handler.clone();
            async move { Ok::<_, std::convert::Infallible>(handler.respond(&request).await) }
        });
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await;
}
