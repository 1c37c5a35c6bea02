use crate::metrics::Info;

/// Build information for a `build_info` metric: package name and version, and the commit when the
/// build knows it (from the `VITALSIGN_BUILD_COMMIT` environment variable at compile time).
/// Made by [`build_info!`](crate::build_info!), which reads the calling crate's details.
///
/// ```
/// use vitalsign::{Format, Registry};
///
/// let registry = Registry::new();
/// registry.register("build", "Build information.", vitalsign::build_info!().into_info())?;
/// let text = registry.render(Format::Prometheus);
/// assert!(text.starts_with("# HELP build_info Build information.\n# TYPE build_info gauge\nbuild_info{package=\""));
/// # Ok::<(), vitalsign::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildInfo {
    /// The package name.
    pub package: &'static str,
    /// The package version.
    pub version: &'static str,
    /// The commit, where known.
    pub commit: Option<&'static str>,
}

impl BuildInfo {
    /// The [`Info`] metric: `build_info{package, version[, commit]} 1`.
    pub fn into_info(self) -> Info {
        let mut labels = vec![("package", self.package), ("version", self.version)];
        if let Some(commit) = self.commit {
            labels.push(("commit", commit));
        }
        // The label names above are fixed and valid, so this cannot fail.
        Info::new(labels).unwrap_or_default()
    }
}

/// The calling crate's [`BuildInfo`].
#[macro_export]
macro_rules! build_info {
    () => {
        $crate::BuildInfo {
            package: ::core::env!("CARGO_PKG_NAME"),
            version: ::core::env!("CARGO_PKG_VERSION"),
            commit: ::core::option_env!("VITALSIGN_BUILD_COMMIT"),
        }
    };
}
