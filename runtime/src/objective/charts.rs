//! What a dashboard shows of an objective, read from the series its rules record (so the
//! charts and the alerts read the same numbers): the SLIs, the error budget left, the burn rate
//! of each alert tier, and the regression alert's ratio. Recorded series are aggregated over
//! every instance and carry only the `objective` label.

use super::rules::{PAGE, REGRESSION_WINDOW, THRESHOLD_WINDOW, TICKET, duration, num, round12};
use super::{Objective, RuleOptions};

/// One chart: a title, the unit of its values (Grafana's unit ids) and its queries with their
/// legends.
#[derive(Debug)]
pub(crate) struct Chart {
    pub(crate) title: String,
    pub(crate) unit: &'static str,
    pub(crate) queries: Vec<(String, String)>,
}

/// The charts of `o` under the rules `options` generate.
pub(crate) fn charts(o: &Objective, options: &RuleOptions) -> Vec<Chart> {
    let name = o.name;
    let window = |s| duration(s, options, 5);
    let sel = format!("{{objective=\"{name}\"}}");
    let short = window(REGRESSION_WINDOW);
    let tiers: Vec<u64> = PAGE.iter().chain(&TICKET).map(|t| t.0).collect();
    let longest = window(TICKET[1].0);
    let mut charts = Vec::new();
    let mut budget_charts = |ratio: &str, budget: f64, what: &str, good: &str| {
        let budget = num(round12(budget));
        charts.push(Chart {
            title: format!("{name}: {good} ({short} and 1 h windows)"),
            unit: "percentunit",
            queries: [short.clone(), window(3600)]
                .into_iter()
                .map(|w| (format!("1 - {ratio}:rate{w}{sel}"), w))
                .collect(),
        });
        charts.push(Chart {
            title: format!("{name}: {what} budget left over {longest}"),
            unit: "percentunit",
            queries: vec![(
                format!("1 - {ratio}:rate{longest}{sel} / {budget}"),
                "budget left".to_owned(),
            )],
        });
        charts.push(Chart {
            title: format!("{name}: {what} burn rate by alert window (1 = on budget)"),
            unit: "short",
            queries: tiers
                .iter()
                .map(|&t| {
                    let w = window(t);
                    (format!("{ratio}:rate{w}{sel} / {budget}"), w)
                })
                .collect(),
        });
    };
    if let Some(target) = o.success_rate {
        budget_charts(
            "vitalsign:objective_error_ratio",
            1.0 - target,
            "error",
            "success ratio",
        );
    }
    if let Some((percentile, threshold)) = o.latency {
        budget_charts(
            "vitalsign:objective_slow_ratio",
            1.0 - percentile,
            "latency",
            &format!("share of calls within {} ms", num(threshold * 1000.0)),
        );
        charts.extend(latency_charts(name, &sel, options));
    }
    charts
}

/// The latency charts of objective `name` (selector `sel`): p95 and mean, and the mean against
/// itself earlier, which the regression alert reads.
fn latency_charts(name: &str, sel: &str, options: &RuleOptions) -> [Chart; 2] {
    let window = |s| duration(s, options, 5);
    let short = window(REGRESSION_WINDOW);
    let offset = duration(options.regression_offset, options, 1);
    let p95 = window(THRESHOLD_WINDOW);
    let mean = format!("vitalsign:objective_latency_mean_seconds:rate{short}{sel}");
    [
        Chart {
            title: format!("{name}: p95 ({p95}) and mean ({short}) latency"),
            unit: "s",
            queries: vec![
                (
                    format!("vitalsign:objective_latency_p95_seconds:rate{p95}{sel}"),
                    "p95".to_owned(),
                ),
                (mean.clone(), "mean".to_owned()),
            ],
        },
        Chart {
            title: format!(
                "{name}: mean latency against {offset} earlier (the regression alert fires at {})",
                num(options.regression_factor)
            ),
            unit: "short",
            queries: vec![(
                format!("{mean} / ({mean} offset {offset})"),
                "now / earlier".to_owned(),
            )],
        },
    ]
}
