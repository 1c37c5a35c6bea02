//! Scrape buffers and gzip compressors, kept from one scrape to the next.

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;

/// How many idle scrape buffers (and gzip compressors) a handler keeps.
const POOLED: usize = 4;

/// Scrape buffers and compressors kept from one scrape to the next. The exposition is encoded
/// straight into a buffer that becomes the response body, and hyper dropping the body gives it
/// back: no copy, and no allocation once the pool is warm. A compressor is a few hundred
/// kilobytes of tables that a fresh one allocates and zeroes; reset, it is ready again.
#[derive(Default)]
pub(super) struct Pool {
    buffers: Idle<Vec<u8>>,
    #[cfg(feature = "gzip")]
    compressors: Idle<flate2::Compress>,
}

/// At most `POOLED` idle values, handed out last in, first out.
struct Idle<T>(Mutex<Vec<T>>);

impl<T> Default for Idle<T> {
    fn default() -> Self {
        Self(Mutex::new(Vec::new()))
    }
}

impl<T> Idle<T> {
    fn take(&self) -> Option<T> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).pop()
    }

    /// Keeps `value` if there is room, else drops it.
    fn put(&self, value: T) {
        let mut idle = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < POOLED {
            idle.push(value);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

impl Pool {
    /// An empty buffer, with the capacity of an earlier scrape's if one is idle.
    pub(super) fn buffer(&self) -> Vec<u8> {
        self.buffers.take().unwrap_or_default()
    }

    pub(super) fn give_back(&self, mut buffer: Vec<u8>) {
        buffer.clear();
        self.buffers.put(buffer);
    }

    /// A response body that returns `buffer` to the pool when hyper is done with it.
    pub(super) fn body(self: &Arc<Self>, buffer: Vec<u8>) -> Bytes {
        Bytes::from_owner(Pooled {
            buffer,
            pool: self.clone(),
        })
    }

    /// Gzips `text` into `out`; `false` if the compressor failed (the text is then sent as is).
    #[cfg(feature = "gzip")]
    pub(super) fn gzip(&self, text: &[u8], out: &mut Vec<u8>) -> bool {
        let mut compressor = self
            .compressors
            .take()
            .unwrap_or_else(|| flate2::Compress::new(flate2::Compression::fast(), false));
        let done = super::gzip::member(&mut compressor, text, out);
        compressor.reset();
        self.compressors.put(compressor);
        done
    }

    #[cfg(not(feature = "gzip"))]
    #[allow(
        clippy::unused_self,
        reason = "the same call as with the `gzip` feature, whose compressors are the pool's"
    )]
    pub(super) fn gzip(&self, _: &[u8], _: &mut Vec<u8>) -> bool {
        false
    }
}

/// A pooled buffer serving as a response body.
struct Pooled {
    buffer: Vec<u8>,
    pool: Arc<Pool>,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buffer
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        self.pool.give_back(std::mem::take(&mut self.buffer));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inputs that compress well, badly (many rounds of growing the output) and not at all,
    /// through one pooled compressor in turn: each decodes, with its CRC and length checked by
    /// flate2's reader, back to exactly the input.
    #[cfg(feature = "gzip")]
    #[test]
    fn gzip_members_decode_exactly_with_a_reused_compressor() {
        use std::io::Read;
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let noise: Vec<u8> = (0..200_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let text = "metric_total{a=\"b\"} 1\n".repeat(5_000).into_bytes();
        let pool = Arc::new(Pool::default());
        for input in [&text[..], &noise[..], &[][..], &text[..], &noise[..10]] {
            let mut out = pool.buffer();
            assert!(pool.gzip(input, &mut out));
            let mut decoded = Vec::new();
            flate2::read::GzDecoder::new(&out[..])
                .read_to_end(&mut decoded)
                .unwrap();
            assert_eq!(decoded, input);
            pool.give_back(out);
        }
        assert_eq!(pool.compressors.len(), 1);
        assert_eq!(pool.buffers.len(), 1);
    }

    /// A body gives its buffer back when its last clone is dropped, and the pool keeps at most
    /// `POOLED` idle ones.
    #[test]
    fn bodies_return_their_buffers_to_a_bounded_pool() {
        let pool = Arc::new(Pool::default());
        let idle = || pool.buffers.len();
        let body = |text: &str| {
            let mut buffer = pool.buffer();
            buffer.extend_from_slice(text.as_bytes());
            pool.body(buffer)
        };
        let (a, b) = (body("scrape a"), body("scrape b"));
        let a2 = a.clone();
        drop(a);
        assert_eq!(idle(), 0);
        assert_eq!(&a2[..], b"scrape a");
        drop(a2);
        assert_eq!(idle(), 1);
        drop(b);
        assert_eq!(idle(), 2);
        let reused = pool.buffer();
        assert!(reused.is_empty());
        assert_eq!(reused.capacity(), 8);
        pool.give_back(reused);

        let many: Vec<Bytes> = (0..POOLED + 2).map(|_| body("scrape")).collect();
        assert_eq!(idle(), 0);
        drop(many);
        assert_eq!(idle(), POOLED);
    }
}
