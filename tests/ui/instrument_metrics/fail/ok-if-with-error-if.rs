use vitalsign::instrument_metrics;

fn good(code: &u16) -> bool {
    *code < 400
}

#[instrument_metrics(ok_if = good, error_if = good)]
fn status() -> u16 {
    200
}

fn main() {
    status();
}
