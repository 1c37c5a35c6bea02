//! Per-thread marks that keep a registry from waiting on itself: which registries this thread is
//! scraping (a registration from a callback or collector then fails, a nested scrape writes
//! nothing), and which one is claiming its statics (whose registrations must not claim again).

use std::cell::{Cell, RefCell};

thread_local! {
    /// Registries this thread is scraping now, innermost last.
    static SCRAPING: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    /// The registry whose statics this thread is registering now.
    static CLAIMING: Cell<usize> = const { Cell::new(0) };
}

/// Marks a registry as being scraped by this thread until dropped.
pub(super) struct Scraping(usize);

impl Scraping {
    pub(super) fn enter(registry: usize) -> Option<Self> {
        SCRAPING.with(|s| {
            let mut s = s.borrow_mut();
            if s.contains(&registry) {
                return None;
            }
            s.push(registry);
            Some(Self(registry))
        })
    }
}

impl Drop for Scraping {
    fn drop(&mut self) {
        SCRAPING.with(|s| {
            let mut s = s.borrow_mut();
            if let Some(i) = s.iter().rposition(|&r| r == self.0) {
                s.remove(i);
            }
        });
    }
}

/// Marks a registry as claiming its statics on this thread until dropped, so the registrations
/// it makes do not try to claim again.
pub(super) struct Claiming(usize);

impl Claiming {
    pub(super) fn mark(registry: usize) -> Self {
        Self(CLAIMING.with(|c| c.replace(registry)))
    }
}

impl Drop for Claiming {
    fn drop(&mut self) {
        CLAIMING.with(|c| c.set(self.0));
    }
}

/// Whether this thread is scraping `registry` now.
pub(super) fn scraping(registry: usize) -> bool {
    SCRAPING.with(|s| s.borrow().contains(&registry))
}

/// Whether this thread is claiming `registry`'s statics now.
pub(super) fn claiming(registry: usize) -> bool {
    CLAIMING.with(|c| c.get() == registry)
}
