//! The `/metrics` endpoint: `GET` and `HEAD` answer the registry's exposition in the format the
//! scraper asks for, gzipped when it accepts gzip.
//!
//! One file per concern: the handler and its `Service` impl (`handler`), its self-metrics
//! (`self_metrics`), the pool of buffers and compressors (`pool`), gzip framing (`gzip`), the
//! `name[]` query (`query`), and the thread timed scrapes run on (`scrape_thread`).

#[cfg(feature = "gzip")]
mod gzip;
mod handler;
mod pool;
mod query;
mod scrape_thread;
mod self_metrics;

pub use handler::MetricsHandler;
pub(crate) use handler::SCRAPE_TIMEOUT;
#[cfg(feature = "axum")]
pub use handler::metrics_handler;
