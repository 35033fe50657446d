//! Fuzzes the request decoder: the size prefix, the request header, and every supported request
//! body, as the server sees them. Any panic (or abort) is a bug.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The server's framing: a 4-byte size prefix bounded by socket.request.max.bytes.
    if data.len() < 4 {
        return;
    }
    let declared = i32::from_be_bytes([data[0], data[1], data[2], data[3]]);
    if declared < 0 || declared as usize > 1 << 20 {
        return;
    }
    let body = &data[4..];
    let frame = &body[..body.len().min(declared as usize)];
    let _ = brook_broker::server::decode_request(Bytes::copy_from_slice(frame));
});
