//! gzip framing: whether a scraper accepts gzip, and one gzip member around raw deflate from a
//! reusable compressor. (flate2's `GzEncoder` owns its compressor and cannot reset it, and a
//! fresh compressor is hundreds of kilobytes of tables to allocate and zero at every scrape.)

/// Whether an `Accept-Encoding` value allows gzip (`gzip` or `*` with a non-zero quality).
pub(super) fn accepts_gzip(accept_encoding: Option<&str>) -> bool {
    accept_encoding.is_some_and(|v| {
        v.split(',').take(32).any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let zero = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !zero
        })
    })
}

/// Appends a gzip member (RFC 1952) of `data` to `out`: header, raw deflate from `compressor`
/// (fresh or reset), then the CRC-32 and length of `data`. `false` if deflate failed.
#[cfg(feature = "gzip")]
pub(super) fn member(compressor: &mut flate2::Compress, data: &[u8], out: &mut Vec<u8>) -> bool {
    use flate2::{Crc, FlushCompress, Status};
    // Magic, deflate, no flags, no time, "fastest" hint, unknown OS.
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 255]);
    out.reserve(data.len() / 4 + 64);
    // Doubling the room each round, 48 rounds are far more than any input needs.
    for _ in 0..48 {
        let consumed = usize::try_from(compressor.total_in()).unwrap_or(usize::MAX);
        let input = data.get(consumed..).unwrap_or_default();
        match compressor.compress_vec(input, out, FlushCompress::Finish) {
            Ok(Status::StreamEnd) => {
                let mut crc = Crc::new();
                crc.update(data);
                out.extend_from_slice(&crc.sum().to_le_bytes());
                // ISIZE is the length modulo 2^32.
                out.extend_from_slice(&(data.len() as u32).to_le_bytes());
                return true;
            }
            Ok(_) => out.reserve(out.capacity()),
            Err(_) => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_acceptance() {
        assert!(accepts_gzip(Some("gzip")));
        assert!(accepts_gzip(Some("deflate, gzip;q=0.5")));
        assert!(accepts_gzip(Some("*")));
        assert!(!accepts_gzip(Some("gzip;q=0")));
        assert!(!accepts_gzip(Some("identity")));
        assert!(!accepts_gzip(Some(";;;,,,")));
        assert!(!accepts_gzip(None));
    }
}
