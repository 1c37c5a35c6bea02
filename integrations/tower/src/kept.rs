//! A few values by key, made on first use and kept where a request finds them again without a
//! lookup: a route's series by status, an outbound host's series by outcome.

use std::sync::OnceLock;

/// Up to `N` values by key, each made once and kept; past `N` keys, made at each call.
#[derive(Debug)]
pub(crate) struct Kept<K, V, const N: usize> {
    slots: [OnceLock<(K, V)>; N],
}

impl<K, V, const N: usize> Default for Kept<K, V, N> {
    fn default() -> Self {
        Self {
            slots: std::array::from_fn(|_| OnceLock::new()),
        }
    }
}

impl<K: Copy + PartialEq, V, const N: usize> Kept<K, V, N> {
    /// The value for `key`: the one kept, else made by `make` (and kept, while there is room).
    pub(crate) fn get(&self, key: K, make: impl Fn() -> V) -> Found<'_, V> {
        for slot in &self.slots {
            // A slot another key took, or takes now, sends the search on.
            let (k, v) = match slot.get() {
                Some(kv) => kv,
                None => slot.get_or_init(|| (key, make())),
            };
            if *k == key {
                return Found::Kept(v);
            }
        }
        Found::Made(make())
    }
}

/// A value that was kept, or made for this call only.
pub(crate) enum Found<'a, V> {
    Kept(&'a V),
    Made(V),
}

impl<V> std::ops::Deref for Found<'_, V> {
    type Target = V;

    fn deref(&self) -> &V {
        match self {
            Found::Kept(v) => v,
            Found::Made(v) => v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Found, Kept};

    #[test]
    fn eight_keys_are_kept_and_the_rest_made_each_time() {
        let kept: Kept<u16, (u16, u32), 8> = Kept::default();
        let made = std::cell::Cell::new(0);
        let make = |key: u16| {
            made.set(made.get() + 1);
            (key, made.get())
        };
        for key in (200..210).chain(200..210) {
            let found = kept.get(key, || make(key));
            assert_eq!(found.0, key);
            assert_eq!(matches!(found, Found::Kept(_)), key < 208);
        }
        // Eight made once each; 208 and 209 made at both of their calls.
        assert_eq!(made.get(), 12);
    }
}
