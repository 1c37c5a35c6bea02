//! Number formatting for exposition: integers in decimal, floats as Go's `%g` with the shortest
//! round-trip digits (what Prometheus itself writes), and the canonical `le`/`quantile` form.

use std::io::Write as _;

/// Appends `v` in decimal.
pub(crate) fn write_u64(out: &mut Vec<u8>, mut v: u64) {
    // Most counters in a scrape are small: one byte, no copy.
    if v < 10 {
        out.push(b'0' + v as u8);
        return;
    }
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    // Two digits at a time from a table, as `itoa` does.
    while v >= 100 {
        let pair = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if v >= 10 {
        let pair = v as usize * 2;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + v as u8;
    }
    out.extend_from_slice(&buf[i..]);
}

const DIGIT_PAIRS: &[u8; 200] = b"\
    0001020304050607080910111213141516171819\
    2021222324252627282930313233343536373839\
    4041424344454647484950515253545556575859\
    6061626364656667686970717273747576777879\
    8081828384858687888990919293949596979899";

/// Appends `v` in decimal.
pub(crate) fn write_i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    write_u64(out, v.unsigned_abs());
}

/// Appends `v` as Go's `strconv.FormatFloat(v, 'g', -1, 64)` does, with Prometheus' spellings of
/// the special values: `+Inf`, `-Inf`, `NaN`.
pub(crate) fn write_f64(out: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"+Inf" } else { b"-Inf" });
        return;
    }
    if v == 0.0 {
        out.extend_from_slice(if v.is_sign_negative() { b"-0" } else { b"0" });
        return;
    }
    // Integers below 1e6 print the same in every notation Go would choose; skip the digit search.
    if v.fract() == 0.0 && v.abs() < 1e6 {
        write_i64(out, v as i64);
        return;
    }
    // `{:e}` gives the shortest round-trip digits: "-1.2345e-7".
    let mut sci = [0u8; 40];
    let len = {
        let mut cursor = std::io::Cursor::new(&mut sci[..]);
        // 40 bytes hold any f64 in `{:e}` form (at most 17 digits, sign, point, exponent).
        let _ = write!(cursor, "{v:e}");
        cursor.position() as usize
    };
    let sci = &sci[..len];
    let (neg, sci) = match sci.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, sci),
    };
    let e_at = sci.iter().position(|&c| c == b'e').unwrap_or(sci.len());
    let mut digits = [0u8; 20];
    let mut nd = 0;
    for &c in &sci[..e_at] {
        if c.is_ascii_digit() && nd < digits.len() {
            digits[nd] = c;
            nd += 1;
        }
    }
    let digits = &digits[..nd];
    let exp = parse_exp(&sci[(e_at + 1).min(sci.len())..]);

    if neg {
        out.push(b'-');
    }
    if !(-4..6).contains(&exp) {
        out.push(digits[0]);
        if nd > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        out.push(if exp < 0 { b'-' } else { b'+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push(b'0');
        }
        write_u64(out, u64::from(e));
    } else {
        let dp = exp + 1; // digits before the point
        if dp <= 0 {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', (-dp) as usize));
            out.extend_from_slice(digits);
        } else if dp as usize >= nd {
            out.extend_from_slice(digits);
            out.extend(std::iter::repeat_n(b'0', dp as usize - nd));
        } else {
            out.extend_from_slice(&digits[..dp as usize]);
            out.push(b'.');
            out.extend_from_slice(&digits[dp as usize..]);
        }
    }
}

fn parse_exp(s: &[u8]) -> i32 {
    let (neg, s) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    let mut e: i32 = 0;
    for &c in s {
        e = e * 10 + i32::from(c - b'0');
    }
    if neg { -e } else { e }
}

/// Appends `v` in the canonical form used for `le` and `quantile` label values in both formats:
/// Go's `%g`, with `.0` added to plain integers (`"1.0"`, `"0.005"`, `"1e+06"`, `"+Inf"`).
/// Prometheus stores `le="1"` and `le="1.0"` as different series; this is the form it normalises to.
pub(crate) fn write_canonical_f64(out: &mut Vec<u8>, v: f64) {
    let start = out.len();
    write_f64(out, v);
    if v.is_finite() && !out[start..].iter().any(|&c| c == b'.' || c == b'e') {
        out.extend_from_slice(b".0");
    }
}

/// [`write_canonical_f64`] into a new `String`.
pub(crate) fn canonical_f64(v: f64) -> String {
    let mut out = Vec::with_capacity(24);
    write_canonical_f64(&mut out, v);
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(v: f64) -> String {
        let mut out = Vec::new();
        write_f64(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn go_g_format() {
        let table: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (-1.0, "-1"),
            (0.5, "0.5"),
            (0.005, "0.005"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (123456.0, "123456"),
            (999999.0, "999999"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (-1234567.0, "-1.234567e+06"),
            (123456.5, "123456.5"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e21, "1e+21"),
            (1e100, "1e+100"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (u64::MAX as f64, "1.8446744073709552e+19"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
        ];
        for &(v, want) in table {
            assert_eq!(g(v), want, "formatting {v:?}");
        }
    }

    #[test]
    fn canonical_le() {
        let table: &[(f64, &str)] = &[
            (0.005, "0.005"),
            (1.0, "1.0"),
            (10.0, "10.0"),
            (0.0, "0.0"),
            (-1.0, "-1.0"),
            (2.5, "2.5"),
            (1e6, "1e+06"),
            (1e-5, "1e-05"),
            (f64::INFINITY, "+Inf"),
        ];
        for &(v, want) in table {
            assert_eq!(canonical_f64(v), want, "canonical {v:?}");
        }
    }

    #[test]
    fn integers() {
        let mut out = Vec::new();
        write_u64(&mut out, u64::MAX);
        out.push(b' ');
        write_u64(&mut out, 0);
        out.push(b' ');
        write_i64(&mut out, i64::MIN);
        assert_eq!(out, b"18446744073709551615 0 -9223372036854775808");
        // Every digit count, and both ends of each.
        for digits in 1..=20u32 {
            for v in [
                10u64.pow(digits - 1),
                10u64.checked_pow(digits).map_or(u64::MAX, |p| p - 1),
            ] {
                let v = if digits == 1 { v - 1 } else { v };
                out.clear();
                write_u64(&mut out, v);
                assert_eq!(out, v.to_string().as_bytes());
            }
        }
        for v in (0..100_000u64).chain([123_456_789, 9_876_543_210_123]) {
            out.clear();
            write_u64(&mut out, v);
            assert_eq!(out, v.to_string().as_bytes());
        }
    }
}
