use vitalsign::LabelValue;

#[derive(LabelValue)]
union Bits {
    a: u32,
    b: f32,
}

fn main() {}
