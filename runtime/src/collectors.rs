//! Ready-made collectors: the process' own resource usage, build information, and (with the
//! `tokio` feature) a tokio runtime's metrics.

mod build;
mod process;
#[cfg(feature = "tokio")]
mod tokio;

pub use build::BuildInfo;
pub use process::ProcessCollector;
#[cfg(feature = "tokio")]
pub use tokio::TokioRuntimeCollector;

/// The descriptors of a collector's fixed families.
fn describe(
    families: &[(crate::encoding::MetricType, &'static str, &'static str)],
) -> Vec<(crate::encoding::MetricType, crate::registry::Descriptor)> {
    families
        .iter()
        .map(|&(kind, name, help)| (kind, crate::registry::Descriptor::new(name, help)))
        .collect()
}
