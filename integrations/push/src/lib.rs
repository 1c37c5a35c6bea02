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
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
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
#[derive(Clone)]
pub struct Pushgateway {
    host: String,
    port: u16,
    base_path: String,
    group_path: String,
    timeout: Duration,
    /// The `Authorization` header's value, if any (never printed).
    authorization: Option<String>,
    /// Further headers, checked when they were added.
    headers: Vec<(String, String)>,
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
    /// A header, credential or token that cannot be sent in an HTTP header.
    InvalidHeader,
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
    /// pushing as `job`. Only plain `http` is spoken: reach a TLS gateway through a local proxy
    /// (credentials set here are sent to it).
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
            authorization: None,
            headers: Vec::new(),
            gzip: false,
        })
    }

    /// Sends HTTP basic authentication (`Authorization: Basic ...`), as a gateway behind its
    /// `--web.config.file`'s `basic_auth_users`, or a proxy, asks. Over plain `http` the
    /// password crosses the network readable: keep such a gateway on a trusted network.
    pub fn basic_auth(mut self, user: &str, password: &str) -> Result<Self, PushError> {
        if user.contains(':') {
            return Err(invalid_header("a basic-auth user name cannot hold `:`"));
        }
        if [user, password]
            .iter()
            .any(|s| s.chars().any(char::is_control))
        {
            return Err(invalid_header(
                "a basic-auth user name or password cannot hold control characters",
            ));
        }
        let credentials = base64(format!("{user}:{password}").as_bytes(), STANDARD);
        self.authorization = Some(format!("Basic {credentials}"));
        Ok(self)
    }

    /// Sends `token` as a bearer token (`Authorization: Bearer ...`), replacing basic
    /// authentication if it was set.
    pub fn bearer_token(mut self, token: &str) -> Result<Self, PushError> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || "-._~+/=".contains(c);
        if token.is_empty() || !token.chars().all(allowed) {
            return Err(invalid_header(
                "a bearer token is letters, digits and `-._~+/=` (RFC 6750), and not empty",
            ));
        }
        self.authorization = Some(format!("Bearer {token}"));
        Ok(self)
    }

    /// Sends a header of its own with every request (a tenant id, a proxy's key). The headers
    /// this client writes itself (`Host`, `Content-Type`, `Content-Length`, `Content-Encoding`,
    /// `Connection`, `Transfer-Encoding`, `Authorization`) cannot be set here.
    pub fn header(mut self, name: &str, value: &str) -> Result<Self, PushError> {
        let tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if name.is_empty() || !name.chars().all(tchar) {
            return Err(invalid_header(&format!(
                "{name:?} is not an HTTP header name"
            )));
        }
        const OWN: [&str; 7] = [
            "host",
            "content-type",
            "content-length",
            "content-encoding",
            "connection",
            "transfer-encoding",
            "authorization",
        ];
        if OWN.iter().any(|own| own.eq_ignore_ascii_case(name)) {
            return Err(invalid_header(&format!(
                "the client writes the {name} header itself"
            )));
        }
        if value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(invalid_header(&format!(
                "the value of header {name} cannot hold control characters"
            )));
        }
        self.headers.push((name.to_owned(), value.to_owned()));
        Ok(self)
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

    /// Pushes (`PUT`) `registry` now and then every `interval`, from a thread of its own, until
    /// the returned handle is [stopped](PeriodicPush::stop) or dropped, which pushes a last
    /// time: for a long job, or a host no scraper reaches. A failed push is written to stderr
    /// and counted ([`PeriodicPush::failures`]); the next one is tried on time. `registry` is
    /// anything that derefs to one and can move to the thread (`&'static Registry`, such as
    /// [`default_registry`](vitalsign::default_registry)`()`, or an `Arc<Registry>`).
    pub fn push_every<R>(&self, registry: R, interval: Duration) -> Result<PeriodicPush, PushError>
    where
        R: std::ops::Deref<Target = Registry> + Send + 'static,
    {
        let gateway = self.clone();
        let state = Arc::new(Periodic::default());
        let shared = state.clone();
        let thread = std::thread::Builder::new()
            .name("vitalsign-push".into())
            .spawn(move || {
                let mut stopped = false;
                while !stopped {
                    if let Err(e) = gateway.push(&registry) {
                        shared.failures.fetch_add(1, Ordering::Relaxed);
                        eprintln!("vitalsign: {e}");
                    }
                    stopped = shared.wait(interval);
                }
                gateway.push(&registry)
            })
            .map_err(|e| {
                let context = "periodic push failed".to_owned();
                PushError::io(PushErrorKind::Send, context, "cannot start its thread", e)
            })?;
        Ok(PeriodicPush {
            state,
            thread: Some(thread),
        })
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
        if let Some(authorization) = &self.authorization {
            head.push_str(&format!("Authorization: {authorization}\r\n"));
        }
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
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

fn invalid_header(why: &str) -> PushError {
    PushError::new(
        PushErrorKind::InvalidHeader,
        "invalid Pushgateway header".into(),
        why.to_owned(),
    )
}

impl fmt::Debug for Pushgateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Pushgateway")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("path", &self.path())
            .field("timeout", &self.timeout)
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "<redacted>"),
            )
            .field("headers", &names)
            .finish_non_exhaustive()
    }
}

/// RFC 4648 §4's alphabet.
const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/// RFC 4648 §5's (URL and file name safe).
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// RFC 4648 §5 base64 (`-` and `_`), padded; the empty string is `=`, as the Pushgateway wants.
fn base64_url(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "=".into();
    }
    base64(bytes, URL_SAFE)
}

/// Padded base64 in `alphabet`.
fn base64(bytes: &[u8], alphabet: &[u8; 64]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(alphabet[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A registry pushed on an interval: [`Pushgateway::push_every`]. Stopped (or dropped), it
/// pushes a last time.
#[derive(Debug)]
pub struct PeriodicPush {
    state: Arc<Periodic>,
    /// The pushing thread, which returns its last push's result.
    thread: Option<std::thread::JoinHandle<Result<(), PushError>>>,
}

#[derive(Debug, Default)]
struct Periodic {
    stop: Mutex<bool>,
    wake: Condvar,
    failures: AtomicU64,
}

impl Periodic {
    /// Waits `interval`, or until stopped; whether it was stopped.
    fn wait(&self, interval: Duration) -> bool {
        let stop = self.stop.lock().unwrap_or_else(PoisonError::into_inner);
        let (stop, _) = self
            .wake
            .wait_timeout_while(stop, interval, |stop| !*stop)
            .unwrap_or_else(PoisonError::into_inner);
        *stop
    }
}

impl PeriodicPush {
    /// How many pushes have failed so far (the last one not counted until it has run).
    pub fn failures(&self) -> u64 {
        self.state.failures.load(Ordering::Relaxed)
    }

    /// Stops pushing, pushes a last time and returns how that went.
    pub fn stop(mut self) -> Result<(), PushError> {
        self.finish()
    }

    fn finish(&mut self) -> Result<(), PushError> {
        *self
            .state
            .stop
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = true;
        self.state.wake.notify_all();
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        thread.join().unwrap_or_else(|_| {
            Err(PushError::new(
                PushErrorKind::Send,
                "periodic push failed".into(),
                "the pushing thread panicked".into(),
            ))
        })
    }
}

impl Drop for PeriodicPush {
    fn drop(&mut self) {
        if let Err(e) = self.finish() {
            eprintln!("vitalsign: {e}");
        }
    }
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
    /// A gateway on loopback that answers `202` to each of `n` requests and hands back their
    /// heads and bodies.
    fn recorder(n: usize) -> (String, std::thread::JoinHandle<Vec<String>>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let thread = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for _ in 0..n {
                let (mut conn, _) = listener.accept().unwrap();
                conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                // The head, then as many body bytes as Content-Length says.
                loop {
                    let n = conn.read(&mut buf).unwrap();
                    request.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&request);
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("Content-Length: "))
                            .and_then(|l| l.parse::<usize>().ok())
                            .unwrap_or(0);
                        if body.len() >= len || n == 0 {
                            break;
                        }
                    }
                }
                conn.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
                    .unwrap();
                seen.push(String::from_utf8_lossy(&request).into_owned());
            }
            seen
        });
        (url, thread)
    }

    #[test]
    fn credentials_and_headers_go_with_every_request() {
        let (url, gateway) = recorder(2);
        let g = Pushgateway::new(&url, "j")
            .unwrap()
            .basic_auth("ci", "s3cret")
            .unwrap()
            .header("X-Scope-OrgID", "tenant-1")
            .unwrap();
        g.delete().unwrap();
        g.clone()
            .bearer_token("abc.DEF-123_~+/=")
            .unwrap()
            .delete()
            .unwrap();
        let seen = gateway.join().unwrap();
        let head = |r: &str| r.lines().skip(1).map(str::to_owned).collect::<Vec<_>>();
        let port = url.rsplit_once(':').unwrap().1;
        assert_eq!(
            head(&seen[0]),
            [
                format!("Host: 127.0.0.1:{port}"),
                "Connection: close".to_owned(),
                "Authorization: Basic Y2k6czNjcmV0".to_owned(),
                "X-Scope-OrgID: tenant-1".to_owned(),
                "Content-Length: 0".to_owned(),
                String::new(),
            ]
        );
        assert_eq!(head(&seen[1])[2], "Authorization: Bearer abc.DEF-123_~+/=");
        // Debug output names the headers and never the credentials.
        let debug = format!("{g:?}");
        assert!(
            !debug.contains("Y2k6") && debug.contains("<redacted>"),
            "{debug}"
        );
        assert!(debug.contains("X-Scope-OrgID"), "{debug}");
    }

    #[test]
    fn headers_that_cannot_be_sent_are_refused() {
        let g = || Pushgateway::new("http://gw", "j").unwrap();
        let err = |r: Result<Pushgateway, PushError>| {
            let e = r.unwrap_err();
            assert_eq!(e.kind(), PushErrorKind::InvalidHeader);
            e.to_string()
        };
        assert_eq!(
            err(g().basic_auth("a:b", "p")),
            "invalid Pushgateway header: a basic-auth user name cannot hold `:`"
        );
        assert_eq!(
            err(g().basic_auth("a", "p\r\nX-Evil: 1")),
            "invalid Pushgateway header: a basic-auth user name or password cannot hold control characters"
        );
        assert_eq!(
            err(g().bearer_token("two words")),
            "invalid Pushgateway header: a bearer token is letters, digits and `-._~+/=` (RFC 6750), and not empty"
        );
        assert_eq!(
            err(g().header("Bad Name", "v")),
            "invalid Pushgateway header: \"Bad Name\" is not an HTTP header name"
        );
        assert_eq!(
            err(g().header("content-length", "9")),
            "invalid Pushgateway header: the client writes the content-length header itself"
        );
        assert_eq!(
            err(g().header("X-A", "1\r\nX-B: 2")),
            "invalid Pushgateway header: the value of header X-A cannot hold control characters"
        );
    }

    #[test]
    fn a_periodic_push_pushes_now_and_once_more_when_stopped() {
        let (url, gateway) = recorder(2);
        let registry = std::sync::Arc::new(Registry::new());
        let jobs = registry
            .register("jobs", "Jobs.", vitalsign::Counter::new())
            .unwrap();
        jobs.inc();
        // An hour apart: the first push, then only the last one, at `stop`.
        let periodic = Pushgateway::new(&url, "j")
            .unwrap()
            .push_every(registry.clone(), Duration::from_secs(3600))
            .unwrap();
        // However the thread is scheduled: its first push, then (stopped before the hour is
        // up) its last, which carries what was counted before `stop`.
        jobs.inc();
        periodic.stop().unwrap();
        let seen = gateway.join().unwrap();
        assert_eq!(seen.len(), 2);
        assert!(
            seen.iter()
                .all(|r| r.starts_with("PUT /metrics/job/j HTTP/1.1\r\n"))
        );
        assert!(seen[1].ends_with("jobs_total 2\n"), "{}", seen[1]);
    }

    #[test]
    fn a_periodic_push_counts_its_failures_and_reports_the_last() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let periodic = Pushgateway::new(&format!("http://127.0.0.1:{port}"), "j")
            .unwrap()
            .push_every(
                &*Box::leak(Box::new(Registry::new())),
                Duration::from_secs(3600),
            )
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while periodic.failures() == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(periodic.failures(), 1);
        let last = periodic.stop().unwrap_err();
        assert_eq!(last.kind(), PushErrorKind::Connect);
    }
}
