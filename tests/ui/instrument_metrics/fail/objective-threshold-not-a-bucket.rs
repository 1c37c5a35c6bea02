use vitalsign::{Objective, instrument_metrics};

const PAYMENTS: Objective = Objective::new("payments").latency(0.99, 0.3);

#[instrument_metrics(objective = PAYMENTS)]
fn charge() {}

fn main() {
    charge();
}
