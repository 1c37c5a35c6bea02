//! Rules generated for an objective attached to several functions select exactly those
//! (function, module) pairs, checked by `promtool test rules`: a function of the same name in
//! another module is not part of the objective, and its errors do not burn its budget.

use vitalsign_tests as support;

use vitalsign::{Objective, RuleOptions, instrument_metrics};

const CHECKOUT: Objective = Objective::new("checkout").success_rate(0.99);

mod shop {
    #[vitalsign::instrument_metrics(objective = super::CHECKOUT)]
    pub fn charge() {}
}

mod cart {
    #[vitalsign::instrument_metrics(objective = super::CHECKOUT)]
    pub fn add() {}

    /// Shares its name with `shop::charge`, but no objective.
    #[vitalsign::instrument_metrics]
    pub fn charge() {}
}

#[instrument_metrics]
fn unrelated() {}

const TESTS: &str = r#"rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'function_calls_total{function="charge",module="objective_rules::shop",result="ok",error=""}'
        values: '0+1x20'
      - series: 'function_calls_total{function="charge",module="objective_rules::shop",result="error",error="panic"}'
        values: '0+2x20'
      - series: 'function_calls_total{function="add",module="objective_rules::cart",result="ok",error=""}'
        values: '0+1x20'
      - series: 'function_calls_total{function="charge",module="objective_rules::cart",result="error",error="panic"}'
        values: '0+100x20'
    promql_expr_test:
      - expr: vitalsign:objective_error_ratio:rate5m
        eval_time: 15m
        exp_samples:
          - labels: 'vitalsign:objective_error_ratio:rate5m{objective="checkout"}'
            value: 0.5
"#;

#[test]
#[ignore = "needs promtool (Debian package prometheus)"]
fn an_objective_over_several_functions_selects_exactly_their_pairs() {
    let _ = (shop::charge, cart::add, cart::charge, unrelated);
    let promtool = support::require("promtool", "the Debian package `prometheus`");
    let rules = vitalsign::alert_rules(&RuleOptions::default()).unwrap();
    let dir = support::TempDir::new("objective-rules");
    std::fs::write(dir.0.join("rules.yml"), &rules).unwrap();
    std::fs::write(dir.0.join("tests.yml"), TESTS).unwrap();
    let out = std::process::Command::new(promtool)
        .args(["test", "rules", "tests.yml"])
        .current_dir(&dir.0)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}\n{rules}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
