use vitalsign::LabelSet;

#[derive(LabelSet)]
struct Labels {
    cached: bool,
    #[label(name = "cached")]
    hit: bool,
}

fn main() {}
