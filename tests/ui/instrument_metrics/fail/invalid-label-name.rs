use vitalsign::instrument_metrics;

#[instrument_metrics(labels(__tenant = "acme"))]
fn charge() {}

fn main() {
    charge();
}
