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
//! Each shard of each stripe of the histogram core has its own table of buckets: an
//! open-addressing table of `(key, count)` atomics, made the first time the shard is observed
//! into and never allocating again. An observation adds to its bucket before it completes (the
//! classic bucket increment), so a scrape's snapshot has the native buckets of exactly the
//! observations it counts; the scrape folds a cold table into the hot one as it does the other
//! cells.
//!
//! An observation takes its bucket first; then, if the table holds more buckets than the
//! maximum, it calls for one reduction, as every observation in Go does (so the buckets may stay
//! past the maximum for a few observations, and for good once nothing can be reduced: the
//! maximum is best effort). A table has room for twice the maximum (at least 64), so observers
//! racing a reduction still find a slot. `tests/tests/native_diff.rs` compares every snapshot
//! with client_golang's.
//!
//! A reduction is, in Go's order:
//! it resets (once at least the minimum reset duration has passed since the last reset), or it
//! widens the zero bucket to take the bucket closest to zero (up to the maximum zero threshold),
//! or it halves the resolution (schema one lower, pairs of buckets merged). A reduction rotates
//! every stripe: the cold shard takes the new schema, becomes hot, and the formerly hot one is
//! folded into it with its keys translated.

use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use once_cell::race::OnceBox;

use crate::encoding::NativeSnapshot;
use crate::error::{Error, ErrorKind, Result};

#[path = "native_bounds.rs"]
mod bounds;
use bounds::{BOUNDS, GROWTH_CEIL};

/// For each 1/512-wide cell of fractions `[0.5 + c/512, 0.5 + (c+1)/512)`, how many schema-8
/// bounds lie below its start.
const BELOW_CELL: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut cell = 0;
    let mut below = 0;
    while cell < 256 {
        let start = 0.5 + cell as f64 / 512.0;
        while below < 256 && BOUNDS[below] < start {
            below += 1;
        }
        table[cell] = below as u16;
        cell += 1;
    }
    table
};

/// The lowest and highest schemas Prometheus accepts.
pub(crate) const MIN_SCHEMA: i32 = -4;
pub(crate) const MAX_SCHEMA: i32 = 8;

/// How a histogram keeps native buckets: their resolution (schema), the zero bucket, and how many
/// buckets it may hold before it reduces them.
///
/// ```
/// use std::time::Duration;
/// use vitalsign::NativeBuckets;
///
/// // Each bucket at most 10% wider than the last: schema 3 (a factor of 2^(1/8), 1.0905).
/// assert_eq!(NativeBuckets::new(1.1)?.schema(), 3);
/// assert_eq!(NativeBuckets::new(2.0)?.schema(), 0);
/// assert!(NativeBuckets::new(1.0).is_err());
/// let custom = NativeBuckets::with_schema(5)?
///     .zero_threshold(1e-9)?
///     .max_buckets(200)
///     .min_reset_duration(Duration::from_secs(3600))
///     .max_zero_threshold(1e-6)?;
/// assert_eq!(custom.schema(), 5);
/// # Ok::<(), vitalsign::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NativeBuckets {
    schema: i32,
    zero_threshold: f64,
    max_buckets: u32,
    min_reset: Duration,
    max_zero_threshold: f64,
}

/// 2^-128, Go's default zero threshold.
const DEFAULT_ZERO_THRESHOLD: f64 = 2.938_735_877_055_719e-39;

impl Default for NativeBuckets {
    /// Factor 1.1 (schema 3), zero threshold 2^-128, at most 100 buckets, then halving the
    /// resolution (no resets, no zero-bucket widening): what `#[instrument_metrics]` and the
    /// HTTP layer use.
    fn default() -> Self {
        Self {
            schema: 3,
            zero_threshold: DEFAULT_ZERO_THRESHOLD,
            max_buckets: 100,
            min_reset: Duration::ZERO,
            max_zero_threshold: 0.0,
        }
    }
}

impl NativeBuckets {
    /// The lowest resolution whose bucket growth factor, `2^(2^-schema)`, is at most `factor`
    /// (Go's `NativeHistogramBucketFactor`), compared exactly: 1.1 gives schema 3, 16 gives -2
    /// and the float just below 16 gives -1. Factors below 2^(2^-8) give schema 8, above 2^16
    /// schema -4. `factor` must be a finite number above 1.
    pub fn new(factor: f64) -> Result<Self> {
        if !(factor > 1.0 && factor.is_finite()) {
            return Err(Error::new(
                ErrorKind::InvalidBuckets,
                format!(
                    "invalid native histogram buckets: factor {factor}: a finite number above 1 is needed"
                ),
            ));
        }
        // Not `floor(log2(log2(factor)))`, which rounds to the next schema just below 16, 256
        // and 65536.
        let reaches = |schema: i32| match usize::try_from(schema) {
            Ok(0) | Err(_) => factor >= 2f64.powi(1 << -schema),
            Ok(s) => factor >= GROWTH_CEIL[s - 1],
        };
        // The widest buckets that still grow by at most `factor`.
        let schema = (MIN_SCHEMA..=MAX_SCHEMA)
            .find(|&s| reaches(s))
            .unwrap_or(MAX_SCHEMA);
        Ok(Self {
            schema,
            ..Self::default()
        })
    }

    /// A schema given directly, from -4 to 8.
    pub fn with_schema(schema: i32) -> Result<Self> {
        if !(MIN_SCHEMA..=MAX_SCHEMA).contains(&schema) {
            return Err(Error::new(
                ErrorKind::InvalidBuckets,
                format!("invalid native histogram buckets: schema {schema}: from -4 to 8"),
            ));
        }
        Ok(Self {
            schema,
            ..Self::default()
        })
    }

    /// The schema.
    pub fn schema(&self) -> i32 {
        self.schema
    }

    /// Values whose magnitude is at most `threshold` count in the zero bucket (default 2^-128).
    pub fn zero_threshold(mut self, threshold: f64) -> Result<Self> {
        self.zero_threshold = check_threshold("zero threshold", threshold)?;
        Ok(self)
    }

    /// The most buckets kept before reducing them (default 100, at least 1).
    #[must_use]
    pub fn max_buckets(mut self, max: u32) -> Self {
        self.max_buckets = max.clamp(1, 4096);
        self
    }

    /// A reduction resets the histogram instead when this long has passed since the last reset
    /// (default zero: never). A reset starts every count at zero, as a restart would.
    #[must_use]
    pub fn min_reset_duration(mut self, d: Duration) -> Self {
        self.min_reset = d;
        self
    }

    /// A reduction may widen the zero bucket up to this threshold before it lowers the schema
    /// (default zero: never).
    pub fn max_zero_threshold(mut self, threshold: f64) -> Result<Self> {
        self.max_zero_threshold = check_threshold("maximum zero threshold", threshold)?;
        Ok(self)
    }

    /// Slots per table: twice the maximum (room for what arrives while a reduction is under
    /// way, and for buckets past the maximum once nothing can be reduced), at least 64, 12
    /// bytes each; 256 (3 KiB) for the default maximum.
    fn capacity(&self) -> usize {
        (self.max_buckets as usize * 2).next_power_of_two().max(64)
    }
}

fn check_threshold(what: &str, t: f64) -> Result<f64> {
    if t >= 0.0 && t.is_finite() {
        Ok(t)
    } else {
        Err(Error::new(
            ErrorKind::InvalidBuckets,
            format!(
                "invalid native histogram buckets: {what} {t}: a finite number from 0 is needed"
            ),
        ))
    }
}

/// `(fraction, exponent)` with `v = fraction * 2^exponent`, fraction in `[0.5, 1)`: Go's and C's
/// `frexp`, for finite `v > 0`.
pub(crate) fn frexp(v: f64) -> (f64, i32) {
    let bits = v.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    if v == 0.0 {
        return (0.0, 0);
    }
    if exp == 0 {
        // Subnormal: scale into the normal range first.
        let (f, e) = frexp(v * f64::from_bits((1023 + 54) << 52));
        return (f, e - 54);
    }
    (
        f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52)),
        exp - 1022,
    )
}

/// The key of the bucket `v` falls in at `schema`, for `v` not zero and not NaN.
pub(crate) fn key(v: f64, schema: i32) -> i32 {
    let (v, past) = if v.is_infinite() {
        (f64::MAX, 1)
    } else {
        (v.abs(), 0)
    };
    let (frac, exp) = frexp(v);
    let key = if schema > 0 {
        // How many schema-8 bounds lie below the fraction: those below the start of its
        // 1/512-wide cell (from the table), then the one or two inside it.
        let cell = ((frac.to_bits() >> 44) & 0xff) as usize;
        let mut below = usize::from(BELOW_CELL[cell]);
        while below < 256 && BOUNDS[below] < frac {
            below += 1;
        }
        // Schema s keeps every 2^(8-s)th bound: the bounds below at s are ceil(below / 2^(8-s))
        // (Go's `sort.SearchFloat64s` over that schema's bounds).
        let shift = 8 - schema;
        let place = (below + (1 << shift) - 1) >> shift;
        place as i32 + (exp - 1) * (1i32 << schema)
    } else {
        let k = if frac == 0.5 { exp - 1 } else { exp };
        let offset = (1 << -schema) - 1;
        (k + offset) >> -schema
    };
    key + past
}

/// The upper bound of bucket `key` at `schema` (Go's `getLe`): `f64::MAX` for the bucket
/// holding it, `+Inf` for the one past it, which holds only infinities (so no finite zero
/// threshold ever takes them, as the spec has it).
pub(crate) fn upper_bound(key: i32, schema: i32) -> f64 {
    if schema <= 0 {
        let exp = i64::from(key) << -schema;
        return match exp {
            1025.. => f64::INFINITY,
            1024 => f64::MAX,
            _ => ldexp(1.0, exp),
        };
    }
    let n = 1i32 << schema;
    let frac = BOUNDS[(key.rem_euclid(n) as usize) * (256 >> schema)];
    let exp = i64::from(key.div_euclid(n)) + 1;
    if frac == 0.5 && exp == 1025 {
        return f64::MAX;
    }
    ldexp(frac, exp)
}

fn ldexp(frac: f64, exp: i64) -> f64 {
    let exp = exp.clamp(-1100, 1100) as i32;
    let half = exp / 2;
    frac * 2f64.powi(half) * 2f64.powi(exp - half)
}

/// A key at `from` translated to the wider bucket holding it at `to` (`to <= from`).
fn widen(key: i32, from: i32, to: i32) -> i32 {
    // Bucket k of the finer schema lies in bucket ceil(k / 2) of the next coarser one.
    let mut key = key;
    for _ in to..from {
        if key > 0 {
            key += 1;
        }
        key /= 2;
    }
    key
}

/// A slot's key: the bucket key offset to stay positive, the sign above it. Zero is an empty slot.
fn code(negative: bool, key: i32) -> u32 {
    (key + (1 << 28)) as u32 | (u32::from(negative) << 30)
}

fn decode(code: u32) -> (bool, i32) {
    (
        code >> 30 & 1 == 1,
        (code & ((1 << 30) - 1)) as i32 - (1 << 28),
    )
}

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
enum Target {
    /// NaN: counted, in no bucket.
    Nowhere,
    Zero,
    Bucket(u32),
}

impl Target {
    #[inline]
    fn of(v: f64, schema: i32, threshold: f64) -> Self {
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
    schema: i32,
    threshold_bits: u64,
    target: Target,
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
    fn new(capacity: usize, schema: i32, zero_threshold: f64) -> Self {
        Self {
            schema: AtomicI32::new(schema),
            zero_threshold: AtomicU64::new(zero_threshold.to_bits()),
            zero: AtomicU64::new(0),
            occupied: AtomicU32::new(0),
            keys: (0..capacity).map(|_| AtomicU32::new(0)).collect(),
            counts: (0..capacity).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn schema(&self) -> i32 {
        self.schema.load(Ordering::Relaxed)
    }

    fn threshold(&self) -> f64 {
        f64::from_bits(self.zero_threshold.load(Ordering::Relaxed))
    }

    /// Counts `v`, whose bucket under `planned` settings was found before the observation
    /// started (the usual case: the table has those settings).
    #[inline]
    fn observe(&self, v: f64, max: u32, planned: &Planned) -> Placed {
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
    fn reset(&self, schema: i32, zero_threshold: f64) {
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
    fn rekey(&self, schema: i32, zero_threshold: f64, max: u32) {
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
    fn fold_into(&self, hot: &Table, max: u32) -> bool {
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
    fn holds_counts(&self) -> bool {
        self.zero.load(Ordering::Relaxed) > 0 || self.occupied.load(Ordering::Relaxed) > 0
    }

    /// The smallest key holding a count, of either sign.
    fn smallest_key(&self) -> Option<i32> {
        self.keys
            .iter()
            .zip(self.counts.iter())
            .filter(|(k, c)| k.load(Ordering::Relaxed) != 0 && c.load(Ordering::Relaxed) > 0)
            .map(|(k, _)| decode(k.load(Ordering::Relaxed)).1)
            .min()
    }
}

/// Table slots: one per stripe a core can grow (its first and at most 16 more).
const TABLE_SLOTS: usize = 17;

/// A histogram core's native buckets: one table per shard of each stripe, and the schema and
/// zero threshold new tables start with.
pub(crate) struct Native {
    pub(crate) config: NativeBuckets,
    schema: AtomicI32,
    zero_threshold: AtomicU64,
    tables: [[OnceBox<Table>; 2]; TABLE_SLOTS],
    /// Reductions so far: an observer that found its table full reduces only if none happened
    /// since it looked.
    generation: AtomicU64,
    /// Observations that took a table past the maximum and whose reduction has not run yet
    /// (another thread held the lock): each calls for one reduction, as in Go.
    pending: AtomicU64,
    /// When the histogram was last reset, as the core's clock reads (only read under the
    /// scrape lock).
    last_reset: AtomicU64,
}

impl Native {
    pub(crate) fn new(config: NativeBuckets) -> Self {
        Self {
            schema: AtomicI32::new(config.schema),
            zero_threshold: AtomicU64::new(config.zero_threshold.to_bits()),
            config,
            tables: std::array::from_fn(|_| [OnceBox::new(), OnceBox::new()]),
            last_reset: AtomicU64::new(crate::clock::now()),
            generation: AtomicU64::new(0),
            pending: AtomicU64::new(0),
        }
    }

    #[inline]
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    #[inline]
    pub(crate) fn table(&self, stripe: usize, shard: usize) -> &Table {
        let slot = &self.tables[stripe.min(self.tables.len() - 1)][shard & 1];
        match slot.get() {
            Some(table) => table,
            None => self.make_table(slot),
        }
    }

    /// A shard's table, made on its first use (the one allocation of a native histogram's
    /// observations).
    #[cold]
    #[inline(never)]
    fn make_table<'s>(&self, slot: &'s OnceBox<Table>) -> &'s Table {
        slot.get_or_init(|| {
            Box::new(Table::new(
                self.config.capacity(),
                self.schema.load(Ordering::Relaxed),
                f64::from_bits(self.zero_threshold.load(Ordering::Relaxed)),
            ))
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
    pub(crate) fn observe(&self, stripe: usize, shard: usize, v: f64, planned: &Planned) -> Placed {
        self.table(stripe, shard)
            .observe(v, self.config.max_buckets, planned)
    }

    /// Folds a quiescent shard's table into the other shard's; `true` if some counts found
    /// no room and stayed.
    pub(crate) fn fold(&self, stripe: usize, cold: usize) -> bool {
        let slots = &self.tables[stripe.min(self.tables.len() - 1)];
        match slots[cold & 1].get() {
            Some(table) => table.fold_into(self.table(stripe, cold ^ 1), self.config.max_buckets),
            None => false,
        }
    }

    /// Empties a quiescent shard's table.
    pub(crate) fn discard(&self, stripe: usize, shard: usize) {
        self.table(stripe, shard).reset(
            self.schema.load(Ordering::Relaxed),
            f64::from_bits(self.zero_threshold.load(Ordering::Relaxed)),
        );
    }

    /// Readies a quiescent (cold) shard's table to become hot under the current settings.
    pub(crate) fn prepare(&self, stripe: usize, shard: usize) {
        let table = self.table(stripe, shard);
        let (schema, threshold) = (
            self.schema.load(Ordering::Relaxed),
            f64::from_bits(self.zero_threshold.load(Ordering::Relaxed)),
        );
        if table.schema() != schema || table.threshold() != threshold {
            table.rekey(schema, threshold, self.config.max_buckets);
        }
    }

    /// Whether a quiescent (cold) shard's table still holds counts a fold could not place.
    pub(crate) fn holds_counts(&self, stripe: usize, shard: usize) -> bool {
        self.tables[stripe.min(self.tables.len() - 1)][shard & 1]
            .get()
            .is_some_and(Table::holds_counts)
    }

    /// Notes that an observation took a table past the maximum: one reduction is due.
    pub(crate) fn call_for_reduction(&self) {
        self.pending.fetch_add(1, Ordering::Relaxed);
    }

    /// The reductions due, now taken.
    pub(crate) fn take_pending(&self) -> u64 {
        self.pending.swap(0, Ordering::Relaxed)
    }

    /// Whether any table holds more buckets than the maximum.
    pub(crate) fn over_limit(&self, stripes: usize) -> bool {
        self.tables[..stripes.min(self.tables.len())]
            .iter()
            .flatten()
            .filter_map(OnceBox::get)
            .any(|t| t.occupied.load(Ordering::Relaxed) > self.config.max_buckets)
    }

    /// Chooses the next reduction and sets it as the current settings: `Some(true)` to reset,
    /// `Some(false)` to move to the new schema or zero threshold, `None` when nothing can be
    /// reduced.
    pub(crate) fn plan_reduction(&self, stripes: usize) -> Option<bool> {
        self.generation.fetch_add(1, Ordering::AcqRel);
        let c = &self.config;
        let now = crate::clock::now();
        let since = crate::clock::elapsed_ns(self.last_reset.load(Ordering::Relaxed));
        if !c.min_reset.is_zero() && u128::from(since) >= c.min_reset.as_nanos() {
            self.schema.store(c.schema, Ordering::Relaxed);
            self.zero_threshold
                .store(c.zero_threshold.to_bits(), Ordering::Relaxed);
            self.last_reset.store(now, Ordering::Relaxed);
            return Some(true);
        }
        let schema = self.schema.load(Ordering::Relaxed);
        let threshold = f64::from_bits(self.zero_threshold.load(Ordering::Relaxed));
        if c.max_zero_threshold > threshold {
            let smallest = self.tables[..stripes.min(self.tables.len())]
                .iter()
                .flatten()
                .filter_map(OnceBox::get)
                .filter_map(Table::smallest_key)
                .min();
            if let Some(key) = smallest {
                let wider = upper_bound(key, schema);
                if wider <= c.max_zero_threshold {
                    self.zero_threshold
                        .store(wider.to_bits(), Ordering::Relaxed);
                    return Some(false);
                }
            }
        }
        if schema > MIN_SCHEMA {
            self.schema.store(schema - 1, Ordering::Relaxed);
            return Some(false);
        }
        None
    }

    /// The native buckets of the cold shards `cold[..stripes]`, summed.
    pub(crate) fn snapshot(&self, cold: &[u8]) -> NativeSnapshot {
        let tables: Vec<&Table> = cold
            .iter()
            .enumerate()
            .filter_map(|(i, &c)| self.tables.get(i)?[usize::from(c) & 1].get())
            .collect();
        let schema = tables
            .iter()
            .map(|t| t.schema())
            .min()
            .unwrap_or_else(|| self.schema.load(Ordering::Relaxed));
        let zero_threshold = tables.iter().map(|t| t.threshold()).fold(
            f64::from_bits(self.zero_threshold.load(Ordering::Relaxed)),
            f64::max,
        );
        let mut snapshot = NativeSnapshot {
            schema,
            zero_threshold,
            zero: 0,
            positive: Vec::new(),
            negative: Vec::new(),
        };
        for t in tables {
            snapshot.zero += t.zero.load(Ordering::Relaxed);
            for (k, c) in t.keys.iter().zip(t.counts.iter()) {
                let (code, n) = (k.load(Ordering::Relaxed), c.load(Ordering::Relaxed));
                if code == 0 || n == 0 {
                    continue;
                }
                let (negative, key) = decode(code);
                let key = widen(key, t.schema(), schema);
                if upper_bound(key, schema) <= zero_threshold {
                    snapshot.zero += n;
                } else if negative {
                    snapshot.negative.push((key, n));
                } else {
                    snapshot.positive.push((key, n));
                }
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_pick_go_schemas() {
        let schema = |f: f64| NativeBuckets::new(f).map(|n| n.schema());
        assert_eq!(schema(1.1), Ok(3));
        assert_eq!(schema(1.0905077326652577), Ok(3));
        assert_eq!(schema(1.09), Ok(4));
        assert_eq!(schema(2.0), Ok(0));
        assert_eq!(schema(4.0), Ok(-1));
        assert_eq!(schema(1.000001), Ok(8));
        assert_eq!(schema(1e300), Ok(-4));
        assert_eq!(
            NativeBuckets::new(f64::NAN).unwrap_err().to_string(),
            "invalid native histogram buckets: factor NaN: a finite number above 1 is needed"
        );
        assert_eq!(
            NativeBuckets::with_schema(9).unwrap_err().to_string(),
            "invalid native histogram buckets: schema 9: from -4 to 8"
        );
        assert_eq!(
            NativeBuckets::default()
                .zero_threshold(-1.0)
                .unwrap_err()
                .to_string(),
            "invalid native histogram buckets: zero threshold -1: a finite number from 0 is needed"
        );
    }

    #[test]
    fn keys_at_powers_of_two_and_extremes() {
        // Bucket k ends at 2^(k/2^s): a power of two is the top of its bucket.
        assert_eq!(key(1.0, 0), 0);
        assert_eq!(key(2.0, 0), 1);
        assert_eq!(key(1.5, 0), 1);
        assert_eq!(key(1.0, 3), 0);
        assert_eq!(key(1.0000001, 3), 1);
        assert_eq!(key(2.0, 3), 8);
        assert_eq!(key(0.5, 3), -8);
        assert_eq!(key(-4.0, 2), 8);
        assert_eq!(key(4.0, -1), 1);
        assert_eq!(key(5.0, -1), 2);
        assert_eq!(key(f64::MAX, 0), 1024);
        assert_eq!(key(f64::INFINITY, 0), 1025);
        assert_eq!(key(f64::NEG_INFINITY, 3), key(f64::MAX, 3) + 1);
        assert_eq!(key(f64::from_bits(1), 0), -1074);
        for s in MIN_SCHEMA..=MAX_SCHEMA {
            for k in [-300, -8, -1, 0, 1, 7, 8, 300] {
                let le = upper_bound(k, s);
                if le == 0.0 || le >= f64::MAX / 2.0 {
                    continue;
                }
                assert_eq!(key(le, s), k, "schema {s} key {k} le {le}");
                assert_eq!(key(le * (1.0 + 1e-12), s), k + 1, "schema {s} key {k}");
            }
        }
        assert_eq!(widen(3, 3, 2), 2);
        assert_eq!(widen(-3, 3, 2), -1);
        assert_eq!(widen(-4, 3, 2), -2);
        // Every key, widened, is the key its upper bound has at the coarser schema.
        for k in -40..40 {
            assert_eq!(widen(k, 3, 1), key(upper_bound(k, 3), 1), "key {k}");
        }
        assert_eq!(widen(4, 3, 1), 1);
    }

    /// Keys against an independent transcription of Go's algorithm
    /// (`tests/conformance/native_keys.py`): 100,000 values (random magnitudes, subnormals, exact
    /// powers of two, bucket edges and the f64s beside them, extremes, infinities; half
    /// negative), at every schema from -4 to 8.
    #[test]
    #[ignore = "needs python3"]
    fn keys_match_gos_algorithm_at_every_schema() {
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/conformance/native_keys.py");
        let out = std::process::Command::new("python3")
            .arg(&script)
            .args(["2026", "100000"])
            .output()
            .expect("python3 is needed: `apt-get install python3`");
        assert!(
            out.status.success(),
            "native_keys.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut lines = 0;
        let mut mismatches = Vec::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let mut fields = line.split(' ');
            let bits = u64::from_str_radix(fields.next().unwrap(), 16).unwrap();
            let v = f64::from_bits(bits);
            for (schema, expected) in (-4..=8).zip(fields) {
                let expected: i32 = expected.parse().unwrap();
                let got = key(v, schema);
                if got != expected {
                    mismatches.push(format!(
                        "{v:e} ({bits:016x}) schema {schema}: {got}, Go {expected}"
                    ));
                }
            }
            lines += 1;
        }
        assert_eq!(lines, 100_000);
        assert_eq!(
            mismatches.len(),
            0,
            "{}",
            mismatches[..mismatches.len().min(20)].join("\n")
        );
    }
}
