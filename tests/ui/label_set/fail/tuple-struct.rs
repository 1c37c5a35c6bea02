use vitalsign::LabelSet;

#[derive(LabelSet)]
struct Labels(bool, bool);

fn main() {}
