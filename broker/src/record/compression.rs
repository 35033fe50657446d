//! The codecs a v2 batch's `attributes & 7` names: none, gzip, snappy (xerial framing, as the Java
//! client writes it; raw blocks are read too), lz4 (frame format) and zstd.
//!
//! Decompression is bounded by [`MAX_DECOMPRESSED`] so a small hostile batch cannot exhaust memory.

use std::io::{Read, Write};

use crate::error::{Error, Result};

/// The largest decompressed payload accepted from one batch.
pub const MAX_DECOMPRESSED: usize = 128 << 20;

/// A batch compression codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// No compression.
    #[default]
    None,
    /// gzip (deflate).
    Gzip,
    /// Snappy in xerial framing.
    Snappy,
    /// LZ4 frame format.
    Lz4,
    /// Zstandard.
    Zstd,
}

impl Compression {
    /// The codec id stored in the batch attributes.
    pub fn id(self) -> i16 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }

    /// The codec for an attribute id.
    ///
    /// # Errors
    /// [`Error::Corrupt`] for an unknown id.
    pub fn from_id(id: i16) -> Result<Compression> {
        Ok(match id {
            0 => Compression::None,
            1 => Compression::Gzip,
            2 => Compression::Snappy,
            3 => Compression::Lz4,
            4 => Compression::Zstd,
            other => return Err(Error::Corrupt(format!("unknown compression codec {other}"))),
        })
    }

    /// Parses Kafka's `compression.type` names.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for an unknown name.
    pub fn parse(name: &str) -> Result<Compression> {
        Ok(match name {
            "none" | "uncompressed" => Compression::None,
            "gzip" => Compression::Gzip,
            "snappy" => Compression::Snappy,
            "lz4" => Compression::Lz4,
            "zstd" => Compression::Zstd,
            other => {
                return Err(Error::InvalidConfig(format!(
                    "unknown compression.type {other:?} (none, gzip, snappy, lz4, zstd)"
                )))
            }
        })
    }
}

const XERIAL_MAGIC: &[u8; 8] = b"\x82SNAPPY\x00";
const XERIAL_BLOCK: usize = 32 * 1024;

fn corrupt(codec: &str, e: impl std::fmt::Display) -> Error {
    Error::Corrupt(format!("{codec} decompression failed: {e}"))
}

fn io_err(codec: &str, e: std::io::Error) -> Error {
    Error::Corrupt(format!("{codec} compression failed: {e}"))
}

/// Compresses `data` with `codec`.
///
/// # Errors
/// Only if the codec itself fails (it does not for in-memory buffers in practice).
pub fn compress(codec: Compression, data: &[u8]) -> Result<Vec<u8>> {
    match codec {
        Compression::None => Ok(data.to_vec()),
        Compression::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(data).map_err(|e| io_err("gzip", e))?;
            enc.finish().map_err(|e| io_err("gzip", e))
        }
        Compression::Snappy => {
            let mut out = Vec::with_capacity(data.len() / 2 + 32);
            out.extend_from_slice(XERIAL_MAGIC);
            out.extend_from_slice(&1i32.to_be_bytes());
            out.extend_from_slice(&1i32.to_be_bytes());
            let mut enc = snap::raw::Encoder::new();
            for chunk in data.chunks(XERIAL_BLOCK) {
                let block = enc.compress_vec(chunk).map_err(|e| corrupt("snappy", e))?;
                out.extend_from_slice(&(block.len() as i32).to_be_bytes());
                out.extend_from_slice(&block);
            }
            Ok(out)
        }
        Compression::Lz4 => {
            let mut enc = lz4_flex::frame::FrameEncoder::new(Vec::new());
            enc.write_all(data).map_err(|e| io_err("lz4", e))?;
            enc.finish().map_err(|e| corrupt("lz4", e))
        }
        Compression::Zstd => zstd::bulk::compress(data, 3).map_err(|e| io_err("zstd", e)),
    }
}

fn read_bounded(codec: &str, mut r: impl Read) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let n = r
        .by_ref()
        .take(MAX_DECOMPRESSED as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| corrupt(codec, e))?;
    if n > MAX_DECOMPRESSED {
        return Err(Error::Corrupt(format!(
            "{codec} batch decompresses beyond {MAX_DECOMPRESSED} bytes"
        )));
    }
    Ok(out)
}

fn snappy_decompress(data: &[u8]) -> Result<Vec<u8>> {
    let mut dec = snap::raw::Decoder::new();
    let raw = |dec: &mut snap::raw::Decoder, block: &[u8], out: &mut Vec<u8>| -> Result<()> {
        let len = snap::raw::decompress_len(block).map_err(|e| corrupt("snappy", e))?;
        if out.len() + len > MAX_DECOMPRESSED {
            return Err(Error::Corrupt("snappy batch decompresses too large".into()));
        }
        let start = out.len();
        out.resize(start + len, 0);
        dec.decompress(block, &mut out[start..])
            .map_err(|e| corrupt("snappy", e))?;
        Ok(())
    };
    let mut out = Vec::new();
    if data.len() >= 16 && &data[..8] == XERIAL_MAGIC {
        let mut pos = 16;
        while pos < data.len() {
            let len_bytes: [u8; 4] = data
                .get(pos..pos + 4)
                .and_then(|s| s.try_into().ok())
                .ok_or_else(|| Error::Corrupt("snappy block length truncated".into()))?;
            let len = i32::from_be_bytes(len_bytes);
            pos += 4;
            let block = usize::try_from(len)
                .ok()
                .and_then(|l| data.get(pos..pos.checked_add(l)?))
                .ok_or_else(|| Error::Corrupt(format!("snappy block of {len} bytes truncated")))?;
            raw(&mut dec, block, &mut out)?;
            pos += block.len();
        }
    } else {
        raw(&mut dec, data, &mut out)?;
    }
    Ok(out)
}

/// Decompresses `data` written with `codec`.
///
/// # Errors
/// [`Error::Corrupt`] when the data does not decode or exceeds [`MAX_DECOMPRESSED`].
pub fn decompress(codec: Compression, data: &[u8]) -> Result<Vec<u8>> {
    match codec {
        Compression::None => Ok(data.to_vec()),
        Compression::Gzip => read_bounded("gzip", flate2::read::MultiGzDecoder::new(data)),
        Compression::Snappy => snappy_decompress(data),
        Compression::Lz4 => read_bounded("lz4", lz4_flex::frame::FrameDecoder::new(data)),
        Compression::Zstd => {
            let dec = zstd::stream::read::Decoder::new(data).map_err(|e| corrupt("zstd", e))?;
            read_bounded("zstd", dec)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_codec_round_trips() {
        let data: Vec<u8> = (0..100_000u32).flat_map(|i| (i % 251).to_be_bytes()).collect();
        for c in [
            Compression::None,
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let z = compress(c, &data).unwrap();
            assert_eq!(decompress(c, &z).unwrap(), data, "{c:?}");
            assert_eq!(Compression::from_id(c.id()).unwrap(), c);
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let junk = [0x82u8, b'S', b'N', b'A', b'P', b'P', b'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff];
        for c in [Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd] {
            assert!(matches!(decompress(c, &junk), Err(Error::Corrupt(_))), "{c:?}");
            assert!(matches!(decompress(c, &[]), Err(Error::Corrupt(_)) | Ok(_)));
        }
        assert!(matches!(Compression::from_id(5), Err(Error::Corrupt(_))));
    }
}
