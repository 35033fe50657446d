//! Confluent's wire format: magic byte 0, the schema id as 4 big-endian bytes, then (Protobuf
//! only) the message indexes, then the payload.

use crate::error::{Error, Result};

/// The first byte of every framed record.
pub const MAGIC_BYTE: u8 = 0;

/// Prepends the magic byte and `id` to a payload the caller writes into the returned buffer.
#[must_use]
pub fn header(id: i32, payload_len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + payload_len);
    out.push(MAGIC_BYTE);
    out.extend_from_slice(&id.to_be_bytes());
    out
}

/// Splits framed bytes into the schema id and the rest.
///
/// # Errors
/// [`Error::UnknownMagicByte`] when the bytes are shorter than 5 or do not start with 0.
pub fn split(bytes: &[u8]) -> Result<(i32, &[u8])> {
    match bytes {
        [MAGIC_BYTE, a, b, c, d, rest @ ..] => Ok((i32::from_be_bytes([*a, *b, *c, *d]), rest)),
        [] => Err(Error::UnknownMagicByte("empty record".to_owned())),
        [first, ..] if *first != MAGIC_BYTE => Err(Error::UnknownMagicByte(format!("0x{first:02x}"))),
        _ => Err(Error::UnknownMagicByte(format!("record of {} bytes has no schema id", bytes.len()))),
    }
}

fn put_varint(out: &mut Vec<u8>, value: i32) {
    // Zig-zag, then base-128 little-endian groups (Confluent's ByteUtils.writeVarint).
    let mut v = ((value << 1) ^ (value >> 31)) as u32;
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(bytes: &[u8], pos: &mut usize) -> Result<i32> {
    let mut value: u32 = 0;
    for shift in (0..35).step_by(7) {
        let byte = *bytes
            .get(*pos)
            .ok_or_else(|| Error::deserialize("PROTOBUF", "truncated message indexes"))?;
        *pos += 1;
        value |= u32::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(((value >> 1) as i32) ^ -((value & 1) as i32));
        }
    }
    Err(Error::deserialize("PROTOBUF", "message index varint longer than 5 bytes"))
}

/// Appends Protobuf message indexes: the path from the file to the message (`[0]`, the first
/// message, is written as the single byte 0).
pub fn put_message_indexes(out: &mut Vec<u8>, indexes: &[i32]) {
    if indexes == [0] {
        out.push(0);
        return;
    }
    put_varint(out, indexes.len() as i32);
    for index in indexes {
        put_varint(out, *index);
    }
}

/// Reads Protobuf message indexes from the start of `bytes`; returns them and the rest.
///
/// # Errors
/// [`Error::Deserialize`] when they are truncated or absurd.
pub fn take_message_indexes(bytes: &[u8]) -> Result<(Vec<i32>, &[u8])> {
    let mut pos = 0;
    let count = get_varint(bytes, &mut pos)?;
    if count == 0 {
        return Ok((vec![0], &bytes[pos..]));
    }
    if count < 0 || count as usize > bytes.len() {
        return Err(Error::deserialize("PROTOBUF", format!("invalid message index count {count}")));
    }
    let indexes = (0..count).map(|_| get_varint(bytes, &mut pos)).collect::<Result<Vec<_>>>()?;
    Ok((indexes, &bytes[pos..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_split() {
        let mut bytes = header(258, 1);
        bytes.push(7);
        assert_eq!(bytes, [0, 0, 0, 1, 2, 7]);
        assert_eq!(split(&bytes).unwrap(), (258, &[7u8][..]));
        assert!(matches!(split(b""), Err(Error::UnknownMagicByte(_))));
        assert!(matches!(split(b"{\"a\":1}"), Err(Error::UnknownMagicByte(_))));
        assert!(matches!(split(&[0, 0, 1]), Err(Error::UnknownMagicByte(_))));
    }

    #[test]
    fn message_indexes() {
        let mut out = Vec::new();
        put_message_indexes(&mut out, &[0]);
        assert_eq!(out, [0]);
        out.clear();
        put_message_indexes(&mut out, &[1, 0, 70]);
        assert_eq!(out, [6, 2, 0, 0x8c, 0x01]);
        out.push(9);
        assert_eq!(take_message_indexes(&out).unwrap(), (vec![1, 0, 70], &[9u8][..]));
        assert_eq!(take_message_indexes(&[0, 5]).unwrap(), (vec![0], &[5u8][..]));
        assert!(take_message_indexes(&[]).is_err());
        assert!(take_message_indexes(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x80]).is_err());
        assert!(take_message_indexes(&[0x7e]).is_err());
    }
}
