//! A [`metrics`] facade recorder: `counter!`, `gauge!` and `histogram!` from any crate land in a
//! vitalsign [`Registry`](vitalsign::Registry), next to your own metrics, in every format it writes.
//!
//! ```
//! use vitalsign::{Buckets, Format, Registry};
//! use vitalsign_metrics::{Matcher, VitalsignRecorder};
//!
//! let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
//! let recorder = VitalsignRecorder::builder()
//!     .registry(registry)
//!     .buckets_for(Matcher::Suffix("_seconds".into()), Buckets::new([0.1, 1.0])?)
//!     .build();
//! metrics::with_local_recorder(&recorder, || {
//!     metrics::describe_counter!("jobs_done", "Jobs finished.");
//!     metrics::counter!("jobs_done", "queue" => "mail").increment(2);
//!     metrics::histogram!("job_seconds").record(0.25);
//! });
//! assert_eq!(registry.render(Format::Prometheus), "\
//! ## HELP jobs_done_total Jobs finished.
//! ## TYPE jobs_done_total counter
//! jobs_done_total{queue=\"mail\"} 2
//! ## HELP job_seconds job_seconds, recorded through the metrics facade.
//! ## TYPE job_seconds histogram
//! job_seconds_bucket{le=\"0.1\"} 0
//! job_seconds_bucket{le=\"1.0\"} 1
//! job_seconds_bucket{le=\"+Inf\"} 1
//! job_seconds_count 1
//! job_seconds_sum 0.25
//! ## HELP vitalsign_series_overflow_total Lookups that found a sparse family full and went to its overflow series.
//! ## TYPE vitalsign_series_overflow_total counter
//! vitalsign_series_overflow_total{metric=\"jobs_done\"} 0
//! ## HELP vitalsign_series_removed_total Series removed from a sparse family (remove, retain or clear).
//! ## TYPE vitalsign_series_removed_total counter
//! vitalsign_series_removed_total{metric=\"jobs_done\"} 0
//! ");
//! # Ok::<(), vitalsign::Error>(())
//! ```
//!
//! What the recorder does with what the facade gives it:
//!
//! - **Names**: characters a Prometheus name cannot hold (`.`, `-`, ...) become `_`
//!   (`http.requests` is `http_requests`); a unit given to `describe_*!` is added as a suffix
//!   (`Unit::Seconds` makes `latency` `latency_seconds`); counters get `_total` in the
//!   exposition.
//! - **HELP**: the `describe_*!` text, if it came before the metric's first use; otherwise a
//!   default naming the metric.
//! - **Histograms** are real histograms, never summaries: the buckets of the first
//!   [`Matcher`] that matches the name, [`Buckets::latency`](vitalsign::Buckets::latency) otherwise, and native buckets
//!   ([`NativeBuckets::default`](vitalsign::NativeBuckets::default), for Prometheus with native histograms on) unless turned off.
//! - **Label sets** are bounded: a name keeps at most [`max_series`](Builder::max_series) label
//!   sets (2,000 by default); further ones share one overflow series whose labels are all
//!   `__overflow__`, as [`SparseFamily`](vitalsign::SparseFamily) does. With
//!   [`idle_timeout`](Builder::idle_timeout), label sets nobody recorded to for that long leave
//!   the scrape and make room (counted in `vitalsign_series_expired_total`); each macro call
//!   then looks its label set up in the family rather than in the recorder's handle cache.
//! - **What cannot be recorded** (a name that stays invalid, one already registered as another
//!   type, label names that differ from the first use of a name, more than eight labels) gets a
//!   handle that records nothing, a line on stderr the first time, and an entry in
//!   [`rejected`](VitalsignRecorder::rejected).
//!
//! Handles are vitalsign's own atomics: once a caller holds one, `increment`, `set` and `record`
//! cost what [`Counter::inc_by`](vitalsign::Counter::inc_by) and
//! [`Histogram::observe`](vitalsign::Histogram::observe) cost. The macros look the handle up
//! at every call (a read lock and a hash of the key); keep the handle where that matters.

mod builder;
mod config;
mod handles;
mod recorder;

pub use builder::{Builder, InstallError, install};
pub use config::Matcher;
pub use recorder::VitalsignRecorder;
