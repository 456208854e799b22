//! Gzip input with a bound on how far it may expand. Real JTLs compress
//! 10 to 30 times; a decompression bomb expands about 1000 times (1 MB to
//! 1 GB). Past [`FREE_BYTES`] of output, a stream that has expanded more
//! than [`MAX_RATIO`] times is refused with an error, so a bomb costs
//! neither the memory nor the minutes it would take to read.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::read::MultiGzDecoder;

/// Output read before the ratio is checked: small files may expand more.
pub const FREE_BYTES: u64 = 64 << 20;
/// Most times the output may exceed the compressed input.
pub const MAX_RATIO: u64 = 200;

/// Counts the compressed bytes read.
struct Counted<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A gzip (or several concatenated) stream's content, bounded.
pub struct Inflate<R> {
    decoder: MultiGzDecoder<Counted<R>>,
    compressed: Arc<AtomicU64>,
    out: u64,
}

impl<R: Read> Inflate<R> {
    /// Inflates `inner`, a gzip stream.
    pub fn new(inner: R) -> Self {
        let compressed = Arc::new(AtomicU64::new(0));
        Inflate {
            decoder: MultiGzDecoder::new(Counted {
                inner,
                read: compressed.clone(),
            }),
            compressed,
            out: 0,
        }
    }
}

impl<R: Read> Read for Inflate<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.decoder.read(buf)?;
        self.out += n as u64;
        let compressed = self.compressed.load(Ordering::Relaxed).max(1);
        if self.out > FREE_BYTES && self.out / compressed > MAX_RATIO {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the gzip stream expands more than {MAX_RATIO} times ({} bytes from {compressed}): \
                     not a JTL (a decompression bomb?)",
                    self.out
                ),
            ));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn a_bomb_is_refused_early() {
        // 256 MiB of zeros in ~256 KB.
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..256 {
            enc.write_all(&zeros).unwrap();
        }
        let bomb = enc.finish().unwrap();
        let mut out = 0u64;
        let mut r = Inflate::new(&bomb[..]);
        let mut buf = vec![0u8; 1 << 16];
        let err = loop {
            match r.read(&mut buf) {
                Ok(0) => panic!("read the whole bomb"),
                Ok(n) => out += n as u64,
                Err(e) => break e,
            }
        };
        assert!(err.to_string().contains("decompression bomb"), "{err}");
        assert!(out <= FREE_BYTES + (1 << 20), "{out}");
    }

    #[test]
    fn ordinary_text_reads_whole() {
        let text: Vec<u8> = (0..200_000)
            .flat_map(|i| {
                format!(
                    "{},{},label {},true\n",
                    1_700_000_000_000u64 + i,
                    i % 997,
                    i % 7
                )
                .into_bytes()
            })
            .collect();
        let mut out = Vec::new();
        Inflate::new(&gzip(&text)[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, text);
    }
}
