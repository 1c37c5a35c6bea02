use vitalsign::instrument_metrics;

#[instrument_metrics(bukets = [1.0], labels(error = "x"), buckets = [2.0, 1.0], concurency)]
fn charge() {}

fn main() {
    charge();
}
