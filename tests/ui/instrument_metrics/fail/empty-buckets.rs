use vitalsign::instrument_metrics;

#[instrument_metrics(buckets = [])]
fn charge() {}

fn main() {
    charge();
}
