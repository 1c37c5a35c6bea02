//! What a failed push says: which endpoint, which request, and why.

use std::fmt;

/// A push that failed: which endpoint, which request, and why ([`kind`](Self::kind)), with the
/// I/O error underneath where there is one ([`source`](std::error::Error::source)).
#[derive(Debug)]
pub struct PushError {
    kind: PushErrorKind,
    /// What was being done: `invalid Pushgateway URL "..."`, `PUT http://gw:9091/metrics/...`.
    context: String,
    /// Why, in words (an I/O error's own text is its `source`'s).
    why: String,
    source: Option<std::io::Error>,
    /// How long the server asked to wait before another try (`Retry-After`).
    pub(crate) retry_after: Option<std::time::Duration>,
}

/// What went wrong in a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PushErrorKind {
    /// The gateway URL is not one this client can use.
    InvalidUrl,
    /// The job name is empty.
    InvalidJob,
    /// The gateway's host could not be resolved.
    Resolve,
    /// No connection could be made (refused, unreachable, timed out).
    Connect,
    /// The request could not be sent, or compressed.
    Send,
    /// The answer was not HTTP.
    BadAnswer,
    /// The gateway answered with a status outside 2xx ([`PushError::status`]).
    Rejected(u16),
    /// A header, credential or token that cannot be sent in an HTTP header.
    InvalidHeader,
}

impl PushError {
    pub(crate) fn new(kind: PushErrorKind, context: String, why: String) -> Self {
        Self {
            kind,
            context,
            why,
            source: None,
            retry_after: None,
        }
    }

    pub(crate) fn io(
        kind: PushErrorKind,
        context: String,
        why: &str,
        source: std::io::Error,
    ) -> Self {
        Self {
            kind,
            context,
            why: why.to_owned(),
            source: Some(source),
            retry_after: None,
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> PushErrorKind {
        self.kind
    }

    /// How long the server asked to wait before trying again (its `Retry-After`, in seconds),
    /// when it said.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        self.retry_after
    }

    /// Whether trying again may succeed: no connection, a failed send, `429`, or a `5xx`.
    pub fn is_retryable(&self) -> bool {
        match self.kind {
            PushErrorKind::Connect | PushErrorKind::Send => true,
            PushErrorKind::Rejected(status) => status == 429 || (500..600).contains(&status),
            _ => false,
        }
    }

    /// The gateway's HTTP status, when it answered with an error.
    pub fn status(&self) -> Option<u16> {
        match self.kind {
            PushErrorKind::Rejected(status) => Some(status),
            _ => None,
        }
    }
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.context, self.why)?;
        if let Some(e) = &self.source {
            write!(f, ": {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PushError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}

pub(crate) fn invalid_header(why: &str) -> PushError {
    PushError::new(
        PushErrorKind::InvalidHeader,
        "invalid push header".into(),
        why.to_owned(),
    )
}
