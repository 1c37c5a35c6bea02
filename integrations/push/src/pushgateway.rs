//! The Pushgateway client: a group's path, and `PUT`, `POST` and `DELETE` of it.

use std::time::Duration;

use vitalsign::{EncodeOptions, Format, Registry};

use crate::error::{PushError, PushErrorKind};
use crate::periodic::PeriodicPush;
use crate::transport::{Body, Transport, base64, transport_options};

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
#[derive(Clone, Debug)]
pub struct Pushgateway {
    transport: Transport,
    group_path: String,
    #[cfg_attr(
        not(feature = "gzip"),
        allow(dead_code, reason = "only read when compression exists")
    )]
    gzip: bool,
}

impl Pushgateway {
    /// A client for the gateway at `url` (`http://host:port`, optionally with a path prefix),
    /// pushing as `job`. Only plain `http` is spoken: reach a TLS gateway through a local proxy
    /// (credentials set here are sent to it).
    pub fn new(url: &str, job: &str) -> Result<Self, PushError> {
        let transport = Transport::parse(url, "Pushgateway", "gateway")?;
        if job.is_empty() {
            return Err(PushError::new(
                PushErrorKind::InvalidJob,
                "invalid Pushgateway job".into(),
                "a job name must not be empty".into(),
            ));
        }
        Ok(Self {
            transport,
            group_path: segment("job", job),
            gzip: false,
        })
    }

    transport_options!();

    /// Adds a label to the grouping key (`instance`, ...).
    #[must_use]
    pub fn grouping(mut self, name: &str, value: &str) -> Self {
        self.group_path.push_str(&segment(name, value));
        self
    }

    /// How often a request that may succeed later (no connection, `429`, `5xx`) is tried again,
    /// and the wait before the first retry, which doubles (at most 5 s) unless the gateway's
    /// `Retry-After` says otherwise (at most 30 s). Default: no retries.
    #[must_use]
    pub fn retries(mut self, retries: u32, first_wait: Duration) -> Self {
        self.transport.retries = (retries, first_wait);
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
        format!("{}/metrics{}", self.transport.base_path, self.group_path)
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
        PeriodicPush::start(interval, move || gateway.push(&registry))
    }

    fn send(&self, method: &str, registry: Option<&Registry>) -> Result<(), PushError> {
        let Some(registry) = registry else {
            return self.transport.send(method, &self.path(), None);
        };
        let mut body = Vec::new();
        registry.encode(&mut body, &EncodeOptions::new(Format::Prometheus));
        #[cfg(feature = "gzip")]
        let (body, encoding) = if self.gzip {
            use std::io::Write;
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            let body = gz
                .write_all(&body)
                .and_then(|()| gz.finish())
                .map_err(|e| {
                    let context = format!("{method} {} failed", self.path());
                    PushError::io(PushErrorKind::Send, context, "cannot compress", e)
                })?;
            (body, Some("gzip"))
        } else {
            (body, None)
        };
        #[cfg(not(feature = "gzip"))]
        let encoding = None;
        let body = Body {
            bytes: &body,
            content_type: "text/plain; version=0.0.4",
            encoding,
            headers: &[],
        };
        self.transport.send(method, &self.path(), Some(body))
    }
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

/// RFC 4648 §5's alphabet (URL and file name safe).
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// RFC 4648 §5 base64 (`-` and `_`), padded; the empty string is `=`, as the Pushgateway wants.
pub(crate) fn base64_url(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "=".into();
    }
    base64(bytes, URL_SAFE)
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
