use vitalsign::instrument_metrics;

#[instrument_metrics(buckets = [0.1, 0.5, 0.25, 0.25])]
fn charge() {}

fn main() {
    charge();
}
