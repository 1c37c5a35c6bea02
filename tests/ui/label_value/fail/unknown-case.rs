use vitalsign::LabelValue;

#[derive(LabelValue)]
#[label(rename_all = "Title Case")]
enum Outcome {
    Paid,
}

fn main() {}
