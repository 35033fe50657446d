//! [`InternalRowSerde`]: a compact, self-describing binary encoding of [`Row`]s and
//! [`Value`]s for state stores, changelogs and internal topics (aggregation accumulators are
//! values too). It needs no schema and is not a ksqlDB format: ksqlDB writes its internal
//! topics in the query's formats, Brook writes them in this one where no user reads them.
//!
//! Layout: a row is the version byte `0x01`, a varint count, then the values. A value is a tag
//! byte then its payload: integers as zig-zag varints, doubles as 8 big-endian bytes, strings
//! and bytes length-prefixed, decimals as precision, scale and a zig-zag varint of the unscaled
//! `i128`, containers as a count then their elements. Identical values encode to identical
//! bytes, so the encoding works as a store key (but `1.2` and `1.20`, equal as values, differ
//! as bytes); it does not preserve order, so range scans over such keys are not in value order.
//!
//! Decoding trusts nothing: lengths are checked against the bytes left, nesting is bounded
//! by [`json_tree::MAX_DEPTH`](super::json_tree::MAX_DEPTH), trailing bytes are an error.

use brook_state_store::{Error as StoreError, Result as StoreResult, Serde};

use super::json_tree::MAX_DEPTH;
use crate::value::{Decimal, Row, Value};

const VERSION: u8 = 1;

const NULL: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
const INT: u8 = 3;
const BIGINT: u8 = 4;
const DOUBLE: u8 = 5;
const DECIMAL: u8 = 6;
const STRING: u8 = 7;
const BYTES: u8 = 8;
const DATE: u8 = 9;
const TIME: u8 = 10;
const TIMESTAMP: u8 = 11;
const ARRAY: u8 = 12;
const MAP: u8 = 13;
const STRUCT: u8 = 14;

/// The internal row and value serde: `Serde<Row>` and `Serde<Value>`.
#[derive(Debug, Clone, Copy, Default)]
pub struct InternalRowSerde;

impl Serde<Row> for InternalRowSerde {
    fn serialize(&self, _topic: &str, row: &Row) -> StoreResult<Vec<u8>> {
        let mut out = vec![VERSION];
        put_uvarint(&mut out, row.len() as u64);
        for v in row {
            put_value(&mut out, v);
        }
        Ok(out)
    }

    fn deserialize(&self, _topic: &str, bytes: &[u8]) -> StoreResult<Row> {
        let mut r = Reader { b: bytes, pos: 0 };
        let version = r.byte()?;
        if version != VERSION {
            return Err(decode_err(format!("unknown row encoding version {version}")));
        }
        let n = r.count()?;
        let mut row = Vec::with_capacity(n);
        for _ in 0..n {
            row.push(r.value(0)?);
        }
        r.finish()?;
        Ok(row)
    }
}

impl Serde<Value> for InternalRowSerde {
    fn serialize(&self, _topic: &str, value: &Value) -> StoreResult<Vec<u8>> {
        let mut out = Vec::new();
        put_value(&mut out, value);
        Ok(out)
    }

    fn deserialize(&self, _topic: &str, bytes: &[u8]) -> StoreResult<Value> {
        let mut r = Reader { b: bytes, pos: 0 };
        let v = r.value(0)?;
        r.finish()?;
        Ok(v)
    }
}

fn decode_err(reason: String) -> StoreError {
    StoreError::Decode { what: "internal row", reason }
}

fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_varint(out: &mut Vec<u8>, v: i64) {
    put_uvarint(out, ((v << 1) ^ (v >> 63)) as u64);
}

fn put_varint128(out: &mut Vec<u8>, v: i128) {
    let mut z = ((v << 1) ^ (v >> 127)) as u128;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_uvarint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn put_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.push(NULL),
        Value::Boolean(false) => out.push(FALSE),
        Value::Boolean(true) => out.push(TRUE),
        Value::Int(i) => {
            out.push(INT);
            put_varint(out, i64::from(*i));
        }
        Value::BigInt(i) => {
            out.push(BIGINT);
            put_varint(out, *i);
        }
        Value::Double(d) => {
            out.push(DOUBLE);
            out.extend_from_slice(&d.to_be_bytes());
        }
        Value::Decimal(d) => {
            out.push(DECIMAL);
            out.push(d.precision);
            out.push(d.scale);
            put_varint128(out, d.unscaled);
        }
        Value::String(s) => {
            out.push(STRING);
            put_bytes(out, s.as_bytes());
        }
        Value::Bytes(b) => {
            out.push(BYTES);
            put_bytes(out, b);
        }
        Value::Date(i) => {
            out.push(DATE);
            put_varint(out, i64::from(*i));
        }
        Value::Time(i) => {
            out.push(TIME);
            put_varint(out, i64::from(*i));
        }
        Value::Timestamp(i) => {
            out.push(TIMESTAMP);
            put_varint(out, *i);
        }
        Value::Array(items) => {
            out.push(ARRAY);
            put_uvarint(out, items.len() as u64);
            for i in items {
                put_value(out, i);
            }
        }
        Value::Map(entries) => {
            out.push(MAP);
            put_uvarint(out, entries.len() as u64);
            for (k, v) in entries {
                put_value(out, k);
                put_value(out, v);
            }
        }
        Value::Struct(fields) => {
            out.push(STRUCT);
            put_uvarint(out, fields.len() as u64);
            for (name, v) in fields {
                put_bytes(out, name.as_bytes());
                put_value(out, v);
            }
        }
    }
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> StoreResult<u8> {
        let b = *self.b.get(self.pos).ok_or_else(|| decode_err(format!("truncated at byte {}", self.pos)))?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> StoreResult<&[u8]> {
        if self.b.len() - self.pos < n {
            return Err(decode_err(format!("truncated: {n} bytes wanted at byte {}, {} left", self.pos, self.b.len() - self.pos)));
        }
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn uvarint128(&mut self) -> StoreResult<u128> {
        let mut v: u128 = 0;
        for shift in (0..128).step_by(7) {
            let b = self.byte()?;
            v |= u128::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(decode_err("varint too long".into()))
    }

    fn uvarint(&mut self) -> StoreResult<u64> {
        let v = self.uvarint128()?;
        u64::try_from(v).map_err(|_| decode_err("varint out of range".into()))
    }

    fn varint(&mut self) -> StoreResult<i64> {
        let z = self.uvarint()?;
        Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    fn varint32(&mut self) -> StoreResult<i32> {
        i32::try_from(self.varint()?).map_err(|_| decode_err("32-bit value out of range".into()))
    }

    /// A count of elements, each at least one byte: never more than the bytes left.
    fn count(&mut self) -> StoreResult<usize> {
        let n = self.uvarint()?;
        let left = (self.b.len() - self.pos) as u64;
        if n > left {
            return Err(decode_err(format!("count {n} exceeds the {left} bytes left")));
        }
        Ok(n as usize)
    }

    fn string(&mut self) -> StoreResult<String> {
        let n = self.count()?;
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).map_err(|e| decode_err(format!("invalid UTF-8: {e}")))
    }

    fn value(&mut self, depth: usize) -> StoreResult<Value> {
        if depth >= MAX_DEPTH {
            return Err(decode_err(format!("nesting deeper than {MAX_DEPTH}")));
        }
        let tag = self.byte()?;
        Ok(match tag {
            NULL => Value::Null,
            FALSE => Value::Boolean(false),
            TRUE => Value::Boolean(true),
            INT => Value::Int(self.varint32()?),
            BIGINT => Value::BigInt(self.varint()?),
            DOUBLE => Value::Double(f64::from_be_bytes(self.take(8)?.try_into().unwrap_or_default())),
            DECIMAL => {
                let precision = self.byte()?;
                let scale = self.byte()?;
                let z = self.uvarint128()?;
                let unscaled = ((z >> 1) as i128) ^ -((z & 1) as i128);
                Value::Decimal(Decimal { unscaled, precision, scale })
            }
            STRING => Value::String(self.string()?),
            BYTES => {
                let n = self.count()?;
                Value::Bytes(self.take(n)?.to_vec())
            }
            DATE => Value::Date(self.varint32()?),
            TIME => Value::Time(self.varint32()?),
            TIMESTAMP => Value::Timestamp(self.varint()?),
            ARRAY => {
                let n = self.count()?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.value(depth + 1)?);
                }
                Value::Array(items)
            }
            MAP => {
                let n = self.count()?;
                let mut entries = Vec::with_capacity(n / 2);
                for _ in 0..n {
                    let k = self.value(depth + 1)?;
                    entries.push((k, self.value(depth + 1)?));
                }
                Value::Map(entries)
            }
            STRUCT => {
                let n = self.count()?;
                let mut fields = Vec::with_capacity(n / 2);
                for _ in 0..n {
                    let name = self.string()?;
                    fields.push((name, self.value(depth + 1)?));
                }
                Value::Struct(fields)
            }
            t => return Err(decode_err(format!("unknown value tag {t} at byte {}", self.pos - 1))),
        })
    }

    fn finish(&self) -> StoreResult<()> {
        if self.pos == self.b.len() {
            Ok(())
        } else {
            Err(decode_err(format!("{} trailing bytes", self.b.len() - self.pos)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn every_value() -> Vec<Value> {
        vec![
            Value::Null,
            Value::Boolean(true),
            Value::Boolean(false),
            Value::Int(i32::MIN),
            Value::Int(-1),
            Value::BigInt(i64::MAX),
            Value::Double(-0.0),
            Value::Double(f64::NAN),
            Value::Decimal(Decimal { unscaled: -1_234_567_890_123_456_789_012_345_678_901_234_567, precision: 38, scale: 10 }),
            Value::Decimal(Decimal { unscaled: i128::MIN, precision: 38, scale: 0 }),
            Value::String("héllo \u{0}".into()),
            Value::Bytes(vec![0, 255, 7]),
            Value::Date(-719_162),
            Value::Time(86_399_999),
            Value::Timestamp(-1),
            Value::Array(vec![Value::Int(1), Value::Null, Value::Array(vec![])]),
            Value::Map(vec![(Value::String("k".into()), Value::Double(1.5)), (Value::String("n".into()), Value::Null)]),
            Value::Struct(vec![("A".into(), Value::Int(1)), ("b c".into(), Value::Struct(vec![]))]),
        ]
    }

    #[test]
    fn every_value_round_trips() {
        let s = InternalRowSerde;
        let row = every_value();
        let bytes = Serde::<Row>::serialize(&s, "t", &row).unwrap();
        let back = Serde::<Row>::deserialize(&s, "t", &bytes).unwrap();
        assert_eq!(back.len(), row.len());
        for (a, b) in row.iter().zip(&back) {
            // Value's equality treats NaN as equal to itself (total order).
            assert_eq!(a, b);
        }
        for v in &row {
            let bytes = Serde::<Value>::serialize(&s, "t", v).unwrap();
            assert_eq!(&Serde::<Value>::deserialize(&s, "t", &bytes).unwrap(), v);
        }
        assert_eq!(Serde::<Row>::serialize(&s, "t", &vec![Value::Int(1), Value::String("ab".into())]).unwrap(), [1, 2, INT, 2, STRING, 2, b'a', b'b']);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let s = InternalRowSerde;
        let bytes = Serde::<Row>::serialize(&s, "t", &every_value()).unwrap();
        for n in 0..bytes.len() {
            assert!(Serde::<Row>::deserialize(&s, "t", &bytes[..n]).is_err(), "prefix {n}");
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(Serde::<Row>::deserialize(&s, "t", &extra).is_err());
    }

    #[test]
    fn hostile_bytes_are_errors() {
        let s = InternalRowSerde;
        let cases: &[&[u8]] = &[
            &[2, 0],                                                  // unknown version
            &[1, 1, 99],                                              // unknown tag
            &[1, 0xff, 0xff, 0xff, 0xff, 0x0f],                       // huge count
            &[1, 1, STRING, 2, 0xff, 0xfe],                           // invalid UTF-8
            &[1, 1, INT, 0xff, 0xff, 0xff, 0xff, 0x7f],               // int out of range
            &[1, 1, BIGINT, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        ];
        for c in cases {
            assert!(Serde::<Row>::deserialize(&s, "t", c).is_err(), "{c:?}");
        }
        let mut deep = vec![1, 1];
        for _ in 0..(MAX_DEPTH + 5) {
            deep.extend_from_slice(&[ARRAY, 1]);
        }
        deep.push(NULL);
        let e = Serde::<Row>::deserialize(&s, "t", &deep).unwrap_err();
        assert!(e.to_string().contains("nesting"), "{e}");
    }
}
