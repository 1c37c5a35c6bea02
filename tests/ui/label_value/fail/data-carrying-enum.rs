use vitalsign::LabelValue;

#[derive(LabelValue)]
enum PaymentError {
    CardDeclined,
    Provider(String),
    Timeout { after_ms: u64 },
}

fn main() {}
