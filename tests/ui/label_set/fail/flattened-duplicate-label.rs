use vitalsign::{LabelSet, LabelValue};

#[derive(Clone, Copy, LabelValue)]
enum Method {
    Get,
    Post,
}

#[derive(LabelSet)]
struct Http {
    method: Method,
}

#[derive(LabelSet)]
struct Rpc {
    method: Method,
}

#[derive(LabelSet)]
struct Both {
    #[label(flatten)]
    http: Http,
    #[label(flatten)]
    rpc: Rpc,
}

fn main() {}
