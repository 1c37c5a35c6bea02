//! Pushing a registry where no scraper reaches: to a Prometheus Pushgateway ([`Pushgateway`])
//! for batch jobs that end before any scrape, and over Prometheus remote write 1.0
//! ([`RemoteWrite`]) for jobs and hosts no scraper reaches.
//!
//! Blocking, over `std::net` (a job's last act is often its push, in `main` or in a `Drop`): one
//! HTTP/1.1 request per push, with connect, write and read timeouts. It needs no async runtime
//! and no web framework: a job that only pushes compiles `vitalsign` and this.
//!
//! ```no_run
//! use vitalsign::{Counter, Registry};
//! use vitalsign_push::Pushgateway;
//!
//! let registry = Registry::new();
//! let processed = registry.register("backup_files", "Files backed up.", Counter::new())?;
//! processed.inc_by(1_200);
//! Pushgateway::new("http://127.0.0.1:9091", "nightly-backup")?
//!     .grouping("instance", "db-1")
//!     .push(&registry)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

mod error;
mod periodic;
mod pushgateway;
mod remote_write;
#[cfg(test)]
mod tests;
mod transport;

pub use error::{PushError, PushErrorKind};
pub use periodic::PeriodicPush;
pub use pushgateway::{PushOnDrop, Pushgateway};
pub use remote_write::RemoteWrite;
