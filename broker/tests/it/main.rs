//! Broker integration tests: one binary, one module per area.

mod decoder_regressions;
mod durability;
mod groups;
mod support;
mod transactions;
