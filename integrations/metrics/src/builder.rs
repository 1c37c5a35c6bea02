//! How a recorder is configured and installed: the builder fills in a [`Config`] and hands it to
//! the recorder, and installs the recorder as the process' global one.

use vitalsign::{Buckets, NativeBuckets, Registry};

use crate::config::{Config, Matcher};
use crate::recorder::VitalsignRecorder;

/// Installs a recorder into the default registry with the default settings.
pub fn install() -> Result<VitalsignRecorder, InstallError> {
    VitalsignRecorder::builder().install()
}

impl VitalsignRecorder {
    /// A builder with the default settings.
    pub fn builder() -> Builder {
        Builder {
            config: Config::default(),
        }
    }
}

/// Configures a [`VitalsignRecorder`].
#[derive(Debug)]
pub struct Builder {
    config: Config,
}

impl Builder {
    /// Records into `registry` instead of the [`default_registry`](vitalsign::default_registry).
    #[must_use]
    pub fn registry(mut self, registry: &'static Registry) -> Self {
        self.config.registry = registry;
        self
    }

    /// Histograms whose name `matcher` matches get `buckets` (the first match wins).
    #[must_use]
    pub fn buckets_for(mut self, matcher: Matcher, buckets: Buckets) -> Self {
        self.config.buckets.push((matcher, buckets));
        self
    }

    /// Native buckets for every histogram (default: [`NativeBuckets::default`]); `None` keeps
    /// classic buckets only.
    #[must_use]
    pub fn native(mut self, native: Option<NativeBuckets>) -> Self {
        self.config.native = native;
        self
    }

    /// The most label sets a name keeps before new ones share its overflow series (default
    /// 2,000).
    #[must_use]
    pub fn max_series(mut self, max: usize) -> Self {
        self.config.max_series = max;
        self
    }

    /// Drops a label set nobody recorded to for `idle` (at each scrape), making room for new
    /// ones under [`max_series`](Self::max_series), as
    /// [`SparseFamily::idle_timeout`](vitalsign::SparseFamily::idle_timeout) does. A label set
    /// recorded to again starts from zero. A handle the program keeps (a `metrics::Counter`
    /// held in a struct) keeps its label set; one made by the macros at each call does not.
    #[must_use]
    pub fn idle_timeout(mut self, idle: std::time::Duration) -> Self {
        self.config.idle_timeout = Some(idle);
        self
    }

    /// The recorder.
    pub fn build(self) -> VitalsignRecorder {
        VitalsignRecorder::with(self.config)
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
