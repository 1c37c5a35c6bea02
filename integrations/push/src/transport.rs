//! The one HTTP/1.1 client of every push path: a request per push over `std::net`, with
//! connect, write and read timeouts, credentials and headers of the user's own.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::error::{PushError, PushErrorKind, invalid_header};

/// Where requests go (`http://host:port` and a path prefix), and what each carries besides its
/// body.
#[derive(Clone)]
pub(crate) struct Transport {
    host: String,
    port: u16,
    /// The URL's path, without a trailing `/` (empty for none).
    pub(crate) base_path: String,
    pub(crate) timeout: Duration,
    /// The `Authorization` header's value, if any (never printed).
    authorization: Option<String>,
    /// Further headers, checked when they were added.
    headers: Vec<(String, String)>,
    /// What errors call the server (`gateway`, `receiver`).
    peer: &'static str,
    /// Retries of a request that may succeed later, and the wait before the first.
    pub(crate) retries: (u32, Duration),
}

/// A request's body: its bytes, their type, and their encoding if compressed.
#[derive(Clone, Copy)]
pub(crate) struct Body<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) content_type: &'a str,
    pub(crate) encoding: Option<&'a str>,
    /// Headers the push path itself sends (a protocol version).
    pub(crate) headers: &'a [(&'a str, &'a str)],
}

impl Transport {
    /// The endpoint at `url` (`http://host:port`, optionally with a path); `what` names it in
    /// errors (`Pushgateway`, `remote write`), and `peer` the server (`gateway`, `receiver`).
    pub(crate) fn parse(url: &str, what: &str, peer: &'static str) -> Result<Self, PushError> {
        let bad = |why: &str| {
            PushError::new(
                PushErrorKind::InvalidUrl,
                format!("invalid {what} URL {url:?}"),
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
            timeout: Duration::from_secs(10),
            authorization: None,
            headers: Vec::new(),
            peer,
            retries: (0, Duration::from_millis(100)),
        })
    }

    /// Sends HTTP basic authentication (`Authorization: Basic ...`), as a gateway behind its
    /// `--web.config.file`'s `basic_auth_users`, or a proxy, asks. Over plain `http` the
    /// password crosses the network readable: keep such a gateway on a trusted network.
    pub(crate) fn basic_auth(mut self, user: &str, password: &str) -> Result<Self, PushError> {
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
    pub(crate) fn bearer_token(mut self, token: &str) -> Result<Self, PushError> {
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
    pub(crate) fn header(mut self, name: &str, value: &str) -> Result<Self, PushError> {
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

    /// Sends a request to `path`, again after a failure that may pass (no connection, `429`,
    /// `5xx`) as often as the retries allow: the wait doubles from the first (at most 5 s), or
    /// is what the server's `Retry-After` asks (at most 30 s). The last failure is returned.
    pub(crate) fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<Body<'_>>,
    ) -> Result<(), PushError> {
        let (retries, first) = self.retries;
        let mut wait = first;
        let mut attempt = 0;
        loop {
            match self.send_once(method, path, body) {
                Err(e) if e.is_retryable() && attempt < retries => {
                    attempt += 1;
                    let asked = e.retry_after.map(|d| d.min(Duration::from_secs(30)));
                    std::thread::sleep(asked.unwrap_or(wait));
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
                result => return result,
            }
        }
    }

    /// Sends one request to `path` and reads the answer's status: `Ok` for 2xx.
    fn send_once(&self, method: &str, path: &str, body: Option<Body<'_>>) -> Result<(), PushError> {
        let context = || format!("{method} http://{}:{}{path} failed", self.host, self.port);
        let io = |kind, why, e| PushError::io(kind, context(), why, e);
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}:{}\r\nConnection: close\r\n",
            self.host, self.port
        );
        if let Some(body) = &body {
            head.push_str(&format!("Content-Type: {}\r\n", body.content_type));
            if let Some(encoding) = body.encoding {
                head.push_str(&format!("Content-Encoding: {encoding}\r\n"));
            }
            for (name, value) in body.headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        if let Some(authorization) = &self.authorization {
            head.push_str(&format!("Authorization: {authorization}\r\n"));
        }
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        let bytes = body.as_ref().map_or(&[][..], |b| b.bytes);
        let request_head = format!("{head}Content-Length: {}\r\n\r\n", bytes.len());

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
            .and_then(|()| stream.write_all(bytes))
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
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        let why = format!(
            "the {} answered {status}: {}",
            self.peer,
            truncate(body.trim())
        );
        let mut error = PushError::new(PushErrorKind::Rejected(status), context(), why);
        error.retry_after = head.lines().find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("retry-after")
                .then(|| value.trim().parse().ok().map(Duration::from_secs))?
        });
        Err(error)
    }
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Transport")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("timeout", &self.timeout)
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "<redacted>"),
            )
            .field("headers", &names)
            .finish_non_exhaustive()
    }
}

fn truncate(s: &str) -> &str {
    let mut end = s.len().min(512);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// RFC 4648 §4's alphabet.
pub(crate) const STANDARD: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Padded base64 in `alphabet`.
pub(crate) fn base64(bytes: &[u8], alphabet: &[u8; 64]) -> String {
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

/// The builder methods every push client shares, over its `transport` field: credentials,
/// headers of the user's own, and the timeout.
macro_rules! transport_options {
    () => {
        /// Sends HTTP basic authentication (`Authorization: Basic ...`) with every request, as a
        /// server behind a `--web.config.file`'s `basic_auth_users`, or a proxy, asks. Over plain
        /// `http` the password crosses the network readable: keep such a server on a trusted
        /// network.
        pub fn basic_auth(mut self, user: &str, password: &str) -> Result<Self, PushError> {
            self.transport = self.transport.basic_auth(user, password)?;
            Ok(self)
        }

        /// Sends `token` as a bearer token (`Authorization: Bearer ...`) with every request,
        /// replacing basic authentication if it was set.
        pub fn bearer_token(mut self, token: &str) -> Result<Self, PushError> {
            self.transport = self.transport.bearer_token(token)?;
            Ok(self)
        }

        /// Sends a header of its own with every request (a tenant id such as `X-Scope-OrgID`, a
        /// proxy's key). The headers this client writes itself (`Host`, `Content-Type`,
        /// `Content-Length`, `Content-Encoding`, `Connection`, `Transfer-Encoding`,
        /// `Authorization`) cannot be set here.
        pub fn header(mut self, name: &str, value: &str) -> Result<Self, PushError> {
            self.transport = self.transport.header(name, value)?;
            Ok(self)
        }

        /// The connect, write and read timeout of each request (default 10 s).
        #[must_use]
        pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
            self.transport.timeout = timeout;
            self
        }
    };
}
pub(crate) use transport_options;
