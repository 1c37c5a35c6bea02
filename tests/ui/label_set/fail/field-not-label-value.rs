use vitalsign::LabelSet;

#[derive(LabelSet)]
struct Labels {
    cached: bool,
    user_id: String,
}

fn main() {}
