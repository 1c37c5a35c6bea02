//! Fast lookup of series on hot paths: byte comparison, a word-at-a-time hash, and an
//! append-only table read without a lock.
//!
//! Sparse families find a series from its label values with these; `vitalsign-tower`'s HTTP
//! route table and gRPC method table find a request's series with the same parts. They are
//! public so that integrations and hand-written collectors can do the same:
//!
//! ```
//! use vitalsign::lookup::{Table, hash, same_bytes};
//!
//! let table: Table<(String, u64)> = Table::new(100);
//! for (i, route) in ["/orders", "/orders/{id}"].into_iter().enumerate() {
//!     let h = hash(0, &[route]);
//!     let is = |e: &(String, u64)| same_bytes(e.0.as_bytes(), route.as_bytes());
//!     assert_eq!(table.find_or_insert(h, is, || (route.to_owned(), 7)), Some(i as u32));
//! }
//! let h = hash(0, &["/orders/{id}"]);
//! let found = table.find(h, |e| same_bytes(e.0.as_bytes(), b"/orders/{id}"));
//! assert_eq!(found.and_then(|i| table.get(i)).map(|e| e.1), Some(7));
//! assert_eq!(table.find(hash(0, &["/carts"]), |e| e.0 == "/carts"), None);
//! ```
//!
//! [`hash`] is no defence against chosen collisions: keep its keys to what the program chooses
//! (routes, declared methods), or behind a map that stays the authority, as sparse families do
//! (a collision there only evicts an entry from a per-thread cache).

mod table;

pub use table::Table;

/// Whether `a` and `b` hold the same bytes, compared in line eight, four, two and one at a time.
///
/// Label values and paths are short, and calling the C library's `memcmp` for a few bytes costs
/// more than comparing them: on this project's benchmark machine (an AMD EPYC) glibc's AVX-512
/// `memcmp` took about 25 ns a call on short strings, a fifth of the HTTP layer's time.
#[inline]
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut a, mut b) = (a, b);
    while let (Some((x, a_rest)), Some((y, b_rest))) =
        (a.split_first_chunk::<8>(), b.split_first_chunk::<8>())
    {
        if x != y {
            return false;
        }
        (a, b) = (a_rest, b_rest);
    }
    if let (Some((x, a_rest)), Some((y, b_rest))) =
        (a.split_first_chunk::<4>(), b.split_first_chunk::<4>())
    {
        if x != y {
            return false;
        }
        (a, b) = (a_rest, b_rest);
    }
    if let (Some((x, a_rest)), Some((y, b_rest))) =
        (a.split_first_chunk::<2>(), b.split_first_chunk::<2>())
    {
        if x != y {
            return false;
        }
        (a, b) = (a_rest, b_rest);
    }
    a.first() == b.first()
}

/// A fast, non-cryptographic hash of `parts` under `seed` (FxHash's mixing, eight bytes at a
/// time, each part's length in the top byte of its last word, so `["ab", "c"]` and `["a", "bc"]`
/// differ), folded so that its low bits, which a table's mask keeps, depend on every byte.
#[inline]
pub fn hash(seed: u64, parts: &[&str]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mix = |h: u64, word: u64| (h.rotate_left(5) ^ word).wrapping_mul(K);
    let mut h = seed;
    for part in parts {
        let mut rest = part.as_bytes();
        while let Some((word, tail)) = rest.split_first_chunk::<8>() {
            h = mix(h, u64::from_le_bytes(*word));
            rest = tail;
        }
        // The tail holds at most seven bytes: the top one is free for the length.
        h = mix(h, tail_word(rest) | (part.len() as u64) << 56);
    }
    h ^ (h >> 32)
}

/// Up to seven bytes as one word, read without a call to `memcpy` (which a copy of a slice of
/// unknown length becomes).
#[inline]
fn tail_word(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .take(7)
        .enumerate()
        .fold(0, |w, (i, &b)| w | u64::from(b) << (8 * i))
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::{hash, same_bytes, tail_word};

    /// Every length from 0 to 40 (each mix of eight-, four-, two- and one-byte steps) against
    /// itself, a copy, one byte changed at each place, and one byte longer or shorter.
    #[test]
    fn same_bytes_is_slice_equality() {
        let bytes: Vec<u8> = (0..41u8).map(|i| i.wrapping_mul(37)).collect();
        for len in 0..=40 {
            let a = &bytes[..len];
            let copy = a.to_vec();
            assert!(same_bytes(a, a), "len {len}");
            assert!(same_bytes(a, &copy), "len {len}");
            for at in 0..len {
                let mut changed = copy.clone();
                changed[at] ^= 1;
                assert!(!same_bytes(a, &changed), "len {len}, changed at {at}");
            }
            assert!(!same_bytes(a, &bytes[..len + 1]), "len {len} and one more");
            if len > 0 {
                assert!(!same_bytes(a, &bytes[..len - 1]), "len {len} and one fewer");
            }
        }
    }

    #[test]
    fn the_hash_tells_apart_parts_lengths_seeds_and_every_byte() {
        assert_eq!(tail_word(b""), 0);
        assert_eq!(tail_word(b"\x01\x02\x03"), 0x03_02_01);
        assert_eq!(hash(1, &["abc"]), hash(1, &["abc"]));
        let text = "/orders/{id}/items/and-more";
        let base = hash(0, &[text]);
        let mut seen = std::collections::HashSet::new();
        for at in 0..text.len() {
            let mut changed = text.as_bytes().to_vec();
            changed[at] ^= 1;
            let changed = String::from_utf8(changed).expect("ascii");
            assert!(seen.insert(hash(0, &[&changed])), "changed at {at}");
        }
        assert!(!seen.contains(&base));
        assert_ne!(hash(0, &["ab", "c"]), hash(0, &["a", "bc"]));
        assert_ne!(hash(0, &["a", ""]), hash(0, &["a"]));
        assert_ne!(hash(0, &[text]), hash(1, &[text]));
        // The low bits a 64-slot table keeps spread ten routes that differ in one digit over
        // ten slots.
        let slots: std::collections::HashSet<u64> = (0..10)
            .map(|i| hash(0, &[&format!("/route/{i}")]) & 63)
            .collect();
        assert_eq!(slots.len(), 10, "{slots:?}");
    }
}
