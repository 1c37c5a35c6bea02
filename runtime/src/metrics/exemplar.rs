//! Exemplars, and where they are kept: one cell per histogram bucket (or per counter), the
//! latest observation made in a sampled trace context winning.
//!
//! A cell is a sequence lock over plain atomic words, so it needs no `unsafe` and no lock: a
//! writer claims the cell by moving its sequence number to odd, writes, and moves it to the next
//! even number; a writer that finds the cell claimed gives up (another observation of the same
//! moment is just as recent). A reader retries while the sequence number moves under it.
//! Writing allocates nothing; a series allocates its cells the first time it records one.

use std::sync::atomic::Ordering;

use once_cell::race::OnceBox;

use crate::clock;
use crate::sync::{AtomicU64, fence};
use crate::trace::{Exemplar, TraceContext};

#[repr(align(64))]
#[derive(Default)]
pub(crate) struct Cell {
    seq: AtomicU64,
    trace_hi: AtomicU64,
    trace_lo: AtomicU64,
    span: AtomicU64,
    value: AtomicU64,
    unix_ns: AtomicU64,
}

impl Cell {
    #[inline]
    pub(crate) fn record(&self, cx: &TraceContext, value: f64) {
        let seq = self.seq.load(Ordering::Relaxed);
        if seq & 1 == 1
            || self
                .seq
                .compare_exchange(seq, seq + 1, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        // The claim acquires the last writer's words (its even sequence number released them),
        // so this writer's words come after them: without it, a reader could pair a word of this
        // exemplar with a late word of the last (loom found it).
        // Readers that see any word below also see the odd sequence number.
        fence(Ordering::Release);
        let trace = cx.trace_id();
        let (hi, lo) = trace.split_at(8);
        let word = |b: &[u8]| u64::from_be_bytes(b.try_into().unwrap_or_default());
        self.trace_hi.store(word(hi), Ordering::Relaxed);
        self.trace_lo.store(word(lo), Ordering::Relaxed);
        self.span
            .store(u64::from_be_bytes(cx.span_id()), Ordering::Relaxed);
        self.value.store(value.to_bits(), Ordering::Relaxed);
        self.unix_ns.store(clock::unix_ns(), Ordering::Relaxed);
        self.seq.store(seq + 2, Ordering::Release);
    }

    /// The exemplar, if one was ever recorded (`None` too if writers kept it busy through every
    /// retry: the next scrape reads it).
    pub(crate) fn read(&self) -> Option<Exemplar> {
        for _ in 0..64 {
            let before = self.seq.load(Ordering::Acquire);
            if before == 0 {
                return None;
            }
            if before & 1 == 1 {
                crate::sync::backoff(0);
                continue;
            }
            let (hi, lo, span, value, unix_ns) = (
                self.trace_hi.load(Ordering::Relaxed),
                self.trace_lo.load(Ordering::Relaxed),
                self.span.load(Ordering::Relaxed),
                self.value.load(Ordering::Relaxed),
                self.unix_ns.load(Ordering::Relaxed),
            );
            fence(Ordering::Acquire);
            if self.seq.load(Ordering::Relaxed) != before {
                continue;
            }
            let mut trace_id = [0; 16];
            trace_id[..8].copy_from_slice(&hi.to_be_bytes());
            trace_id[8..].copy_from_slice(&lo.to_be_bytes());
            let cx = TraceContext::new(trace_id, span.to_be_bytes(), true)?;
            return Some(Exemplar {
                cx,
                value: f64::from_bits(value),
                unix_ns,
            });
        }
        None
    }
}

/// One cell per bucket, made on first use (one word until then).
#[derive(Default)]
pub(crate) struct Cells {
    cells: OnceBox<Box<[Cell]>>,
}

impl Cells {
    #[inline]
    pub(crate) fn record(&self, n: usize, i: usize, cx: &TraceContext, value: f64) {
        let cells = self
            .cells
            .get_or_init(|| Box::new((0..n).map(|_| Cell::default()).collect()));
        if let Some(cell) = cells.get(i) {
            cell.record(cx, value);
        }
    }

    pub(crate) fn read(&self, i: usize) -> Option<Exemplar> {
        self.cells.get()?.get(i)?.read()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_exemplar_wins_and_reads_back_whole() {
        let cell = Cell::default();
        assert!(cell.read().is_none());
        let a = TraceContext::new([0xab; 16], [0xcd; 8], true).unwrap();
        let b = TraceContext::new(
            *b"\x4b\xf9\x2f\x35\x77\xb3\x4d\xa6\xa3\xce\x92\x9d\x0e\x0e\x47\x36",
            *b"\x00\xf0\x67\xaa\x0b\xa9\x02\xb7",
            true,
        )
        .unwrap();
        let before = clock::unix_ns();
        cell.record(&a, 0.25);
        cell.record(&b, 1.5);
        let after = clock::unix_ns();
        let e = cell.read().unwrap();
        assert_eq!((e.trace_context(), e.value()), (b, 1.5));
        assert!(
            (before..=after).contains(&e.unix_ns),
            "{before} {} {after}",
            e.unix_ns
        );
    }

    /// Writers on two threads race a reader: every read is one writer's whole exemplar.
    #[test]
    fn racing_writers_never_tear_a_read() {
        let cell = std::sync::Arc::new(Cell::default());
        let writers: Vec<_> = [1u8, 2]
            .into_iter()
            .map(|k| {
                let cell = cell.clone();
                std::thread::spawn(move || {
                    let cx = TraceContext::new([k; 16], [k; 8], true).unwrap();
                    for _ in 0..200_000 {
                        cell.record(&cx, f64::from(k));
                    }
                })
            })
            .collect();
        while writers.iter().any(|w| !w.is_finished()) {
            if let Some(e) = cell.read() {
                let k = e.trace_context().trace_id()[0];
                assert_eq!(e.trace_context().trace_id(), [k; 16]);
                assert_eq!(e.trace_context().span_id(), [k; 8]);
                assert_eq!(e.value(), f64::from(k));
            }
        }
        for w in writers {
            w.join().unwrap();
        }
        let last = cell.read().unwrap().value();
        assert!(last == 1.0 || last == 2.0, "{last}");
    }
}

/// Run with `RUSTFLAGS="--cfg loom" cargo test -p vitalsign --lib --release loom`
/// (`.ci/run` does).
#[cfg(all(test, loom))]
mod loom_model {
    use super::*;

    /// The exemplar a read returns, checked whole: `k` in every byte of its ids and its value.
    fn whole(e: &Exemplar) -> u8 {
        let k = e.trace_context().trace_id()[0];
        assert_eq!(e.trace_context().trace_id(), [k; 16]);
        assert_eq!(e.trace_context().span_id(), [k; 8]);
        assert_eq!(e.value(), f64::from(k));
        k
    }

    /// Two writers race each other and a reader over one cell. In every interleaving the read
    /// is nothing or one writer's whole exemplar; a writer finding the other mid-write gives up
    /// (an exemplar is a sample), so afterwards the cell holds one of the two, whole.
    #[test]
    fn loom_an_exemplar_is_read_whole_or_not_at_all() {
        loom::model(|| {
            let cell = loom::sync::Arc::new(Cell::default());
            let writers: Vec<_> = [1u8, 2]
                .into_iter()
                .map(|k| {
                    let cell = cell.clone();
                    loom::thread::spawn(move || {
                        let cx = TraceContext::new([k; 16], [k; 8], true).unwrap();
                        cell.record(&cx, f64::from(k));
                    })
                })
                .collect();
            if let Some(e) = cell.read() {
                whole(&e);
            }
            for w in writers {
                w.join().unwrap();
            }
            let k = whole(&cell.read().unwrap());
            assert!(k == 1 || k == 2, "{k}");
        });
    }
}
