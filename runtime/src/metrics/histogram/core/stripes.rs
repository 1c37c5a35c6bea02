//! The stripes of one series: split counters that observers never wait on, held still one
//! shard at a time for a scrape, and the native buckets' reductions, which rotate them too.
//!
//! A *stripe* holds a state word and two shards of `[sum_ns, sum_f64, buckets..., outcomes...,
//! void]`, and each shard's native tables if the series keeps native buckets. See the module
//! docs of [`core`](super) for the protocol.

use std::sync::atomic::Ordering;
use std::sync::{OnceLock, PoisonError};

use once_cell::race::OnceBox;

use super::super::native::{Native, NativeBuckets, Placed, Reduction, Tables};
use crate::encoding::NativeSnapshot;
use crate::sync::{AtomicU64, Mutex, backoff};

const HOT_BIT: u64 = 1 << 63;
pub(super) const SUM_NS: usize = 0;
pub(super) const SUM_F64: usize = 1;
pub(super) const BUCKETS: usize = 2;
/// The most stripes a series grows to.
const MAX_STRIPES: usize = 16;

/// One cache line of cells, so stripes never share a line.
#[repr(align(64))]
struct Line([AtomicU64; 8]);

/// One stripe: `[state, shard 0 .., shard 1 ..]` over whole cache lines, and each shard's native
/// buckets if the histogram keeps them.
pub(super) struct Stripe {
    lines: Box<[Line]>,
    native: Option<Box<Tables>>,
}

impl Stripe {
    fn new(cells: usize, native: Option<&Native>) -> Self {
        Self {
            lines: (0..cells.div_ceil(8))
                .map(|_| Line(std::array::from_fn(|_| AtomicU64::new(0))))
                .collect(),
            native: native.map(Native::new_tables),
        }
    }

    /// This stripe's native tables (a core with native buckets made them with the stripe).
    #[inline]
    fn tables(&self) -> &Tables {
        self.native
            .as_deref()
            .expect("a native histogram's stripes have tables")
    }

    #[inline]
    fn at(&self, i: usize) -> &AtomicU64 {
        &self.lines[i >> 3].0[i & 7]
    }

    #[inline]
    fn state(&self) -> &AtomicU64 {
        self.at(0)
    }
}

/// Every stripe of one series, the native buckets they count, and the lock that serialises
/// scrapes and reductions.
pub(super) struct Stripes {
    /// `BUCKETS`, one cell per bucket (`+Inf` included), then the outcome cells, then the void
    /// cell of a native histogram.
    pub(super) stride: usize,
    /// Where the outcome cells start in a shard.
    pub(super) outcomes_at: usize,
    /// The cell of voided observations (`stride` when there is none).
    pub(super) void_at: usize,
    /// The first stripe, made on the first observation that does not go to a cell.
    base: OnceBox<Stripe>,
    /// The stripes besides `base`, made the first time two threads collide on it.
    more: OnceLock<Box<[Stripe]>>,
    scrape: Mutex<()>,
    /// Native buckets, if the histogram keeps them (behind a pointer: a classic histogram pays
    /// one word for them).
    native: Option<Box<Native>>,
}

impl Stripes {
    /// The stripes of a series with `buckets` buckets (`+Inf` included) and `outcomes` outcome
    /// cells, keeping native buckets if `native` is given.
    pub(super) fn new(buckets: usize, outcomes: usize, native: Option<NativeBuckets>) -> Self {
        let outcomes_at = BUCKETS + buckets;
        // The last cell counts voided observations (native histograms only; see `void`).
        let void_at = outcomes_at + outcomes;
        let stripes = Self {
            stride: void_at + usize::from(native.is_some()),
            outcomes_at,
            void_at,
            base: OnceBox::new(),
            more: OnceLock::new(),
            scrape: Mutex::new(()),
            native: native.map(|n| Box::new(Native::new(n))),
        };
        // Loom cannot see the ordering `OnceBox` gives (see `collided`).
        #[cfg(loom)]
        stripes.base();
        stripes
    }

    /// Stripes that have already grown `n` stripes besides the first.
    #[cfg(all(test, loom))]
    pub(super) fn grown(self, n: usize) -> Self {
        let _ = self.more.set(self.make_stripes(n));
        self
    }

    /// Moves the native buckets' last reset `ns` further into the past (no native buckets: does
    /// nothing).
    pub(super) fn backdate_reset(&self, ns: u64) {
        if let Some(native) = &self.native {
            native.backdate_reset(ns);
        }
    }

    /// The first stripe, made if it is not yet.
    #[inline]
    fn base(&self) -> &Stripe {
        self.base.get_or_init(|| Box::new(self.new_stripe()))
    }

    #[inline]
    pub(super) fn cell<'s>(
        &self,
        stripe: &'s Stripe,
        shard: usize,
        offset: usize,
    ) -> &'s AtomicU64 {
        stripe.at(1 + shard * self.stride + offset)
    }

    fn stripe(&self, i: usize) -> &Stripe {
        match (i, self.more.get()) {
            (0, _) | (_, None) => self.base(),
            (i, Some(more)) => more.get(i - 1).unwrap_or_else(|| self.base()),
        }
    }

    /// The native tables of the first `n` stripes (of a core with native buckets).
    fn tables(&self, n: usize) -> impl Iterator<Item = &Tables> {
        (0..n).map(|i| self.stripe(i).tables())
    }

    fn stripe_count(&self) -> usize {
        if self.base.get().is_none() {
            return 0;
        }
        1 + self.more.get().map_or(0, |m| m.len())
    }

    /// Starts an observation: the stripe and shard it must go to.
    #[inline]
    fn begin(&self) -> (&Stripe, usize) {
        let (stripe, striped) = match self.more.get() {
            None => (self.base(), false),
            Some(more) => {
                let i = slot::get() % (more.len() + 1);
                (if i == 0 { self.base() } else { &more[i - 1] }, true)
            }
        };
        let state = stripe.state();
        let current = state.load(Ordering::Relaxed);
        let before = match state.compare_exchange(
            current,
            current + 1,
            Ordering::Relaxed,
            Ordering::Relaxed,
        ) {
            Ok(before) => before,
            Err(_) => {
                self.collided(striped);
                state.fetch_add(1, Ordering::Relaxed)
            }
        };
        (stripe, (before >> 63) as usize)
    }

    /// Another thread changed the state between this one's load and its swap.
    #[cold]
    fn collided(&self, striped: bool) {
        if striped {
            slot::next();
        } else {
            // Under loom, stripes are made up front (`grown`): loom cannot see the ordering
            // `OnceLock` gives between the thread that fills it and the ones that read it.
            #[cfg(not(loom))]
            self.more
                .get_or_init(|| self.make_stripes(stripes_wanted() - 1));
        }
    }

    fn make_stripes(&self, n: usize) -> Box<[Stripe]> {
        (0..n).map(|_| self.new_stripe()).collect()
    }

    fn new_stripe(&self) -> Stripe {
        Stripe::new(1 + 2 * self.stride, self.native.as_deref())
    }

    /// Starts an observation of `v` (seconds) and counts it in its native bucket, if the
    /// histogram keeps them: the stripe and shard to complete it in, and whether the native
    /// buckets are now past their maximum. An observation whose bucket finds its shard's table
    /// full is voided (it completes without counting), the buckets are reduced (unless another
    /// thread just did), and it starts again. Every reduction halves the resolution, so this
    /// ends; once nothing can be reduced, observers may fill the whole table. Should even that
    /// not fit (values over more 16-octave buckets than the table has slots), the observation is
    /// counted without a native bucket, as NaN is.
    #[inline]
    pub(super) fn start(&self, v: impl FnOnce() -> f64) -> (&Stripe, usize, bool) {
        let Some(native) = &self.native else {
            let (stripe, shard) = self.begin();
            return (stripe, shard, false);
        };
        let v = v();
        let mut tries = 0;
        loop {
            // Read before the observation starts: a reduction that starts after this waits for
            // the observation, and is then seen as done.
            let generation = native.generation();
            let planned = native.plan(v);
            let (stripe, shard) = self.begin();
            match native.observe(stripe.tables(), shard, v, &planned) {
                Placed::Full if tries < 32 => {
                    tries += 1;
                    self.void(stripe, shard, generation);
                }
                placed => return (stripe, shard, placed == Placed::OverLimit),
            }
        }
    }

    /// Completes a started observation without counting it, then reduces the native buckets
    /// (waiting for the lock) unless a reduction happened since the observation looked: the
    /// observation no longer holds up a scrape or a reduction.
    #[cold]
    #[inline(never)]
    fn void(&self, stripe: &Stripe, shard: usize, generation: u64) {
        self.cell(stripe, shard, self.void_at)
            .fetch_add(1, Ordering::Release);
        let _serial = self.scrape.lock().unwrap_or_else(PoisonError::into_inner);
        let full = self
            .native
            .as_ref()
            .is_some_and(|n| n.generation() == generation);
        // The voided observation starts again whatever this does: a reset loses nothing of it.
        let _ = self.reduce(full);
    }

    /// Completes an observation: its bucket increment releases the sum written before it.
    #[inline]
    pub(super) fn finish(&self, stripe: &Stripe, shard: usize, bucket: usize) {
        self.cell(stripe, shard, BUCKETS + bucket)
            .fetch_add(1, Ordering::Release);
    }

    /// Observations completed in one shard of `stripe`: the total of its buckets.
    fn completed(&self, stripe: &Stripe, shard: usize) -> u64 {
        (BUCKETS..self.outcomes_at)
            .chain(self.void_at..self.stride)
            .map(|offset| self.cell(stripe, shard, offset).load(Ordering::Acquire))
            .sum()
    }

    /// Runs `f` with every stripe's cold shard held still (and folded back when `f` is done
    /// with it). Scrapes of one series are serialised; observers are never blocked.
    pub(super) fn snapshot<R>(&self, f: impl FnOnce(Frozen<'_>) -> R) -> R {
        let _serial = self.scrape.lock().unwrap_or_else(PoisonError::into_inner);
        // Buckets past the maximum are reduced before they are read.
        self.reduce(false);
        let stripes = self.stripe_count().min(MAX_STRIPES);
        // Folded back even if `f` unwinds, or the next scrape would wait for observations that
        // will never arrive.
        let mut frozen = Frozen {
            stripes: self,
            n: 0,
            cold: [0; MAX_STRIPES],
            count: 0,
            sum: 0.0,
        };
        for i in 0..stripes {
            let stripe = self.stripe(i);
            let state = stripe.state().fetch_add(HOT_BIT, Ordering::AcqRel);
            let started = state & !HOT_BIT;
            let cold = (state >> 63) as usize;
            frozen.cold[i] = cold as u8;
            frozen.n = i + 1;
            let mut spins = 0u32;
            while self.completed(stripe, cold) != started {
                // An observer between `begin` and `finish`: a handful of instructions away.
                spins += 1;
                backoff(spins);
            }
            let voided: u64 = (self.void_at..self.stride)
                .map(|v| self.cell(stripe, cold, v).load(Ordering::Relaxed))
                .sum();
            frozen.count += started - voided;
            frozen.sum += f64::from_bits(self.cell(stripe, cold, SUM_F64).load(Ordering::Relaxed))
                + self.cell(stripe, cold, SUM_NS).load(Ordering::Relaxed) as f64 / 1e9;
        }
        let result = f(frozen);
        self.reduce(false);
        result
    }

    /// A table went past the most native buckets: reduce now, unless a scrape or another
    /// reduction holds the lock (it reduces when it is done). Whether the reduction was a reset,
    /// which discarded the observation that called for it: the caller then observes it again,
    /// as Go repeats the latest observation after a reset.
    #[cold]
    #[inline(never)]
    pub(super) fn limit(&self) -> bool {
        if let Some(native) = &self.native {
            native.call_for_reduction();
        }
        match self.scrape.try_lock() {
            Ok(_serial) => self.reduce(false),
            Err(_) => false,
        }
    }

    /// Runs one reduction for each observation that took a table past the maximum since the
    /// last (as Go does, so the buckets may stay past the maximum for a while: the maximum is
    /// best effort), skipping those no longer needed, and one more if `full` (an observation
    /// found its table full); whether one reset the histogram. The scrape lock must be held.
    fn reduce(&self, full: bool) -> bool {
        let Some(native) = &self.native else {
            return false;
        };
        let stripes = self.stripe_count().min(MAX_STRIPES);
        let due = native.take_pending().saturating_add(u64::from(full));
        let mut was_reset = false;
        // Each round halves the resolution or widens the zero bucket (a bucket a round): bounded
        // by the schemas and the buckets.
        for round in 0..due.min(64) {
            let forced = round == 0 && full;
            if !forced && !native.over_limit(self.tables(stripes)) {
                break;
            }
            let Some(reduction) = native.plan_reduction(self.tables(stripes)) else {
                break;
            };
            let reset = reduction == Reduction::Reset;
            was_reset |= reset;
            for i in 0..stripes {
                self.rotate(i, reset);
            }
        }
        // A fold (during a reduction or a scrape) may have left counts in a cold table (the hot
        // one was full): rotate once more, so every scrape reads them.
        for i in 0..stripes {
            let stripe = self.stripe(i);
            let cold = ((stripe.state().load(Ordering::Acquire) >> 63) ^ 1) as usize;
            if Native::holds_counts(stripe.tables(), cold) {
                self.rotate(i, false);
            }
        }
        was_reset
    }

    /// Makes stripe `i`'s cold shard hot under the native settings just planned, waits for the
    /// formerly hot one, and folds it in (or, for a reset, discards it).
    fn rotate(&self, i: usize, reset: bool) {
        let Some(native) = &self.native else { return };
        let stripe = self.stripe(i);
        let cold = ((stripe.state().load(Ordering::Acquire) >> 63) ^ 1) as usize;
        native.prepare(stripe.tables(), cold);
        let state = stripe.state().fetch_add(HOT_BIT, Ordering::AcqRel);
        let started = state & !HOT_BIT;
        let old = (state >> 63) as usize;
        let mut spins = 0u32;
        while self.completed(stripe, old) != started {
            spins += 1;
            backoff(spins);
        }
        if reset {
            for offset in 0..self.stride {
                self.cell(stripe, old, offset).store(0, Ordering::Relaxed);
            }
            native.discard(stripe.tables(), old);
            // The observations discarded are no longer started.
            stripe.state().fetch_sub(started, Ordering::AcqRel);
        } else {
            self.fold(i, old);
        }
    }

    /// Moves a quiescent shard's counts into the other shard of its stripe.
    fn fold(&self, i: usize, cold: usize) {
        let stripe = self.stripe(i);
        let hot = cold ^ 1;
        let ns = self.cell(stripe, cold, SUM_NS).swap(0, Ordering::Relaxed);
        let f = f64::from_bits(self.cell(stripe, cold, SUM_F64).swap(0, Ordering::Relaxed));
        // Nanosecond sums move into the float sum at every scrape, so the integer never wraps.
        add_f64(self.cell(stripe, hot, SUM_F64), f + ns as f64 / 1e9);
        if let Some(native) = &self.native {
            native.fold(stripe.tables(), cold);
        }
        for offset in BUCKETS..self.stride {
            let n = self.cell(stripe, cold, offset).swap(0, Ordering::Relaxed);
            self.cell(stripe, hot, offset)
                .fetch_add(n, Ordering::Release);
        }
    }
}

/// Every stripe's cold shard, held still during a scrape, with the count and sum of the
/// observations it holds; folded back into the hot shards when dropped.
pub(super) struct Frozen<'a> {
    stripes: &'a Stripes,
    /// The stripes held (more may appear during the scrape; they are read by the next one).
    n: usize,
    /// Each stripe's cold shard.
    cold: [u8; MAX_STRIPES],
    pub(super) count: u64,
    pub(super) sum: f64,
}

impl Frozen<'_> {
    /// The total of cell `offset` over the cold shards.
    pub(super) fn total(&self, offset: usize) -> u64 {
        (0..self.n)
            .map(|s| {
                let stripe = self.stripes.stripe(s);
                let cold = usize::from(self.cold[s]);
                self.stripes
                    .cell(stripe, cold, offset)
                    .load(Ordering::Relaxed)
            })
            .sum()
    }

    /// The native buckets of the observations held, if the histogram keeps them.
    pub(super) fn native(&self) -> Option<NativeSnapshot> {
        let native = self.stripes.native.as_ref()?;
        let cold = (0..self.n).map(|s| {
            let tables = self.stripes.stripe(s).tables();
            (tables, usize::from(self.cold[s]))
        });
        Some(native.snapshot(cold))
    }
}

impl Drop for Frozen<'_> {
    fn drop(&mut self) {
        for i in 0..self.n {
            self.stripes.fold(i, usize::from(self.cold[i]));
        }
    }
}

#[inline]
pub(super) fn add_f64(cell: &AtomicU64, v: f64) {
    let _ = cell.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
        Some((f64::from_bits(bits) + v).to_bits())
    });
}

/// How many stripes a contended series grows to: one per CPU, at most `MAX_STRIPES`.
fn stripes_wanted() -> usize {
    static WANTED: OnceLock<usize> = OnceLock::new();
    *WANTED.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(2, MAX_STRIPES)
    })
}

/// Each thread's stripe slot: spread over threads as they first observe, moved on a collision.
mod slot {
    use std::cell::Cell;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static NEXT: AtomicUsize = AtomicUsize::new(0);

    // Loom runs its threads on one OS thread, so a model needs loom's per-model-thread locals.
    #[cfg(not(loom))]
    thread_local! {
        static SLOT: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    #[cfg(loom)]
    loom::thread_local! {
        static SLOT: Cell<usize> = Cell::new(usize::MAX);
    }

    #[inline]
    pub(super) fn get() -> usize {
        SLOT.with(|s| {
            let v = s.get();
            if v != usize::MAX {
                return v;
            }
            let v = NEXT.fetch_add(1, Ordering::Relaxed) & (usize::MAX >> 1);
            s.set(v);
            v
        })
    }

    pub(super) fn next() {
        SLOT.with(|s| s.set(s.get().wrapping_add(1) & (usize::MAX >> 1)));
    }
}
