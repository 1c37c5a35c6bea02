use vitalsign::{LabelValue, instrument_metrics};

#[instrument_metrics(labels(kind))]
fn charge<K: LabelValue>(kind: K) -> usize {
    kind.index()
}

fn main() {
    charge(true);
}
