use vitalsign::instrument_metrics;

const SLOW: &[f64] = &[1.0, 0.5];

#[instrument_metrics(buckets = SLOW)]
fn charge() {}

fn main() {
    charge();
}
