//! Native histograms: sparse exponential buckets, as Prometheus' Go client keeps them.
//!
//! At schema `s`, bucket `k` holds the values in `(2^((k-1)/2^s), 2^(k/2^s)]` (and their
//! negatives, in the negative buckets); values within the zero threshold go to the zero bucket.
//! A bucket's key is computed as Go computes it: `frexp` splits `|v|` into a fraction in
//! `[0.5, 1)` and an exponent; above schema 0 the key is the fraction's place among the octave's
//! bounds plus the exponent's octaves, at schema 0 and below the exponent, less one for an exact
//! power of two, shifted right by `-s` (rounding up). `±Inf` counts one bucket past the largest
//! finite value's; NaN is counted in the histogram's count and in no bucket.
//!
//! Each shard of each stripe of the histogram core has its own table of buckets (kept in the
//! stripe, see `table`): an
//! open-addressing table of `(key, count)` atomics, made the first time the shard is observed
//! into and never allocating again. An observation adds to its bucket before it completes (the
//! classic bucket increment), so a scrape's snapshot has the native buckets of exactly the
//! observations it counts; the scrape folds a cold table into the hot one as it does the other
//! cells.
//!
//! An observation takes its bucket first; then, if the table holds more buckets than the
//! maximum, it calls for one reduction, as every observation in Go does (so the buckets may stay
//! past the maximum for a few observations, and for good once nothing can be reduced: the
//! maximum is best effort). A table has room for twice the maximum, so observers racing a
//! reduction still find a slot, and for every bucket schema -4 has above the zero threshold, so
//! no observation is without a bucket once nothing can be reduced. `tests/tests/native_diff.rs` compares every snapshot
//! with client_golang's.
//!
//! A reduction is, in Go's order:
//! it resets (once at least the minimum reset duration has passed since the last reset), or it
//! widens the zero bucket to take the bucket closest to zero (up to the maximum zero threshold),
//! or it halves the resolution (schema one lower, pairs of buckets merged). A reduction rotates
//! every stripe: the cold shard takes the new schema, becomes hot, and the formerly hot one is
//! folded into it with its keys translated.
//!
//! The parts: `settings` (the public [`NativeBuckets`]), `keys` (the bucket arithmetic),
//! `table` (one shard's buckets), `reduction` (the policy: which reduction comes next) and, here,
//! the settings a histogram's tables currently share and the steps the core takes on them.

use std::sync::atomic::Ordering;
use std::time::Duration;

use once_cell::race::OnceBox;

use crate::encoding::NativeSnapshot;
use crate::sync::{AtomicI32, AtomicU64};

mod bounds;
mod keys;
mod reduction;
mod settings;
mod table;

pub(crate) use reduction::Reduction;
pub use settings::NativeBuckets;
use table::Target;
pub(crate) use table::{Placed, Planned, Table, Tables};

/// The native buckets of a histogram core: the schema and zero threshold its tables share (each
/// stripe keeps its own two tables), and the bookkeeping of reductions.
pub(crate) struct Native {
    pub(crate) config: NativeBuckets,
    schema: AtomicI32,
    zero_threshold: AtomicU64,
    /// Reductions so far: an observer that found its table full reduces only if none happened
    /// since it looked.
    generation: AtomicU64,
    /// Observations that took a table past the maximum and whose reduction has not run yet
    /// (another thread held the lock): each calls for one reduction, as in Go.
    pending: AtomicU64,
    /// When the histogram was last reset, as the core's clock reads (only read under the
    /// scrape lock).
    last_reset: AtomicU64,
    /// Nanoseconds a test has moved the last reset back by (see `Histogram::backdate_reset`),
    /// cleared by the next reset.
    backdated: AtomicU64,
}

impl Native {
    pub(crate) fn new(config: NativeBuckets) -> Self {
        Self {
            schema: AtomicI32::new(config.schema),
            zero_threshold: AtomicU64::new(config.zero_threshold.to_bits()),
            config,
            last_reset: AtomicU64::new(crate::clock::now()),
            backdated: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            pending: AtomicU64::new(0),
        }
    }

    /// Moves the last reset `ns` further into the past.
    pub(crate) fn backdate_reset(&self, ns: u64) {
        self.backdated.fetch_add(ns, Ordering::Relaxed);
    }

    /// A stripe's two tables, made on first use (under loom, now: loom cannot see the ordering
    /// `OnceBox` gives).
    #[cfg_attr(
        not(loom),
        allow(
            clippy::unused_self,
            reason = "only loom's models make the tables here"
        )
    )]
    pub(crate) fn new_tables(&self) -> Box<Tables> {
        let tables = Box::new([OnceBox::new(), OnceBox::new()]);
        #[cfg(loom)]
        for shard in 0..2 {
            self.table(&tables, shard);
        }
        tables
    }

    #[inline]
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn settings(&self) -> (i32, f64) {
        (
            self.schema.load(Ordering::Relaxed),
            f64::from_bits(self.zero_threshold.load(Ordering::Relaxed)),
        )
    }

    #[inline]
    fn table<'t>(&self, tables: &'t Tables, shard: usize) -> &'t Table {
        let slot = &tables[shard & 1];
        match slot.get() {
            Some(table) => table,
            None => self.make_table(slot),
        }
    }

    /// A shard's table, made on its first use (the one allocation of a native histogram's
    /// observations).
    #[cold]
    #[inline(never)]
    fn make_table<'t>(&self, slot: &'t OnceBox<Table>) -> &'t Table {
        slot.get_or_init(|| {
            let (schema, threshold) = self.settings();
            Box::new(Table::new(self.config.capacity(), schema, threshold))
        })
    }

    /// Finds `v`'s bucket under the current settings, before its observation starts.
    #[inline]
    pub(crate) fn plan(&self, v: f64) -> Planned {
        let schema = self.schema.load(Ordering::Relaxed);
        let threshold_bits = self.zero_threshold.load(Ordering::Relaxed);
        Planned {
            schema,
            threshold_bits,
            target: Target::of(v, schema, f64::from_bits(threshold_bits)),
        }
    }

    /// Counts `v` in a shard.
    #[inline]
    pub(crate) fn observe(
        &self,
        tables: &Tables,
        shard: usize,
        v: f64,
        planned: &Planned,
    ) -> Placed {
        self.table(tables, shard)
            .observe(v, self.config.max_buckets, planned)
    }

    /// Folds a quiescent shard's table into the other shard's; `true` if some counts found
    /// no room and stayed.
    pub(crate) fn fold(&self, tables: &Tables, cold: usize) -> bool {
        match tables[cold & 1].get() {
            Some(table) => table.fold_into(self.table(tables, cold ^ 1), self.config.max_buckets),
            None => false,
        }
    }

    /// Empties a quiescent shard's table.
    pub(crate) fn discard(&self, tables: &Tables, shard: usize) {
        let (schema, threshold) = self.settings();
        self.table(tables, shard).reset(schema, threshold);
    }

    /// Readies a quiescent (cold) shard's table to become hot under the current settings.
    pub(crate) fn prepare(&self, tables: &Tables, shard: usize) {
        let table = self.table(tables, shard);
        let (schema, threshold) = self.settings();
        if table.schema() != schema || table.threshold() != threshold {
            table.rekey(schema, threshold, self.config.max_buckets);
        }
    }

    /// Whether a quiescent (cold) shard's table still holds counts a fold could not place.
    pub(crate) fn holds_counts(tables: &Tables, shard: usize) -> bool {
        tables[shard & 1].get().is_some_and(Table::holds_counts)
    }

    /// Notes that an observation took a table past the maximum: one reduction is due.
    pub(crate) fn call_for_reduction(&self) {
        self.pending.fetch_add(1, Ordering::Relaxed);
    }

    /// The reductions due, now taken.
    pub(crate) fn take_pending(&self) -> u64 {
        self.pending.swap(0, Ordering::Relaxed)
    }

    /// Whether any of the stripes' tables holds more buckets than the maximum.
    pub(crate) fn over_limit<'t>(&self, stripes: impl Iterator<Item = &'t Tables>) -> bool {
        stripes
            .flatten()
            .filter_map(OnceBox::get)
            .any(|t| t.over(self.config.max_buckets))
    }

    /// Chooses the next reduction (see [`Reduction::choose`]) and sets it as the current
    /// settings; `None` when nothing can be reduced.
    pub(crate) fn plan_reduction<'t>(
        &self,
        stripes: impl Iterator<Item = &'t Tables>,
    ) -> Option<Reduction> {
        self.generation.fetch_add(1, Ordering::AcqRel);
        let (schema, threshold) = self.settings();
        let since = crate::clock::elapsed_ns(self.last_reset.load(Ordering::Relaxed))
            .saturating_add(self.backdated.load(Ordering::Relaxed));
        let smallest = || {
            stripes
                .flatten()
                .filter_map(OnceBox::get)
                .filter_map(Table::smallest_key)
                .min()
        };
        let reduction = Reduction::choose(
            &self.config,
            schema,
            threshold,
            Duration::from_nanos(since),
            smallest,
        )?;
        match reduction {
            Reduction::Reset => {
                self.schema.store(self.config.schema, Ordering::Relaxed);
                self.zero_threshold
                    .store(self.config.zero_threshold.to_bits(), Ordering::Relaxed);
                self.last_reset
                    .store(crate::clock::now(), Ordering::Relaxed);
                self.backdated.store(0, Ordering::Relaxed);
            }
            Reduction::WidenZeroBucket(wider) => {
                self.zero_threshold
                    .store(wider.to_bits(), Ordering::Relaxed);
            }
            Reduction::LowerSchema(lower) => self.schema.store(lower, Ordering::Relaxed),
        }
        Some(reduction)
    }

    /// The native buckets of the given cold shards, summed.
    pub(crate) fn snapshot<'t>(
        &self,
        cold: impl Iterator<Item = (&'t Tables, usize)>,
    ) -> NativeSnapshot {
        let tables: Vec<&Table> = cold.filter_map(|(tables, c)| tables[c & 1].get()).collect();
        let (current_schema, current_threshold) = self.settings();
        let schema = tables
            .iter()
            .map(|t| t.schema())
            .min()
            .unwrap_or(current_schema);
        let zero_threshold = tables
            .iter()
            .map(|t| t.threshold())
            .fold(current_threshold, f64::max);
        let mut snapshot = NativeSnapshot {
            schema,
            zero_threshold,
            zero: 0,
            positive: Vec::new(),
            negative: Vec::new(),
        };
        for t in tables {
            t.add_to(&mut snapshot);
        }
        for side in [&mut snapshot.positive, &mut snapshot.negative] {
            side.sort_unstable();
            side.dedup_by(|b, a| {
                let same = a.0 == b.0;
                if same {
                    a.1 += b.1;
                }
                same
            });
        }
        snapshot
    }
}
