//! Trace context, for exemplars: which trace an observation belongs to.
//!
//! A histogram observation made while a sampled [`TraceContext`] is current keeps that trace as
//! the exemplar of the bucket it landed in (the latest one wins, as in Go's client), and
//! OpenMetrics scrapes write it after the bucket's line:
//!
//! ```text
//! payment_seconds_bucket{le="0.5"} 7 # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736",span_id="00f067aa0ba902b7"} 0.31 1732470000.123
//! ```
//!
//! The Prometheus 0.0.4 format has no exemplars. Where the current context comes from:
//!
//! - a scope: [`TraceContext::scope`] for a closure, [`TraceContext::instrument`] for a future
//!   (current during each of its polls, on whichever thread polls it). `vitalsign-tower`'s layer
//!   reads the W3C `traceparent` header of each request and makes it current for everything the
//!   request runs, `#[instrument_metrics]` functions included;
//! - with the `opentelemetry` feature, OpenTelemetry's current context
//!   (`opentelemetry::Context::current()`), when no scope is current;
//! - a function of your own, given once to [`set_source`] (for a tracing stack that keeps its
//!   context elsewhere), asked last. With `tracing-opentelemetry`, whose spans keep their
//!   OpenTelemetry context inside `tracing`, that function reads
//!   `tracing::Span::current().context()` (its `OpenTelemetrySpanExt`) and returns the span
//!   context's ids and sampled flag through [`TraceContext::new`].
//!
//! A context whose sampled flag is off is never recorded: its trace was not kept, so an exemplar
//! would point nowhere. In a program that never makes a context current, an observation's check
//! for one is a load of a global flag; once one has, a thread-local read.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use crate::error::{Error, ErrorKind, Result};

/// A W3C trace context: trace id, span (parent) id and the sampled flag.
///
/// ```
/// use vitalsign::trace::TraceContext;
///
/// let cx = TraceContext::from_traceparent(
///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
/// )
/// .unwrap();
/// assert!(cx.is_sampled());
/// assert_eq!(cx.to_string(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
/// assert_eq!(cx.scope(vitalsign::trace::current), Some(cx));
/// assert_eq!(vitalsign::trace::current(), None);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceContext {
    trace_id: [u8; 16],
    span_id: [u8; 8],
    sampled: bool,
}

impl TraceContext {
    /// A context from its ids; `None` if either is all zeros (invalid in W3C trace context).
    pub fn new(trace_id: [u8; 16], span_id: [u8; 8], sampled: bool) -> Option<Self> {
        (trace_id != [0; 16] && span_id != [0; 8]).then_some(Self {
            trace_id,
            span_id,
            sampled,
        })
    }

    /// Parses a `traceparent` header value (`version-trace_id-parent_id-flags`, lowercase hex),
    /// as W3C Trace Context level 1 says a receiver must: version `ff` and all-zero ids are
    /// invalid, a version-`00` value is exactly 55 characters, a later version may carry more
    /// after a `-`. `None` when the value is not valid: the request then has no trace context.
    ///
    /// ```
    /// use vitalsign::trace::TraceContext;
    ///
    /// let id = "4bf92f3577b34da6a3ce929d0e0e4736";
    /// assert!(TraceContext::from_traceparent(&format!("00-{id}-00f067aa0ba902b7-01")).is_some());
    /// // Unsampled: parsed, but never recorded as an exemplar.
    /// let unsampled = TraceContext::from_traceparent(&format!("00-{id}-00f067aa0ba902b7-00"));
    /// assert_eq!(unsampled.map(|c| c.is_sampled()), Some(false));
    /// // Uppercase hex, an all-zero span id, version ff: invalid.
    /// assert!(TraceContext::from_traceparent(&format!("00-{}-00f067aa0ba902b7-01", id.to_uppercase())).is_none());
    /// assert!(TraceContext::from_traceparent(&format!("00-{id}-0000000000000000-01")).is_none());
    /// assert!(TraceContext::from_traceparent(&format!("ff-{id}-00f067aa0ba902b7-01")).is_none());
    /// ```
    pub fn from_traceparent(value: &str) -> Option<Self> {
        let b = value.trim_matches([' ', '\t']).as_bytes();
        if b.len() < 55 || b[2] != b'-' || b[35] != b'-' || b[52] != b'-' {
            return None;
        }
        let version = parse_hex::<1>(&b[0..2])?[0];
        match version {
            0xff => return None,
            0 if b.len() != 55 => return None,
            _ if b.len() > 55 && b[55] != b'-' => return None,
            _ => {}
        }
        let flags = parse_hex::<1>(&b[53..55])?[0];
        Self::new(
            parse_hex(&b[3..35])?,
            parse_hex(&b[36..52])?,
            flags & 1 == 1,
        )
    }

    /// The 16-byte trace id.
    pub fn trace_id(&self) -> [u8; 16] {
        self.trace_id
    }

    /// The 8-byte span id (the `parent-id` of a `traceparent` header).
    pub fn span_id(&self) -> [u8; 8] {
        self.span_id
    }

    /// Whether the trace is sampled (kept): only sampled contexts become exemplars.
    pub fn is_sampled(&self) -> bool {
        self.sampled
    }

    /// Runs `f` with this context current on this thread; the previous one is current again
    /// afterwards, even if `f` panics.
    pub fn scope<R>(self, f: impl FnOnce() -> R) -> R {
        IN_USE.store(true, Ordering::Relaxed);
        let _restore = Restore(CURRENT.with(|c| c.replace(Some(self))));
        f()
    }

    /// Makes this context current during every poll of `future`.
    ///
    /// ```
    /// use vitalsign::trace::{self, TraceContext};
    ///
    /// let cx = TraceContext::new([1; 16], [2; 8], true).unwrap();
    /// let seen = futures_lite_block_on(cx.instrument(async { trace::current() }));
    /// assert_eq!(seen, Some(cx));
    /// # fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     let mut f = std::pin::pin!(f);
    /// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    /// #     loop {
    /// #         if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; }
    /// #     }
    /// # }
    /// ```
    pub fn instrument<F: Future>(self, future: F) -> Traced<F> {
        Traced { future, cx: self }
    }
}

/// The lowercase hex digits of `bytes`: how ids are written in `traceparent`, in OpenMetrics
/// exemplars and in protobuf exemplar labels alike.
pub(crate) fn hex(bytes: &[u8]) -> impl Iterator<Item = u8> + '_ {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]])
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    hex(bytes).try_for_each(|d| fmt::Write::write_char(f, char::from(d)))
}

/// `00-{trace_id}-{span_id}-{flags}`: the `traceparent` header value that propagates this
/// context to the next service.
impl fmt::Display for TraceContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("00-")?;
        write_hex(f, &self.trace_id)?;
        f.write_str("-")?;
        write_hex(f, &self.span_id)?;
        f.write_str(if self.sampled { "-01" } else { "-00" })
    }
}

impl fmt::Debug for TraceContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceContext({self})")
    }
}

fn parse_hex<const N: usize>(digits: &[u8]) -> Option<[u8; N]> {
    fn nibble(d: u8) -> Option<u8> {
        match d {
            b'0'..=b'9' => Some(d - b'0'),
            b'a'..=b'f' => Some(d - b'a' + 10),
            _ => None,
        }
    }
    if digits.len() != 2 * N {
        return None;
    }
    let mut out = [0; N];
    for (o, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *o = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(out)
}

/// An observation's exemplar: its trace, its value and when it was made, as a scrape reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exemplar {
    pub(crate) cx: TraceContext,
    pub(crate) value: f64,
    pub(crate) unix_ns: u64,
}

impl Exemplar {
    /// An exemplar of `value` observed in `cx` at `unix_ns` nanoseconds since the Unix epoch
    /// (for [`Collect`](crate::registry::Collect) implementations that keep their own).
    pub fn new(cx: TraceContext, value: f64, unix_ns: u64) -> Self {
        Self { cx, value, unix_ns }
    }

    /// The trace it points to.
    pub fn trace_context(&self) -> TraceContext {
        self.cx
    }

    /// The observed value (seconds, for durations).
    pub fn value(&self) -> f64 {
        self.value
    }

    /// When it was observed, in nanoseconds since the Unix epoch.
    pub fn unix_ns(&self) -> u64 {
        self.unix_ns
    }
}

pin_project_lite::pin_project! {
    /// A future with a trace context current during each poll: [`TraceContext::instrument`].
    pub struct Traced<F> {
        #[pin]
        future: F,
        cx: TraceContext,
    }
}

impl<F: Future> Future for Traced<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, task: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        this.cx.scope(|| this.future.poll(task))
    }
}

impl<F> fmt::Debug for Traced<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Traced").field("cx", &self.cx).finish()
    }
}

thread_local! {
    static CURRENT: Cell<Option<TraceContext>> = const { Cell::new(None) };
}

struct Restore(Option<TraceContext>);

impl Drop for Restore {
    fn drop(&mut self) {
        let previous = self.0;
        // During thread teardown there is no context left to restore.
        let _ = CURRENT.try_with(|c| c.set(previous));
    }
}

static SOURCE: OnceLock<fn() -> Option<TraceContext>> = OnceLock::new();

/// Sets the function asked for the current trace context when no scope (and, with the
/// `opentelemetry` feature, no OpenTelemetry context) has one. Once per process: a second call
/// is an `Err` and changes nothing. Keep it cheap; it runs on every observation made outside a
/// scope.
///
/// ```
/// use vitalsign::trace::{self, TraceContext};
///
/// fn from_my_tracer() -> Option<TraceContext> {
///     TraceContext::new([7; 16], [8; 8], true)
/// }
/// trace::set_source(from_my_tracer)?;
/// assert_eq!(trace::current(), TraceContext::new([7; 16], [8; 8], true));
/// assert!(trace::set_source(from_my_tracer).is_err());
/// # Ok::<(), vitalsign::Error>(())
/// ```
pub fn set_source(source: fn() -> Option<TraceContext>) -> Result<()> {
    let set = SOURCE.set(source);
    IN_USE.store(true, Ordering::Relaxed);
    set.map_err(|_| {
        Error::new(
            ErrorKind::Clash,
            "vitalsign::trace::set_source: a trace context source is already set",
        )
    })
}

/// The current trace context, sampled or not: the innermost scope's, else OpenTelemetry's (with
/// the `opentelemetry` feature), else [`set_source`]'s.
#[inline]
pub fn current() -> Option<TraceContext> {
    CURRENT
        .try_with(Cell::get)
        .ok()
        .flatten()
        .or_else(from_sources)
}

/// Whether any context was ever made current or a source set: until then, which is always in a
/// program that traces nothing, an observation's check for a context is one load of this flag.
static IN_USE: AtomicBool = AtomicBool::new(cfg!(feature = "opentelemetry"));

/// Whether a context may be current: false in a program that never made one current nor set
/// a source, so its observations skip the look-up.
#[inline]
pub(crate) fn in_use() -> bool {
    IN_USE.load(Ordering::Relaxed)
}

/// The current context if it is sampled: what an observation records as its exemplar.
#[inline]
pub(crate) fn sampled() -> Option<TraceContext> {
    if !IN_USE.load(Ordering::Relaxed) {
        return None;
    }
    match CURRENT.try_with(Cell::get) {
        Ok(Some(cx)) => Some(cx),
        _ => from_sources(),
    }
    .filter(|cx| cx.sampled)
}

#[inline]
fn from_sources() -> Option<TraceContext> {
    #[cfg(feature = "opentelemetry")]
    if let Some(cx) = otel::current() {
        return Some(cx);
    }
    SOURCE.get().and_then(|source| source())
}

#[cfg(feature = "opentelemetry")]
mod otel {
    use opentelemetry::trace::TraceContextExt;

    use super::TraceContext;

    pub(super) fn current() -> Option<TraceContext> {
        opentelemetry::Context::map_current(|cx| {
            let span = cx.span();
            let sc = span.span_context();
            if !sc.is_valid() {
                return None;
            }
            TraceContext::new(
                sc.trace_id().to_bytes(),
                sc.span_id().to_bytes(),
                sc.is_sampled(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

    #[test]
    fn traceparent_values_as_w3c_receivers_read_them() {
        let parse = |v: &str| TraceContext::from_traceparent(v).map(|c| c.to_string());
        let ok = format!("00-{ID}-00f067aa0ba902b7-01");
        assert_eq!(parse(&ok).as_deref(), Some(ok.as_str()));
        // Other flags than sampled are kept out; unsampled stays unsampled.
        assert_eq!(
            parse(&format!("00-{ID}-00f067aa0ba902b7-03")),
            Some(ok.clone())
        );
        assert_eq!(
            parse(&format!("00-{ID}-00f067aa0ba902b7-00")),
            Some(format!("00-{ID}-00f067aa0ba902b7-00"))
        );
        // A later version may carry more fields after a dash; version 00 may not.
        assert_eq!(
            parse(&format!(
                "cc-{ID}-00f067aa0ba902b7-01-what-the-future-holds"
            )),
            Some(ok.clone())
        );
        for bad in [
            String::new(),
            format!("00-{ID}-00f067aa0ba902b7-01-extra"),
            format!("cc-{ID}-00f067aa0ba902b7-01x"),
            format!("ff-{ID}-00f067aa0ba902b7-01"),
            format!("00-{}-00f067aa0ba902b7-01", "0".repeat(32)),
            format!("00-{ID}-0000000000000000-01"),
            format!("00-{}-00f067aa0ba902b7-01", ID.to_uppercase()),
            format!("00-{ID}-00f067aa0ba902b7-0g"),
            format!("00_{ID}-00f067aa0ba902b7-01"),
            format!("0-{ID}-00f067aa0ba902b7-01"),
            format!("00-{ID}-00f067aa0ba902b-01"),
            format!("00-{ID}-00f067aa0ba902b7-1"),
            format!("00-{ID}-00f067aa0ba902bé-01"),
        ] {
            assert_eq!(parse(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn scopes_nest_and_restore_even_on_panic() {
        let a = TraceContext::new([1; 16], [1; 8], true).unwrap();
        let b = TraceContext::new([2; 16], [2; 8], false).unwrap();
        assert_eq!(current(), None);
        a.scope(|| {
            assert_eq!(current(), Some(a));
            assert_eq!(sampled(), Some(a));
            b.scope(|| {
                assert_eq!(current(), Some(b));
                assert_eq!(sampled(), None);
            });
            let unwound = std::panic::catch_unwind(|| b.scope(|| panic!("inside")));
            assert!(unwound.is_err());
            assert_eq!(current(), Some(a));
        });
        assert_eq!(current(), None);
    }
}
