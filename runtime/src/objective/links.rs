//! The functions attached to objectives: each `#[instrument_metrics(objective = PATH)]` adds an
//! entry at link time (through `__private`), which the objective's targets read.

/// A function attached to an objective, recorded by `#[instrument_metrics(objective = ...)]`.
#[derive(Debug)]
pub struct ObjectiveLink {
    /// The objective.
    pub objective: &'static super::Objective,
    /// The function's name.
    pub function: &'static str,
    /// The module it is in (`module_path!()`).
    pub module: &'static str,
}

/// Every function attached to an objective in the program.
#[cfg(feature = "macros")]
#[linkme::distributed_slice]
pub static OBJECTIVE_LINKS: [ObjectiveLink];

/// Without the macros no function is attached to an objective.
#[cfg(not(feature = "macros"))]
pub static OBJECTIVE_LINKS: [ObjectiveLink; 0] = [];
