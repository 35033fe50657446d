//! Broker integration tests: one binary, one module per area.

mod creation;
mod decoder_regressions;
mod dir_lock;
mod durability;
mod groups;
mod request_memory;
mod support;
mod transactions;
