use vitalsign::LabelSet;

#[derive(LabelSet)]
struct Labels {
    #[label(name = "http-method")]
    method: bool,
    #[label(name = "__cached")]
    cached: bool,
}

fn main() {}
