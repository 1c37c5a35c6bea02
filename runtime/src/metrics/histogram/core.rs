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

use super::Buckets;
use super::cells::{Cells, Writer};
use super::native::NativeBuckets;
use crate::encoding::NativeSnapshot;
use crate::metrics::exemplar;
use crate::trace::{self, Exemplar};

#[cfg(all(test, loom))]
mod loom_model;
mod stripes;

use stripes::{BUCKETS, Frozen, SUM_F64, SUM_NS, Stripe, Stripes, add_f64};

/// 2^64 nanoseconds, in seconds: what the integer sum loses when it wraps.
const WRAP_SECONDS: f64 = 18_446_744_073.709_553;

pub(crate) struct Core {
    buckets: Buckets,
    /// The per-thread cells of a classic histogram (see the `cells` module); a native one uses
    /// stripes only.
    cells: Option<Cells>,
    stripes: Stripes,
    exemplars: exemplar::Cells,
}

/// A consistent view of a series during a scrape: the stripes' cold shards and the cells.
pub(crate) struct Snapshot<'a> {
    core: &'a Core,
    frozen: Frozen<'a>,
    /// The cells' bucket and outcome counts, summed (at a shard's offsets; empty if no thread
    /// observed through a cell).
    cells: Vec<u64>,
    pub(crate) count: u64,
    pub(crate) sum: f64,
}

/// An observation's value as the front doors take it: seconds as a float, or nanoseconds. One
/// skeleton records both (`Core::record`); each kind says how it finds its bucket and adds to
/// a sum.
trait Sample: Copy {
    fn bucket(self, buckets: &Buckets) -> usize;
    /// Adds the value to a per-thread cell's sums.
    fn add_to_cell(self, w: Writer<'_>);
    /// Adds the value to a started observation's shard, before it completes.
    fn add_to_shard(self, stripes: &Stripes, stripe: &Stripe, shard: usize);
    /// The value in seconds, for the native buckets.
    fn seconds(self) -> f64;
    /// The value an exemplar keeps.
    fn exemplar_value(self) -> f64;
}

#[derive(Clone, Copy)]
struct Seconds(f64);

#[derive(Clone, Copy)]
struct Nanos(u64);

impl Sample for Seconds {
    #[inline(always)]
    fn bucket(self, buckets: &Buckets) -> usize {
        buckets.index_of(self.0)
    }

    #[inline(always)]
    fn add_to_cell(self, w: Writer<'_>) {
        w.add_f64(SUM_F64, self.0);
    }

    #[inline(always)]
    fn add_to_shard(self, stripes: &Stripes, stripe: &Stripe, shard: usize) {
        add_f64(stripes.cell(stripe, shard, SUM_F64), self.0);
    }

    #[inline(always)]
    fn seconds(self) -> f64 {
        self.0
    }

    #[inline(always)]
    fn exemplar_value(self) -> f64 {
        self.0
    }
}

impl Sample for Nanos {
    #[inline(always)]
    fn bucket(self, buckets: &Buckets) -> usize {
        buckets.index_of_ns(self.0)
    }

    #[inline(always)]
    fn add_to_cell(self, w: Writer<'_>) {
        let ns = self.0;
        if w.add(SUM_NS, ns).checked_add(ns).is_none() {
            // The integer sum wrapped (over 584 years summed): the float sum takes the 2^64 ns
            // it lost.
            w.add_f64(SUM_F64, WRAP_SECONDS);
        }
    }

    #[inline(always)]
    fn add_to_shard(self, stripes: &Stripes, stripe: &Stripe, shard: usize) {
        let ns = self.0;
        let before = stripes
            .cell(stripe, shard, SUM_NS)
            .fetch_add(ns, std::sync::atomic::Ordering::Relaxed);
        if before.checked_add(ns).is_none() {
            // The integer sum wrapped (over 584 years summed between two scrapes): the float
            // sum takes the 2^64 ns it lost, before `finish` publishes the observation.
            add_f64(stripes.cell(stripe, shard, SUM_F64), WRAP_SECONDS);
        }
    }

    #[inline(always)]
    fn seconds(self) -> f64 {
        // A multiplication, not a division: a few cycles instead of a dozen or more.
        self.0 as f64 * 1e-9
    }

    #[inline(always)]
    fn exemplar_value(self) -> f64 {
        self.0 as f64 / 1e9
    }
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
        let classic = native.is_none();
        let stripes = Stripes::new(buckets.count(), outcomes, native);
        Self {
            cells: classic.then(|| Cells::new(stripes.stride)),
            stripes,
            buckets,
            exemplars: exemplar::Cells::default(),
        }
    }

    /// A core that has already grown `n` stripes besides its first, and observes into stripes
    /// only.
    #[cfg(all(test, loom))]
    fn striped(buckets: Buckets, n: usize) -> Self {
        let mut core = Self::new(buckets);
        core.cells = None;
        core.stripes = core.stripes.grown(n);
        core
    }

    /// Moves the native buckets' last reset `ns` further into the past.
    pub(crate) fn backdate_reset(&self, ns: u64) {
        self.stripes.backdate_reset(ns);
    }

    pub(crate) fn buckets(&self) -> &Buckets {
        &self.buckets
    }

    #[inline]
    pub(crate) fn observe(&self, v: f64, has_buckets: bool) {
        self.record(Seconds(v), has_buckets, None);
    }

    #[inline]
    pub(crate) fn observe_ns(&self, ns: u64, has_buckets: bool) {
        self.record(Nanos(ns), has_buckets, None);
    }

    /// Observes `ns`, counting it as `outcome` (an index among the core's outcome cells) if
    /// given.
    #[inline]
    pub(crate) fn observe_ns_as(&self, ns: u64, has_buckets: bool, outcome: Option<usize>) {
        self.record(Nanos(ns), has_buckets, outcome);
    }

    /// Every observation's path: into the thread's cell if it has one it may write, else into
    /// the stripes.
    #[inline(always)]
    fn record(&self, sample: impl Sample, has_buckets: bool, outcome: Option<usize>) {
        let bucket = if has_buckets {
            sample.bucket(&self.buckets)
        } else {
            0
        };
        let stripes = &self.stripes;
        let outcome = outcome.filter(|&o| stripes.outcomes_at + o < stripes.void_at);
        if let Some(cells) = &self.cells
            && let Some(cell) = cells.mine(stripes.stride)
            && cell.write(|w| {
                if let Some(o) = outcome {
                    w.add(stripes.outcomes_at + o, 1);
                }
                sample.add_to_cell(w);
                w.add(BUCKETS + bucket, 1);
            })
        {
            if has_buckets && trace::in_use() {
                self.exemplar(bucket, sample.exemplar_value());
            }
            return;
        }
        self.record_striped(sample, bucket, has_buckets, outcome);
    }

    /// Records into the stripes (apart, so the cell path above stays small).
    #[inline(never)]
    fn record_striped(
        &self,
        sample: impl Sample,
        bucket: usize,
        has_buckets: bool,
        outcome: Option<usize>,
    ) {
        let stripes = &self.stripes;
        let (stripe, shard, reduce) = stripes.start(|| sample.seconds());
        if let Some(o) = outcome {
            stripes
                .cell(stripe, shard, stripes.outcomes_at + o)
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        sample.add_to_shard(stripes, stripe, shard);
        stripes.finish(stripe, shard, bucket);
        if reduce && stripes.limit() {
            // A reset discarded this observation: it is made again.
            self.record_again(sample, has_buckets, outcome);
            return;
        }
        if has_buckets && trace::in_use() {
            self.exemplar(bucket, sample.exemplar_value());
        }
    }

    #[cold]
    #[inline(never)]
    fn record_again(&self, sample: impl Sample, has_buckets: bool, outcome: Option<usize>) {
        self.record(sample, has_buckets, outcome);
    }

    /// Keeps the current sampled trace, if there is one, as bucket `bucket`'s exemplar.
    #[cold]
    #[inline(never)]
    fn exemplar(&self, bucket: usize, v: f64) {
        if let Some(cx) = trace::sampled() {
            let buckets = self.stripes.outcomes_at - BUCKETS;
            self.exemplars.record(buckets, bucket, &cx, v);
        }
    }

    /// The latest exemplar of bucket `i` (from 0, `+Inf` last).
    pub(crate) fn exemplar_of(&self, i: usize) -> Option<Exemplar> {
        self.exemplars.read(i)
    }

    /// Runs `f` on a consistent snapshot. Scrapes of one series are serialised; observers are
    /// never blocked.
    pub(crate) fn snapshot<R>(&self, f: impl FnOnce(&Snapshot<'_>) -> R) -> R {
        self.stripes.snapshot(|frozen| {
            let mut snapshot = Snapshot {
                core: self,
                count: frozen.count,
                sum: frozen.sum,
                frozen,
                cells: Vec::new(),
            };
            self.read_cells(&mut snapshot);
            f(&snapshot)
        })
    }

    /// Adds every cell's counts to `snapshot`.
    fn read_cells(&self, snapshot: &mut Snapshot<'_>) {
        let Some(cells) = self.cells.as_ref().filter(|c| c.each().next().is_some()) else {
            return;
        };
        let stride = self.stripes.stride;
        let mut words = vec![0; stride];
        snapshot.cells = vec![0; stride];
        for cell in cells.each() {
            cell.read(&mut words);
            snapshot.sum += f64::from_bits(words[SUM_F64]) + words[SUM_NS] as f64 / 1e9;
            snapshot.count += words[BUCKETS..self.stripes.outcomes_at].iter().sum::<u64>();
            for (sum, word) in snapshot.cells.iter_mut().zip(&words).skip(BUCKETS) {
                *sum += word;
            }
        }
    }
}

impl Snapshot<'_> {
    /// The native buckets of the observations counted, if the histogram keeps them.
    pub(crate) fn native(&self) -> Option<NativeSnapshot> {
        self.frozen.native()
    }

    /// How many of the observations counted had outcome `o`.
    pub(crate) fn outcome(&self, o: usize) -> u64 {
        let offset = self.core.stripes.outcomes_at + o;
        if offset >= self.core.stripes.void_at {
            return 0;
        }
        self.frozen.total(offset) + self.cells.get(offset).copied().unwrap_or(0)
    }

    /// The cumulative count of every bucket, `+Inf` last.
    pub(crate) fn buckets(&self) -> impl Iterator<Item = u64> + '_ {
        let mut cumulative = 0;
        (0..self.core.buckets.count()).map(move |i| {
            cumulative += self.frozen.total(BUCKETS + i);
            cumulative += self.cells.get(BUCKETS + i).copied().unwrap_or(0);
            cumulative
        })
    }
}
