//! Serializers and deserializers (Kafka's `Serde`), with Kafka's byte encodings.
//!
//! Every `deserialize` validates its input and returns [`Error::Decode`] on bad bytes; none panics.

mod windowed;

use std::fmt;
use std::marker::PhantomData;

use bytes::Bytes;

pub use windowed::{
    SessionKeySchema, SessionWindowedSerde, TimeWindowedSerde, ValueAndTimestamp,
    ValueAndTimestampSerde, Window, WindowKeySchema, Windowed,
};

use crate::error::{Error, Result};

/// Converts values of `T` to and from bytes, as Kafka's `Serde<T>`.
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
    /// [`serialize`](Self::serialize) into shared bytes; serdes of byte types override it to
    /// hand the value over without a copy.
    ///
    /// # Errors
    /// As [`serialize`](Self::serialize).
    fn serialize_bytes(&self, topic: &str, value: &T) -> Result<Bytes> {
        self.serialize(topic, value).map(Bytes::from)
    }
    /// [`deserialize`](Self::deserialize) from shared bytes; serdes of byte types override it
    /// to keep a reference instead of copying.
    ///
    /// # Errors
    /// As [`deserialize`](Self::deserialize).
    fn deserialize_bytes(&self, topic: &str, bytes: &Bytes) -> Result<T> {
        self.deserialize(topic, bytes)
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
    fn serialize_bytes(&self, _topic: &str, value: &Bytes) -> Result<Bytes> {
        Ok(value.clone())
    }
    fn deserialize_bytes(&self, _topic: &str, bytes: &Bytes) -> Result<Bytes> {
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
