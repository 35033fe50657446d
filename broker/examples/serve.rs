//! A bare Kafka-protocol server over a data directory, for wire benchmarks that need no SQL
//! server (`bench/kcat_fetch.sh`): `cargo run --release -p brook-broker --example serve -- DIR PORT`.
//! Creates topic `kperf` (one partition) when it does not exist. Stops on Ctrl-C.

use std::collections::BTreeMap;

use brook_broker::server::{serve, ServerConfig};
use brook_broker::{Broker, BrokerConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(port)) = (args.next(), args.next()) else {
        return Err("usage: serve DATA_DIR PORT".into());
    };
    let port: u16 = port.parse()?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        let broker = Broker::open(BrokerConfig::new(dir)).await?;
        if !broker.list_topics().iter().any(|t| t == "kperf") {
            broker.create_topic("kperf", 1, BTreeMap::new())?;
        }
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        serve(broker, listener, ServerConfig::default(), async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
        Ok(())
    })
}
