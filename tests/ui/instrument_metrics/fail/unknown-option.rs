use vitalsign::instrument_metrics;

#[instrument_metrics(bukets = [0.1, 1.0])]
fn checkout() -> u32 {
    1
}

fn main() {
    // The function is still emitted, so this call type-checks.
    let _: u32 = checkout();
}
