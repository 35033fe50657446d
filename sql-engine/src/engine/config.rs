//! How an engine is set up ([`EngineConfig`]) and the server properties it reads when it starts.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use brook_broker::Broker;

use crate::cluster::{Cluster, EmbeddedCluster};
use crate::{Error, Result};

/// The server property that sizes the pool of worker threads running the stream threads of
/// every persistent query (default: twice the CPUs; `0`: each stream thread is an OS thread).
pub const POOL_THREADS: &str = "ksql.query.pool.threads";

/// ksqlDB's `ksql.schema.registry.url`: the registry the `AVRO` format uses when
/// [`EngineConfig::schema_registry`] is not set.
pub const SCHEMA_REGISTRY_URL: &str = "ksql.schema.registry.url";

/// ksqlDB's `ksql.connect.url`: the Kafka Connect REST API the connector statements use
/// (over [`EngineConfig::connect`]).
pub const CONNECT_URL: &str = "ksql.connect.url";

/// A cached HTTP client for `ksql.schema.registry.url` (with
/// `ksql.schema.registry.basic.auth.user.info`), if set.
pub(super) fn schema_registry_from(properties: &BTreeMap<String, String>) -> Result<Option<Arc<dyn brook_schema::SchemaRegistryClient>>> {
    let Some(url) = properties.get(SCHEMA_REGISTRY_URL) else { return Ok(None) };
    let mut props = vec![("schema.registry.url", url.as_str())];
    if let Some(auth) = properties.get("ksql.schema.registry.basic.auth.user.info") {
        props.push(("basic.auth.user.info", auth.as_str()));
    }
    let config = brook_schema::HttpClientConfig::from_properties(props).map_err(|e| Error::Analysis(e.to_string()))?;
    let client = brook_schema::HttpClient::new(config).map_err(|e| Error::Analysis(e.to_string()))?;
    Ok(Some(Arc::new(brook_schema::CachedClient::new(client))))
}

/// How an [`Engine`](super::Engine) is set up.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// `ksql.service.id`. Default: `default_`.
    pub service_id: String,
    /// Where query state lives (`state.dir`). Default: `$TMPDIR/brook-sql`.
    pub state_dir: PathBuf,
    /// Server properties (`ksql.*`, and Kafka Streams properties, with or without the
    /// `ksql.streams.` prefix), overridden per session by `SET`.
    pub properties: BTreeMap<String, String>,
    /// The cluster persistent queries run against; `None` is test mode.
    pub cluster: Option<Arc<dyn Cluster>>,
    /// The Schema Registry the `AVRO` format reads and registers schemas in: in-memory in test
    /// mode (as ksqlDB's test runner mocks it), `brook server`'s own registry or an HTTP client
    /// for `--schema-registry-url` in live mode. `None`: the Schema Registry formats are
    /// unsupported.
    pub schema_registry: Option<Arc<dyn brook_schema::SchemaRegistryClient>>,
    /// The Kafka Connect worker `CREATE ... CONNECTOR` and friends manage: `brook server`'s
    /// in-process one. `ksql.connect.url`, when set, wins (a Connect REST API over HTTP);
    /// with neither, `http://localhost:8083`, as ksqlDB.
    pub connect: Option<Arc<dyn brook_connect::Herder>>,
}

impl EngineConfig {
    /// Test mode: queries on `TopologyTestDriver`s, caching off.
    pub fn test() -> Self {
        EngineConfig {
            service_id: "default_".into(),
            state_dir: std::env::temp_dir().join("brook-sql"),
            properties: BTreeMap::new(),
            cluster: None,
            schema_registry: Some(Arc::new(brook_schema::MemoryClient::new())),
            connect: None,
        }
    }

    /// Live mode over the embedded `broker`, state under `state_dir`.
    pub fn live(broker: Broker, state_dir: impl Into<PathBuf>) -> Self {
        Self::on(Arc::new(EmbeddedCluster::new(broker)), state_dir)
    }

    /// Live mode over any Kafka-protocol cluster at `bootstrap_servers` (librdkafka), state
    /// under `state_dir`; several engines with one `service_id` share the queries' partitions.
    ///
    /// # Errors
    /// [`Error::Cluster`] when librdkafka rejects its configuration.
    #[cfg(feature = "kafka")]
    pub fn kafka(bootstrap_servers: &str, state_dir: impl Into<PathBuf>) -> Result<Self> {
        let cluster = crate::cluster::KafkaCluster::new(bootstrap_servers, BTreeMap::new())?;
        Ok(Self::on(Arc::new(cluster), state_dir))
    }

    /// Live mode over `cluster`, state under `state_dir`.
    pub fn on(cluster: Arc<dyn Cluster>, state_dir: impl Into<PathBuf>) -> Self {
        EngineConfig {
            service_id: "default_".into(),
            state_dir: state_dir.into(),
            properties: BTreeMap::new(),
            cluster: Some(cluster),
            schema_registry: None,
            connect: None,
        }
    }
}

