//! Decimals as Avro (`bytes` with the `decimal` logical type) and Protobuf (Confluent's
//! `confluent.type.Decimal`) carry them: the unscaled value as two's complement big-endian
//! bytes, at the schema's scale.

use crate::value::Decimal;

/// The unscaled value of `d` at `scale`, if it is exact.
pub(crate) fn rescale(d: &Decimal, scale: u8) -> Option<i128> {
    if scale >= d.scale {
        d.unscaled.checked_mul(10i128.checked_pow(u32::from(scale - d.scale))?)
    } else {
        let div = 10i128.checked_pow(u32::from(d.scale - scale))?;
        (d.unscaled % div == 0).then(|| d.unscaled / div)
    }
}

/// Two's complement big-endian bytes, as few as hold the value (Java's `BigInteger.toByteArray`).
pub(crate) fn minimal_be(v: i128) -> Vec<u8> {
    brook_schema::avro::minimal(v.to_be_bytes().to_vec())
}

/// The value of two's complement big-endian bytes (`0` for none); `None` past 128 bits.
pub(crate) fn from_be(bytes: &[u8]) -> Option<i128> {
    if bytes.is_empty() || bytes.len() > 16 {
        return (bytes.is_empty()).then_some(0);
    }
    let fill = if bytes[0] & 0x80 != 0 { 0xff } else { 0 };
    let mut buf = [fill; 16];
    buf[16 - bytes.len()..].copy_from_slice(bytes);
    Some(i128::from_be_bytes(buf))
}
