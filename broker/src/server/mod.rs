//! The Kafka wire-protocol server (being built).
