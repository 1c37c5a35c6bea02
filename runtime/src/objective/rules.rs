//! The rules an objective becomes, as a typed model (`yaml::Group`) the YAML writer renders:
//! recording rules for its error and slow ratios over every alert window and its p95, then
//! multi-window burn-rate alerts and plain threshold alerts.
//!
//! The burn-rate alerts have four tiers, as Sloth and Pyrra generate them for a 30-day
//! objective (the Google SRE workbook's): a page when the budget burns 14.4 times too fast over
//! 1 h (and still over 5 m) or 6 times over 6 h (and 30 m), a ticket at 3 times over 1 d (and
//! 2 h) or once over 3 d (and 6 h). The short window makes an alert stop soon after the burn does.
//!
//! Every query reads the classic series, or the native histogram where Prometheus keeps that
//! instead (2.42 with `--enable-feature=native-histograms` stores a histogram with native
//! buckets as native only: no `_bucket`, `_count` or `_sum` series), joined with `or`.
//!
//! The regression alert reads the mean call duration (`_sum` over `_count`), not a quantile:
//! the mean is exact whatever the bucket layout and in either storage, where a classic quantile
//! is only as good as its bounds (100 ms and 200 ms both fall in the default `(0.1, 0.25]`
//! bucket, and its interpolated p95 reads 0.2425 s before and after). A service's fixed costs
//! (its own work, the connection) do not double when its dependency does, so a doubled
//! dependency reads a little under 2x: the default factor is 1.5, which a doubling clears and
//! +-10% of jitter (at most 1.1 / 0.9 = 1.22x) does not.

use super::yaml::{Group, Rule};
use super::{Objective, RuleOptions, Target};
use crate::encoding::number::{canonical_f64, write_f64};

/// A burn-rate tier: long window, short window (seconds), how many times too fast.
pub(super) type Tier = (u64, u64, f64);
pub(super) const PAGE: [Tier; 2] = [(3600, 300, 14.4), (21_600, 1800, 6.0)];
pub(super) const TICKET: [Tier; 2] = [(86_400, 7200, 3.0), (259_200, 21_600, 1.0)];
pub(super) const THRESHOLD_WINDOW: u64 = 60;
const PAGE_FOR: u64 = 120;
const TICKET_FOR: u64 = 900;
const THRESHOLD_FOR: u64 = 60;
/// The regression alert's window: the mean call duration over 5 minutes against the same 5
/// minutes earlier.
pub(super) const REGRESSION_WINDOW: u64 = 300;

pub(super) fn duration(seconds: u64, options: &RuleOptions, floor: u64) -> String {
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

/// The series of a target that a term of a rule reads.
#[derive(Clone, Copy)]
enum Series<'a> {
    /// Every call.
    Calls,
    /// Failed calls.
    Failures,
    /// The duration histogram's classic series (`_bucket` with extra matchers, `_count`).
    Classic(&'a str, &'a str),
    /// The duration histogram as a native histogram.
    Native,
}

/// The mean duration of `targets`' calls over `w`, from the histogram's sum and count: exact
/// whatever the bucket layout, from the classic `_sum` and `_count` or, where Prometheus keeps
/// the histogram as native only, from the native histogram's sum and count.
fn mean(targets: &[Target], w: &str) -> String {
    let native = rates(targets, Series::Native, w);
    format!(
        "(sum({}) / sum({})) or (sum(histogram_sum({native})) / sum(histogram_count({native})))",
        rates(targets, Series::Classic("_sum", ""), w),
        rates(targets, Series::Classic("_count", ""), w),
    )
}

/// One target's rate of `series` over `w`.
fn term(t: &Target, series: Series<'_>, w: &str) -> String {
    let sel = t.selector();
    let dur = t.duration();
    let calls = |extra: &str| match t.counter() {
        Some(counter) => format!("rate({counter}{{{sel}{extra}}}[{w}])"),
        // Counted by the duration histogram: its classic `_count`, or the native count where
        // Prometheus keeps the histogram as native only.
        None => format!(
            "(rate({dur}_count{{{sel}{extra}}}[{w}]) or histogram_count(rate({dur}{{{sel}{extra}}}[{w}])))"
        ),
    };
    match series {
        Series::Calls => calls(""),
        Series::Failures => calls(&format!(",{}", t.failures())),
        Series::Classic(suffix, extra) => format!("rate({dur}{suffix}{{{sel}{extra}}}[{w}])"),
        Series::Native => format!("rate({dur}{{{sel}}}[{w}])"),
    }
}

/// `series` of every target over `w`, joined with `or`: one selector per target, since regex
/// alternations over each label would also match a function of one module paired with another
/// module.
fn rates(targets: &[Target], series: Series<'_>, w: &str) -> String {
    let mut targets: Vec<&Target> = targets.iter().collect();
    targets.sort_unstable();
    targets.dedup();
    targets
        .iter()
        .map(|t| term(t, series, w))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// The rules of one objective over its targets: recording rules for the error and slow ratios
/// over every window and the p95, burn-rate, threshold and regression alerts.
pub(super) fn group(o: &Objective, targets: &[Target], options: &RuleOptions) -> Group {
    let mut rules = recording_rules(o, targets, options);
    alerts(&mut rules, o, targets, options);
    Group {
        name: format!("vitalsign-objective-{}", o.name),
        rules,
    }
}

/// Every window a ratio is recorded over (each alert's two, and the threshold window), in
/// seconds before scaling, each scaled duration once.
fn recorded_windows(options: &RuleOptions) -> Vec<u64> {
    let mut windows: Vec<u64> = PAGE
        .iter()
        .chain(&TICKET)
        .flat_map(|&(long, short, _)| [long, short])
        .chain([THRESHOLD_WINDOW])
        .collect();
    windows.sort_unstable();
    // Scaled down, two windows can clamp to the same floor: record each duration once.
    windows.dedup_by_key(|w| duration(*w, options, 5));
    windows
}

/// The error and slow ratios over every alert window, and the p95 over the threshold window.
fn recording_rules(o: &Objective, targets: &[Target], options: &RuleOptions) -> Vec<Rule> {
    let name = o.name;
    let rates = |series: Series<'_>, w: &str| rates(targets, series, w);
    // Failure series that appear only with the first failure: no failure yet is a ratio of 0.
    let or_zero = if targets.iter().all(Target::failures_exist_at_zero) {
        ""
    } else {
        " or vector(0)"
    };
    let window = |s| duration(s, options, 5);
    let windows = recorded_windows(options);
    let mut rules = Vec::new();
    let record = |rules: &mut Vec<Rule>, record: &str, expr: String| {
        rules.push(Rule::record(record, expr).label("objective", name));
    };
    if o.success_rate.is_some() {
        for &w in &windows {
            let w = window(w);
            record(
                &mut rules,
                &format!("vitalsign:objective_error_ratio:rate{w}"),
                match or_zero {
                    "" => format!(
                        "sum({}) / sum({})",
                        rates(Series::Failures, &w),
                        rates(Series::Calls, &w)
                    ),
                    _ => format!(
                        "(sum({}){or_zero}) / sum({})",
                        rates(Series::Failures, &w),
                        rates(Series::Calls, &w)
                    ),
                },
            );
        }
    }
    if let Some((_, threshold)) = o.latency {
        let le = canonical_f64(threshold);
        for &w in &windows {
            let w = window(w);
            record(
                &mut rules,
                &format!("vitalsign:objective_slow_ratio:rate{w}"),
                format!(
                    "(1 - sum({}) / sum({})) or (1 - histogram_fraction(0, {le}, sum({})))",
                    rates(Series::Classic("_bucket", &format!(",le=\"{le}\"")), &w),
                    rates(Series::Classic("_count", ""), &w),
                    rates(Series::Native, &w)
                ),
            );
        }
        let p95 = |w: &str| {
            format!(
                "histogram_quantile(0.95, sum by (le) ({})) or histogram_quantile(0.95, sum({}))",
                rates(Series::Classic("_bucket", ""), w),
                rates(Series::Native, w)
            )
        };
        let w = window(THRESHOLD_WINDOW);
        let regression = window(REGRESSION_WINDOW);
        record(
            &mut rules,
            &format!("vitalsign:objective_latency_p95_seconds:rate{w}"),
            p95(&w),
        );
        // The regression alert compares the mean over its window with itself an offset earlier.
        record(
            &mut rules,
            &format!("vitalsign:objective_latency_mean_seconds:rate{regression}"),
            mean(targets, &regression),
        );
        record(
            &mut rules,
            &format!("vitalsign:objective_calls:rate{regression}"),
            format!("sum({})", rates(Series::Calls, &regression)),
        );
    }
    rules
}

/// Burn-rate alerts (page and ticket) on the recorded ratios, and plain threshold alerts.
fn alerts(rules: &mut Vec<Rule>, o: &Objective, targets: &[Target], options: &RuleOptions) {
    let fnames: Vec<String> = targets.iter().map(Target::to_string).collect();
    let cx = AlertCx {
        name: o.name,
        alert: camel(o.name),
        fnames: fnames.join(", "),
        options,
    };
    if let Some(target) = o.success_rate {
        success_alerts(&cx, rules, target);
    }
    if let Some((percentile, threshold)) = o.latency {
        latency_alerts(&cx, rules, percentile, threshold);
    }
}

/// What every alert of one objective shares.
struct AlertCx<'a> {
    name: &'a str,
    /// The objective's name in CamelCase, the start of its alerts' names.
    alert: String,
    fnames: String,
    options: &'a RuleOptions,
}

impl AlertCx<'_> {
    fn window(&self, seconds: u64) -> String {
        duration(seconds, self.options, 5)
    }

    fn rule(
        &self,
        rules: &mut Vec<Rule>,
        name_suffix: &str,
        expr: String,
        for_s: u64,
        severity: &str,
        summary: String,
    ) {
        let for_ = duration(for_s, self.options, 1);
        rules.push(
            Rule::alert(&format!("{}{name_suffix}", self.alert), expr, for_)
                .label("objective", self.name)
                .label("severity", severity)
                .annotation("summary", summary),
        );
    }

    /// For each tier, `ratio` over both its windows above its factor times the budget; the
    /// tiers joined with `or`.
    fn burn(&self, ratio: &str, budget: f64, tiers: &[Tier]) -> String {
        let name = self.name;
        tiers
            .iter()
            .map(|&(long, short, factor)| {
                let limit = num(factor * budget);
                format!(
                    "({ratio}:rate{}{{objective=\"{name}\"}} > {limit} and {ratio}:rate{}{{objective=\"{name}\"}} > {limit})",
                    self.window(long),
                    self.window(short)
                )
            })
            .collect::<Vec<_>>()
            .join(" or ")
    }

    /// `14.4x over 1h and 5m, or 6x over 6h and 30m`.
    fn tiers(&self, tiers: &[Tier]) -> String {
        tiers
            .iter()
            .map(|&(long, short, factor)| {
                format!(
                    "{}x over {} and {}",
                    num(factor),
                    self.window(long),
                    self.window(short)
                )
            })
            .collect::<Vec<_>>()
            .join(", or ")
    }
}

fn success_alerts(cx: &AlertCx<'_>, rules: &mut Vec<Rule>, target: f64) {
    let (name, fnames) = (cx.name, &cx.fnames);
    let budget = round12(1.0 - target);
    let ratio = "vitalsign:objective_error_ratio";
    let pct = num(target * 100.0);
    cx.rule(
        rules,
        "ErrorBudgetBurn",
        cx.burn(ratio, budget, &PAGE),
        PAGE_FOR,
        "page",
        format!(
            "{fnames}: errors are burning the {pct}% success budget too fast ({})",
            cx.tiers(&PAGE)
        ),
    );
    cx.rule(
        rules,
        "ErrorBudgetBurnSlow",
        cx.burn(ratio, budget, &TICKET),
        TICKET_FOR,
        "ticket",
        format!(
            "{fnames}: errors are burning the {pct}% success budget ({})",
            cx.tiers(&TICKET)
        ),
    );
    let limit = num(cx.options.error_ratio_limit);
    cx.rule(
        rules,
        "ErrorRatioHigh",
        format!(
            "{ratio}:rate{}{{objective=\"{name}\"}} > {limit}",
            cx.window(THRESHOLD_WINDOW)
        ),
        THRESHOLD_FOR,
        "warning",
        format!(
            "{fnames}: more than {}% of calls fail",
            num(cx.options.error_ratio_limit * 100.0)
        ),
    );
}

fn latency_alerts(cx: &AlertCx<'_>, rules: &mut Vec<Rule>, percentile: f64, threshold: f64) {
    let (name, fnames) = (cx.name, &cx.fnames);
    let budget = round12(1.0 - percentile);
    let ratio = "vitalsign:objective_slow_ratio";
    let ms = num(threshold * 1000.0);
    let pct = num(percentile * 100.0);
    cx.rule(
        rules,
        "LatencyBudgetBurn",
        cx.burn(ratio, budget, &PAGE),
        PAGE_FOR,
        "page",
        format!(
            "{fnames}: calls over {ms} ms are burning the {pct}% latency budget too fast ({})",
            cx.tiers(&PAGE)
        ),
    );
    cx.rule(
        rules,
        "LatencyBudgetBurnSlow",
        cx.burn(ratio, budget, &TICKET),
        TICKET_FOR,
        "ticket",
        format!(
            "{fnames}: calls over {ms} ms are burning the {pct}% latency budget ({})",
            cx.tiers(&TICKET)
        ),
    );
    regression_alert(cx, rules);
    let limit = num(cx.options.latency_factor * threshold);
    cx.rule(
        rules,
        "LatencyHigh",
        format!(
            "vitalsign:objective_latency_p95_seconds:rate{}{{objective=\"{name}\"}} > {limit}",
            cx.window(THRESHOLD_WINDOW)
        ),
        THRESHOLD_FOR,
        "warning",
        format!(
            "{fnames}: p95 latency is over {} ms",
            num(cx.options.latency_factor * threshold * 1000.0)
        ),
    );
}

/// The mean call duration over 5 minutes at least `regression_factor` times the same mean an
/// offset earlier ("it doubled"), while calls come at least at `regression_min_rate` a second,
/// so a quiet hour's few slow calls do not page.
fn regression_alert(cx: &AlertCx<'_>, rules: &mut Vec<Rule>) {
    let (name, fnames, options) = (cx.name, &cx.fnames, cx.options);
    let w = cx.window(REGRESSION_WINDOW);
    let offset = duration(options.regression_offset, options, 1);
    let mean = format!("vitalsign:objective_latency_mean_seconds:rate{w}{{objective=\"{name}\"}}");
    let factor = num(options.regression_factor);
    cx.rule(
        rules,
        "LatencyRegression",
        format!(
            "{mean} > {factor} * ({mean} offset {offset}) and on (objective) vitalsign:objective_calls:rate{w}{{objective=\"{name}\"}} > {}",
            num(options.regression_min_rate)
        ),
        REGRESSION_WINDOW,
        "warning",
        format!("{fnames}: mean latency is {factor}x or more what it was {offset} earlier"),
    );
}

/// `1.0 - 0.99` is `0.010000000000000009`; budgets are written as people write them.
pub(super) fn round12(v: f64) -> f64 {
    format!("{v:.12}").parse().unwrap_or(v)
}

/// `v` rounded to 12 decimals, written as Prometheus writes numbers (`0.144`, `99`, `1e-05`).
pub(super) fn num(v: f64) -> String {
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
        let charge = Target::function("charge", "shop");
        assert_eq!(
            rates(std::slice::from_ref(&charge), Series::Calls, "5m"),
            "rate(function_calls_total{function=\"charge\",module=\"shop\"}[5m])"
        );
        // Two pairs: each keeps its own module (`charge` of `shop::cart` is not selected).
        assert_eq!(
            rates(
                &[
                    charge.clone(),
                    Target::function("Cart::add", "shop::cart"),
                    charge
                ],
                Series::Failures,
                "1h"
            ),
            "rate(function_calls_total{function=\"Cart::add\",module=\"shop::cart\",result=\"error\"}[1h]) or \
             rate(function_calls_total{function=\"charge\",module=\"shop\",result=\"error\"}[1h])"
        );
        // Outbound calls are counted by their histogram, classic or native.
        assert_eq!(
            rates(
                &[Target::http_client("POST", "pay")],
                Series::Failures,
                "5m"
            ),
            "(rate(http_client_request_duration_seconds_count{http_request_method=\"POST\",\
             server_address=\"pay\",error_type=~\"5..|429|[^0-9].*\"}[5m]) or histogram_count(rate(\
             http_client_request_duration_seconds{http_request_method=\"POST\",\
             server_address=\"pay\",error_type=~\"5..|429|[^0-9].*\"}[5m])))"
        );
        assert_eq!(
            rates(
                &[Target::grpc_server("s.S", "M")],
                Series::Classic("_bucket", ",le=\"0.25\""),
                "1m"
            ),
            "rate(grpc_server_handling_seconds_bucket{grpc_service=\"s.S\",grpc_method=\"M\",le=\"0.25\"}[1m])"
        );
        // One API on one port of a host: two services on one host are two objectives.
        assert_eq!(
            rates(
                &[Target::http_client("POST", "127.0.0.1")
                    .port(8443)
                    .url_template("/v1/charges")],
                Series::Calls,
                "5m"
            ),
            "(rate(http_client_request_duration_seconds_count{http_request_method=\"POST\",\
             server_address=\"127.0.0.1\",server_port=\"8443\",url_template=\"/v1/charges\"}[5m]) \
             or histogram_count(rate(http_client_request_duration_seconds{http_request_method=\
             \"POST\",server_address=\"127.0.0.1\",server_port=\"8443\",url_template=\
             \"/v1/charges\"}[5m])))"
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
