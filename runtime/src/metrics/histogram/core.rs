//! The core of histograms and summaries: per-thread cells for classic buckets, and the
//! split-counter stripes for native buckets and for observations a cell cannot take.
//!
//! A classic histogram or summary observes into the calling thread's own cell (see [`cells`]:
//! plain loads and stores under a sequence word). Its observations go to the stripes below only
//! when the thread has no cell (more than 64 threads observing at once, or a thread past its
//! thread-local destructors) or a scrape has paused the cell for a moment. A snapshot adds every
//! cell's consistent read to the stripes' consistent snapshot.
//!
//! [`cells`]: super::cells
//!
//! A *stripe* holds a state word and two shards of `[sum_ns, sum_f64, buckets...]`. The state
//! holds the hot shard in its top bit and the number of observations started in the rest. An
//! observation starts on the state, adds to the hot shard's sum, then to its bucket: the bucket
//! increment marks it complete, so there is no separate count. A scrape flips which shard is
//! hot, waits for the observations already started on the old one to finish, reads it, and
//! folds it into the new hot shard. Observers never wait and take no lock; every scrape sees
//! bucket counts, `_count` and `_sum` of exactly the same observations. (The technique of
//! Prometheus' Go client.)
//!
//! A shard may also hold *outcome* cells after its buckets (an instrumented function's error
//! kinds): an observation with an outcome adds to its cell before its bucket, so one snapshot
//! gives the outcomes of exactly the observations it counts, and what is not an outcome
//! (`count` minus their total, a function's `ok` calls) is derived without a cell of its own.
//!
//! Exemplars sit beside the stripes, one cell per bucket, made when the series first records one:
//! an observation made in a sampled trace context (see [`crate::trace`]) writes its bucket's
//! cell after it completes. They are not part of the snapshot's consistency: a scrape writes
//! each bucket's latest exemplar as it finds it.
//!
//! A series starts with one stripe, costing what an unstriped one would. An observation starts
//! with a compare-and-swap on the state: when it fails, another thread is observing the same
//! series at the same moment, and the series grows one stripe per CPU (never per thread); from
//! then on each thread observes into the stripe its slot picks, moving to another on a failed
//! swap, as Java's `LongAdder` does. A scrape reads every stripe; each stripe's snapshot is
//! consistent, so their sum is.

use std::sync::atomic::Ordering;
use std::sync::{OnceLock, PoisonError};

use once_cell::race::OnceBox;

use super::Buckets;
use super::cells::Cells;
use super::native::{Native, NativeBuckets, Placed, Reduction, Tables};
use crate::encoding::NativeSnapshot;
use crate::metrics::exemplar;
use crate::sync::{AtomicU64, Mutex, backoff};
use crate::trace::{self, Exemplar};

const HOT_BIT: u64 = 1 << 63;
/// 2^64 nanoseconds, in seconds: what the integer sum loses when it wraps.
const WRAP_SECONDS: f64 = 18_446_744_073.709_553;
const SUM_NS: usize = 0;
const SUM_F64: usize = 1;
const BUCKETS: usize = 2;
/// The most stripes a series grows to.
const MAX_STRIPES: usize = 16;

/// One cache line of cells, so stripes never share a line.
#[repr(align(64))]
struct Line([AtomicU64; 8]);

/// One stripe: `[state, shard 0 .., shard 1 ..]` over whole cache lines, and each shard's native
/// buckets if the histogram keeps them.
struct Stripe {
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

pub(crate) struct Core {
    buckets: Buckets,
    /// `BUCKETS`, one cell per bucket (`+Inf` included), then the outcome cells.
    stride: usize,
    /// Where the outcome cells start in a shard.
    outcomes_at: usize,
    /// The cell of voided observations (`stride` when there is none).
    void_at: usize,
    /// The first stripe, made on the first observation that does not go to a cell.
    base: OnceBox<Stripe>,
    /// The stripes besides `base`, made the first time two threads collide on it.
    more: OnceLock<Box<[Stripe]>>,
    /// The per-thread cells of a classic histogram (see the `cells` module); a native one uses
    /// stripes only.
    cells: Option<Cells>,
    scrape: Mutex<()>,
    exemplars: exemplar::Cells,
    /// Native buckets, if the histogram keeps them (behind a pointer: a classic histogram pays
    /// one word for them).
    native: Option<Box<Native>>,
}

/// A consistent view of every stripe's cold shard during a scrape.
pub(crate) struct Snapshot<'a> {
    core: &'a Core,
    /// The stripes read (more may appear during the scrape; they are read by the next one).
    stripes: usize,
    /// Each stripe's cold shard.
    cold: [u8; MAX_STRIPES],
    /// The cells' bucket and outcome counts, summed (at a shard's offsets; empty if no thread
    /// observed through a cell).
    cells: Vec<u64>,
    pub(crate) count: u64,
    pub(crate) sum: f64,
}

impl Core {
    pub(crate) fn new(buckets: Buckets) -> Self {
        Self::with_outcomes(buckets, 0)
    }

    /// A core whose shards also count `outcomes` kinds of observation.
    pub(crate) fn with_outcomes(buckets: Buckets, outcomes: usize) -> Self {
        Self::with_native(buckets, outcomes, None)
    }

    /// A core that also keeps native buckets, if `native` is given.
    pub(crate) fn with_native(
        buckets: Buckets,
        outcomes: usize,
        native: Option<NativeBuckets>,
    ) -> Self {
        let outcomes_at = BUCKETS + buckets.0.le.len();
        // The last cell counts voided observations (native histograms only; see `void`).
        let void_at = outcomes_at + outcomes;
        let stride = void_at + usize::from(native.is_some());
        let core = Self {
            base: OnceBox::new(),
            cells: native.is_none().then(|| Cells::new(stride)),
            stride,
            outcomes_at,
            void_at,
            buckets,
            more: OnceLock::new(),
            scrape: Mutex::new(()),
            exemplars: exemplar::Cells::default(),
            native: native.map(|n| Box::new(Native::new(n))),
        };
        // Loom cannot see the ordering `OnceBox` gives (see `collided`).
        #[cfg(loom)]
        core.base();
        core
    }

    /// The first stripe, made if it is not yet.
    #[inline]
    fn base(&self) -> &Stripe {
        self.base.get_or_init(|| Box::new(self.new_stripe()))
    }

    pub(crate) fn buckets(&self) -> &Buckets {
        &self.buckets
    }

    #[inline]
    fn cell<'s>(&self, stripe: &'s Stripe, shard: usize, offset: usize) -> &'s AtomicU64 {
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
            // Under loom, stripes are made up front (`striped`): loom cannot see the ordering
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

    /// A core that has already grown `n` stripes besides its first.
    #[cfg(all(test, loom))]
    fn striped(buckets: Buckets, n: usize) -> Self {
        let mut core = Self::new(buckets);
        // Observations go to the stripes only.
        core.cells = None;
        let _ = core.more.set(core.make_stripes(n));
        core
    }

    /// Starts an observation of `v` and counts it in its native bucket, if the histogram keeps
    /// them: the stripe and shard to complete it in, and whether the native buckets are now past
    /// their maximum. An observation whose bucket finds its shard's table full is voided (it
    /// completes without counting), the buckets are reduced (unless another thread just did),
    /// and it starts again. Every reduction halves the resolution, so this ends; once nothing can
    /// be reduced, observers may fill the whole table. Should even that not fit (values over more
    /// 16-octave buckets than the table has slots), the observation is counted without a native
    /// bucket, as NaN is.
    #[inline]
    fn begin_native(&self, v: f64) -> (&Stripe, usize, bool) {
        let Some(native) = &self.native else {
            let (stripe, shard) = self.begin();
            return (stripe, shard, false);
        };
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
    fn finish(&self, stripe: &Stripe, shard: usize, bucket: usize) {
        self.cell(stripe, shard, BUCKETS + bucket)
            .fetch_add(1, Ordering::Release);
    }

    #[inline]
    pub(crate) fn observe(&self, v: f64, has_buckets: bool) {
        let bucket = if has_buckets {
            self.buckets.index_of(v)
        } else {
            0
        };
        if let Some(cells) = &self.cells
            && let Some(cell) = cells.mine(self.stride)
            && cell.write(|w| {
                w.add_f64(SUM_F64, v);
                w.add(BUCKETS + bucket, 1);
            })
        {
            if has_buckets && trace::in_use() {
                self.exemplar(bucket, v);
            }
            return;
        }
        self.observe_striped(v, bucket, has_buckets);
    }

    /// Observes `v` into the stripes (apart, so the cell path above stays small).
    #[inline(never)]
    fn observe_striped(&self, v: f64, bucket: usize, has_buckets: bool) {
        let (stripe, shard, reduce) = match self.native.is_some() {
            false => {
                let (stripe, shard) = self.begin();
                (stripe, shard, false)
            }
            true => self.begin_native(v),
        };
        add_f64(self.cell(stripe, shard, SUM_F64), v);
        self.finish(stripe, shard, bucket);
        if reduce && self.limit() {
            self.observe(v, has_buckets);
            return;
        }
        if has_buckets && trace::in_use() {
            self.exemplar(bucket, v);
        }
    }

    /// Keeps the current sampled trace, if there is one, as bucket `bucket`'s exemplar.
    #[cold]
    #[inline(never)]
    fn exemplar(&self, bucket: usize, v: f64) {
        if let Some(cx) = trace::sampled() {
            self.exemplars
                .record(self.outcomes_at - BUCKETS, bucket, &cx, v);
        }
    }

    /// The latest exemplar of bucket `i` (from 0, `+Inf` last).
    pub(crate) fn exemplar_of(&self, i: usize) -> Option<Exemplar> {
        self.exemplars.read(i)
    }

    #[inline]
    pub(crate) fn observe_ns(&self, ns: u64, has_buckets: bool) {
        self.observe_ns_as(ns, has_buckets, None);
    }

    /// Observes `ns`, counting it as `outcome` (an index among the core's outcome cells) if
    /// given.
    #[inline]
    pub(crate) fn observe_ns_as(&self, ns: u64, has_buckets: bool, outcome: Option<usize>) {
        let bucket = if has_buckets {
            self.buckets.index_of_ns(ns)
        } else {
            0
        };
        let outcome = outcome.filter(|&o| self.outcomes_at + o < self.void_at);
        if let Some(cells) = &self.cells
            && let Some(cell) = cells.mine(self.stride)
            && cell.write(|w| {
                if let Some(o) = outcome {
                    w.add(self.outcomes_at + o, 1);
                }
                if w.add(SUM_NS, ns).checked_add(ns).is_none() {
                    // The integer sum wrapped (over 584 years summed): the float sum takes the
                    // 2^64 ns it lost.
                    w.add_f64(SUM_F64, WRAP_SECONDS);
                }
                w.add(BUCKETS + bucket, 1);
            })
        {
            if has_buckets && trace::in_use() {
                self.exemplar(bucket, ns as f64 / 1e9);
            }
            return;
        }
        self.observe_ns_striped(ns, bucket, has_buckets, outcome);
    }

    /// Observes `ns` into the stripes (apart, so the cell path above stays small).
    #[inline(never)]
    fn observe_ns_striped(
        &self,
        ns: u64,
        bucket: usize,
        has_buckets: bool,
        outcome: Option<usize>,
    ) {
        let (stripe, shard, reduce) = match self.native.is_some() {
            false => {
                let (stripe, shard) = self.begin();
                (stripe, shard, false)
            }
            // A multiplication, not a division: a few cycles instead of a dozen or more.
            true => self.begin_native(ns as f64 * 1e-9),
        };
        if let Some(o) = outcome {
            self.cell(stripe, shard, self.outcomes_at + o)
                .fetch_add(1, Ordering::Relaxed);
        }
        let before = self
            .cell(stripe, shard, SUM_NS)
            .fetch_add(ns, Ordering::Relaxed);
        if before.checked_add(ns).is_none() {
            // The integer sum wrapped (over 584 years summed between two scrapes): the float
            // sum takes the 2^64 ns it lost, before `finish` publishes the observation.
            add_f64(self.cell(stripe, shard, SUM_F64), WRAP_SECONDS);
        }
        self.finish(stripe, shard, bucket);
        if reduce && self.limit() {
            self.observe_ns_as(ns, has_buckets, outcome);
            return;
        }
        if has_buckets && trace::in_use() {
            self.exemplar(bucket, ns as f64 / 1e9);
        }
    }

    /// Observations completed in one shard of `stripe`: the total of its buckets.
    fn completed(&self, stripe: &Stripe, shard: usize) -> u64 {
        (BUCKETS..self.outcomes_at)
            .chain(self.void_at..self.stride)
            .map(|offset| self.cell(stripe, shard, offset).load(Ordering::Acquire))
            .sum()
    }

    /// Runs `f` on a consistent snapshot. Scrapes of one series are serialised; observers are
    /// never blocked.
    pub(crate) fn snapshot<R>(&self, f: impl FnOnce(&Snapshot<'_>) -> R) -> R {
        let _serial = self.scrape.lock().unwrap_or_else(PoisonError::into_inner);
        // Buckets past the maximum are reduced before they are read.
        self.reduce_if_needed();
        let stripes = self.stripe_count().min(MAX_STRIPES);
        let mut snapshot = Snapshot {
            core: self,
            stripes: 0,
            cold: [0; MAX_STRIPES],
            cells: Vec::new(),
            count: 0,
            sum: 0.0,
        };
        // Fold the cold shards back even if `f` unwinds, or the next scrape would wait for
        // observations that will never arrive.
        let mut merge = Merge {
            core: self,
            stripes: 0,
            cold: [0; MAX_STRIPES],
        };
        for i in 0..stripes {
            let stripe = self.stripe(i);
            let state = stripe.state().fetch_add(HOT_BIT, Ordering::AcqRel);
            let started = state & !HOT_BIT;
            let cold = (state >> 63) as usize;
            merge.cold[i] = cold as u8;
            merge.stripes = i + 1;
            let mut spins = 0u32;
            while self.completed(stripe, cold) != started {
                // An observer between `begin` and `finish`: a handful of instructions away.
                spins += 1;
                backoff(spins);
            }
            snapshot.cold[i] = cold as u8;
            let voided: u64 = (self.void_at..self.stride)
                .map(|v| self.cell(stripe, cold, v).load(Ordering::Relaxed))
                .sum();
            snapshot.count += started - voided;
            snapshot.sum +=
                f64::from_bits(self.cell(stripe, cold, SUM_F64).load(Ordering::Relaxed))
                    + self.cell(stripe, cold, SUM_NS).load(Ordering::Relaxed) as f64 / 1e9;
        }
        snapshot.stripes = stripes;
        self.read_cells(&mut snapshot);
        let result = f(&snapshot);
        drop(merge);
        self.reduce_if_needed();
        result
    }

    /// Adds every cell's counts to `snapshot`.
    fn read_cells(&self, snapshot: &mut Snapshot<'_>) {
        let Some(cells) = self.cells.as_ref().filter(|c| c.each().next().is_some()) else {
            return;
        };
        let mut words = vec![0; self.stride];
        snapshot.cells = vec![0; self.stride];
        for cell in cells.each() {
            cell.read(&mut words);
            snapshot.sum += f64::from_bits(words[SUM_F64]) + words[SUM_NS] as f64 / 1e9;
            snapshot.count += words[BUCKETS..self.outcomes_at].iter().sum::<u64>();
            for (sum, word) in snapshot.cells.iter_mut().zip(&words).skip(BUCKETS) {
                *sum += word;
            }
        }
    }

    /// A table went past the most native buckets: reduce now, unless a scrape or another
    /// reduction holds the lock (it reduces when it is done). Whether the reduction was a reset,
    /// which discarded the observation that called for it: the caller then observes it again,
    /// as Go repeats the latest observation after a reset.
    #[cold]
    #[inline(never)]
    fn limit(&self) -> bool {
        if let Some(native) = &self.native {
            native.call_for_reduction();
        }
        match self.scrape.try_lock() {
            Ok(_serial) => self.reduce(false),
            Err(_) => false,
        }
    }

    /// Runs the reductions observations called for (those that found the lock taken). The
    /// scrape lock must be held.
    fn reduce_if_needed(&self) {
        self.reduce(false);
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

struct Merge<'a> {
    core: &'a Core,
    stripes: usize,
    cold: [u8; MAX_STRIPES],
}

impl Drop for Merge<'_> {
    fn drop(&mut self) {
        for i in 0..self.stripes {
            self.core.fold(i, usize::from(self.cold[i]));
        }
    }
}

impl Snapshot<'_> {
    /// The native buckets of the observations counted, if the histogram keeps them.
    pub(crate) fn native(&self) -> Option<NativeSnapshot> {
        let native = self.core.native.as_ref()?;
        let cold =
            (0..self.stripes).map(|s| (self.core.stripe(s).tables(), usize::from(self.cold[s])));
        Some(native.snapshot(cold))
    }

    /// How many of the observations counted had outcome `o`.
    pub(crate) fn outcome(&self, o: usize) -> u64 {
        let offset = self.core.outcomes_at + o;
        if offset >= self.core.void_at {
            return 0;
        }
        let in_stripes: u64 = (0..self.stripes)
            .map(|s| {
                let cold = usize::from(self.cold[s]);
                self.core
                    .cell(self.core.stripe(s), cold, offset)
                    .load(Ordering::Relaxed)
            })
            .sum();
        in_stripes + self.cells.get(offset).copied().unwrap_or(0)
    }

    /// The cumulative count of every bucket, `+Inf` last.
    pub(crate) fn buckets(&self) -> impl Iterator<Item = u64> + '_ {
        let mut cumulative = 0;
        self.core
            .buckets
            .0
            .le
            .iter()
            .enumerate()
            .map(move |(i, _)| {
                for s in 0..self.stripes {
                    let stripe = self.core.stripe(s);
                    let cold = usize::from(self.cold[s]);
                    cumulative += self
                        .core
                        .cell(stripe, cold, BUCKETS + i)
                        .load(Ordering::Relaxed);
                }
                cumulative += self.cells.get(BUCKETS + i).copied().unwrap_or(0);
                cumulative
            })
    }
}

#[inline]
fn add_f64(cell: &AtomicU64, v: f64) {
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

/// Run with `RUSTFLAGS="--cfg loom" cargo test -p vitalsign --lib --release loom`
/// (`.ci/run` does).
#[cfg(all(test, loom))]
mod loom_model {
    use super::Core;
    use crate::metrics::{Buckets, Histogram, NativeBuckets};

    /// Two observers, one per bucket, twice each, race a scrape. In every interleaving loom
    /// explores, the scrape sees whole observations only: `+Inf` equals the count and the sum is
    /// exactly the sum of the observations its buckets show; once both are done, nothing is lost.
    fn consistent(h: Histogram) {
        let h = loom::sync::Arc::new(h);
        let observers: Vec<_> = [0.5, 2.0]
            .into_iter()
            .map(|v| {
                let h = h.clone();
                loom::thread::spawn(move || {
                    h.observe(v);
                    h.observe(v);
                })
            })
            .collect();
        let (buckets, count, sum) = h.snapshot().into_parts();
        let (low, all) = (buckets[0].1, buckets[1].1);
        assert_eq!(all, count);
        assert!(low <= 2 && all - low <= 2);
        assert_eq!(sum, 0.5 * low as f64 + 2.0 * (all - low) as f64);
        for o in observers {
            o.join().unwrap();
        }
        let (buckets, count, sum) = h.snapshot().into_parts();
        assert_eq!((buckets[0].1, buckets[1].1, count, sum), (2, 4, 4, 5.0));
    }

    /// The observers write their own cells (each has a slot), which the scrape reads.
    #[test]
    fn loom_snapshots_of_per_thread_cells_are_consistent() {
        loom::model(|| consistent(Histogram::new(Buckets::new([1.0]).unwrap())));
    }

    /// The same with two stripes and no cells: the observers' slots put them in one stripe or in two, and
    /// their collisions move them between stripes.
    #[test]
    fn loom_snapshots_of_two_stripes_are_consistent() {
        loom::model(|| {
            consistent(Histogram {
                core: Core::striped(Buckets::new([1.0]).unwrap(), 1),
            })
        });
    }

    /// Two observers put one value each in the native buckets (two new keys racing for slots of
    /// one small table: 1.5 and 3 are buckets 1 and 2 at schema 0), while a scrape rotates the
    /// shards. Every scrape shows the native buckets of exactly the observations it counts, the
    /// classic buckets agreeing; once both are done, both buckets hold one each.
    #[test]
    fn loom_native_buckets_count_what_the_scrape_counts() {
        loom::model(|| {
            let native = NativeBuckets::with_schema(0).unwrap().max_buckets(2);
            let h = Histogram::with_native(Buckets::new([2.0]).unwrap(), native);
            let h = loom::sync::Arc::new(h);
            let observers: Vec<_> = [1.5, 3.0]
                .into_iter()
                .map(|v| {
                    let h = h.clone();
                    loom::thread::spawn(move || h.observe(v))
                })
                .collect();
            let s = h.snapshot();
            let n = s.native.unwrap();
            let (low, high) = (s.buckets[0].1, s.count - s.buckets[0].1);
            let mut expected = Vec::new();
            expected.extend((low == 1).then_some((1, 1)));
            expected.extend((high == 1).then_some((2, 1)));
            assert_eq!((n.schema, n.zero, n.positive), (0, 0, expected));
            assert_eq!(s.sum, 1.5 * low as f64 + 3.0 * high as f64);
            for o in observers {
                o.join().unwrap();
            }
            let n = h.snapshot().native.unwrap();
            assert_eq!((n.schema, n.positive), (0, vec![(1, 1), (2, 1)]));
        });
    }

    /// At most one bucket: a second bucket calls for a reduction (each observation that finds
    /// the table past the maximum calls for one, so schema 3 goes to 2, or to 1 where 1.5 and
    /// 1.75 share a bucket), which rotates the shards and folds the buckets into the new schema
    /// while the other observer and a scrape race it. Whatever the order, every scrape shows each
    /// counted observation in its own value's bucket at the schema it reports, and nothing is
    /// lost or counted twice.
    #[test]
    fn loom_a_reduction_racing_observers_and_a_scrape_loses_nothing() {
        loom::model(|| {
            let native = NativeBuckets::with_schema(3).unwrap().max_buckets(1);
            let h = Histogram::with_native(Buckets::new([1.6]).unwrap(), native);
            let h = loom::sync::Arc::new(h);
            let observers: Vec<_> = [1.5, 1.75]
                .into_iter()
                .map(|v| {
                    let h = h.clone();
                    loom::thread::spawn(move || h.observe(v))
                })
                .collect();
            // Neither value is a bucket bound at any schema.
            let key = |v: f64, schema: i32| (v.log2() * 2f64.powi(schema)).ceil() as i32;
            let check = |s: crate::metrics::HistogramSnapshot| {
                let n = s.native.unwrap();
                let (low, high) = (s.buckets[0].1, s.count - s.buckets[0].1);
                let mut expected: Vec<(i32, u64)> =
                    [(key(1.5, n.schema), low), (key(1.75, n.schema), high)]
                        .into_iter()
                        .filter(|b| b.1 > 0)
                        .collect();
                expected.dedup_by(|b, a| {
                    a.0 == b.0 && {
                        a.1 += b.1;
                        true
                    }
                });
                assert!((1..=3).contains(&n.schema), "schema {}", n.schema);
                assert_eq!((n.zero, &n.positive), (0, &expected));
                (low, high)
            };
            check(h.snapshot());
            for o in observers {
                o.join().unwrap();
            }
            assert_eq!(check(h.snapshot()), (1, 1));
        });
    }
}
