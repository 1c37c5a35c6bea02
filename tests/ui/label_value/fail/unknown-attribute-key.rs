use vitalsign::LabelValue;

#[derive(LabelValue)]
#[label(rename_al = "kebab-case")]
enum Outcome {
    #[label(renam = "paid")]
    Paid,
}

fn main() {}
