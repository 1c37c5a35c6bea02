use vitalsign::instrument_metrics;

#[instrument_metrics(labels(result = "fast", le = "1"))]
fn charge() {}

fn main() {
    charge();
}
