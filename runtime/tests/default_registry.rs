//! The default registry: `metrics!` statics are registered before it is first returned, and a
//! clash between two of them is reported, not panicked on. (A test binary of its own, since the
//! default registry is process-wide.)

use vitalsign::{Counter, Format, Gauge, default_registry};

mod a {
    vitalsign::metrics! {
        /// Orders placed.
        pub static ORDERS: vitalsign::Counter as "shop_orders";
    }
}

mod b {
    vitalsign::metrics! {
        /// The same name, declared again
        /// in another module.
        pub static ORDERS_AGAIN: vitalsign::Gauge as "shop_orders";
    }
}

vitalsign::metrics! {
    /// Items in carts.
    static IN_CARTS: Gauge as "shop_items_in_carts";
    /// Never touched, still exported.
    static UNTOUCHED: Counter as "shop_untouched_total";
}

#[test]
fn statics_register_themselves_and_clashes_are_reported() {
    IN_CARTS.set(3);
    let text = default_registry().render(Format::Prometheus);
    // Which of the two `shop_orders` wins depends on link order; exactly one does.
    let orders = text.matches("# TYPE shop_orders").count();
    assert_eq!(orders, 1, "{text}");
    assert!(text.contains("# HELP shop_items_in_carts Items in carts.\n# TYPE shop_items_in_carts gauge\nshop_items_in_carts 3\n"), "{text}");
    assert!(text.contains("# HELP shop_untouched_total Never touched, still exported.\n# TYPE shop_untouched_total counter\nshop_untouched_total 0\n"), "{text}");
    let errors: Vec<String> = default_registry()
        .registration_errors()
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0]
            == "cannot register `shop_orders` (gauge): `shop_orders` is already registered as a counter"
            || errors[0]
                == "cannot register `shop_orders` (counter): `shop_orders` is already registered as a gauge",
        "{errors:?}"
    );
    let _ = (&*a::ORDERS, &*b::ORDERS_AGAIN);
}
