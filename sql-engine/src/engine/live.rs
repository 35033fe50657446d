//! Live mode: every persistent query is a [`KafkaStreams`] instance over the engine's
//! [`Cluster`] (the embedded broker or any Kafka-protocol cluster), application id
//! `_confluent-ksql-<service id>query_<query id>`; `INSERT INTO ... VALUES` and the processing
//! log append to topics through the cluster directly.
//!
//! The queries of one engine share one client runtime ([`SharedRuntime`]), and the persistent
//! queries' stream threads are units of one [`StreamThreadPool`] of `ksql.query.pool.threads`
//! workers (default: twice the CPUs; `0`: each stream thread is an OS thread of its own), so
//! hundreds of queries run on a bounded number of threads (docs/streams-runtime.md), over the
//! embedded broker and over a Kafka cluster alike (there each query still has the librdkafka
//! threads of its consumer and producer). Push
//! queries keep OS threads of their own: a full row queue blocks their stream thread, which
//! must not hold a pool worker.
//!
//! Where Brook differs from ksqlDB: one `KafkaStreams` instance (and its stream threads) per
//! query, not one shared instance; processing-log entries are appended by a flusher thread
//! as they arrive (one append per wake-up).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use brook_processor_api::runtime::{SharedRuntime, StreamThreadPool};
use brook_processor_api::{HandlerResponse, KafkaStreams, State, StreamsConfig, Topology, TopologyTaskFactory};
use bytes::Bytes;

use crate::cluster::{Cluster, OutputRecord, StreamThreads};
use crate::engine::fanout::Feeds;
use crate::engine::processing_log::ProcessingLog;
use crate::engine::store_read::{StoreEntry, StoreRead};
use crate::{Error, Result};

/// The queries running on the cluster.
pub(crate) struct LiveRuntime {
    pub(crate) cluster: Arc<dyn Cluster>,
    queries: BTreeMap<String, KafkaStreams>,
    /// The queries' client runtime; `None` when it could not start (each query then has its own).
    shared: Option<SharedRuntime>,
    /// The persistent queries' stream threads; `None` with `ksql.query.pool.threads=0`.
    pool: Option<StreamThreadPool>,
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

/// Runs `topology` on a new [`KafkaStreams`] over `cluster` and, with `wait`, waits until it
/// runs. One still rebalancing after 30 s is kept (a member of a killed instance holds its group
/// until its session times out) and goes on starting.
fn launch(cluster: &dyn Cluster, threads: StreamThreads<'_>, id: &str, mut config: StreamsConfig, topology: Topology, wait: bool) -> Result<KafkaStreams> {
    config.deserialization_exception_handler = HandlerResponse::Continue;
    let factory = Arc::new(TopologyTaskFactory::new(topology, &config).map_err(|e| Error::Eval(e.to_string()))?);
    let streams = cluster.streams(factory, config, threads)?;
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
    /// `pool_threads`: workers of the persistent queries' stream-thread pool (`None`: twice
    /// the CPUs; `Some(0)`: no pool).
    pub(crate) fn new(cluster: Arc<dyn Cluster>, log: Arc<ProcessingLog>, log_topic: String, pool_threads: Option<usize>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (c, s, l) = (cluster.clone(), stop.clone(), log.clone());
        // Writes entries as they arrive; on stop, writes what is left and ends.
        let spawned = thread::Builder::new().name("brook-sql-processing-log".into()).spawn(move || loop {
            let stopping = s.load(Ordering::Acquire);
            let records: Vec<OutputRecord> = l
                .wait_drain(Duration::from_millis(500))
                .into_iter()
                .map(|e| OutputRecord { key: None, value: Some(e.json.to_string().into_bytes()), timestamp: e.timestamp, headers: vec![] })
                .collect();
            if !records.is_empty() {
                if let Err(err) = c.append(&log_topic, &records) {
                    tracing::warn!(error = %err, entries = records.len(), "cannot write the processing log");
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
        let workers = pool_threads.unwrap_or_else(StreamThreadPool::default_workers);
        let pool = match (&shared, workers) {
            (Some(rt), 1..) => StreamThreadPool::new(workers, rt.clone())
                .map_err(|e| tracing::warn!(error = %e, "cannot start the query thread pool; each query gets its own threads"))
                .ok(),
            _ => None,
        };
        LiveRuntime { cluster, queries: BTreeMap::new(), shared, pool, stop_flusher: stop, log, flusher, feeds: Arc::new(Feeds::default()) }
    }

    /// Runs `topology` on a new [`KafkaStreams`] with stream threads of its own (push queries)
    /// and waits until it runs.
    pub(crate) fn launch(&self, id: &str, config: StreamsConfig, topology: Topology) -> Result<KafkaStreams> {
        launch(self.cluster.as_ref(), StreamThreads::Own(self.shared.as_ref()), id, config, topology, true)
    }

    /// Starts a persistent query on the runtime (its stream threads on the pool) and, with
    /// `wait`, waits until it runs.
    pub(crate) fn start(&mut self, id: &str, config: StreamsConfig, topology: Topology, wait: bool) -> Result<()> {
        let threads = match &self.pool {
            Some(pool) => StreamThreads::Pool(pool),
            None => StreamThreads::Own(self.shared.as_ref()),
        };
        let streams = launch(self.cluster.as_ref(), threads, id, config, topology, wait)?;
        self.queries.insert(id.to_owned(), streams);
        Ok(())
    }

    /// What `read` finds in store `store` of query `id`, through interactive queries over this
    /// instance's tasks (`None`: no such query).
    pub(crate) fn read_store(&self, id: &str, store: &str, read: StoreRead) -> Result<Option<Vec<StoreEntry>>> {
        let Some(s) = self.queries.get(id) else { return Ok(None) };
        let params = || brook_processor_api::StoreQueryParameters::from_name(store);
        let err = |e: brook_processor_api::Error| Error::Eval(e.to_string());
        let windowed = |found: Vec<(brook_state_store::Windowed<Bytes>, Bytes)>| {
            found.into_iter().map(|(w, value)| StoreEntry { key: w.key, window: Some((w.window.start, w.window.end)), value }).collect::<Vec<_>>()
        };
        let out = match read {
            StoreRead::KeyValue(keys) => {
                let view = s.key_value_store(params()).map_err(err)?;
                match keys {
                    Some(keys) => {
                        let mut out = Vec::new();
                        for k in keys {
                            if let Some(value) = view.get(&k).map_err(err)? {
                                out.push(StoreEntry { key: Bytes::from(k), window: None, value });
                            }
                        }
                        out
                    }
                    None => view.all().map_err(err)?.into_iter().map(|(key, value)| StoreEntry { key, window: None, value }).collect(),
                }
            }
            StoreRead::Window { keys, from, to } => {
                let view = s.window_store(params()).map_err(err)?;
                match keys {
                    Some(keys) => {
                        let mut out = Vec::new();
                        for k in keys {
                            for (start, value) in view.fetch(&k, from, to).map_err(err)? {
                                out.push(StoreEntry { key: Bytes::from(k.clone()), window: Some((start, start)), value });
                            }
                        }
                        out
                    }
                    None => windowed(view.fetch_all(from, to).map_err(err)?),
                }
            }
            StoreRead::Session { keys, earliest_end, latest_start } => {
                let view = s.session_store(params()).map_err(err)?;
                match keys {
                    Some(keys) => {
                        let mut out = Vec::new();
                        for k in keys {
                            out.extend(windowed(view.find_sessions(&k, earliest_end, latest_start).map_err(err)?));
                        }
                        out
                    }
                    None => windowed(view.find_all_sessions(earliest_end, latest_start).map_err(err)?),
                }
            }
        };
        Ok(Some(out))
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
