//! Ready-made collectors: the process' own resource usage, and build information.

mod build;
mod process;

pub use build::BuildInfo;
pub use process::ProcessCollector;
