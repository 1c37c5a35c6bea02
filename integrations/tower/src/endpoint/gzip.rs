//! gzip framing: one gzip member around raw deflate from a reusable compressor. (flate2's
//! `GzEncoder` owns its compressor and cannot reset it, and a fresh compressor is hundreds of
//! kilobytes of tables to allocate and zero at every scrape.) Whether a scraper accepts gzip is
//! `vitalsign::encoding::accepts_encoding`, which reads quality values as content negotiation does.

/// Appends a gzip member (RFC 1952) of `data` to `out`: header, raw deflate from `compressor`
/// (fresh or reset), then the CRC-32 and length of `data`. `false` if deflate failed.
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
