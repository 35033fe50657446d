//! The registry serdes as brook's [`Serde`](brook_state_store::Serde): the Avro, JSON Schema and
//! Protobuf serdes (generic and typed) implement it the same way from their own
//! `to_bytes` / `to_bytes_with` / `from_bytes`, written once here.

use crate::error::Error;

/// A registry serde's error as a store serde error (`encode`: on serialize).
pub(crate) fn store_error(e: Error, encode: bool) -> brook_state_store::Error {
    let what = "schema registry record";
    if encode {
        brook_state_store::Error::Encode { what, reason: e.to_string() }
    } else {
        brook_state_store::Error::Decode { what, reason: e.to_string() }
    }
}

/// Implements `Serde<$value>` for the registry serde `$serde` (generics in brackets):
/// `serialize` is its `to_bytes(topic, ..)` (the side named by its `SerdeConfig::is_key`),
/// `serialize_with` its `to_bytes_with(ctx, ..)`, both given what `|$v| $arg` makes of the
/// value; `deserialize` is its `from_bytes` (the topic plays no part: the schema id is in the
/// frame), the value taken out of what it returns by `|$decoded| $out`.
macro_rules! registry_serde {
    ([$($generics:tt)*] $serde:ty => $value:ty, |$v:ident| $arg:expr, |$decoded:pat_param| $out:expr) => {
        impl<$($generics)*> brook_state_store::Serde<$value> for $serde {
            fn serialize(&self, topic: &str, $v: &$value) -> brook_state_store::Result<Vec<u8>> {
                self.to_bytes(topic, $arg).map_err(|e| $crate::store_serde::store_error(e, true))
            }
            fn serialize_with(&self, ctx: &brook_state_store::SerdeContext<'_>, $v: &$value) -> brook_state_store::Result<Vec<u8>> {
                self.to_bytes_with(ctx, $arg).map_err(|e| $crate::store_serde::store_error(e, true))
            }
            fn deserialize(&self, _topic: &str, bytes: &[u8]) -> brook_state_store::Result<$value> {
                self.from_bytes(bytes).map(|$decoded| $out).map_err(|e| $crate::store_serde::store_error(e, false))
            }
        }
    };
}

pub(crate) use registry_serde;
