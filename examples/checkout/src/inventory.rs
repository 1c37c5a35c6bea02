//! The catalogue and its stock, and `reserve_inventory`.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use vitalsign::{LabelValue, instrument_metrics};

/// Everything the shop sells: sku, price in cents.
pub(crate) const CATALOGUE: &[(&str, u64)] = &[
    ("tea", 350),
    ("coffee", 450),
    ("cake", 300),
    ("mug", 1200),
    ("beans", 900),
];

/// Stock per sku, refilled whenever it runs low so the simulation runs forever. Stock levels
/// are reported as a library would, through the `metrics` facade: `checkout_stock_items{sku}`.
#[derive(Debug)]
pub(crate) struct Inventory {
    stock: Vec<AtomicU64>,
    levels: Vec<metrics::Gauge>,
}

const STOCK: u64 = 1_000_000;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct Line {
    pub(crate) sku: String,
    pub(crate) quantity: u32,
    pub(crate) unit_price_cents: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, LabelValue)]
pub(crate) enum InventoryError {
    UnknownSku,
    OutOfStock,
}

impl Inventory {
    pub(crate) fn new() -> Self {
        metrics::describe_gauge!("checkout_stock_items", "Items in stock, by sku.");
        let inventory = Self {
            stock: CATALOGUE.iter().map(|_| AtomicU64::new(STOCK)).collect(),
            levels: CATALOGUE
                .iter()
                .map(|(sku, _)| metrics::gauge!("checkout_stock_items", "sku" => *sku))
                .collect(),
        };
        (0..CATALOGUE.len()).for_each(|i| inventory.publish(i));
        inventory
    }

    /// Reports sku `i`'s stock level.
    fn publish(&self, i: usize) {
        self.levels[i].set(self.stock[i].load(Ordering::Relaxed) as f64);
    }

    fn index(sku: &str) -> Option<usize> {
        CATALOGUE.iter().position(|(s, _)| *s == sku)
    }

    /// Puts reserved lines back.
    pub(crate) fn release(&self, lines: &[Line]) {
        for line in lines {
            if let Some(i) = Self::index(&line.sku) {
                self.stock[i].fetch_add(u64::from(line.quantity), Ordering::Relaxed);
                self.publish(i);
            }
        }
    }
}

/// Takes every line out of stock, or none of them.
#[instrument_metrics]
pub(crate) fn reserve_inventory(
    inventory: &Inventory,
    items: &[(String, u32)],
) -> Result<Vec<Line>, InventoryError> {
    let mut lines = Vec::with_capacity(items.len());
    for (sku, quantity) in items {
        let Some(i) = Inventory::index(sku) else {
            inventory.release(&lines);
            return Err(InventoryError::UnknownSku);
        };
        let wanted = u64::from(*quantity);
        let taken = inventory.stock[i].fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
            s.checked_sub(wanted)
        });
        if taken.is_err() {
            inventory.release(&lines);
            return Err(InventoryError::OutOfStock);
        }
        if inventory.stock[i].load(Ordering::Relaxed) < STOCK / 2 {
            inventory.stock[i].fetch_add(STOCK / 2, Ordering::Relaxed);
        }
        inventory.publish(i);
        lines.push(Line {
            sku: sku.clone(),
            quantity: *quantity,
            unit_price_cents: CATALOGUE[i].1,
        });
    }
    Ok(lines)
}
