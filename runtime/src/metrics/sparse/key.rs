//! A label set as one key: the values packed for the family's map, compared in place on a
//! cache hit, and unpacked for a scrape or a retain.

use std::cell::RefCell;

// The label values packed as a lookup key, reused so a hit allocates nothing. Loom runs its
// threads on one OS thread, so a model needs loom's per-model-thread locals.
#[cfg(not(loom))]
thread_local! {
    pub(super) static KEY: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}
#[cfg(loom)]
loom::thread_local! {
    pub(super) static KEY: RefCell<Vec<u8>> = RefCell::new(Vec::new());
}

/// Appends label values as one key: each value's length (four bytes, little-endian), then its
/// bytes. Unlike a joined string, no two lists of values pack alike.
pub(super) fn pack(into: &mut Vec<u8>, values: &[&str]) {
    for v in values {
        // A label value past 4 GiB is not a label value; its length is cut, not its bytes.
        let len = u32::try_from(v.len()).unwrap_or(u32::MAX);
        into.extend_from_slice(&len.to_le_bytes());
        into.extend_from_slice(v.as_bytes());
    }
}

/// Whether `key` is what [`pack`] makes of `values`, compared in place.
#[inline]
pub(super) fn packs(key: &[u8], values: &[&str]) -> bool {
    let mut rest = key;
    for v in values {
        let len = u32::try_from(v.len()).unwrap_or(u32::MAX);
        let Some((packed_len, tail)) = rest.split_first_chunk::<4>() else {
            return false;
        };
        if *packed_len != len.to_le_bytes() {
            return false;
        }
        let Some((bytes, tail)) = tail.split_at_checked(v.len()) else {
            return false;
        };
        if !crate::lookup::same_bytes(bytes, v.as_bytes()) {
            return false;
        }
        rest = tail;
    }
    rest.is_empty()
}

/// The values [`pack`] packed, in order.
pub(super) fn unpack(mut key: &[u8]) -> impl Iterator<Item = &str> {
    std::iter::from_fn(move || {
        let (len, rest) = key.split_first_chunk::<4>()?;
        let len = (u32::from_le_bytes(*len) as usize).min(rest.len());
        let (value, rest) = rest.split_at(len);
        key = rest;
        // Packed from `&str`s.
        Some(std::str::from_utf8(value).unwrap_or_default())
    })
}
