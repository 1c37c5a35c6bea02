//! A Pushgateway client, for batch jobs that end before any scrape.
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

use std::fmt;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use vitalsign::{EncodeOptions, Format, Registry};

/// Where to push: a gateway, a job, and the grouping key's other labels.
///
/// ```no_run
/// use vitalsign_push::Pushgateway;
///
/// let registry = vitalsign::Registry::new();
/// // ... run the job, recording into `registry` ...
/// Pushgateway::new("http://127.0.0.1:9091", "nightly-backup")?
///     .grouping("instance", "db-1")
///     .push(&registry)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Label values holding `/`, and empty ones, are written in the `@base64` form the Pushgateway
/// reads; others are percent-encoded where a path needs it.
#[derive(Debug, Clone)]
pub struct Pushgateway {
    host: String,
    port: u16,
    base_path: String,
    group_path: String,
    timeout: Duration,
    #[cfg_attr(
        not(feature = "gzip"),
        allow(dead_code, reason = "only read when compression exists")
    )]
    gzip: bool,
}

/// A push that failed: which gateway, which request, and why ([`kind`](Self::kind)), with the
/// I/O error underneath where there is one ([`source`](std::error::Error::source)).
#[derive(Debug)]
pub struct PushError {
    kind: PushErrorKind,
    /// What was being done: `invalid Pushgateway URL "..."`, `PUT http://gw:9091/metrics/...`.
    context: String,
    /// Why, in words (an I/O error's own text is its `source`'s).
    why: String,
    source: Option<std::io::Error>,
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
}

impl PushError {
    fn new(kind: PushErrorKind, context: String, why: String) -> Self {
        Self {
            kind,
            context,
            why,
            source: None,
        }
    }

    fn io(kind: PushErrorKind, context: String, why: &str, source: std::io::Error) -> Self {
        Self {
            kind,
            context,
            why: why.to_owned(),
            source: Some(source),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> PushErrorKind {
        self.kind
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

impl Pushgateway {
    /// A client for the gateway at `url` (`http://host:port`, optionally with a path prefix),
    /// pushing as `job`. Only plain `http` is spoken: reach a TLS gateway through a local proxy.
    pub fn new(url: &str, job: &str) -> Result<Self, PushError> {
        let bad = |why: &str| {
            PushError::new(
                PushErrorKind::InvalidUrl,
                format!("invalid Pushgateway URL {url:?}"),
                why.to_owned(),
            )
        };
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| bad("it must start with http:// (https is not supported)"))?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (
                h,
                p.parse::<u16>()
                    .map_err(|_| bad("the port is not a number from 0 to 65535"))?,
            ),
            _ => (authority, 80),
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        if job.is_empty() {
            return Err(PushError::new(
                PushErrorKind::InvalidJob,
                "invalid Pushgateway job".into(),
                "a job name must not be empty".into(),
            ));
        }
        let base_path = format!("/{}", path.trim_end_matches('/'));
        let base_path = if base_path == "/" {
            String::new()
        } else {
            base_path
        };
        Ok(Self {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port,
            base_path,
            group_path: segment("job", job),
            timeout: Duration::from_secs(10),
            gzip: false,
        })
    }

    /// Adds a label to the grouping key (`instance`, ...).
    #[must_use]
    pub fn grouping(mut self, name: &str, value: &str) -> Self {
        self.group_path.push_str(&segment(name, value));
        self
    }

    /// The connect, write and read timeout of each request (default 10 s).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sends pushes gzip-compressed (`Content-Encoding: gzip`).
    #[cfg(feature = "gzip")]
    #[must_use]
    pub fn gzip(mut self, on: bool) -> Self {
        self.gzip = on;
        self
    }

    /// The URL path of the group: `/metrics/job/<job>/<label>/<value>...`.
    pub fn path(&self) -> String {
        format!("{}/metrics{}", self.base_path, self.group_path)
    }

    /// `PUT`: the registry's metrics replace everything in the group.
    pub fn push(&self, registry: &Registry) -> Result<(), PushError> {
        self.send("PUT", Some(registry))
    }

    /// `POST`: the registry's metrics replace the group's metrics of the same names; others stay.
    pub fn push_add(&self, registry: &Registry) -> Result<(), PushError> {
        self.send("POST", Some(registry))
    }

    /// `DELETE`: removes the group.
    pub fn delete(&self) -> Result<(), PushError> {
        self.send("DELETE", None)
    }

    /// A guard that pushes (`PUT`) `registry` when it is dropped, at the end of `main` or when a
    /// job unwinds; a failure is written to stderr.
    #[must_use = "the guard pushes when it is dropped: bind it to a variable that lives until the end"]
    pub fn push_on_drop<'r>(&self, registry: &'r Registry) -> PushOnDrop<'r> {
        PushOnDrop {
            gateway: self.clone(),
            registry,
        }
    }

    fn send(&self, method: &str, registry: Option<&Registry>) -> Result<(), PushError> {
        let path = self.path();
        let context = || format!("{method} http://{}:{}{path} failed", self.host, self.port);
        let io = |kind, why, e| PushError::io(kind, context(), why, e);
        let mut body = Vec::new();
        if let Some(r) = registry {
            r.encode(&mut body, &EncodeOptions::new(Format::Prometheus));
        }
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}:{}\r\nConnection: close\r\n",
            self.host, self.port
        );
        if registry.is_some() {
            head.push_str("Content-Type: text/plain; version=0.0.4\r\n");
        }
        #[cfg(feature = "gzip")]
        if self.gzip && registry.is_some() {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gz.write_all(&body)
                .and_then(|()| gz.finish())
                .map(|b| body = b)
                .map_err(|e| io(PushErrorKind::Send, "cannot compress", e))?;
            head.push_str("Content-Encoding: gzip\r\n");
        }
        let request_head = format!("{head}Content-Length: {}\r\n\r\n", body.len());

        let addr = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| io(PushErrorKind::Resolve, "cannot resolve the host", e))?
            .next()
            .ok_or_else(|| {
                PushError::new(
                    PushErrorKind::Resolve,
                    context(),
                    "the host has no address".into(),
                )
            })?;
        let mut stream = TcpStream::connect_timeout(&addr, self.timeout)
            .map_err(|e| io(PushErrorKind::Connect, "cannot connect", e))?;
        let _ = stream.set_read_timeout(Some(self.timeout));
        let _ = stream.set_write_timeout(Some(self.timeout));
        stream
            .write_all(request_head.as_bytes())
            .and_then(|()| stream.write_all(&body))
            .map_err(|e| io(PushErrorKind::Send, "cannot send", e))?;
        // The answer is small (a status and maybe an error text); read at most 64 KiB of it.
        let mut answer = Vec::new();
        let _ = (&mut stream).take(64 * 1024).read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        let status: u16 = answer
            .strip_prefix("HTTP/1.")
            .and_then(|r| r.get(2..5))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                let why = format!("not an HTTP answer: {:?}", truncate(&answer));
                PushError::new(PushErrorKind::BadAnswer, context(), why)
            })?;
        if (200..300).contains(&status) {
            return Ok(());
        }
        let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b).trim();
        let why = format!("the gateway answered {status}: {}", truncate(body));
        Err(PushError::new(
            PushErrorKind::Rejected(status),
            context(),
            why,
        ))
    }
}

fn truncate(s: &str) -> &str {
    let mut end = s.len().min(512);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// `/<name>/<value>`, or `/<name>@base64/<value in URL-safe base64>` for a value holding `/` or
/// empty (the Pushgateway's encoding).
fn segment(name: &str, value: &str) -> String {
    if value.is_empty() || value.contains('/') {
        format!("/{name}@base64/{}", base64_url(value.as_bytes()))
    } else {
        format!("/{name}/{}", percent(value))
    }
}

fn percent(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(b));
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// RFC 4648 §5 base64 (`-` and `_`), padded; the empty string is `=`, as the Pushgateway wants.
fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    if bytes.is_empty() {
        return "=".into();
    }
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Pushes its registry when dropped: [`Pushgateway::push_on_drop`].
#[derive(Debug)]
pub struct PushOnDrop<'r> {
    gateway: Pushgateway,
    registry: &'r Registry,
}

impl Drop for PushOnDrop<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.gateway.push(self.registry) {
            eprintln!("vitalsign: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping_keys_as_the_pushgateway_reads_them() {
        let g = Pushgateway::new("http://gw:9091/", "backup")
            .unwrap()
            .grouping("instance", "db-1")
            .grouping("path", "/var/lib")
            .grouping("empty", "")
            .grouping("odd", "a b%");
        assert_eq!(
            g.path(),
            "/metrics/job/backup/instance/db-1/path@base64/L3Zhci9saWI=/empty@base64/=/odd/a%20b%25"
        );
        assert_eq!(
            Pushgateway::new("http://gw/prefix/", "j@b").unwrap().path(),
            "/prefix/metrics/job/j%40b"
        );
        assert_eq!(base64_url(b"a/b?"), "YS9iPw==");
        assert_eq!(base64_url(b"\xfb\xff"), "-_8=");
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        let err = |u: &str| Pushgateway::new(u, "j").unwrap_err().to_string();
        assert_eq!(
            err("https://gw:9091"),
            "invalid Pushgateway URL \"https://gw:9091\": it must start with http:// (https is not supported)"
        );
        assert_eq!(
            err("http://gw:port"),
            "invalid Pushgateway URL \"http://gw:port\": the port is not a number from 0 to 65535"
        );
        assert_eq!(
            err("http://:9091"),
            "invalid Pushgateway URL \"http://:9091\": no host"
        );
        assert_eq!(
            Pushgateway::new("http://gw", "").unwrap_err().to_string(),
            "invalid Pushgateway job: a job name must not be empty"
        );
        let e = Pushgateway::new("http://gw:port", "j").unwrap_err();
        assert_eq!(e.kind(), PushErrorKind::InvalidUrl);
    }

    #[test]
    fn an_unreachable_gateway_is_named_in_the_error() {
        // A port nothing listens on: bind one, note it, close it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let g = Pushgateway::new(&format!("http://127.0.0.1:{port}"), "j").unwrap();
        let e = g.delete().unwrap_err();
        // A refusal is a connection error, with the I/O error as its source (not an HTTP 400).
        assert_eq!((e.kind(), e.status()), (PushErrorKind::Connect, None));
        let io = std::error::Error::source(&e)
            .and_then(|s| s.downcast_ref::<std::io::Error>())
            .map(std::io::Error::kind);
        assert_eq!(io, Some(std::io::ErrorKind::ConnectionRefused));
        assert!(
            e.to_string().starts_with(&format!(
                "DELETE http://127.0.0.1:{port}/metrics/job/j failed: cannot connect: "
            )),
            "{e}"
        );
    }
}
