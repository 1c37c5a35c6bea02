use vitalsign::LabelSet;

#[derive(LabelSet)]
enum Labels {
    A,
}

fn main() {}
