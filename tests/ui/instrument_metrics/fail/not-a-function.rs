use vitalsign::instrument_metrics;

#[instrument_metrics]
struct Checkout;

fn main() {
    let _ = Checkout;
}
