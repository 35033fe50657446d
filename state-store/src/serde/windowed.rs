//! Kafka Streams' windowed key encodings (`WindowKeySchema`, `SessionKeySchema`) and
//! `ValueAndTimestamp`.

use bytes::{BufMut, Bytes, BytesMut};

use super::{Serde, SerdeContext};
use crate::error::{Error, Result};

/// A time interval `[start, end)` in milliseconds; sessions use `[start, end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Window {
    /// Start timestamp (inclusive).
    pub start: i64,
    /// End timestamp.
    pub end: i64,
}

impl Window {
    /// A window from `start` to `end`.
    #[must_use]
    pub fn new(start: i64, end: i64) -> Self {
        Window { start, end }
    }
}

/// A key with the window it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Windowed<K> {
    /// The record key.
    pub key: K,
    /// The window.
    pub window: Window,
}

impl<K> Windowed<K> {
    /// A windowed key.
    pub fn new(key: K, window: Window) -> Self {
        Windowed { key, window }
    }
}

fn read_i64(bytes: &[u8], at: usize, what: &'static str) -> Result<i64> {
    bytes
        .get(at..at + 8)
        .and_then(|s| s.try_into().ok())
        .map(i64::from_be_bytes)
        .ok_or_else(|| Error::decode(what, format!("{} bytes is too short", bytes.len())))
}

/// Kafka's `WindowKeySchema`: `key + 8-byte big-endian window start`, and in the store's own layout
/// `key + start + 4-byte big-endian sequence number` (used for retain-duplicates).
#[derive(Debug, Clone, Copy, Default)]
pub struct WindowKeySchema;

impl WindowKeySchema {
    /// Bytes of a sequence number suffix.
    pub const SEQNUM_SIZE: usize = 4;
    /// Bytes of a timestamp.
    pub const TIMESTAMP_SIZE: usize = 8;

    /// `key + start`: the wire form of a time-windowed key.
    #[must_use]
    pub fn to_binary(key: &[u8], start: i64) -> Bytes {
        let mut b = BytesMut::with_capacity(key.len() + 8);
        b.put_slice(key);
        b.put_i64(start);
        b.freeze()
    }

    /// `key + start + seqnum`: the store (and changelog) layout.
    #[must_use]
    pub fn to_store_key_binary(key: &[u8], start: i64, seqnum: u32) -> Bytes {
        let mut b = BytesMut::with_capacity(key.len() + 12);
        b.put_slice(key);
        b.put_i64(start);
        b.put_u32(seqnum);
        b.freeze()
    }

    /// Splits a store key into `(key, start, seqnum)`.
    ///
    /// # Errors
    /// [`Error::Decode`] when shorter than 12 bytes.
    pub fn from_store_key_binary(bytes: &[u8]) -> Result<(&[u8], i64, u32)> {
        if bytes.len() < 12 {
            return Err(Error::decode("window store key", format!("{} bytes", bytes.len())));
        }
        let k = bytes.len() - 12;
        let start = read_i64(bytes, k, "window store key")?;
        let seq = u32::from_be_bytes([bytes[k + 8], bytes[k + 9], bytes[k + 10], bytes[k + 11]]);
        Ok((&bytes[..k], start, seq))
    }

    /// Splits `key + start` into `(key, start)`.
    ///
    /// # Errors
    /// [`Error::Decode`] when shorter than 8 bytes.
    pub fn from_binary(bytes: &[u8]) -> Result<(&[u8], i64)> {
        if bytes.len() < 8 {
            return Err(Error::decode("windowed key", format!("{} bytes", bytes.len())));
        }
        let k = bytes.len() - 8;
        Ok((&bytes[..k], read_i64(bytes, k, "windowed key")?))
    }
}

/// Kafka's `SessionKeySchema`: `key + 8-byte end + 8-byte start`, big-endian.
#[derive(Debug, Clone, Copy, Default)]
pub struct SessionKeySchema;

impl SessionKeySchema {
    /// `key + end + start`.
    #[must_use]
    pub fn to_binary(key: &[u8], window: Window) -> Bytes {
        let mut b = BytesMut::with_capacity(key.len() + 16);
        b.put_slice(key);
        b.put_i64(window.end);
        b.put_i64(window.start);
        b.freeze()
    }

    /// Splits `key + end + start`.
    ///
    /// # Errors
    /// [`Error::Decode`] when shorter than 16 bytes.
    pub fn from_binary(bytes: &[u8]) -> Result<(&[u8], Window)> {
        if bytes.len() < 16 {
            return Err(Error::decode("session key", format!("{} bytes", bytes.len())));
        }
        let k = bytes.len() - 16;
        let end = read_i64(bytes, k, "session key")?;
        let start = read_i64(bytes, k + 8, "session key")?;
        Ok((&bytes[..k], Window { start, end }))
    }
}

/// Serde for time-windowed keys: inner key bytes + 8-byte start. The window end is start + size.
#[derive(Debug, Clone)]
pub struct TimeWindowedSerde<S> {
    inner: S,
    window_size: i64,
}

impl<S> TimeWindowedSerde<S> {
    /// Wraps the key serde; `window_size` (ms) gives the end on deserialize.
    pub fn new(inner: S, window_size: i64) -> Self {
        TimeWindowedSerde { inner, window_size }
    }
}

/// Windowed keys are keys: the topic-only methods tell the inner serde `is_key`; the `_with`
/// methods pass the caller's context through.
impl<K, S: Serde<K>> Serde<Windowed<K>> for TimeWindowedSerde<S> {
    fn serialize(&self, topic: &str, value: &Windowed<K>) -> Result<Vec<u8>> {
        self.serialize_with(&SerdeContext::key(topic), value)
    }
    fn deserialize(&self, topic: &str, bytes: &[u8]) -> Result<Windowed<K>> {
        self.deserialize_with(&SerdeContext::key(topic), bytes)
    }
    fn serialize_with(&self, ctx: &SerdeContext<'_>, value: &Windowed<K>) -> Result<Vec<u8>> {
        let mut key = self.inner.serialize_with(ctx, &value.key)?;
        key.extend_from_slice(&value.window.start.to_be_bytes());
        Ok(key)
    }
    fn deserialize_with(&self, ctx: &SerdeContext<'_>, bytes: &[u8]) -> Result<Windowed<K>> {
        let (key, start) = WindowKeySchema::from_binary(bytes)?;
        let end = start.saturating_add(self.window_size);
        Ok(Windowed::new(self.inner.deserialize_with(ctx, key)?, Window::new(start, end)))
    }
}

/// Serde for session-windowed keys: inner key bytes + 8-byte end + 8-byte start.
#[derive(Debug, Clone)]
pub struct SessionWindowedSerde<S>(pub S);

/// As [`TimeWindowedSerde`]: keys, with the caller's context passed through.
impl<K, S: Serde<K>> Serde<Windowed<K>> for SessionWindowedSerde<S> {
    fn serialize(&self, topic: &str, value: &Windowed<K>) -> Result<Vec<u8>> {
        self.serialize_with(&SerdeContext::key(topic), value)
    }
    fn deserialize(&self, topic: &str, bytes: &[u8]) -> Result<Windowed<K>> {
        self.deserialize_with(&SerdeContext::key(topic), bytes)
    }
    fn serialize_with(&self, ctx: &SerdeContext<'_>, value: &Windowed<K>) -> Result<Vec<u8>> {
        let key = self.0.serialize_with(ctx, &value.key)?;
        Ok(SessionKeySchema::to_binary(&key, value.window).to_vec())
    }
    fn deserialize_with(&self, ctx: &SerdeContext<'_>, bytes: &[u8]) -> Result<Windowed<K>> {
        let (key, window) = SessionKeySchema::from_binary(bytes)?;
        Ok(Windowed::new(self.0.deserialize_with(ctx, key)?, window))
    }
}

/// A value with the timestamp of the record that last updated it (Kafka's `ValueAndTimestamp`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueAndTimestamp<V> {
    /// The value.
    pub value: V,
    /// Its timestamp (ms).
    pub timestamp: i64,
}

impl ValueAndTimestamp<Bytes> {
    /// Kafka's layout: 8-byte big-endian timestamp, then the raw value.
    #[must_use]
    pub fn to_bytes(&self) -> Bytes {
        ValueAndTimestamp::encode(self.timestamp, &self.value)
    }

    /// Kafka's layout of `value` stamped with `timestamp`: 8-byte big-endian timestamp, then
    /// the value bytes.
    #[must_use]
    pub fn encode(timestamp: i64, value: &[u8]) -> Bytes {
        let mut b = BytesMut::with_capacity(8 + value.len());
        b.put_i64(timestamp);
        b.put_slice(value);
        b.freeze()
    }

    /// Splits Kafka's layout into `(timestamp, value bytes)` without copying.
    ///
    /// # Errors
    /// [`Error::Decode`] when shorter than 8 bytes.
    pub fn split(bytes: &[u8]) -> Result<(i64, &[u8])> {
        Ok((read_i64(bytes, 0, "value and timestamp")?, &bytes[8..]))
    }

    /// Decodes the layout of [`ValueAndTimestamp::to_bytes`].
    ///
    /// # Errors
    /// [`Error::Decode`] when shorter than 8 bytes.
    pub fn from_bytes(bytes: &Bytes) -> Result<Self> {
        let timestamp = read_i64(bytes, 0, "value and timestamp")?;
        Ok(ValueAndTimestamp { value: bytes.slice(8..), timestamp })
    }
}

/// Kafka's `ValueAndTimestamp` layout of `value` stamped with `timestamp`, built in one
/// buffer: the 8-byte big-endian timestamp, then the value as `serde` writes it straight after
/// (its [`Serde::serialize_into`], no vector of its own). What [`ValueAndTimestampSerde`] and
/// `StateSerdes::raw_timestamped` (a window store's values) write.
#[inline]
pub(crate) fn timestamped_bytes<V, S: Serde<V> + ?Sized>(serde: &S, ctx: &SerdeContext<'_>, value: &V, timestamp: i64) -> Result<Vec<u8>> {
    // Room for the timestamp and a short value (a count, a price, a small string).
    let mut out = Vec::with_capacity(32);
    out.extend_from_slice(&timestamp.to_be_bytes());
    serde.serialize_into(ctx, value, &mut out)?;
    Ok(out)
}

/// Serde for `ValueAndTimestamp<V>`: 8-byte timestamp + inner value bytes, written into one
/// buffer.
#[derive(Debug, Clone)]
pub struct ValueAndTimestampSerde<S>(pub S);

/// Values: the topic-only methods tell the inner serde `!is_key`; the `_with` methods pass the
/// caller's context through.
impl<V, S: Serde<V>> Serde<ValueAndTimestamp<V>> for ValueAndTimestampSerde<S> {
    fn serialize(&self, topic: &str, v: &ValueAndTimestamp<V>) -> Result<Vec<u8>> {
        self.serialize_with(&SerdeContext::value(topic), v)
    }
    fn deserialize(&self, topic: &str, bytes: &[u8]) -> Result<ValueAndTimestamp<V>> {
        self.deserialize_with(&SerdeContext::value(topic), bytes)
    }
    fn serialize_with(&self, ctx: &SerdeContext<'_>, v: &ValueAndTimestamp<V>) -> Result<Vec<u8>> {
        timestamped_bytes(&self.0, ctx, &v.value, v.timestamp)
    }
    fn serialize_bytes(&self, ctx: &SerdeContext<'_>, v: &ValueAndTimestamp<V>) -> Result<Bytes> {
        timestamped_bytes(&self.0, ctx, &v.value, v.timestamp).map(Bytes::from)
    }
    fn serialize_into(&self, ctx: &SerdeContext<'_>, v: &ValueAndTimestamp<V>, out: &mut Vec<u8>) -> Result<()> {
        out.extend_from_slice(&v.timestamp.to_be_bytes());
        self.0.serialize_into(ctx, &v.value, out)
    }
    fn deserialize_with(&self, ctx: &SerdeContext<'_>, bytes: &[u8]) -> Result<ValueAndTimestamp<V>> {
        let (timestamp, value) = ValueAndTimestamp::split(bytes)?;
        Ok(ValueAndTimestamp { value: self.0.deserialize_with(ctx, value)?, timestamp })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serde::StringSerde;

    #[test]
    fn window_key_layouts_match_kafka() {
        let k = WindowKeySchema::to_store_key_binary(b"ab", 258, 3);
        assert_eq!(&k[..], &[b'a', b'b', 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 3]);
        assert_eq!(WindowKeySchema::from_store_key_binary(&k).unwrap(), (&b"ab"[..], 258, 3));
        let s = SessionKeySchema::to_binary(b"k", Window::new(1, 2));
        assert_eq!(&s[..], &[b'k', 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(SessionKeySchema::from_binary(&s).unwrap(), (&b"k"[..], Window::new(1, 2)));
    }

    #[test]
    fn windowed_serdes_round_trip_and_reject_short_input() {
        let serde = TimeWindowedSerde::new(StringSerde, 10);
        let w = Windowed::new("key".to_owned(), Window::new(100, 110));
        let bytes = serde.serialize("t", &w).unwrap();
        assert_eq!(serde.deserialize("t", &bytes).unwrap(), w);
        assert!(matches!(serde.deserialize("t", b"short"), Err(Error::Decode { .. })));
        let session = SessionWindowedSerde(StringSerde);
        let w = Windowed::new("k".to_owned(), Window::new(5, 9));
        assert_eq!(session.deserialize("t", &session.serialize("t", &w).unwrap()).unwrap(), w);
        assert!(matches!(session.deserialize("t", &[0; 15]), Err(Error::Decode { .. })));
        assert!(WindowKeySchema::from_store_key_binary(&[0; 11]).is_err());
        let vt = ValueAndTimestamp { value: Bytes::from_static(b"v"), timestamp: 7 };
        assert_eq!(ValueAndTimestamp::from_bytes(&vt.to_bytes()).unwrap(), vt);
        assert!(ValueAndTimestamp::from_bytes(&Bytes::from_static(b"1234")).is_err());
    }

    #[test]
    fn timestamped_values_are_written_in_kafkas_layout_in_one_buffer() {
        let serde = ValueAndTimestampSerde(StringSerde);
        let ctx = SerdeContext::value("t");
        let vt = ValueAndTimestamp { value: "a long enough value to outgrow 32 bytes".to_owned(), timestamp: 258 };
        let mut expected = 258i64.to_be_bytes().to_vec();
        expected.extend_from_slice(vt.value.as_bytes());
        assert_eq!(serde.serialize_with(&ctx, &vt).unwrap(), expected);
        assert_eq!(serde.serialize("t", &vt).unwrap(), expected);
        assert_eq!(&serde.serialize_bytes(&ctx, &vt).unwrap()[..], &expected[..]);
        // Appended after what the buffer holds.
        let mut out = vec![9];
        serde.serialize_into(&ctx, &vt, &mut out).unwrap();
        assert_eq!(out[0], 9);
        assert_eq!(&out[1..], &expected[..]);
        assert_eq!(serde.deserialize_with(&ctx, &expected).unwrap(), vt);
        assert!(matches!(serde.deserialize_with(&ctx, &expected[..7]), Err(Error::Decode { .. })));
        let serdes = crate::StateSerdes::new("t", std::sync::Arc::new(StringSerde), std::sync::Arc::new(StringSerde));
        assert_eq!(&serdes.raw_timestamped(&vt.value, 258).unwrap()[..], &expected[..]);
    }
}
