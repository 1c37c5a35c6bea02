use vitalsign::LabelValue;

#[derive(LabelValue)]
enum Outcome {
    Declined,
    #[label(rename = "declined")]
    CardDeclined,
}

fn main() {}
