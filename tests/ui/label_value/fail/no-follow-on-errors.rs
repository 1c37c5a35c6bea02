use vitalsign::{LabelSet, LabelValue, Registry, StateSet};

// One mistake: the derive reports it, and its stub impl keeps the uses below from adding errors
// of their own ("`Mode` is not `LabelValue`").
#[derive(Clone, Copy, LabelValue)]
enum Mode {
    On,
    #[label(rename = "on")]
    Enabled,
}

#[derive(LabelSet)]
struct Labels {
    mode: Mode,
}

fn main() {
    let registry = Registry::new();
    let _ = registry.register("mode", "Mode.", StateSet::new(Mode::On));
    let _ = Labels { mode: Mode::Enabled }.index();
}
