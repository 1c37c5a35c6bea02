use vitalsign::{Objective, RuleOptions, instrument_metrics};

const PAYMENTS: Objective = Objective::new("payments").success_rate(0.999).latency(0.99, 0.25);
const CUSTOM: Objective = Objective::new("custom").latency(0.9, 0.3);

#[instrument_metrics(objective = PAYMENTS)]
fn charge() -> Result<(), std::io::Error> {
    Ok(())
}

#[instrument_metrics(objective = CUSTOM, buckets = [0.1, 0.3])]
fn refund() {}

fn main() {
    let _ = charge();
    refund();
    let rules = vitalsign::alert_rules(&RuleOptions::default()).unwrap();
    assert!(rules.contains("  - name: vitalsign-objective-payments\n"));
    assert!(rules.contains("  - name: vitalsign-objective-custom\n"));
}
