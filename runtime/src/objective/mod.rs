//! Objectives (SLOs) declared in code, attached to instrumented functions with
//! `#[instrument_metrics(objective = PATH)]` or to any call a vitalsign layer measures (a
//! [`Target`]: an outbound HTTP call, an HTTP route, a gRPC method), and turned into a
//! Prometheus rules file: recording rules, multi-window burn-rate alerts, plain threshold
//! alerts, and a regression alert for a mean call duration that doubled against itself an hour
//! earlier.
//!
//! ```
//! use vitalsign::Objective;
//!
//! /// Payments succeed 99% of the time, and 99% finish within 250 ms.
//! pub const PAYMENTS: Objective = Objective::new("payments")
//!     .success_rate(0.99)
//!     .latency(0.99, 0.25);
//! ```
//!
//! The latency threshold must be a bucket bound of every function the objective is attached to
//! (a compile error otherwise): "99% under 250 ms" is then read exactly from `le="0.25"`.

#[cfg(feature = "dashboards")]
pub(crate) mod charts;
pub(crate) mod links;
mod rules;
mod target;
mod yaml;

pub use target::Target;

use std::collections::BTreeMap;

use crate::error::{Error, ErrorKind, Result};

/// A target for a group of calls: how often they succeed, and how fast.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Objective {
    name: &'static str,
    success_rate: Option<f64>,
    latency: Option<(f64, f64)>,
}

impl Objective {
    /// An objective named `name` (lowercase letters, digits and `_`; it becomes the `objective`
    /// label and, in CamelCase, the start of alert names).
    pub const fn new(name: &'static str) -> Self {
        let b = name.as_bytes();
        assert!(!b.is_empty(), "an objective needs a name");
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            assert!(
                c.is_ascii_lowercase() || c == b'_' || (i > 0 && c.is_ascii_digit()),
                "objective names are lowercase letters, digits and `_`"
            );
            i += 1;
        }
        Self {
            name,
            success_rate: None,
            latency: None,
        }
    }

    /// The share of calls that must succeed, such as `0.999`.
    #[must_use]
    pub const fn success_rate(mut self, target: f64) -> Self {
        assert!(
            target > 0.0 && target < 1.0,
            "a success rate is between 0 and 1, exclusive"
        );
        self.success_rate = Some(target);
        self
    }

    /// The share of calls (`percentile`, such as `0.99`) that must finish within
    /// `threshold_seconds`, which must be a bucket bound of the functions' histograms.
    #[must_use]
    pub const fn latency(mut self, percentile: f64, threshold_seconds: f64) -> Self {
        assert!(
            percentile > 0.0 && percentile < 1.0,
            "a latency percentile is between 0 and 1, exclusive"
        );
        assert!(threshold_seconds > 0.0, "a latency threshold is positive");
        self.latency = Some((percentile, threshold_seconds));
        self
    }

    /// The name.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// Whether the latency threshold, if any, is one of `bounds` (checked at compile time by
    /// `#[instrument_metrics(objective = ...)]`, through `__private`).
    pub(crate) const fn threshold_in(&self, bounds: &[f64]) -> bool {
        let Some((_, threshold)) = self.latency else {
            return true;
        };
        let mut i = 0;
        while i < bounds.len() {
            if bounds[i] == threshold {
                return true;
            }
            i += 1;
        }
        false
    }
}

/// How the generated rules are timed: `RuleOptions::default().time_scale(60.0)`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct RuleOptions {
    /// Divides every window and `for` duration: `1.0` for production (page on 1 h and 5 m, ticket
    /// on 1 d and 2 h), `60.0` for a demo where an hour passes in a minute. Windows never go
    /// below 5 s nor `for` below 1 s.
    pub time_scale: f64,
    /// The error ratio of the plain threshold alert (default 5%).
    pub error_ratio_limit: f64,
    /// The plain latency alert fires when p95 exceeds this many times the threshold (default 2).
    pub latency_factor: f64,
    /// The regression alert fires when the mean call duration over 5 minutes (from the
    /// histogram's `_sum` and `_count`, or the native histogram's sum and count) is this many
    /// times the mean over the same 5 minutes `regression_offset` seconds earlier.
    ///
    /// The default, 1.5, is "it roughly doubled": fixed costs that do not double with a slow
    /// dependency (the caller's own work, the connection) keep a real doubling a little under
    /// 2x (the shop's provider at 150 -> 300 ms reads about 1.98x), while +-10% of jitter reads
    /// at most 1.22x. The mean is exact at any bucket layout; a quantile from classic buckets
    /// is not (100 and 200 ms share the default `(0.1, 0.25]` bucket), which is why the alert
    /// does not read one.
    pub regression_factor: f64,
    /// How far back the regression alert compares, in seconds (default 3600; 86400 compares
    /// with the same time yesterday). Scaled by `time_scale` like the windows.
    pub regression_offset: u64,
    /// The calls per second below which the regression alert stays quiet (default 0.5: a mean
    /// of at least 150 calls in 5 minutes).
    pub regression_min_rate: f64,
}

impl Default for RuleOptions {
    fn default() -> Self {
        Self {
            time_scale: 1.0,
            error_ratio_limit: 0.05,
            latency_factor: 2.0,
            regression_factor: 1.5,
            regression_offset: 3600,
            regression_min_rate: 0.5,
        }
    }
}

impl RuleOptions {
    /// Divides every window and `for` duration (see the field).
    #[must_use]
    pub fn time_scale(mut self, time_scale: f64) -> Self {
        self.time_scale = time_scale;
        self
    }

    /// The error ratio of the plain threshold alert.
    #[must_use]
    pub fn error_ratio_limit(mut self, limit: f64) -> Self {
        self.error_ratio_limit = limit;
        self
    }

    /// How many times the latency threshold p95 may reach before the plain latency alert.
    #[must_use]
    pub fn latency_factor(mut self, factor: f64) -> Self {
        self.latency_factor = factor;
        self
    }

    /// The regression alert's factor, offset (seconds) and minimum rate (calls a second).
    #[must_use]
    pub fn regression(mut self, factor: f64, offset_seconds: u64, min_rate: f64) -> Self {
        self.regression_factor = factor;
        self.regression_offset = offset_seconds;
        self.regression_min_rate = min_rate;
        self
    }
}

/// The Prometheus rules file for every objective attached to a function in this program.
///
/// Two objectives with one name but different targets are an error naming both.
pub fn alert_rules(options: &RuleOptions) -> Result<String> {
    alert_rules_with(options, &[])
}

/// The Prometheus rules file for every objective attached to a function in this program, and
/// for each `(objective, target)` given: an objective over calls a layer measures (an outbound
/// HTTP call, an HTTP route, a gRPC method). An objective may have several targets, given once
/// each, and functions too.
///
/// The latency threshold must be a bucket bound of each target's histogram (the layers'
/// default buckets are Prometheus' latency buckets, 5 ms to 10 s).
///
/// ```
/// use vitalsign::objective::{Target, alert_rules_with};
/// use vitalsign::{Objective, RuleOptions};
///
/// const PAYMENTS: Objective = Objective::new("payments").success_rate(0.99).latency(0.99, 0.25);
/// let rules = alert_rules_with(
///     &RuleOptions::default(),
///     &[(PAYMENTS, Target::http_client("POST", "payments.example.com"))],
/// )?;
/// assert!(rules.contains("alert: PaymentsLatencyRegression\n"));
/// assert!(rules.contains(r#"http_client_request_duration_seconds_bucket{http_request_method="POST",server_address="payments.example.com",le="0.25"}"#));
/// # Ok::<(), vitalsign::Error>(())
/// ```
pub fn alert_rules_with(options: &RuleOptions, targets: &[(Objective, Target)]) -> Result<String> {
    let mut objectives = declared(targets)?;
    let groups = objectives
        .values_mut()
        .map(|(objective, targets)| {
            targets.sort_unstable();
            rules::group(objective, targets, options)
        })
        .collect();
    Ok(yaml::RuleFile { groups }.to_yaml())
}

/// Every objective attached to a function in this program and in `targets`, by name, with its
/// targets; two objectives with one name but different targets are an error naming both.
pub(crate) fn declared(
    targets: &[(Objective, Target)],
) -> Result<BTreeMap<&'static str, (Objective, Vec<Target>)>> {
    let mut objectives: BTreeMap<&str, (Objective, Vec<Target>)> = BTreeMap::new();
    let links = links::OBJECTIVE_LINKS.iter().map(|link| {
        (
            *link.objective,
            Target::function(link.function, link.module),
        )
    });
    for (o, target) in links.chain(targets.iter().cloned()) {
        let entry = objectives.entry(o.name).or_insert((o, Vec::new()));
        if entry.0 != o {
            return Err(Error::new(
                ErrorKind::Clash,
                format!(
                    "two objectives are named `{}` with different targets: {:?} and {:?}",
                    o.name, entry.0, o
                ),
            ));
        }
        if !entry.1.contains(&target) {
            entry.1.push(target);
        }
    }
    Ok(objectives)
}
