//! Serializers and deserializers (Kafka's `Serde`), with Kafka's byte encodings.
//!
//! Every `deserialize` validates its input and returns [`Error::Decode`] on bad bytes; none panics.

mod windowed;

use std::fmt;
use std::marker::PhantomData;

pub use brook_common::Header;
use bytes::Bytes;

pub use windowed::{
    SessionKeySchema, SessionWindowedSerde, TimeWindowedSerde, ValueAndTimestamp,
    ValueAndTimestampSerde, Window, WindowKeySchema, Windowed,
};
pub(crate) use windowed::timestamped_bytes;

use crate::error::{Error, Result};

/// What a serde is told about the record it (de)serializes, as Kafka's
/// `Serializer.serialize(topic, headers, data)` and `configure(.., isKey)` tell it: the topic,
/// whether it is the key or the value, and the record's headers. Schema Registry serdes derive
/// their subject from it (`<topic>-key`, `<topic>-value`).
///
/// The runtime passes the record's own topic and headers at source, sink and repartition
/// topics; stores pass their changelog topic (`<application.id>-<store>-changelog`, as Kafka
/// Streams' `StateSerdes` do) and no headers.
///
/// # Examples
/// ```
/// use brook_state_store::SerdeContext;
/// let ctx = SerdeContext::value("orders");
/// assert!(!ctx.is_key && ctx.headers.is_empty());
/// assert_eq!(ctx.target(), "value");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct SerdeContext<'a> {
    /// The record's topic (a store's changelog topic for store serdes).
    pub topic: &'a str,
    /// Whether the key (else the value) is (de)serialized.
    pub is_key: bool,
    /// The record's headers (empty for stores).
    pub headers: &'a [Header],
}

impl<'a> SerdeContext<'a> {
    /// The key of a record on `topic`, without headers.
    #[must_use]
    pub fn key(topic: &'a str) -> Self {
        SerdeContext { topic, is_key: true, headers: &[] }
    }

    /// The value of a record on `topic`, without headers.
    #[must_use]
    pub fn value(topic: &'a str) -> Self {
        SerdeContext { topic, is_key: false, headers: &[] }
    }

    /// The same context with the record's `headers`.
    #[must_use]
    pub fn with_headers(self, headers: &'a [Header]) -> Self {
        SerdeContext { headers, ..self }
    }

    /// `"key"` or `"value"`, for messages.
    #[must_use]
    pub fn target(&self) -> &'static str {
        if self.is_key { "key" } else { "value" }
    }
}

/// Converts values of `T` to and from bytes, as Kafka's `Serde<T>`.
///
/// Implement [`serialize`](Self::serialize) and [`deserialize`](Self::deserialize); serdes that
/// need the record context (topic, key or value, headers) override
/// [`serialize_with`](Self::serialize_with) and [`deserialize_with`](Self::deserialize_with)
/// too. The runtime calls the `_with` methods (through [`serialize_bytes`](Self::serialize_bytes)
/// and [`deserialize_bytes`](Self::deserialize_bytes)), whose defaults call the topic-only ones,
/// as Kafka's `Serializer.serialize(topic, headers, data)` defaults to `serialize(topic, data)`.
///
/// # Examples
/// A serde that writes the side it encodes:
/// ```
/// use brook_state_store::{Result, Serde, SerdeContext};
/// struct Side;
/// impl Serde<String> for Side {
///     fn serialize(&self, _topic: &str, v: &String) -> Result<Vec<u8>> {
///         Ok(v.as_bytes().to_vec())
///     }
///     fn deserialize(&self, _topic: &str, b: &[u8]) -> Result<String> {
///         Ok(String::from_utf8_lossy(b).into_owned())
///     }
///     fn serialize_with(&self, ctx: &SerdeContext<'_>, v: &String) -> Result<Vec<u8>> {
///         Ok(format!("{}-{}:{v}", ctx.topic, ctx.target()).into_bytes())
///     }
/// }
/// assert_eq!(Side.serialize_with(&SerdeContext::key("t"), &"a".to_owned()).unwrap(), b"t-key:a");
/// assert_eq!(Side.serialize("t", &"a".to_owned()).unwrap(), b"a");
/// ```
pub trait Serde<T>: Send + Sync {
    /// Encodes `value` for `topic`.
    ///
    /// # Errors
    /// [`Error::Encode`] when the value cannot be represented.
    fn serialize(&self, topic: &str, value: &T) -> Result<Vec<u8>>;
    /// Decodes bytes read from `topic`.
    ///
    /// # Errors
    /// [`Error::Decode`] when the bytes are not a valid encoding.
    fn deserialize(&self, topic: &str, bytes: &[u8]) -> Result<T>;
    /// Encodes `value` knowing the record context. Default: [`serialize`](Self::serialize)
    /// with the context's topic.
    ///
    /// # Errors
    /// As [`serialize`](Self::serialize).
    fn serialize_with(&self, ctx: &SerdeContext<'_>, value: &T) -> Result<Vec<u8>> {
        self.serialize(ctx.topic, value)
    }
    /// Decodes bytes knowing the record context. Default: [`deserialize`](Self::deserialize)
    /// with the context's topic.
    ///
    /// # Errors
    /// As [`deserialize`](Self::deserialize).
    fn deserialize_with(&self, ctx: &SerdeContext<'_>, bytes: &[u8]) -> Result<T> {
        self.deserialize(ctx.topic, bytes)
    }
    /// [`serialize_with`](Self::serialize_with) into shared bytes; serdes of byte types
    /// override it to hand the value over without a copy.
    ///
    /// # Errors
    /// As [`serialize`](Self::serialize).
    fn serialize_bytes(&self, ctx: &SerdeContext<'_>, value: &T) -> Result<Bytes> {
        self.serialize_with(ctx, value).map(Bytes::from)
    }
    /// [`deserialize_with`](Self::deserialize_with) from shared bytes; serdes of byte types
    /// override it to keep a reference instead of copying.
    ///
    /// # Errors
    /// As [`deserialize`](Self::deserialize).
    fn deserialize_bytes(&self, ctx: &SerdeContext<'_>, bytes: &Bytes) -> Result<T> {
        self.deserialize_with(ctx, bytes)
    }
    /// [`serialize_with`](Self::serialize_with) appended to `out`: what a caller that
    /// prefixes the encoding (a store's timestamped value) uses to build it in one buffer.
    /// Serdes of plain types override it to write without a vector of their own.
    ///
    /// # Errors
    /// As [`serialize`](Self::serialize).
    fn serialize_into(&self, ctx: &SerdeContext<'_>, value: &T, out: &mut Vec<u8>) -> Result<()> {
        out.extend_from_slice(&self.serialize_with(ctx, value)?);
        Ok(())
    }
}

/// A shared serde is a serde: `Arc<dyn Serde<T>>` fits wherever a `Serde<T>` is expected (the
/// windowed and timestamped wrappers), forwarding every method, context ones included.
impl<T, S: Serde<T> + ?Sized> Serde<T> for std::sync::Arc<S> {
    fn serialize(&self, topic: &str, value: &T) -> Result<Vec<u8>> {
        (**self).serialize(topic, value)
    }
    fn deserialize(&self, topic: &str, bytes: &[u8]) -> Result<T> {
        (**self).deserialize(topic, bytes)
    }
    fn serialize_with(&self, ctx: &SerdeContext<'_>, value: &T) -> Result<Vec<u8>> {
        (**self).serialize_with(ctx, value)
    }
    fn deserialize_with(&self, ctx: &SerdeContext<'_>, bytes: &[u8]) -> Result<T> {
        (**self).deserialize_with(ctx, bytes)
    }
    fn serialize_bytes(&self, ctx: &SerdeContext<'_>, value: &T) -> Result<Bytes> {
        (**self).serialize_bytes(ctx, value)
    }
    fn deserialize_bytes(&self, ctx: &SerdeContext<'_>, bytes: &Bytes) -> Result<T> {
        (**self).deserialize_bytes(ctx, bytes)
    }
    fn serialize_into(&self, ctx: &SerdeContext<'_>, value: &T, out: &mut Vec<u8>) -> Result<()> {
        (**self).serialize_into(ctx, value, out)
    }
}

/// UTF-8 strings (Kafka's `StringSerde`).
#[derive(Debug, Clone, Copy, Default)]
pub struct StringSerde;

impl Serde<String> for StringSerde {
    fn serialize(&self, _topic: &str, value: &String) -> Result<Vec<u8>> {
        Ok(value.as_bytes().to_vec())
    }
    fn deserialize(&self, _topic: &str, bytes: &[u8]) -> Result<String> {
        String::from_utf8(bytes.to_vec()).map_err(|e| Error::decode("string", e.to_string()))
    }
    fn serialize_into(&self, _ctx: &SerdeContext<'_>, value: &String, out: &mut Vec<u8>) -> Result<()> {
        out.extend_from_slice(value.as_bytes());
        Ok(())
    }
}

/// Raw bytes, unchanged (Kafka's `BytesSerde`).
#[derive(Debug, Clone, Copy, Default)]
pub struct BytesSerde;

impl Serde<Bytes> for BytesSerde {
    fn serialize(&self, _topic: &str, value: &Bytes) -> Result<Vec<u8>> {
        Ok(value.to_vec())
    }
    fn deserialize(&self, _topic: &str, bytes: &[u8]) -> Result<Bytes> {
        Ok(Bytes::copy_from_slice(bytes))
    }
    fn serialize_bytes(&self, _ctx: &SerdeContext<'_>, value: &Bytes) -> Result<Bytes> {
        Ok(value.clone())
    }
    fn deserialize_bytes(&self, _ctx: &SerdeContext<'_>, bytes: &Bytes) -> Result<Bytes> {
        Ok(bytes.clone())
    }
}

impl Serde<Vec<u8>> for BytesSerde {
    fn serialize(&self, _topic: &str, value: &Vec<u8>) -> Result<Vec<u8>> {
        Ok(value.clone())
    }
    fn deserialize(&self, _topic: &str, bytes: &[u8]) -> Result<Vec<u8>> {
        Ok(bytes.to_vec())
    }
}

macro_rules! fixed_width_serde {
    ($name:ident, $ty:ty, $len:expr, $what:literal, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $name;

        impl Serde<$ty> for $name {
            fn serialize(&self, _topic: &str, value: &$ty) -> Result<Vec<u8>> {
                Ok(value.to_be_bytes().to_vec())
            }
            fn serialize_into(&self, _ctx: &SerdeContext<'_>, value: &$ty, out: &mut Vec<u8>) -> Result<()> {
                out.extend_from_slice(&value.to_be_bytes());
                Ok(())
            }
            fn deserialize(&self, _topic: &str, bytes: &[u8]) -> Result<$ty> {
                let arr: [u8; $len] = bytes.try_into().map_err(|_| {
                    Error::decode($what, format!("expected {} bytes, got {}", $len, bytes.len()))
                })?;
                Ok(<$ty>::from_be_bytes(arr))
            }
        }
    };
}

fixed_width_serde!(I32Serde, i32, 4, "i32", "32-bit big-endian integers (Kafka's `IntegerSerde`).");
fixed_width_serde!(I64Serde, i64, 8, "i64", "64-bit big-endian integers (Kafka's `LongSerde`).");
fixed_width_serde!(F64Serde, f64, 8, "f64", "IEEE 754 doubles, big-endian (Kafka's `DoubleSerde`).");

/// JSON through `serde` (any `Serialize + DeserializeOwned` type).
pub struct JsonSerde<T>(PhantomData<fn() -> T>);

impl<T> JsonSerde<T> {
    /// A JSON serde for `T`.
    #[must_use]
    pub fn new() -> Self {
        JsonSerde(PhantomData)
    }
}

impl<T> Default for JsonSerde<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for JsonSerde<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JsonSerde")
    }
}

impl<T> Serde<T> for JsonSerde<T>
where
    T: ::serde::Serialize + ::serde::de::DeserializeOwned,
{
    fn serialize(&self, _topic: &str, value: &T) -> Result<Vec<u8>> {
        serde_json::to_vec(value).map_err(|e| Error::Encode { what: "json", reason: e.to_string() })
    }
    fn deserialize(&self, _topic: &str, bytes: &[u8]) -> Result<T> {
        serde_json::from_slice(bytes).map_err(|e| Error::decode("json", e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitives_use_kafka_big_endian() {
        assert_eq!(I32Serde.serialize("t", &1).unwrap(), vec![0, 0, 0, 1]);
        assert_eq!(I64Serde.serialize("t", &-1).unwrap(), vec![0xff; 8]);
        assert_eq!(F64Serde.serialize("t", &1.0).unwrap(), 1.0f64.to_be_bytes().to_vec());
        assert_eq!(I64Serde.deserialize("t", &256i64.to_be_bytes()).unwrap(), 256);
        assert_eq!(F64Serde.deserialize("t", &2.5f64.to_be_bytes()).unwrap(), 2.5);
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(matches!(I32Serde.deserialize("t", &[1, 2]), Err(Error::Decode { .. })));
        assert!(matches!(I64Serde.deserialize("t", &[]), Err(Error::Decode { .. })));
        assert!(matches!(StringSerde.deserialize("t", &[0xff, 0xfe]), Err(Error::Decode { .. })));
        let json = JsonSerde::<Vec<i32>>::new();
        assert!(matches!(json.deserialize("t", b"{not json"), Err(Error::Decode { .. })));
    }

    #[test]
    fn decoders_never_panic() {
        use crate::serde::{SessionKeySchema, SessionWindowedSerde, TimeWindowedSerde, WindowKeySchema};
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for len in 0..64usize {
            for _ in 0..50 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x as u8
                    })
                    .collect();
                let _ = StringSerde.deserialize("t", &bytes);
                let _ = I32Serde.deserialize("t", &bytes);
                let _ = I64Serde.deserialize("t", &bytes);
                let _ = F64Serde.deserialize("t", &bytes);
                let _ = JsonSerde::<serde_json::Value>::new().deserialize("t", &bytes);
                let _ = TimeWindowedSerde::new(StringSerde, i64::MAX).deserialize("t", &bytes);
                let _: Result<crate::serde::Windowed<Bytes>> = SessionWindowedSerde(BytesSerde).deserialize("t", &bytes);
                let _ = <BytesSerde as Serde<Vec<u8>>>::deserialize(&BytesSerde, "t", &bytes);
                let _ = WindowKeySchema::from_store_key_binary(&bytes);
                let _ = SessionKeySchema::from_binary(&bytes);
                let _ = crate::serde::ValueAndTimestamp::from_bytes(&Bytes::from(bytes.clone()));
            }
        }
    }

    #[test]
    fn json_round_trip() {
        let json = JsonSerde::<Vec<String>>::new();
        let bytes = json.serialize("t", &vec!["a".to_owned()]).unwrap();
        assert_eq!(bytes, br#"["a"]"#);
        assert_eq!(json.deserialize("t", &bytes).unwrap(), vec!["a".to_owned()]);
    }
}
