//! Per-thread cells: where classic histograms and summaries count without locked instructions.
//!
//! Every thread that observes gets a small number, its *slot*, the lowest one free (at most
//! [`MAX_SLOTS`] at once; a thread that finds none observes through the shared stripes, as do
//! threads whose slot was already given back while they shut down). A series keeps one
//! [`Cell`] per slot that observed it, made on that slot's first observation: a sequence word,
//! a pause flag, then the same cells as a shard of a stripe (`[sum_ns, sum_f64, buckets...,
//! outcomes...]`), over whole cache lines so no two threads' cells share one.
//!
//! Only the thread holding the slot writes its cell, so it adds with a load and a store rather
//! than a locked read-modify-write. A write makes the sequence odd, changes the cells and makes
//! it even again; a scrape reads the sequence, the cells and the sequence again, and keeps the
//! read when nothing changed in between (a sequence lock, in atomics: no `unsafe`). A scrape
//! that keeps losing to a busy writer raises the cell's pause flag: the writer's next
//! observations go to the shared stripes until the scrape has read the cell, so the scrape
//! finishes after at most one more write. Every cell read is consistent, and so is the stripes'
//! snapshot, so their sum is.
//!
//! When a thread exits its slot goes back to be reused by a later thread, cells and counts
//! included: a series holds at most one cell per thread alive at once, never one per thread
//! ever started. The slot's handover goes through a lock, so the next holder sees every count
//! of the last.

use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

#[cfg(loom)]
use loom::sync::atomic::fence;
use once_cell::race::OnceBox;
#[cfg(not(loom))]
use std::sync::atomic::fence;

use crate::sync::{AtomicU64, backoff};

/// The most threads that observe through cells at once; further ones use the stripes.
#[cfg(not(loom))]
pub(crate) const MAX_SLOTS: usize = 64;
#[cfg(loom)]
pub(crate) const MAX_SLOTS: usize = 4;
/// Cells are made in chunks of this many slots.
const CHUNK: usize = if MAX_SLOTS < 8 { MAX_SLOTS } else { 8 };
const SEQ: usize = 0;
const PAUSE: usize = 1;
/// Where the counting cells start.
const DATA: usize = 2;
/// Failed reads before a scrape pauses the writer.
#[cfg(not(loom))]
const PATIENCE: u32 = 8;
#[cfg(loom)]
const PATIENCE: u32 = 1;

/// One cache line of words.
#[repr(align(64))]
struct Line([AtomicU64; 8]);

/// One thread's counts for one series.
pub(crate) struct Cell {
    lines: Box<[Line]>,
}

impl Cell {
    /// A cell of `len` counting words, all zero.
    fn new(len: usize) -> Self {
        Self {
            lines: (0..(DATA + len).div_ceil(8))
                .map(|_| Line(std::array::from_fn(|_| AtomicU64::new(0))))
                .collect(),
        }
    }

    #[inline]
    fn at(&self, i: usize) -> &AtomicU64 {
        &self.lines[i >> 3].0[i & 7]
    }

    /// Runs `write` as one write of the cell, unless a scrape has paused it (then `false`, and
    /// nothing was written). Only the cell's slot holder may call this.
    #[inline]
    pub(crate) fn write(&self, write: impl FnOnce(Writer<'_>)) -> bool {
        if self.at(PAUSE).load(Relaxed) != 0 {
            return false;
        }
        let seq = self.at(SEQ).load(Relaxed);
        self.at(SEQ).store(seq.wrapping_add(1), Relaxed);
        // The odd sequence is seen before any change it covers.
        fence(Release);
        write(Writer(self));
        self.at(SEQ).store(seq.wrapping_add(2), Release);
        true
    }

    /// Reads the counting words into `into` (as many as it holds), all from between two writes.
    pub(crate) fn read(&self, into: &mut [u64]) {
        let mut tries = 0u32;
        loop {
            let seq = self.at(SEQ).load(Acquire);
            if seq & 1 == 0 {
                for (i, word) in into.iter_mut().enumerate() {
                    *word = self.at(DATA + i).load(Relaxed);
                }
                // The words are read before the sequence is read again.
                fence(Acquire);
                if self.at(SEQ).load(Relaxed) == seq {
                    break;
                }
            }
            tries += 1;
            if tries == PATIENCE {
                self.at(PAUSE).store(1, Relaxed);
            }
            backoff(tries);
        }
        if tries >= PATIENCE {
            self.at(PAUSE).store(0, Relaxed);
        }
    }
}

/// A write in progress on a cell.
#[derive(Clone, Copy)]
pub(crate) struct Writer<'a>(&'a Cell);

impl Writer<'_> {
    /// Adds `n` to word `i`; the word before.
    #[inline]
    pub(crate) fn add(self, i: usize, n: u64) -> u64 {
        let word = self.0.at(DATA + i);
        let before = word.load(Relaxed);
        word.store(before.wrapping_add(n), Relaxed);
        before
    }

    /// Adds `v` to word `i`, which holds an `f64`.
    #[inline]
    pub(crate) fn add_f64(self, i: usize, v: f64) {
        let word = self.0.at(DATA + i);
        word.store((f64::from_bits(word.load(Relaxed)) + v).to_bits(), Relaxed);
    }
}

/// A series' cells, one per slot that observed it.
pub(crate) struct Cells {
    chunks: [OnceBox<[OnceBox<Cell>; CHUNK]>; MAX_SLOTS / CHUNK],
}

impl Cells {
    /// No cells yet (under loom, every slot's cell of `len` words made up front: loom cannot see
    /// the ordering `OnceBox` gives between the thread that fills it and those that read it).
    pub(crate) fn new(len: usize) -> Self {
        let cells = Self {
            chunks: std::array::from_fn(|_| OnceBox::new()),
        };
        #[cfg(loom)]
        for slot in 0..MAX_SLOTS {
            cells.make(slot, len);
        }
        let _ = len;
        cells
    }

    /// The calling thread's cell, made with `len` words if it has none; `None` if the thread has
    /// no slot.
    #[inline]
    pub(crate) fn mine(&self, len: usize) -> Option<&Cell> {
        let slot = slot::current()?;
        let cell = self
            .chunks
            .get(slot / CHUNK)
            .and_then(OnceBox::get)
            .and_then(|chunk| chunk[slot % CHUNK].get());
        match cell {
            Some(cell) => Some(cell),
            None => Some(self.make(slot, len)),
        }
    }

    #[cold]
    #[inline(never)]
    fn make(&self, slot: usize, len: usize) -> &Cell {
        let chunk = self.chunks[slot / CHUNK]
            .get_or_init(|| Box::new(std::array::from_fn(|_| OnceBox::new())));
        chunk[slot % CHUNK].get_or_init(|| Box::new(Cell::new(len)))
    }

    /// Every cell made so far.
    pub(crate) fn each(&self) -> impl Iterator<Item = &Cell> {
        self.chunks
            .iter()
            .filter_map(OnceBox::get)
            .flat_map(|chunk| chunk.iter().filter_map(OnceBox::get))
    }
}

/// Each thread's slot: taken on its first observation, given back when it exits.
mod slot {
    use std::cell::Cell;
    use std::sync::{Mutex, PoisonError};

    use super::MAX_SLOTS;

    /// Not taken yet.
    const UNSET: usize = usize::MAX;
    /// No slot: none was free, or the thread is exiting.
    const NONE: usize = usize::MAX - 1;

    /// Which slots are taken.
    pub(super) struct Slots(Mutex<[bool; MAX_SLOTS]>);

    impl Slots {
        pub(super) const fn new() -> Self {
            Self(Mutex::new([false; MAX_SLOTS]))
        }

        /// Takes the lowest free slot, if any is.
        #[cfg_attr(
            loom,
            allow(
                dead_code,
                reason = "under loom, slots come from a counter reset for each execution"
            )
        )]
        pub(super) fn take(&self) -> Option<usize> {
            let mut taken = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            let slot = taken.iter().position(|t| !t)?;
            taken[slot] = true;
            Some(slot)
        }

        /// Frees `slot` (nothing if it is none).
        pub(super) fn give_back(&self, slot: usize) {
            if let Some(t) = self
                .0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_mut(slot)
            {
                *t = false;
            }
        }
    }

    static SLOTS: Slots = Slots::new();

    /// Gives the slot back when the thread exits.
    struct Holder;

    impl Drop for Holder {
        fn drop(&mut self) {
            if let Ok(slot) = SLOT.try_with(|s| s.replace(NONE)) {
                SLOTS.give_back(slot);
            }
        }
    }

    // Loom runs its threads on one OS thread, so a model needs loom's per-model-thread locals.
    #[cfg(not(loom))]
    thread_local! {
        static SLOT: Cell<usize> = const { Cell::new(UNSET) };
        static HOLDER: Holder = const { Holder };
    }
    #[cfg(loom)]
    loom::thread_local! {
        static SLOT: Cell<usize> = Cell::new(UNSET);
        static HOLDER: Holder = Holder;
    }

    /// The calling thread's slot, if it has one.
    #[inline]
    pub(super) fn current() -> Option<usize> {
        match SLOT.try_with(Cell::get).ok()? {
            UNSET => take(),
            NONE => None,
            slot => Some(slot),
        }
    }

    #[cold]
    #[inline(never)]
    fn take() -> Option<usize> {
        // A model must take the same slots in every execution: a counter loom resets for each.
        #[cfg(loom)]
        let slot = {
            loom::lazy_static! {
                static ref NEXT: loom::sync::atomic::AtomicUsize =
                    loom::sync::atomic::AtomicUsize::new(0);
            }
            Some(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % MAX_SLOTS)
        };
        #[cfg(not(loom))]
        let slot = SLOTS.take();
        // Touching the holder registers its destructor; a thread already past its destructors
        // gives the slot straight back.
        if HOLDER.try_with(|_| ()).is_err() {
            SLOTS.give_back(slot.unwrap_or(NONE));
            return None;
        }
        SLOT.with(|s| s.set(slot.unwrap_or(NONE)));
        slot
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_write_is_read_whole() {
        let cells = Cells::new(3);
        let cell = cells.mine(3).unwrap();
        assert!(cell.write(|w| {
            assert_eq!(w.add(0, 5), 0);
            w.add_f64(1, 0.25);
            w.add(2, 1);
        }));
        assert!(cell.write(|w| assert_eq!(w.add(0, 2), 5)));
        let mut words = [0; 3];
        cell.read(&mut words);
        assert_eq!(words, [7, 0.25f64.to_bits(), 1]);
        assert_eq!(cells.each().count(), 1);
    }

    #[test]
    fn the_lowest_free_slot_is_taken_and_none_past_the_last() {
        let slots = slot::Slots::new();
        assert_eq!(
            (0..MAX_SLOTS).map(|_| slots.take()).collect::<Vec<_>>(),
            (0..MAX_SLOTS).map(Some).collect::<Vec<_>>()
        );
        assert_eq!(slots.take(), None);
        slots.give_back(9);
        slots.give_back(3);
        slots.give_back(usize::MAX - 1);
        assert_eq!(
            (slots.take(), slots.take(), slots.take()),
            (Some(3), Some(9), None)
        );
    }
}

/// Run with `RUSTFLAGS="--cfg loom" cargo test -p vitalsign --lib --release loom`
/// (`.ci/run` does).
#[cfg(all(test, loom))]
mod loom_model {
    use super::*;

    /// A writer adds to two words of its cell twice, as an observation adds to its sum and its
    /// bucket; a scrape reading the cell meanwhile sees both words of the same writes, and
    /// paused writes report it (the caller then counts them elsewhere).
    #[test]
    fn loom_a_cell_is_read_between_writes() {
        loom::model(|| {
            let cell = loom::sync::Arc::new(Cell::new(2));
            let writer = {
                let cell = cell.clone();
                loom::thread::spawn(move || {
                    let mut written = 0;
                    for _ in 0..2 {
                        written += u64::from(cell.write(|w| {
                            w.add(0, 3);
                            w.add(1, 1);
                        }));
                    }
                    written
                })
            };
            let mut words = [0; 2];
            cell.read(&mut words);
            assert_eq!(words[0], 3 * words[1]);
            assert!(words[1] <= 2);
            let written = writer.join().unwrap();
            cell.read(&mut words);
            assert_eq!(words, [3 * written, written]);
        });
    }
}
