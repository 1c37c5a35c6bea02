use vitalsign::{Histogram, buckets};

vitalsign::metrics! {
    /// Time to charge a card.
    static PAYMENT: Histogram as "payment_duration_seconds" = Histogram::new(buckets![0.5, 0.1]);
}

fn main() {}
