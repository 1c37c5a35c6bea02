//! Objectives (SLOs) declared in code, attached to instrumented functions with
//! `#[instrument_metrics(objective = PATH)]`, and turned into a Prometheus rules file:
//! recording rules, multi-window burn-rate alerts, and plain threshold alerts.
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

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::encoding::number::{canonical_f64, write_f64};
use crate::error::{Error, ErrorKind, Result};

/// A target for a group of functions: how often they succeed, and how fast.
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
}

impl Default for RuleOptions {
    fn default() -> Self {
        Self {
            time_scale: 1.0,
            error_ratio_limit: 0.05,
            latency_factor: 2.0,
        }
    }
}

impl RuleOptions {
    /// Divides every window and `for` duration (see the field).
    pub fn time_scale(mut self, time_scale: f64) -> Self {
        self.time_scale = time_scale;
        self
    }

    /// The error ratio of the plain threshold alert.
    pub fn error_ratio_limit(mut self, limit: f64) -> Self {
        self.error_ratio_limit = limit;
        self
    }

    /// How many times the latency threshold p95 may reach before the plain latency alert.
    pub fn latency_factor(mut self, factor: f64) -> Self {
        self.latency_factor = factor;
        self
    }
}

/// The Prometheus rules file for every objective attached to a function in this program.
///
/// Two objectives with one name but different targets are an error naming both.
pub fn alert_rules(options: &RuleOptions) -> Result<String> {
    let mut objectives: BTreeMap<&str, (Objective, Vec<Attached>)> = BTreeMap::new();
    for link in crate::__private::OBJECTIVE_LINKS {
        let o = *link.objective;
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
        if !entry.1.contains(&(link.function, link.module)) {
            entry.1.push((link.function, link.module));
        }
    }
    let mut out = String::from(
        "# Generated by vitalsign from the objectives declared in code; do not edit.\ngroups:\n",
    );
    for (objective, functions) in objectives.values_mut() {
        functions.sort_unstable();
        write_group(&mut out, objective, functions, options);
    }
    if objectives.is_empty() {
        out.push_str("  []\n");
        out = out.replace("groups:\n  []\n", "groups: []\n");
    }
    Ok(out)
}

/// A function an objective is attached to: `(function, module)` labels.
type Attached = (&'static str, &'static str);

/// Windows in seconds: the page pair, the ticket pair, the threshold alert's.
const PAGE: (u64, u64) = (3600, 300);
const TICKET: (u64, u64) = (86_400, 7200);
const PAGE_BURN: f64 = 14.4;
const TICKET_BURN: f64 = 3.0;
const THRESHOLD_WINDOW: u64 = 60;
const PAGE_FOR: u64 = 120;
const TICKET_FOR: u64 = 900;
const THRESHOLD_FOR: u64 = 60;

fn duration(seconds: u64, options: &RuleOptions, floor: u64) -> String {
    let s = ((seconds as f64 / options.time_scale).round() as u64).max(floor);
    if s % 86_400 == 0 {
        format!("{}d", s / 86_400)
    } else if s % 3600 == 0 {
        format!("{}h", s / 3600)
    } else if s % 60 == 0 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

fn camel(name: &str) -> String {
    name.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// `rate(metric{function="f",module="m",extra}[w])` for each function, joined with `or`: one
/// selector per (function, module) pair, since regex alternations over each label would also
/// match a function of one module paired with another module.
fn rates(functions: &[(&str, &str)], metric: &str, extra: &str, w: &str) -> String {
    let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let mut pairs: Vec<&(&str, &str)> = functions.iter().collect();
    pairs.sort_unstable();
    pairs.dedup();
    pairs
        .iter()
        .map(|(f, m)| {
            format!(
                "rate({metric}{{function=\"{}\",module=\"{}\"{extra}}}[{w}])",
                quote(f),
                quote(m)
            )
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

fn write_group(out: &mut String, o: &Objective, functions: &[(&str, &str)], options: &RuleOptions) {
    let name = o.name;
    let alert = camel(name);
    let rates = |metric: &str, extra: &str, w: &str| rates(functions, metric, extra, w);
    let window = |s| duration(s, options, 5);
    let for_ = |s| duration(s, options, 1);
    let mut windows = vec![PAGE.0, PAGE.1, TICKET.0, TICKET.1, THRESHOLD_WINDOW];
    windows.sort_unstable();
    // Scaled down, two windows can clamp to the same floor: record each duration once.
    windows.dedup_by_key(|w| window(*w));
    let fnames: Vec<&str> = functions.iter().map(|f| f.0).collect();
    let fnames = fnames.join(", ");

    let _ = writeln!(out, "  - name: vitalsign-objective-{name}");
    out.push_str("    rules:\n");
    let record = |out: &mut String, record: &str, expr: String| {
        let _ = writeln!(out, "      - record: {record}");
        let _ = writeln!(out, "        expr: {expr}");
        let _ = writeln!(out, "        labels:\n          objective: {name}");
    };
    if o.success_rate.is_some() {
        for &w in &windows {
            let w = window(w);
            record(
                out,
                &format!("vitalsign:objective_error_ratio:rate{w}"),
                format!(
                    "sum({}) / sum({})",
                    rates("function_calls_total", ",result=\"error\"", &w),
                    rates("function_calls_total", "", &w)
                ),
            );
        }
    }
    if let Some((_, threshold)) = o.latency {
        let le = canonical_f64(threshold);
        for &w in &windows {
            let w = window(w);
            record(
                out,
                &format!("vitalsign:objective_slow_ratio:rate{w}"),
                format!(
                    "1 - sum({}) / sum({})",
                    rates(
                        "function_calls_duration_seconds_bucket",
                        &format!(",le=\"{le}\""),
                        &w
                    ),
                    rates("function_calls_duration_seconds_count", "", &w)
                ),
            );
        }
        let w = window(THRESHOLD_WINDOW);
        record(
            out,
            &format!("vitalsign:objective_latency_p95_seconds:rate{w}"),
            format!(
                "histogram_quantile(0.95, sum by (le) ({}))",
                rates("function_calls_duration_seconds_bucket", "", &w)
            ),
        );
    }

    let alert_rule = |out: &mut String,
                      name_suffix: &str,
                      expr: String,
                      for_s: u64,
                      severity: &str,
                      summary: String| {
        let _ = writeln!(out, "      - alert: {alert}{name_suffix}");
        let _ = writeln!(out, "        expr: {expr}");
        let _ = writeln!(out, "        for: {}", for_(for_s));
        let _ = writeln!(
            out,
            "        labels:\n          objective: {name}\n          severity: {severity}"
        );
        let _ = writeln!(
            out,
            "        annotations:\n          summary: \"{}\"",
            summary.replace('"', "'")
        );
    };
    let burn = |ratio: &str, budget: f64, factor: f64, (long, short): (u64, u64)| {
        let limit = num(factor * budget);
        format!(
            "{ratio}:rate{}{{objective=\"{name}\"}} > {limit} and {ratio}:rate{}{{objective=\"{name}\"}} > {limit}",
            window(long),
            window(short)
        )
    };
    if let Some(target) = o.success_rate {
        let budget = round12(1.0 - target);
        let ratio = "vitalsign:objective_error_ratio";
        let pct = num(target * 100.0);
        alert_rule(
            out,
            "ErrorBudgetBurn",
            burn(ratio, budget, PAGE_BURN, PAGE),
            PAGE_FOR,
            "page",
            format!("{fnames}: errors are burning the {pct}% success budget {PAGE_BURN}x too fast"),
        );
        alert_rule(
            out,
            "ErrorBudgetBurnSlow",
            burn(ratio, budget, TICKET_BURN, TICKET),
            TICKET_FOR,
            "ticket",
            format!(
                "{fnames}: errors are burning the {pct}% success budget {TICKET_BURN}x too fast"
            ),
        );
        let limit = num(options.error_ratio_limit);
        alert_rule(
            out,
            "ErrorRatioHigh",
            format!(
                "{ratio}:rate{}{{objective=\"{name}\"}} > {limit}",
                window(THRESHOLD_WINDOW)
            ),
            THRESHOLD_FOR,
            "warning",
            format!(
                "{fnames}: more than {}% of calls fail",
                num(options.error_ratio_limit * 100.0)
            ),
        );
    }
    if let Some((percentile, threshold)) = o.latency {
        let budget = round12(1.0 - percentile);
        let ratio = "vitalsign:objective_slow_ratio";
        let ms = num(threshold * 1000.0);
        let pct = num(percentile * 100.0);
        alert_rule(
            out,
            "LatencyBudgetBurn",
            burn(ratio, budget, PAGE_BURN, PAGE),
            PAGE_FOR,
            "page",
            format!(
                "{fnames}: calls over {ms} ms are burning the {pct}% latency budget {PAGE_BURN}x too fast"
            ),
        );
        alert_rule(
            out,
            "LatencyBudgetBurnSlow",
            burn(ratio, budget, TICKET_BURN, TICKET),
            TICKET_FOR,
            "ticket",
            format!(
                "{fnames}: calls over {ms} ms are burning the {pct}% latency budget {TICKET_BURN}x too fast"
            ),
        );
        let limit = num(options.latency_factor * threshold);
        alert_rule(
            out,
            "LatencyHigh",
            format!(
                "vitalsign:objective_latency_p95_seconds:rate{}{{objective=\"{name}\"}} > {limit}",
                window(THRESHOLD_WINDOW)
            ),
            THRESHOLD_FOR,
            "warning",
            format!(
                "{fnames}: p95 latency is over {} ms",
                num(options.latency_factor * threshold * 1000.0)
            ),
        );
    }
}

/// `1.0 - 0.99` is `0.010000000000000009`; budgets are written as people write them.
fn round12(v: f64) -> f64 {
    format!("{v:.12}").parse().unwrap_or(v)
}

/// `v` rounded to 12 decimals, written as Prometheus writes numbers (`0.144`, `99`, `1e-05`).
fn num(v: f64) -> String {
    let mut out = Vec::new();
    write_f64(&mut out, round12(v));
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_scale_and_round() {
        let prod = RuleOptions::default();
        let demo = RuleOptions {
            time_scale: 60.0,
            ..prod
        };
        assert_eq!(duration(3600, &prod, 5), "1h");
        assert_eq!(duration(86_400, &prod, 5), "1d");
        assert_eq!(duration(300, &prod, 5), "5m");
        assert_eq!(duration(3600, &demo, 5), "1m");
        assert_eq!(duration(300, &demo, 5), "5s");
        assert_eq!(duration(60, &demo, 5), "5s");
        assert_eq!(duration(120, &demo, 1), "2s");
        assert_eq!(duration(86_400, &demo, 5), "24m");
    }

    #[test]
    fn selectors_and_names() {
        assert_eq!(camel("checkout_payments"), "CheckoutPayments");
        assert_eq!(
            rates(&[("charge", "shop")], "m", "", "5m"),
            "rate(m{function=\"charge\",module=\"shop\"}[5m])"
        );
        // Two pairs: each keeps its own module (`charge` of `shop::cart` is not selected).
        assert_eq!(
            rates(
                &[
                    ("charge", "shop"),
                    ("Cart::add", "shop::cart"),
                    ("charge", "shop")
                ],
                "m",
                ",result=\"error\"",
                "1h"
            ),
            "rate(m{function=\"Cart::add\",module=\"shop::cart\",result=\"error\"}[1h]) or \
             rate(m{function=\"charge\",module=\"shop\",result=\"error\"}[1h])"
        );
        assert_eq!(round12(1.0 - 0.99), 0.01);
    }

    #[test]
    fn thresholds_must_be_bucket_bounds() {
        let o = Objective::new("x").latency(0.99, 0.25);
        assert!(o.threshold_in(&[0.1, 0.25, 1.0]));
        assert!(!o.threshold_in(&[0.1, 0.3]));
        assert!(Objective::new("y").success_rate(0.9).threshold_in(&[]));
    }
}
