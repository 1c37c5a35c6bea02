use vitalsign::instrument_metrics;

#[instrument_metrics(labels(customer))]
fn charge(customer: &String) -> usize {
    customer.len()
}

fn main() {
    charge(&String::new());
}
