use vitalsign::LabelValue;

#[derive(LabelValue)]
enum Never {}

fn main() {}
