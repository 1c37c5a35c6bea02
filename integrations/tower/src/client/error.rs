//! `error_type` of a request that got no response, from the error its client returned.

use std::error::Error;

/// Why a request got no response: the `error_type` label (a response with a 4xx or 5xx status
/// has its status code there instead, as OpenTelemetry's HTTP conventions say).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorType {
    /// `timeout`: a timeout elapsed (tower's `Timeout`, a timed-out socket, hyper's timeouts).
    Timeout,
    /// `connect`: no connection could be made (refused, unreachable).
    Connect,
    /// `closed`: the connection closed or reset before the response was complete.
    Closed,
    /// `canceled`: the caller dropped the request before its response came (a
    /// `tokio::time::timeout` around the call, a `select!` that went the other way).
    Canceled,
    /// `_OTHER`: anything else.
    Other,
}

impl ErrorType {
    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorType::Timeout => "timeout",
            ErrorType::Connect => "connect",
            ErrorType::Closed => "closed",
            ErrorType::Canceled => "canceled",
            ErrorType::Other => "_OTHER",
        }
    }

    /// The type of `error`, from the first error in its chain of sources that says.
    pub fn of(error: &(dyn Error + 'static)) -> Self {
        let mut next = Some(error);
        while let Some(e) = next {
            if let Some(kind) = Self::one(e) {
                return kind;
            }
            next = e.source();
        }
        ErrorType::Other
    }

    fn one(e: &(dyn Error + 'static)) -> Option<Self> {
        use std::io::ErrorKind as K;
        if e.is::<tower::timeout::error::Elapsed>() {
            return Some(ErrorType::Timeout);
        }
        if let Some(e) = e.downcast_ref::<hyper::Error>() {
            if e.is_timeout() {
                return Some(ErrorType::Timeout);
            }
            if e.is_incomplete_message() || e.is_closed() || e.is_canceled() {
                return Some(ErrorType::Closed);
            }
        }
        let io = e.downcast_ref::<std::io::Error>()?;
        match io.kind() {
            K::TimedOut => Some(ErrorType::Timeout),
            K::ConnectionRefused
            | K::AddrNotAvailable
            | K::NetworkUnreachable
            | K::HostUnreachable => Some(ErrorType::Connect),
            K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
                Some(ErrorType::Closed)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[derive(Debug)]
    struct Wrapped(io::Error);
    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("client error (Connect)")
        }
    }
    impl Error for Wrapped {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn error_types_come_from_the_chain() {
        let io = |k| Wrapped(io::Error::from(k));
        assert_eq!(
            ErrorType::of(&io(io::ErrorKind::ConnectionRefused)),
            ErrorType::Connect
        );
        assert_eq!(
            ErrorType::of(&io(io::ErrorKind::TimedOut)),
            ErrorType::Timeout
        );
        assert_eq!(
            ErrorType::of(&io(io::ErrorKind::ConnectionReset)),
            ErrorType::Closed
        );
        assert_eq!(ErrorType::of(&io(io::ErrorKind::Other)), ErrorType::Other);
        assert_eq!(
            ErrorType::of(&tower::timeout::error::Elapsed::new()),
            ErrorType::Timeout
        );
    }
}
