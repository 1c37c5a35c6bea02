//! gRPC status codes, with the names Go's `codes` package gives them (the `grpc_code` label),
//! read from a `grpc-status` header or trailer, or from the HTTP status of a response that has
//! none.

use http::{HeaderMap, StatusCode};

/// A gRPC status code. Its [`name`](Code::name) is the `grpc_code` label value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Code {
    /// `OK` (0).
    Ok,
    /// `Canceled` (1): the caller cancelled, or the stream ended early.
    Canceled,
    /// `Unknown` (2): an error with no status, or a response that ended without one.
    Unknown,
    /// `InvalidArgument` (3).
    InvalidArgument,
    /// `DeadlineExceeded` (4).
    DeadlineExceeded,
    /// `NotFound` (5).
    NotFound,
    /// `AlreadyExists` (6).
    AlreadyExists,
    /// `PermissionDenied` (7).
    PermissionDenied,
    /// `ResourceExhausted` (8).
    ResourceExhausted,
    /// `FailedPrecondition` (9).
    FailedPrecondition,
    /// `Aborted` (10).
    Aborted,
    /// `OutOfRange` (11).
    OutOfRange,
    /// `Unimplemented` (12).
    Unimplemented,
    /// `Internal` (13).
    Internal,
    /// `Unavailable` (14).
    Unavailable,
    /// `DataLoss` (15).
    DataLoss,
    /// `Unauthenticated` (16).
    Unauthenticated,
}

impl Code {
    /// Every code, in numeric order.
    pub const ALL: [Code; 17] = [
        Code::Ok,
        Code::Canceled,
        Code::Unknown,
        Code::InvalidArgument,
        Code::DeadlineExceeded,
        Code::NotFound,
        Code::AlreadyExists,
        Code::PermissionDenied,
        Code::ResourceExhausted,
        Code::FailedPrecondition,
        Code::Aborted,
        Code::OutOfRange,
        Code::Unimplemented,
        Code::Internal,
        Code::Unavailable,
        Code::DataLoss,
        Code::Unauthenticated,
    ];

    /// The code's number on the wire.
    pub const fn number(self) -> u8 {
        self as u8
    }

    /// The code of a number; numbers past 16 are `Unknown`, as gRPC says a receiver reads them.
    pub const fn from_number(n: u32) -> Self {
        if n < 17 {
            Self::ALL[n as usize]
        } else {
            Self::Unknown
        }
    }

    /// The name Go's client gives the code: the `grpc_code` label value.
    pub const fn name(self) -> &'static str {
        match self {
            Code::Ok => "OK",
            Code::Canceled => "Canceled",
            Code::Unknown => "Unknown",
            Code::InvalidArgument => "InvalidArgument",
            Code::DeadlineExceeded => "DeadlineExceeded",
            Code::NotFound => "NotFound",
            Code::AlreadyExists => "AlreadyExists",
            Code::PermissionDenied => "PermissionDenied",
            Code::ResourceExhausted => "ResourceExhausted",
            Code::FailedPrecondition => "FailedPrecondition",
            Code::Aborted => "Aborted",
            Code::OutOfRange => "OutOfRange",
            Code::Unimplemented => "Unimplemented",
            Code::Internal => "Internal",
            Code::Unavailable => "Unavailable",
            Code::DataLoss => "DataLoss",
            Code::Unauthenticated => "Unauthenticated",
        }
    }

    /// Whether the code means the server failed, as OpenTelemetry's RPC conventions split them:
    /// `Unknown`, `DeadlineExceeded`, `Unimplemented`, `Internal`, `Unavailable` and `DataLoss`.
    /// A caller's mistake (`NotFound`, `InvalidArgument`, ...) is not an outage of the server.
    pub const fn is_server_error(self) -> bool {
        matches!(
            self,
            Code::Unknown
                | Code::DeadlineExceeded
                | Code::Unimplemented
                | Code::Internal
                | Code::Unavailable
                | Code::DataLoss
        )
    }

    /// The `grpc-status` in `headers` (response headers of a Trailers-Only response, or
    /// trailers), if there is one. A value that is not a number is `Unknown`.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        static GRPC_STATUS: http::HeaderName = http::HeaderName::from_static("grpc-status");
        let value = crate::header::get(headers, &GRPC_STATUS)?;
        Some(
            std::str::from_utf8(value.as_bytes())
                .ok()
                .and_then(|s| s.trim().parse::<u32>().ok())
                .map_or(Code::Unknown, Code::from_number),
        )
    }

    /// The code a client reads from a response that has no `grpc-status` and an HTTP status
    /// other than 200, as gRPC's HTTP mapping says.
    pub fn from_http_status(status: StatusCode) -> Self {
        match status.as_u16() {
            400 => Code::Internal,
            401 => Code::Unauthenticated,
            403 => Code::PermissionDenied,
            404 => Code::Unimplemented,
            429 | 502 | 503 | 504 => Code::Unavailable,
            _ => Code::Unknown,
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_names_are_gos() {
        for (i, code) in Code::ALL.iter().enumerate() {
            assert_eq!(usize::from(code.number()), i);
            assert_eq!(Code::from_number(i as u32), *code);
        }
        assert_eq!(Code::from_number(17), Code::Unknown);
        let names: Vec<&str> = Code::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(
            names.join(","),
            "OK,Canceled,Unknown,InvalidArgument,DeadlineExceeded,NotFound,AlreadyExists,\
             PermissionDenied,ResourceExhausted,FailedPrecondition,Aborted,OutOfRange,\
             Unimplemented,Internal,Unavailable,DataLoss,Unauthenticated"
        );
        let server: Vec<&str> = Code::ALL
            .iter()
            .filter(|c| c.is_server_error())
            .map(|c| c.name())
            .collect();
        assert_eq!(
            server,
            [
                "Unknown",
                "DeadlineExceeded",
                "Unimplemented",
                "Internal",
                "Unavailable",
                "DataLoss"
            ]
        );
    }

    #[test]
    fn statuses_from_headers_and_http() {
        let mut h = HeaderMap::new();
        assert_eq!(Code::from_headers(&h), None);
        h.insert("grpc-status", "5".parse().unwrap());
        assert_eq!(Code::from_headers(&h), Some(Code::NotFound));
        h.insert("grpc-status", "x".parse().unwrap());
        assert_eq!(Code::from_headers(&h), Some(Code::Unknown));
        h.insert("grpc-status", "99".parse().unwrap());
        assert_eq!(Code::from_headers(&h), Some(Code::Unknown));
        let http = |s: u16| Code::from_http_status(StatusCode::from_u16(s).unwrap());
        assert_eq!(
            [400, 401, 403, 404, 429, 502, 503, 504, 500].map(http),
            [
                Code::Internal,
                Code::Unauthenticated,
                Code::PermissionDenied,
                Code::Unimplemented,
                Code::Unavailable,
                Code::Unavailable,
                Code::Unavailable,
                Code::Unavailable,
                Code::Unknown
            ]
        );
    }
}
