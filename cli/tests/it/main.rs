//! `brook` as a user meets it: the README's commands as written, the binary's messages, and the
//! crates used from a project outside the workspace.

#[path = "../../../tests/it/util.rs"]
mod util;

mod connect;
mod connect_sql;
mod connect_distributed;
mod connect_eos;
mod connect_server;
mod datagen;
mod embedding;
mod messages;
mod readme;
mod recovery;
mod schema_registry;
mod sql;
mod sql_kafka;
mod sql_kafka_pool;
mod sql_rest;
mod test_runner;
mod tools;

use util::brook;

/// The workspace root.
fn repo() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}
