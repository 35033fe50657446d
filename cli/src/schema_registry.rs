//! The Schema Registry of `brook server` (port 8081): on the embedded broker's `_schemas`
//! topic, or, with `--bootstrap-server`, on that cluster's `_schemas` topic through the SQL
//! engine's cluster seam (librdkafka) when `--schema-registry-listen` asks for it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use brook_schema_registry::{LogRecord, RegistryConfig, SchemaLog, SchemaRegistry};
use brook_sql_engine::cluster::Cluster;
use brook_sql_engine::engine::OutputRecord;
use futures::future::BoxFuture;

/// The `_schemas` topic on any cluster behind the engine's [`Cluster`] seam. The seam's calls
/// block (librdkafka), so each runs on the blocking pool; reads poll.
#[derive(Debug)]
pub struct ClusterLog {
    cluster: Arc<dyn Cluster>,
    topic: String,
}

fn store_err(e: impl std::fmt::Display) -> brook_schema_registry::Error {
    brook_schema_registry::Error::Store(e.to_string())
}

impl ClusterLog {
    /// Opens `topic` on `cluster`, creating it compacted with one partition.
    ///
    /// # Errors
    /// The cluster's errors.
    pub fn open(cluster: Arc<dyn Cluster>, topic: &str) -> anyhow::Result<ClusterLog> {
        if cluster.partition_count(topic)?.is_none() {
            cluster.create_topic(topic, 1, &BTreeMap::from([("cleanup.policy".to_owned(), "compact".to_owned())]))?;
        }
        Ok(ClusterLog { cluster, topic: topic.to_owned() })
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Cluster, &str) -> brook_sql_engine::Result<T> + Send + 'static,
    ) -> brook_schema_registry::Result<T> {
        let (cluster, topic) = (self.cluster.clone(), self.topic.clone());
        tokio::task::spawn_blocking(move || f(cluster.as_ref(), &topic)).await.map_err(store_err)?.map_err(store_err)
    }
}

impl SchemaLog for ClusterLog {
    fn end_offset(&self) -> BoxFuture<'_, brook_schema_registry::Result<i64>> {
        Box::pin(self.blocking(|c, t| Ok(c.end_offsets(t)?.first().copied().unwrap_or(0))))
    }

    fn append(&self, key: Vec<u8>, value: Option<Vec<u8>>) -> BoxFuture<'_, brook_schema_registry::Result<i64>> {
        Box::pin(self.blocking(move |c, t| {
            let record = OutputRecord { key: Some(key), value, timestamp: brook_common::now_ms(), headers: vec![] };
            c.append(t, &[record])?;
            // Past this record: the end after the append.
            Ok(c.end_offsets(t)?.first().copied().unwrap_or(0))
        }))
    }

    fn read(&self, from: i64, wait: Duration) -> BoxFuture<'_, brook_schema_registry::Result<Vec<LogRecord>>> {
        Box::pin(async move {
            let records = self.blocking(move |c, t| c.read(t, 0, Some(from))).await?;
            if records.is_empty() {
                tokio::time::sleep(wait.min(Duration::from_millis(200))).await;
            }
            Ok(records.into_iter().map(|(offset, r)| LogRecord { offset, key: r.key, value: r.value }).collect())
        })
    }
}

/// Binds the registry's listener. When the address is the default (not `explicit`) and taken,
/// warns and returns `None`: the server runs without a registry rather than not at all (two
/// `brook server`s on one machine, the second with its own ports for the rest).
pub(crate) async fn bind(listen: std::net::SocketAddr, explicit: bool) -> anyhow::Result<Option<tokio::net::TcpListener>> {
    match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => Ok(Some(l)),
        Err(e) if !explicit && e.kind() == std::io::ErrorKind::AddrInUse => {
            tracing::warn!(%listen, "the Schema Registry's default address is taken: running without it (pass --schema-registry-listen HOST:PORT)");
            Ok(None)
        }
        Err(e) => Err(e).with_context(|| {
            format!("cannot listen on {listen} for the Schema Registry (pick another address with --schema-registry-listen HOST:PORT, or --no-schema-registry)")
        }),
    }
}

/// Starts a registry on `log` serving on `listener`; the returned future serves until `stopped`.
pub(crate) async fn start(
    log: Arc<dyn SchemaLog>,
    listener: tokio::net::TcpListener,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<(SchemaRegistry, impl std::future::Future<Output = anyhow::Result<()>>)> {
    let registry = SchemaRegistry::start(log, RegistryConfig::default()).await.context("cannot read the _schemas topic")?;
    let serving = registry.clone();
    let stop = async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    Ok((registry, async move { brook_schema_registry::serve(serving, listener, stop).await.context("Schema Registry REST API") }))
}
