//! Fuzzes the record-batch decoders the broker and clients run on bytes from the network and
//! from disk: batch splitting, header validation, record decoding, decompression.
#![no_main]

use brook_broker::record::{batch, compression, decode_batch, Compression};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(batches) = batch::split_batches(data) {
        for (_, range) in batches {
            let _ = decode_batch(&data[range]);
        }
    }
    let _ = decode_batch(data);
    // Also decode with a valid CRC so the record decoder itself is exercised.
    if data.len() >= brook_broker::record::BATCH_HEADER_LEN {
        let mut b = data.to_vec();
        let crc = batch::compute_crc(&b);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        let _ = decode_batch(&b);
    }
    for codec in [Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd] {
        let _ = compression::decompress(codec, data);
    }
});
