//! What a recorder is made with: its registry, the buckets of histograms by name, native
//! buckets, and the cap on label sets per name. The [`Builder`](crate::Builder) fills it in.

use vitalsign::{Buckets, NativeBuckets, Registry};

/// Which histogram names a bucket layout applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matcher {
    /// Exactly this name (as recorded, before `_`-sanitising).
    Full(String),
    /// Names starting with this.
    Prefix(String),
    /// Names ending with this.
    Suffix(String),
}

impl Matcher {
    pub(crate) fn matches(&self, name: &str) -> bool {
        match self {
            Matcher::Full(n) => name == n,
            Matcher::Prefix(p) => name.starts_with(p.as_str()),
            Matcher::Suffix(s) => name.ends_with(s.as_str()),
        }
    }
}

/// A recorder's settings.
#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) registry: &'static Registry,
    pub(crate) buckets: Vec<(Matcher, Buckets)>,
    pub(crate) native: Option<NativeBuckets>,
    pub(crate) max_series: usize,
    pub(crate) idle_timeout: Option<std::time::Duration>,
}

impl Default for Config {
    /// The default registry, latency buckets, native buckets, 2,000 label sets per name.
    fn default() -> Self {
        Self {
            registry: vitalsign::default_registry(),
            buckets: Vec::new(),
            native: Some(NativeBuckets::default()),
            max_series: 2000,
            idle_timeout: None,
        }
    }
}
