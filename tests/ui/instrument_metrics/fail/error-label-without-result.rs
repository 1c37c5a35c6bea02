use vitalsign::instrument_metrics;

fn name_it(_: &u8) -> &'static str {
    "never"
}

#[instrument_metrics(error_label = name_it)]
fn count() -> u8 {
    1
}

fn main() {
    count();
}
