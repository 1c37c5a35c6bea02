//! One shard's native buckets: an open-addressing table of `(key, count)` atomics that observers
//! add to without locks, and what a reduction or a scrape does to it while it is quiescent.

use std::sync::atomic::Ordering;

use once_cell::race::OnceBox;

use super::keys::{code, decode, key, upper_bound, widen};
use crate::encoding::NativeSnapshot;
use crate::sync::{AtomicI32, AtomicU32, AtomicU64};

/// Where an observation went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placed {
    /// Into its bucket (or nowhere, for NaN).
    Counted,
    /// Into a new bucket that took the table past the maximum: the buckets need reducing.
    OverLimit,
    /// Nowhere: the table is full.
    Full,
}

/// Where an observation goes in a table of given settings.
#[derive(Debug, Clone, Copy)]
pub(super) enum Target {
    /// NaN: counted, in no bucket.
    Nowhere,
    Zero,
    Bucket(u32),
}

impl Target {
    #[inline]
    pub(super) fn of(v: f64, schema: i32, threshold: f64) -> Self {
        if v.is_nan() {
            Target::Nowhere
        } else if v > threshold {
            Target::Bucket(code(false, key(v, schema)))
        } else if v < -threshold {
            Target::Bucket(code(true, key(v, schema)))
        } else {
            Target::Zero
        }
    }
}

/// An observation's bucket, found under the histogram's current settings before the
/// observation starts (its first atomic read-modify-write orders everything after it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Planned {
    pub(super) schema: i32,
    pub(super) threshold_bits: u64,
    pub(super) target: Target,
}

/// One shard's native buckets.
pub(crate) struct Table {
    schema: AtomicI32,
    zero_threshold: AtomicU64,
    zero: AtomicU64,
    occupied: AtomicU32,
    keys: Box<[AtomicU32]>,
    counts: Box<[AtomicU64]>,
}

impl Table {
    pub(super) fn new(capacity: usize, schema: i32, zero_threshold: f64) -> Self {
        Self {
            schema: AtomicI32::new(schema),
            zero_threshold: AtomicU64::new(zero_threshold.to_bits()),
            zero: AtomicU64::new(0),
            occupied: AtomicU32::new(0),
            keys: (0..capacity).map(|_| AtomicU32::new(0)).collect(),
            counts: (0..capacity).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    pub(super) fn schema(&self) -> i32 {
        self.schema.load(Ordering::Relaxed)
    }

    pub(super) fn threshold(&self) -> f64 {
        f64::from_bits(self.zero_threshold.load(Ordering::Relaxed))
    }

    /// Counts `v`, whose bucket under `planned` settings was found before the observation
    /// started (the usual case: the table has those settings).
    #[inline]
    pub(super) fn observe(&self, v: f64, max: u32, planned: &Planned) -> Placed {
        let target = if self.schema() == planned.schema
            && self.zero_threshold.load(Ordering::Relaxed) == planned.threshold_bits
        {
            planned.target
        } else {
            Target::of(v, self.schema(), self.threshold())
        };
        let placed = match target {
            Target::Nowhere => return Placed::Counted,
            Target::Zero => {
                self.zero.fetch_add(1, Ordering::Relaxed);
                Placed::Counted
            }
            Target::Bucket(code) => self.add(code, 1, max, self.keys.len()),
        };
        // Every observation while the table is past the maximum calls for a reduction, not only
        // the one that took it there (as in Go).
        if placed == Placed::Counted && self.occupied.load(Ordering::Relaxed) > max {
            return Placed::OverLimit;
        }
        placed
    }

    /// Adds `n` to the bucket `code`, making it if new and fewer than `room` buckets are taken.
    #[inline]
    fn add(&self, code: u32, n: u64, max: u32, room: usize) -> Placed {
        let keys = &self.keys[..];
        // One length for both: the compiler checks one bound.
        let counts = &self.counts[..keys.len()];
        let mask = keys.len() - 1;
        let start = (code.wrapping_mul(0x9E37_79B9) >> 7) as usize & mask;
        if keys[start].load(Ordering::Relaxed) == code {
            counts[start].fetch_add(n, Ordering::Relaxed);
            return Placed::Counted;
        }
        self.add_probing(code, n, max, room, start)
    }

    /// `add` past the first slot tried.
    #[cold]
    fn add_probing(&self, code: u32, n: u64, max: u32, room: usize, start: usize) -> Placed {
        let mask = self.keys.len() - 1;
        for probe in 0..self.keys.len() {
            let slot = (start + probe) & mask;
            let found = self.keys[slot].load(Ordering::Relaxed);
            if found == code {
                self.counts[slot].fetch_add(n, Ordering::Relaxed);
                return Placed::Counted;
            }
            if found != 0 {
                continue;
            }
            if self.occupied.load(Ordering::Relaxed) as usize >= room {
                return Placed::Full;
            }
            match self.keys[slot].compare_exchange(0, code, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => {
                    self.counts[slot].fetch_add(n, Ordering::Relaxed);
                    return if self.occupied.fetch_add(1, Ordering::Relaxed) + 1 > max {
                        Placed::OverLimit
                    } else {
                        Placed::Counted
                    };
                }
                Err(other) if other == code => {
                    self.counts[slot].fetch_add(n, Ordering::Relaxed);
                    return Placed::Counted;
                }
                Err(_) => {}
            }
        }
        Placed::Full
    }

    /// Empties a quiescent table and gives it a new schema and zero threshold.
    pub(super) fn reset(&self, schema: i32, zero_threshold: f64) {
        for (k, c) in self.keys.iter().zip(self.counts.iter()) {
            k.store(0, Ordering::Relaxed);
            c.store(0, Ordering::Relaxed);
        }
        self.zero.store(0, Ordering::Relaxed);
        self.occupied.store(0, Ordering::Relaxed);
        self.schema.store(schema, Ordering::Relaxed);
        self.zero_threshold
            .store(zero_threshold.to_bits(), Ordering::Relaxed);
    }

    /// The buckets holding counts, as `(code, count)`.
    fn entries(&self) -> Vec<(u32, u64)> {
        self.keys
            .iter()
            .zip(self.counts.iter())
            .map(|(k, c)| (k.load(Ordering::Relaxed), c.load(Ordering::Relaxed)))
            .filter(|&(k, n)| k != 0 && n > 0)
            .collect()
    }

    /// Adds the count of bucket `found` (at `schema`) to this table, translated to this
    /// table's schema and zero bucket, using every slot; `false` if the table is full.
    fn add_translated(&self, found: u32, schema: i32, n: u64, max: u32) -> bool {
        let (to_schema, threshold) = (self.schema(), self.threshold());
        let (negative, key) = decode(found);
        let key = widen(key, schema, to_schema.min(schema));
        if upper_bound(key, to_schema) <= threshold {
            self.zero.fetch_add(n, Ordering::Relaxed);
            return true;
        }
        self.add(code(negative, key), n, max, self.keys.len()) != Placed::Full
    }

    /// Gives a quiescent table a new schema and zero threshold, keeping its counts (translated).
    /// Counts that cannot fit even so (values over more octaves than the table has slots at
    /// schema -4) go to the zero bucket rather than nowhere.
    pub(super) fn rekey(&self, schema: i32, zero_threshold: f64, max: u32) {
        let (from, entries, zero) = (
            self.schema(),
            self.entries(),
            self.zero.load(Ordering::Relaxed),
        );
        self.reset(schema, zero_threshold);
        self.zero.store(zero, Ordering::Relaxed);
        for (found, n) in entries {
            if !self.add_translated(found, from, n, max) {
                self.zero.fetch_add(n, Ordering::Relaxed);
            }
        }
    }

    /// Moves every count of this quiescent table into `hot`, translating keys to its schema and
    /// zero bucket, and leaves this table empty under `hot`'s schema. Counts that find `hot`
    /// full stay here (translated); `true` when some did.
    pub(super) fn fold_into(&self, hot: &Table, max: u32) -> bool {
        let schema = self.schema();
        let entries = self.entries();
        let zero = self.zero.load(Ordering::Relaxed);
        self.reset(hot.schema(), hot.threshold());
        hot.zero.fetch_add(zero, Ordering::Relaxed);
        let mut left = false;
        for (found, n) in entries {
            if !hot.add_translated(found, schema, n, max) {
                left = true;
                if !self.add_translated(found, schema, n, max) {
                    self.zero.fetch_add(n, Ordering::Relaxed);
                }
            }
        }
        left
    }

    /// Whether this table holds any count (a bucket made since its last reset, or a zero
    /// count): two loads, not a scan.
    pub(super) fn holds_counts(&self) -> bool {
        self.zero.load(Ordering::Relaxed) > 0 || self.occupied.load(Ordering::Relaxed) > 0
    }

    /// The smallest key holding a count, of either sign.
    pub(super) fn smallest_key(&self) -> Option<i32> {
        self.keys
            .iter()
            .zip(self.counts.iter())
            .filter(|(k, c)| k.load(Ordering::Relaxed) != 0 && c.load(Ordering::Relaxed) > 0)
            .map(|(k, _)| decode(k.load(Ordering::Relaxed)).1)
            .min()
    }

    /// Whether this table holds more buckets than `max`.
    pub(super) fn over(&self, max: u32) -> bool {
        self.occupied.load(Ordering::Relaxed) > max
    }

    /// Adds this quiescent table's counts to `snapshot`, whose schema is at most this table's
    /// and whose zero threshold at least its.
    pub(super) fn add_to(&self, snapshot: &mut NativeSnapshot) {
        snapshot.zero += self.zero.load(Ordering::Relaxed);
        for (k, c) in self.keys.iter().zip(self.counts.iter()) {
            let (code, n) = (k.load(Ordering::Relaxed), c.load(Ordering::Relaxed));
            if code == 0 || n == 0 {
                continue;
            }
            let (negative, key) = decode(code);
            let key = widen(key, self.schema(), snapshot.schema);
            if upper_bound(key, snapshot.schema) <= snapshot.zero_threshold {
                snapshot.zero += n;
            } else if negative {
                snapshot.negative.push((key, n));
            } else {
                snapshot.positive.push((key, n));
            }
        }
    }
}

/// A stripe's two tables, one per shard, each made on the shard's first native observation.
pub(crate) type Tables = [OnceBox<Table>; 2];
