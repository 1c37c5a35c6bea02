vitalsign::metrics! {
    /// Orders.
    static ORDERS: vitalsign::Counter as "orders";
    /// Orders, again.
    static ORDERS_AGAIN: vitalsign::Gauge as "orders";
}

fn main() {}
