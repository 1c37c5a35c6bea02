//! How a recorder is configured: its registry, the buckets of histograms by name, native
//! buckets, and the cap on label sets per name.

use vitalsign::{Buckets, NativeBuckets, Registry};

use crate::recorder::VitalsignRecorder;

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

/// Configures a [`VitalsignRecorder`].
#[derive(Debug)]
pub struct Builder {
    pub(crate) registry: &'static Registry,
    pub(crate) buckets: Vec<(Matcher, Buckets)>,
    pub(crate) native: Option<NativeBuckets>,
    pub(crate) max_series: usize,
    pub(crate) idle_timeout: Option<std::time::Duration>,
}

impl Builder {
    /// The default settings: the default registry, latency buckets, native buckets, 2,000
    /// label sets per name.
    pub(crate) fn new() -> Self {
        Self {
            registry: vitalsign::default_registry(),
            buckets: Vec::new(),
            native: Some(NativeBuckets::default()),
            max_series: 2000,
            idle_timeout: None,
        }
    }

    /// Records into `registry` instead of the [`default_registry`](vitalsign::default_registry).
    #[must_use]
    pub fn registry(mut self, registry: &'static Registry) -> Self {
        self.registry = registry;
        self
    }

    /// Histograms whose name `matcher` matches get `buckets` (the first match wins).
    #[must_use]
    pub fn buckets_for(mut self, matcher: Matcher, buckets: Buckets) -> Self {
        self.buckets.push((matcher, buckets));
        self
    }

    /// Native buckets for every histogram (default: [`NativeBuckets::default`]); `None` keeps
    /// classic buckets only.
    #[must_use]
    pub fn native(mut self, native: Option<NativeBuckets>) -> Self {
        self.native = native;
        self
    }

    /// The most label sets a name keeps before new ones share its overflow series (default
    /// 2,000).
    #[must_use]
    pub fn max_series(mut self, max: usize) -> Self {
        self.max_series = max;
        self
    }

    /// Drops a label set nobody recorded to for `idle` (at each scrape), making room for new
    /// ones under [`max_series`](Self::max_series), as
    /// [`SparseFamily::idle_timeout`](vitalsign::SparseFamily::idle_timeout) does. A label set
    /// recorded to again starts from zero. A handle the program keeps (a `metrics::Counter`
    /// held in a struct) keeps its label set; one made by the macros at each call does not.
    #[must_use]
    pub fn idle_timeout(mut self, idle: std::time::Duration) -> Self {
        self.idle_timeout = Some(idle);
        self
    }

    /// The recorder.
    pub fn build(self) -> VitalsignRecorder {
        VitalsignRecorder::with(self)
    }

    /// Builds the recorder and installs it as the process' global one.
    pub fn install(self) -> Result<VitalsignRecorder, InstallError> {
        let recorder = self.build();
        metrics::set_global_recorder(recorder.clone()).map_err(|_| InstallError(()))?;
        Ok(recorder)
    }
}

/// Another recorder was installed first.
#[derive(Debug)]
pub struct InstallError(());

impl std::fmt::Display for InstallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a global `metrics` recorder is already installed")
    }
}

impl std::error::Error for InstallError {}
