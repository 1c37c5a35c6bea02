use vitalsign::{LabelValue, instrument_metrics};

#[derive(LabelValue)]
enum Region {
    Eu,
    Us,
}

#[instrument_metrics(labels(regoin))]
fn charge(region: Region) -> u8 {
    match region {
        Region::Eu => 1,
        Region::Us => 2,
    }
}

fn main() {
    charge(Region::Eu);
}
