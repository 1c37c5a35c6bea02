use vitalsign::instrument_metrics;

struct Shop;

#[instrument_metrics]
impl Shop {
    fn open(&self) -> bool {
        true
    }

    #[instrument_metrics(nmae = "close")]
    fn close(&self) -> bool {
        false
    }
}

fn main() {
    let shop = Shop;
    let _ = shop.open() && shop.close();
}
