//! How statics (`metrics!` and instrumented functions) find their registry: a link-time list
//! every registry claims its entries from before its first registration or scrape.

use std::sync::Arc;

use super::{Descriptor, Registry};
use crate::error::Result;
use crate::metrics::Metric;

/// How a static (from [`metrics!`](crate::metrics!) or an instrumented function) joins its
/// registry: `registry` names the registry, `register` adds the static's families to it.
#[doc(hidden)]
#[derive(Debug)]
pub struct StaticRegistration {
    pub registry: fn() -> &'static Registry,
    pub register: fn(&Registry) -> Result<()>,
}

#[doc(hidden)]
#[cfg(feature = "macros")]
#[linkme::distributed_slice]
pub static STATIC_REGISTRATIONS: [StaticRegistration];

/// Without the macros there are no statics to register.
#[doc(hidden)]
#[cfg(not(feature = "macros"))]
pub static STATIC_REGISTRATIONS: [StaticRegistration; 0] = [];

/// Registers one of vitalsign's own self-metrics (a name starting with `vitalsign_`, which
/// users cannot register), for the integrations.
#[doc(hidden)]
pub fn register_self_metric(
    registry: &Registry,
    desc: Descriptor,
    metric: Arc<dyn Metric>,
) -> Result<()> {
    registry.register_reserved(desc, metric)
}

/// Joins a doc comment's lines into HELP text.
#[doc(hidden)]
pub fn help_from_doc(lines: &[&str]) -> String {
    lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
