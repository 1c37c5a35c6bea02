use vitalsign::instrument_metrics;

#[instrument_metrics]
const fn answer() -> u8 {
    42
}

fn main() {
    let _ = answer();
}
