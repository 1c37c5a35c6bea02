//! The catalogue and its stock, as the inventory service keeps them.

use std::sync::atomic::{AtomicU64, Ordering};

use super::proto::Line;

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
pub(crate) struct Stock {
    stock: Vec<AtomicU64>,
    levels: Vec<metrics::Gauge>,
}

const STOCK: u64 = 1_000_000;

/// Why a reservation was refused.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Refusal {
    UnknownSku,
    OutOfStock,
}

impl Stock {
    pub(crate) fn new() -> Self {
        metrics::describe_gauge!("checkout_stock_items", "Items in stock, by sku.");
        let stock = Self {
            stock: CATALOGUE.iter().map(|_| AtomicU64::new(STOCK)).collect(),
            levels: CATALOGUE
                .iter()
                .map(|(sku, _)| metrics::gauge!("checkout_stock_items", "sku" => *sku))
                .collect(),
        };
        (0..CATALOGUE.len()).for_each(|i| stock.publish(i));
        stock
    }

    /// Reports sku `i`'s stock level.
    fn publish(&self, i: usize) {
        self.levels[i].set(self.stock[i].load(Ordering::Relaxed) as f64);
    }

    fn index(sku: &str) -> Option<usize> {
        CATALOGUE.iter().position(|(s, _)| *s == sku)
    }

    /// Takes every line out of stock, or none of them.
    pub(crate) fn reserve(&self, items: &[(String, u32)]) -> Result<Vec<Line>, Refusal> {
        let mut lines = Vec::with_capacity(items.len());
        for (sku, quantity) in items {
            let Some(i) = Self::index(sku) else {
                self.release(&lines);
                return Err(Refusal::UnknownSku);
            };
            let wanted = u64::from(*quantity);
            let taken = self.stock[i].fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                s.checked_sub(wanted)
            });
            if taken.is_err() {
                self.release(&lines);
                return Err(Refusal::OutOfStock);
            }
            if self.stock[i].load(Ordering::Relaxed) < STOCK / 2 {
                self.stock[i].fetch_add(STOCK / 2, Ordering::Relaxed);
            }
            self.publish(i);
            lines.push(Line {
                sku: sku.clone(),
                quantity: *quantity,
                unit_price_cents: CATALOGUE[i].1,
            });
        }
        Ok(lines)
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
