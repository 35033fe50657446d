//! Live mode: every persistent query is a [`KafkaStreams`] instance over the embedded broker
//! (application id `_confluent-ksql-<service id>query_<query id>`); `INSERT INTO ... VALUES`
//! and the processing log append to topics directly.
//!
//! The queries of one engine share one client runtime ([`SharedRuntime`]): each query's only
//! threads of its own are its stream threads (docs/streams-runtime.md).
//!
//! Where Brook differs from ksqlDB: one `KafkaStreams` instance (and its stream threads) per
//! query, not one shared instance; processing-log entries are appended by a flusher thread
//! every 100 ms.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use brook_broker::client::partitioner::partition_for_key;
use brook_broker::record::{decode_batch_bytes, BatchBuilder, Compression, Header};
use brook_broker::{Broker, IsolationLevel};
use brook_processor_api::runtime::{Embedded, SharedRuntime};
use brook_processor_api::{HandlerResponse, KafkaStreams, State, StreamsConfig, Topology, TopologyTaskFactory};
use bytes::Bytes;

use crate::engine::fanout::Feeds;
use crate::engine::processing_log::ProcessingLog;
use crate::engine::test_mode::OutputRecord;
use crate::{Error, Result};

/// The queries running on the broker.
pub(crate) struct LiveRuntime {
    pub(crate) broker: Broker,
    queries: BTreeMap<String, KafkaStreams>,
    /// The queries' client runtime; `None` when it could not start (each query then has its own).
    shared: Option<SharedRuntime>,
    stop_flusher: Arc<AtomicBool>,
    log: Arc<ProcessingLog>,
    flusher: Option<thread::JoinHandle<()>>,
    /// The shared readers of push queries, by source.
    pub(crate) feeds: Arc<Feeds>,
}

impl std::fmt::Debug for LiveRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveRuntime").field("queries", &self.queries.keys().collect::<Vec<_>>()).finish_non_exhaustive()
    }
}

fn broker_err(e: brook_broker::Error) -> Error {
    Error::Eval(e.to_string())
}

/// Appends one record, partitioned by its key's murmur2 hash (no key: partition 0).
pub(crate) fn append(broker: &Broker, topic: &str, record: &OutputRecord) -> Result<()> {
    let partitions = broker.partition_count(topic, false).map_err(broker_err)?;
    let partition = record.key.as_deref().map_or(0, |k| partition_for_key(k, partitions));
    let headers: Vec<Header> = record.headers.iter().map(|(k, v)| Header { key: k.clone(), value: v.clone().map(Bytes::from) }).collect();
    let mut b = BatchBuilder::new(Compression::None);
    b.push(record.timestamp, record.key.as_deref(), record.value.as_deref(), &headers);
    let mut batch = b.build().map_err(broker_err)?;
    broker.produce(topic, partition, &mut batch).map_err(broker_err)?;
    Ok(())
}

/// Every committed record of `topic`, partition by partition.
pub(crate) fn read_all(broker: &Broker, topic: &str) -> Result<Vec<OutputRecord>> {
    let partitions = broker.partition_count(topic, false).map_err(broker_err)?;
    let mut out = Vec::new();
    for p in 0..partitions {
        let mut offset = 0;
        loop {
            let data = broker.fetch(topic, p, offset, 1 << 20, IsolationLevel::ReadCommitted).map_err(broker_err)?;
            if data.records.is_empty() {
                break;
            }
            let before = offset;
            out.extend(committed_records(&data, &mut offset)?.into_iter().map(|r| OutputRecord {
                key: r.key.map(|b| b.to_vec()),
                value: r.value.map(|b| b.to_vec()),
                timestamp: r.timestamp,
                headers: r.headers.into_iter().map(|h| (h.key, h.value.map(|v| v.to_vec()))).collect(),
            }));
            if offset == before || offset >= data.last_stable_offset {
                break;
            }
        }
    }
    Ok(out)
}

/// The data records of a read_committed fetch (control batches and aborted transactions
/// left out); `offset` moves past every whole batch read.
pub(crate) fn committed_records(data: &brook_broker::FetchData, offset: &mut i64) -> Result<Vec<brook_broker::record::Record>> {
    let mut out = Vec::new();
    let mut rest = data.records.clone();
    while rest.len() >= brook_broker::record::BATCH_HEADER_LEN {
        let header = brook_broker::record::BatchHeader::parse(&rest).map_err(broker_err)?;
        let len = header.total_len();
        if len > rest.len() {
            break;
        }
        let batch = rest.split_to(len);
        *offset = header.next_offset();
        let aborted = data.aborted.iter().any(|a| a.producer_id == header.producer_id && a.first_offset <= header.base_offset && header.base_offset <= a.last_offset);
        if header.is_control() || (header.is_transactional() && aborted) {
            continue;
        }
        let (_, records) = decode_batch_bytes(batch).map_err(broker_err)?;
        out.extend(records);
    }
    Ok(out)
}

/// Runs `topology` on a new [`KafkaStreams`] (on the shared runtime, if any) and, with `wait`,
/// waits until it runs. One still rebalancing after 30 s is kept (a member of a killed
/// instance holds its group until its session times out) and goes on starting.
fn launch(broker: &Broker, shared: Option<&SharedRuntime>, id: &str, mut config: StreamsConfig, topology: Topology, wait: bool) -> Result<KafkaStreams> {
    config.deserialization_exception_handler = HandlerResponse::Continue;
    let factory = Arc::new(TopologyTaskFactory::new(topology, &config).map_err(|e| Error::Eval(e.to_string()))?);
    let client = Embedded::new(broker.clone());
    let streams = match shared {
        Some(rt) => KafkaStreams::with_runtime(factory, config, client, rt.clone()),
        None => KafkaStreams::new(factory, config, client),
    }
    .map_err(|e| Error::Eval(e.to_string()))?;
    streams.start().map_err(|e| Error::Eval(e.to_string()))?;
    if !wait {
        return Ok(streams);
    }
    match streams.wait_for_state(Duration::from_secs(30), |s| s == State::Running) {
        (_, true) => {}
        (State::Rebalancing, false) => tracing::warn!(query = id, "query still rebalancing after 30 s; it goes on starting"),
        (state, false) => return Err(Error::Eval(format!("query {id} did not start: {}", state.name()))),
    }
    Ok(streams)
}

impl LiveRuntime {
    pub(crate) fn new(broker: Broker, log: Arc<ProcessingLog>, log_topic: String) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (b, s, l) = (broker.clone(), stop.clone(), log.clone());
        // Writes entries as they arrive; on stop, writes what is left and ends.
        let spawned = thread::Builder::new().name("brook-sql-processing-log".into()).spawn(move || loop {
            let stopping = s.load(Ordering::Acquire);
            for e in l.wait_drain(Duration::from_millis(500)) {
                let rec = OutputRecord { key: None, value: Some(e.json.to_string().into_bytes()), timestamp: e.timestamp, headers: vec![] };
                if let Err(err) = append(&b, &log_topic, &rec) {
                    tracing::warn!(error = %err, "cannot write the processing log");
                }
            }
            if stopping {
                return;
            }
        });
        let flusher = match spawned {
            Ok(h) => Some(h),
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the processing-log flusher; entries are only logged");
                None
            }
        };
        let shared = SharedRuntime::new().map_err(|e| tracing::warn!(error = %e, "cannot start the shared query runtime; each query gets its own")).ok();
        LiveRuntime { broker, queries: BTreeMap::new(), shared, stop_flusher: stop, log, flusher, feeds: Arc::new(Feeds::default()) }
    }

    /// Runs `topology` on a new [`KafkaStreams`] of this runtime and waits until it runs.
    pub(crate) fn launch(&self, id: &str, config: StreamsConfig, topology: Topology) -> Result<KafkaStreams> {
        launch(&self.broker, self.shared.as_ref(), id, config, topology, true)
    }

    /// Starts a query on the runtime and, with `wait`, waits until it runs.
    pub(crate) fn start(&mut self, id: &str, config: StreamsConfig, topology: Topology, wait: bool) -> Result<()> {
        let streams = launch(&self.broker, self.shared.as_ref(), id, config, topology, wait)?;
        self.queries.insert(id.to_owned(), streams);
        Ok(())
    }

    /// Every entry of key-value store `store` of query `id`, through interactive queries.
    pub(crate) fn store_entries(&self, id: &str, store: &str) -> Result<Option<Vec<(Bytes, Bytes)>>> {
        let Some(s) = self.queries.get(id) else { return Ok(None) };
        let view = s.key_value_store(brook_processor_api::StoreQueryParameters::from_name(store)).map_err(|e| Error::Eval(e.to_string()))?;
        Ok(Some(view.all().map_err(|e| Error::Eval(e.to_string()))?))
    }

    /// Whether the runtime of query `id` failed (its `KafkaStreams` is in `ERROR`).
    pub(crate) fn failed(&self, id: &str) -> bool {
        self.queries.get(id).is_some_and(|s| s.state() == State::Error)
    }

    /// Stops a query.
    pub(crate) fn stop(&mut self, id: &str) {
        if let Some(s) = self.queries.remove(id) {
            s.close(Duration::from_secs(30));
        }
    }
}

impl Drop for LiveRuntime {
    fn drop(&mut self) {
        self.feeds.shutdown("the server is shutting down");
        let ids: Vec<String> = self.queries.keys().cloned().collect();
        for id in ids {
            self.stop(&id);
        }
        // After the queries: what they logged while stopping is written too.
        self.stop_flusher.store(true, Ordering::Release);
        self.log.wake();
        if let Some(h) = self.flusher.take() {
            let _ = h.join();
        }
    }
}
