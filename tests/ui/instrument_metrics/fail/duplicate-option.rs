use vitalsign::instrument_metrics;

#[instrument_metrics(name = "pay", concurrency, name = "charge", concurrency)]
fn charge() {}

fn main() {
    charge();
}
