//! The one error type of the runtime: every fallible call returns it, with a message that names
//! what was wrong and where.

use std::fmt;

/// What kind of mistake an [`Error`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A metric name that is not `[a-zA-Z_:][a-zA-Z0-9_:]*` or starts with `__`.
    InvalidMetricName,
    /// A label name that is not `[a-zA-Z_][a-zA-Z0-9_]*`, starts with `__`, or is reserved for the
    /// metric's type (`le` on histograms, `quantile` on summaries).
    InvalidLabelName,
    /// Histogram buckets that are empty, unsorted, duplicated or not finite.
    InvalidBuckets,
    /// A value a metric cannot take (a negative or NaN counter increment).
    InvalidValue,
    /// Two different metrics registered under one name, or whose sample names overlap.
    Clash,
    /// A collector failed or emitted something it had not described.
    Collector,
    /// A registration made from inside a scrape of the same registry (by a callback gauge or a
    /// collector), which would otherwise wait for that scrape forever.
    Reentrant,
}

/// An error from the vitalsign runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// An error of `kind`; `message` says what was wrong and where (for integrations and
    /// collectors reporting errors the way the runtime does).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// What kind of mistake this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// `Result` with the runtime's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
