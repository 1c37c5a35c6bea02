//! Each outbound label set's series, found with one probe per request, as the server's route
//! table finds a route's. A request's method, host (as requested), port and URL template pick
//! one [`HostEntry`]: the `server_address` the host policy gave that host, the active gauge,
//! and its duration series by outcome (status and error type), kept once made. The families
//! stay the authority and make every series; the table holds at most the layer's series cap,
//! and a request past it finds its series in the families.

use std::sync::Arc;

use vitalsign::lookup::{self, Table, same_bytes};
use vitalsign::{Gauge, Histogram};

use super::error::ErrorType;
use crate::kept::{Found, Kept};

/// The outcomes an entry keeps series for; a host answering with more finds the others in the
/// families at each request.
const OUTCOMES: usize = 8;

/// What a request's duration series depends on besides its entry: its status (0 without a
/// response) and its error type.
pub(crate) type Outcome = (u16, Option<ErrorType>);

/// One label set of the active gauge and its duration series.
pub(crate) struct HostEntry {
    pub(crate) method: &'static str,
    host: Box<str>,
    pub(crate) port: u16,
    pub(crate) template: usize,
    /// The `server_address` label: the host, or `_OTHER`.
    pub(crate) label: Arc<str>,
    pub(crate) active: Arc<Gauge>,
    durations: Kept<Outcome, Arc<Histogram>, OUTCOMES>,
}

impl HostEntry {
    pub(crate) fn new(
        (method, host, port, template): (&'static str, &str, u16, usize),
        label: Arc<str>,
        active: Arc<Gauge>,
    ) -> Self {
        Self {
            method,
            host: host.into(),
            port,
            template,
            label,
            active,
            durations: Kept::default(),
        }
    }

    fn is(&self, method: &str, host: &str, port: u16, template: usize) -> bool {
        self.port == port
            && self.template == template
            && same_bytes(self.method.as_bytes(), method.as_bytes())
            && same_bytes(self.host.as_bytes(), host.as_bytes())
    }

    /// The duration series for `outcome`: the entry's own once made, else made by `make`.
    pub(crate) fn duration(
        &self,
        outcome: Outcome,
        make: impl Fn() -> Arc<Histogram>,
    ) -> Found<'_, Arc<Histogram>> {
        self.durations.get(outcome, make)
    }
}

/// A layer's entries, at most its series cap of them.
pub(crate) struct HostTable {
    entries: Table<HostEntry>,
}

impl HostTable {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            entries: Table::new(cap),
        }
    }

    pub(crate) fn get(&self, index: u32) -> Option<&HostEntry> {
        self.entries.get(index)
    }

    /// The index of the entry for these labels, made by `make` if it is new; `None` when the
    /// table is full (the caller then makes an entry of its own).
    pub(crate) fn find_or_make(
        &self,
        key: (&'static str, &str, u16, usize),
        make: impl FnOnce() -> HostEntry,
    ) -> Option<u32> {
        let (method, host, port, template) = key;
        // Hosts come from the program's URLs (and redirects it follows); a crafted collision
        // only lengthens a probe, and the table's cap bounds what it holds.
        let seed = u64::from(port) | (template as u64) << 16;
        let hash = lookup::hash(seed, &[method, host]);
        self.entries
            .find_or_insert(hash, |e| e.is(method, host, port, template), make)
    }
}

impl std::fmt::Debug for HostTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostTable")
            .field("entries", &self.entries.len())
            .finish()
    }
}
