//! What generated code (`#[instrument_metrics]`, the derives, `metrics!`, `buckets!`) reaches
//! through `vitalsign::__private`: helpers, `const fn` checks, and re-exports. Nothing here is
//! for users to name.

#[cfg(feature = "macros")]
pub use linkme;
pub use std::borrow::Cow;
pub use std::sync::LazyLock;

/// Calls `f`. Generated code runs a sync function's body through this so the closure is
/// `FnOnce` and may return what it captured (a method returning `&mut self`).
#[inline(always)]
pub fn call_once<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// `parts` concatenated into one array of `N` names (for `LabelSet::NAMES` with `flatten`).
pub const fn concat_names<const N: usize>(parts: &[&[&'static str]]) -> [&'static str; N] {
    let mut out = [""; N];
    let (mut i, mut k) = (0, 0);
    while i < parts.len() {
        let mut j = 0;
        while j < parts[i].len() {
            if k < N {
                out[k] = parts[i][j];
            }
            k += 1;
            j += 1;
        }
        i += 1;
    }
    out
}

/// Whether no name appears twice in `names` (for `LabelSet::NAMES` with `flatten`).
pub const fn names_are_unique(names: &[&str]) -> bool {
    let mut i = 0;
    while i < names.len() {
        let mut j = 0;
        while j < i {
            if str_eq(names[i], names[j]) {
                return false;
            }
            j += 1;
        }
        i += 1;
    }
    true
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether bucket bounds are usable: at least one, finite, strictly increasing (the rule
/// [`Buckets::new`](crate::Buckets::new) applies, as a `const fn` for compile-time checks).
pub const fn buckets_are_valid(bounds: &[f64]) -> bool {
    !bounds.is_empty() && crate::metrics::first_bad_bound(bounds).is_none()
}

/// Buckets from bounds [`buckets!`](crate::buckets!) checked at compile time.
pub fn checked_buckets(bounds: &'static [f64]) -> crate::metrics::Buckets {
    crate::metrics::Buckets::new(bounds.iter().copied())
        .unwrap_or_else(|_| crate::metrics::Buckets::latency())
}

pub use crate::instrumented::*;
pub use crate::objective::links::{OBJECTIVE_LINKS, ObjectiveLink};

/// Whether `objective`'s latency threshold, if any, is one of `bounds`.
pub const fn threshold_in(objective: &crate::objective::Objective, bounds: &[f64]) -> bool {
    objective.threshold_in(bounds)
}

/// The bounds of [`Buckets::latency`](crate::Buckets::latency), for compile-time checks.
pub const DEFAULT_BUCKETS: &[f64] = crate::metrics::DEFAULT_LATENCY_BOUNDS;
pub use crate::registry::{
    STATIC_REGISTRATIONS, StaticRegistration, help_from_doc, register_self_metric,
};
