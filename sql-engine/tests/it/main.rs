//! The sql-engine's integration tests, one module per area.

mod engine_aggregate;
mod engine_commands;
mod engine_csas;
mod engine_eos_restart;
mod engine_join;
mod engine_live;
mod engine_many_queries;
mod engine_pull;
mod engine_push;
mod engine_show;
mod engine_support;
mod formats_json_sr_protobuf;
mod formats_schema_registry;
mod parser;
mod qtt;
mod vectorized;
