use vitalsign::{LabelSet, LabelValue};

#[derive(Clone, Copy, LabelValue)]
enum Method {
    Get,
    Post,
}

#[derive(LabelSet)]
struct Inner {
    method: Method,
}

#[derive(LabelSet)]
struct Outer {
    #[label(flatten)]
    inner: Inner,
    r#type: bool,
}

fn main() {
    assert_eq!(Outer::NAMES, ["method", "type"]);
    assert_eq!(Outer::CARDINALITY, 4);
    let o = Outer { inner: Inner { method: Method::Post }, r#type: true };
    assert_eq!(o.index(), 3);
}
