use vitalsign::LabelValue;

#[derive(LabelValue)]
struct Region {
    name: String,
}

fn main() {}
