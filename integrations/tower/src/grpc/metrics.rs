//! The five families of one side (server or client), the cells of each declared method, and
//! the per-call tracker that records into them.
//!
//! Every series a layer can write is made when the layer is built: for each declared method
//! (and the one `_OTHER` row) its started, message and duration series and one handled series
//! per code. A call finds its row with one lookup of its path and touches only atomics after.

use std::sync::{Arc, LazyLock};

use vitalsign::catalog::Source;
use vitalsign::lookup::{self, Table, same_bytes};
use vitalsign::trace::TraceContext;
use vitalsign::{
    Counter, Descriptor, Histogram, Registry, SparseFamily, Stopwatch, default_registry,
};

use super::code::Code;
use super::methods::{GrpcMethods, OTHER, UNKNOWN_TYPE};
use crate::described::Described;
use crate::options::DurationBuckets;

/// Which end of a call a layer sits on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Server,
    Client,
}

impl Side {
    fn prefix(self) -> &'static str {
        match self {
            Side::Server => "grpc_server",
            Side::Client => "grpc_client",
        }
    }
}

/// The most series one family keeps: only declared methods make series, so this bounds what a
/// program declares, never what a peer sends.
const MAX_SERIES: usize = 1 << 16;
const VALID: &str = "the gRPC label names are valid";

/// One side's families.
pub(crate) struct Families {
    started: Arc<SparseFamily<Counter, 3>>,
    handled: Arc<SparseFamily<Counter, 4>>,
    received: Arc<SparseFamily<Counter, 3>>,
    sent: Arc<SparseFamily<Counter, 3>>,
    /// `None` when the layer was built without the handling-time histogram.
    handling: Option<Arc<SparseFamily<Histogram, 3>>>,
}

impl std::fmt::Debug for Families {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Families")
            .field("handled_series", &self.handled.len())
            .finish_non_exhaustive()
    }
}

const LABELS: [&str; 3] = ["grpc_type", "grpc_service", "grpc_method"];

impl Families {
    fn new(durations: DurationBuckets, handling_time: bool) -> Self {
        let counters = || Arc::new(SparseFamily::new(LABELS, MAX_SERIES).expect(VALID));
        let handling = SparseFamily::new_with(LABELS, MAX_SERIES, durations.maker());
        let handled = SparseFamily::new(
            ["grpc_type", "grpc_service", "grpc_method", "grpc_code"],
            MAX_SERIES,
        );
        Self {
            started: counters(),
            handled: Arc::new(handled.expect(VALID)),
            received: counters(),
            sent: counters(),
            handling: handling_time.then(|| Arc::new(handling.expect(VALID))),
        }
    }

    fn register(&self, registry: &Registry, side: Side) -> vitalsign::Result<()> {
        let p = side.prefix();
        let (who, by, source) = match side {
            Side::Server => ("server", "by the server", Source::GrpcServer),
            Side::Client => ("client", "by the client", Source::GrpcClient),
        };
        let describe =
            |name: &str, help: String| Descriptor::new(format!("{p}_{name}"), help).source(source);
        registry.register_shared(
            describe("started", format!("gRPC calls started on the {who}.")),
            Arc::new(Described::existing(self.started.clone(), MAX_SERIES)),
        )?;
        registry.register_shared(
            describe(
                "handled",
                format!("gRPC calls completed on the {who}, by status code."),
            ),
            Arc::new(Described::existing(self.handled.clone(), MAX_SERIES)),
        )?;
        registry.register_shared(
            describe(
                "msg_received",
                format!("gRPC stream messages received {by}."),
            ),
            Arc::new(Described::existing(self.received.clone(), MAX_SERIES)),
        )?;
        registry.register_shared(
            describe("msg_sent", format!("gRPC stream messages sent {by}.")),
            Arc::new(Described::existing(self.sent.clone(), MAX_SERIES)),
        )?;
        if let Some(handling) = &self.handling {
            registry.register_shared(
                describe(
                    "handling_seconds",
                    format!(
                        "Duration of gRPC calls on the {who}, from the request to the end of the response stream."
                    ),
                ),
                Arc::new(Described::existing(handling.clone(), MAX_SERIES)),
            )?;
        }
        Ok(())
    }

    /// The families every layer built for the default registry shares. If a name there is
    /// taken, calls are still tracked, the clash is printed once, and nothing is exported.
    pub(crate) fn shared_default(side: Side) -> Arc<Self> {
        fn make(side: Side) -> Arc<Families> {
            let families = Families::new(DurationBuckets::default(), true);
            if let Err(e) = families.register(default_registry(), side) {
                eprintln!("vitalsign-tower: gRPC {side:?} metrics not exported: {e}");
            }
            Arc::new(families)
        }
        static SERVER: LazyLock<Arc<Families>> = LazyLock::new(|| make(Side::Server));
        static CLIENT: LazyLock<Arc<Families>> = LazyLock::new(|| make(Side::Client));
        match side {
            Side::Server => SERVER.clone(),
            Side::Client => CLIENT.clone(),
        }
    }

    /// New families registered in `registry`.
    pub(crate) fn registered(
        registry: &Registry,
        side: Side,
        durations: DurationBuckets,
        handling_time: bool,
    ) -> vitalsign::Result<Arc<Self>> {
        let families = Self::new(durations, handling_time);
        families.register(registry, side)?;
        Ok(Arc::new(families))
    }

    fn cells(&self, kind: &str, service: &str, method: &str) -> MethodCells {
        let labels = [kind, service, method];
        MethodCells {
            started: self.started.get(labels),
            handled: Code::ALL.map(|c| self.handled.get([kind, service, method, c.name()])),
            received: self.received.get(labels),
            sent: self.sent.get(labels),
            handling: self.handling.as_ref().map(|h| h.get(labels)),
        }
    }
}

/// Every series of one method (or of `_OTHER`).
pub(crate) struct MethodCells {
    started: Arc<Counter>,
    handled: [Arc<Counter>; 17],
    received: Arc<Counter>,
    sent: Arc<Counter>,
    handling: Option<Arc<Histogram>>,
}

/// A layer's table: its methods' cells by path, and the `_OTHER` row.
pub(crate) struct GrpcMetrics {
    pub(crate) side: Side,
    /// Each declared method's path and cells. Paths come from peers, but the table is fixed when
    /// the layer is built (a peer adds nothing to it), so a crafted collision can only slow a
    /// lookup by the number of declared methods.
    methods: Table<(Box<str>, Arc<MethodCells>)>,
    other: Arc<MethodCells>,
}

impl std::fmt::Debug for GrpcMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcMetrics")
            .field("side", &self.side)
            .field("methods", &self.methods.len())
            .finish()
    }
}

impl GrpcMetrics {
    /// The table of `methods` over `families`; every series exists (at zero) once this returns.
    pub(crate) fn new(side: Side, families: &Families, methods: &GrpcMethods) -> Self {
        let table = Table::new(methods.methods.len());
        for (m, path) in methods.methods.iter().zip(methods.paths()) {
            let cells = || {
                let cells = families.cells(m.kind.as_str(), &m.service, &m.method);
                (path.clone(), Arc::new(cells))
            };
            table.find_or_insert(lookup::hash(0, &[&path]), |(p, _)| **p == *path, cells);
        }
        Self {
            side,
            methods: table,
            other: Arc::new(families.cells(UNKNOWN_TYPE, OTHER, OTHER)),
        }
    }

    /// The cells of the method at `path`, or the `_OTHER` row.
    pub(crate) fn lookup(&self, path: &str) -> &Arc<MethodCells> {
        let same = |(declared, _): &(Box<str>, _)| same_bytes(declared.as_bytes(), path.as_bytes());
        self.methods
            .find(lookup::hash(0, &[path]), same)
            .and_then(|i| self.methods.get(i))
            .map_or(&self.other, |(_, cells)| cells)
    }
}

/// One call in flight: counted as started when made; counted as handled with its code, and
/// timed, exactly once, when its status is known or it is abandoned.
pub(crate) struct Call {
    cells: Arc<MethodCells>,
    side: Side,
    watch: Stopwatch,
    /// The caller's `grpc-timeout` in nanoseconds (`u64::MAX` without one): a call abandoned
    /// past it is `DeadlineExceeded`, not `Canceled`.
    timeout_ns: u64,
    trace: Option<TraceContext>,
    done: bool,
}

impl Call {
    pub(crate) fn start(
        cells: Arc<MethodCells>,
        side: Side,
        timeout: Option<std::time::Duration>,
        trace: Option<TraceContext>,
    ) -> Self {
        cells.started.inc();
        Self {
            cells,
            side,
            watch: Stopwatch::start(),
            timeout_ns: timeout.map_or(u64::MAX, |t| {
                u64::try_from(t.as_nanos()).unwrap_or(u64::MAX)
            }),
            trace,
            done: false,
        }
    }

    /// The counter of the request's messages: received by a server, sent by a client.
    pub(crate) fn request_messages(&self) -> Arc<Counter> {
        match self.side {
            Side::Server => self.cells.received.clone(),
            Side::Client => self.cells.sent.clone(),
        }
    }

    /// Counts `n` messages of the response: sent by a server, received by a client.
    pub(crate) fn response_messages(&self, n: u64) {
        if n > 0 {
            match self.side {
                Side::Server => self.cells.sent.inc_by(n),
                Side::Client => self.cells.received.inc_by(n),
            }
        }
    }

    /// Whether the caller's deadline has passed.
    fn past_deadline(&self) -> bool {
        self.timeout_ns != u64::MAX && self.watch.elapsed_ns() >= self.timeout_ns
    }

    /// The trace context of the call (the server's request's, or the client's current one).
    pub(crate) fn trace(&self) -> Option<TraceContext> {
        self.trace
    }

    /// The code of a call that failed without a status: a transport failure is `Unavailable` to
    /// a client, a failed response `Unknown` to the server's peer; past the deadline, either is
    /// `DeadlineExceeded`.
    pub(crate) fn failed(&mut self) {
        let code = if self.past_deadline() {
            Code::DeadlineExceeded
        } else {
            match self.side {
                Side::Client => Code::Unavailable,
                Side::Server => Code::Unknown,
            }
        };
        self.finish(code);
    }

    /// Records the call with `code`, once.
    pub(crate) fn finish(&mut self, code: Code) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        self.cells.handled[usize::from(code.number())].inc();
        let Some(handling) = &self.cells.handling else {
            return;
        };
        let ns = self.watch.elapsed_ns();
        match self.trace {
            Some(cx) => cx.scope(|| handling.observe_ns(ns)),
            None => handling.observe_ns(ns),
        }
    }

    pub(crate) fn is_done(&self) -> bool {
        self.done
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        if !self.done {
            let code = if self.past_deadline() {
                Code::DeadlineExceeded
            } else {
                Code::Canceled
            };
            self.finish(code);
        }
    }
}

/// The `grpc-timeout` header: up to 8 digits and a unit (`H`, `M`, `S`, `m`, `u`, `n`).
pub(crate) fn timeout(headers: &http::HeaderMap) -> Option<std::time::Duration> {
    use std::time::Duration;
    static GRPC_TIMEOUT: http::HeaderName = http::HeaderName::from_static("grpc-timeout");
    let v = crate::header::get(headers, &GRPC_TIMEOUT)?.as_bytes();
    let (digits, unit) = v.split_at(v.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(match unit {
        b"H" => Duration::from_secs(n * 3600),
        b"M" => Duration::from_secs(n * 60),
        b"S" => Duration::from_secs(n),
        b"m" => Duration::from_millis(n),
        b"u" => Duration::from_micros(n),
        b"n" => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn grpc_timeouts_parse_as_the_spec_writes_them() {
        let t = |v: &str| {
            let mut h = http::HeaderMap::new();
            h.insert("grpc-timeout", v.parse().unwrap());
            timeout(&h)
        };
        assert_eq!(t("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(t("3M"), Some(Duration::from_secs(180)));
        assert_eq!(t("5S"), Some(Duration::from_secs(5)));
        assert_eq!(t("250m"), Some(Duration::from_millis(250)));
        assert_eq!(t("99999999u"), Some(Duration::from_micros(99_999_999)));
        assert_eq!(t("7n"), Some(Duration::from_nanos(7)));
        assert_eq!(t("123456789S"), None);
        assert_eq!(t("S"), None);
        assert_eq!(t("1x"), None);
        assert_eq!(t("-1S"), None);
        assert_eq!(timeout(&http::HeaderMap::new()), None);
    }
}
