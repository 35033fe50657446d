//! Broker integration tests: one binary, one module per area.

mod durability;
mod groups;
mod support;
mod transactions;
