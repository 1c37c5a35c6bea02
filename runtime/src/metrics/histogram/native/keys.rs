//! Bucket keys: which bucket of a schema a value falls in, a bucket's upper bound, and keys
//! translated between schemas, all as Prometheus' Go client computes them.

use super::bounds::BOUNDS;

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

/// `(fraction, exponent)` with `v = fraction * 2^exponent`, fraction in `[0.5, 1)`: Go's and C's
/// `frexp`, for finite `v > 0`. Inlined: normal values take two bit operations.
#[inline]
pub(super) fn frexp(v: f64) -> (f64, i32) {
    let bits = v.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    if exp == 0 {
        return frexp_tiny(v);
    }
    (
        f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52)),
        exp - 1022,
    )
}

/// `frexp` of zero and of subnormals, which are scaled into the normal range first.
#[cold]
#[inline(never)]
fn frexp_tiny(v: f64) -> (f64, i32) {
    if v == 0.0 {
        return (0.0, 0);
    }
    let (f, e) = frexp(v * f64::from_bits((1023 + 54) << 52));
    (f, e - 54)
}

/// The key of the bucket `v` falls in at `schema`, for `v` not zero and not NaN.
pub(super) fn key(v: f64, schema: i32) -> i32 {
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
pub(super) fn upper_bound(key: i32, schema: i32) -> f64 {
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
pub(super) fn widen(key: i32, from: i32, to: i32) -> i32 {
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
pub(super) fn code(negative: bool, key: i32) -> u32 {
    (key + (1 << 28)) as u32 | (u32::from(negative) << 30)
}

pub(super) fn decode(code: u32) -> (bool, i32) {
    (
        code >> 30 & 1 == 1,
        (code & ((1 << 30) - 1)) as i32 - (1 << 28),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::histogram::native::settings::{MAX_SCHEMA, MIN_SCHEMA};

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
