//! brook-schema's integration tests: serdes against the in-memory registry, and the wire bytes
//! against Confluent's Python serializers.

mod confluent_bytes;
mod serdes;
