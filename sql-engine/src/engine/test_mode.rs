//! Test mode (ksqlDB's `TestDriverPipeline`): one [`TopologyTestDriver`] per persistent query,
//! caching off; every record written to a topic (by the test, by `INSERT INTO ... VALUES`, by
//! a query or by the processing log) is appended to that topic's record list and piped into
//! every other query reading the topic.
//!
//! The drivers are not `Send`, so they live on one pipeline thread; the engine hands it jobs.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;

use brook_processor_api::engine::Header;
use brook_processor_api::{StreamsConfig, Topology, TopologyTestDriver};
use brook_state_store::BytesSerde;
use bytes::Bytes;

use crate::cluster::OutputRecord;
use crate::engine::store_read::{StoreEntry, StoreRead};
use crate::{Error, Result};

struct Query {
    id: String,
    driver: TopologyTestDriver,
    reads: Vec<String>,
}

/// What lives on the pipeline thread.
#[derive(Default)]
pub(crate) struct Pipeline {
    queries: Vec<Query>,
    topics: BTreeMap<String, Vec<OutputRecord>>,
}

type Job = Box<dyn FnOnce(&mut Pipeline) + Send>;

/// The engine's handle on the pipeline thread.
#[derive(Debug, Clone)]
pub(crate) struct TestPipeline {
    jobs: mpsc::Sender<Job>,
    state_dir: PathBuf,
}

fn headers_of(h: &[(String, Option<Vec<u8>>)]) -> Vec<Header> {
    h.iter().map(|(k, v)| Header { key: k.clone(), value: v.clone().map(Bytes::from) }).collect()
}

impl Pipeline {
    /// Appends `record` to `topic` and pipes it, and everything it causes, through the queries.
    fn write(&mut self, topic: &str, record: OutputRecord, skip: Option<usize>) -> Result<()> {
        let mut queue = VecDeque::from([(topic.to_owned(), record, skip)]);
        while let Some((topic, record, skip)) = queue.pop_front() {
            self.topics.entry(topic.clone()).or_default().push(record.clone());
            for i in 0..self.queries.len() {
                if Some(i) == skip || !self.queries[i].reads.contains(&topic) {
                    continue;
                }
                let q = &self.queries[i];
                q.driver
                    .pipe_raw(
                        &topic,
                        record.key.clone().map(Bytes::from),
                        record.value.clone().map(Bytes::from),
                        record.timestamp,
                        headers_of(&record.headers),
                    )
                    .map_err(|e| Error::Eval(format!("query {} failed: {e}", q.id)))?;
                for produced in q.driver.produced_topic_names() {
                    let out = q.driver.create_output_topic::<Bytes, Bytes>(&produced, Arc::new(BytesSerde), Arc::new(BytesSerde));
                    let records = out.read_records_to_list().map_err(|e| Error::Eval(e.to_string()))?;
                    for r in records {
                        let rec = OutputRecord {
                            key: r.key.map(|b| b.to_vec()),
                            value: r.value.map(|b| b.to_vec()),
                            timestamp: r.timestamp,
                            headers: r.headers.iter().map(|h| (h.key.clone(), h.value.as_ref().map(|v| v.to_vec()))).collect(),
                        };
                        // The driver already fed the topics its own query reads back in.
                        queue.push_back((produced.clone(), rec, Some(i)));
                    }
                }
            }
        }
        Ok(())
    }
}

impl TestPipeline {
    pub(crate) fn new(state_dir: PathBuf) -> Result<Self> {
        let (tx, rx) = mpsc::channel::<Job>();
        thread::Builder::new().name("brook-sql-test-pipeline".into()).spawn(move || {
            let mut p = Pipeline::default();
            while let Ok(job) = rx.recv() {
                job(&mut p);
            }
        })?;
        Ok(TestPipeline { jobs: tx, state_dir })
    }

    /// Runs `f` on the pipeline thread and returns its result.
    fn run<R: Send + 'static>(&self, f: impl FnOnce(&mut Pipeline) -> R + Send + 'static) -> Result<R> {
        let (tx, rx) = mpsc::channel();
        self.jobs
            .send(Box::new(move |p| {
                let _ = tx.send(f(p));
            }))
            .map_err(|_| Error::Eval("the test pipeline stopped".into()))?;
        rx.recv().map_err(|_| Error::Eval("the test pipeline stopped".into()))
    }

    /// Starts a query: a driver over `topology`, reading `reads`; with `replay`, the records
    /// already written to those topics are piped into it first (`auto.offset.reset=earliest`).
    pub(crate) fn start(&self, id: &str, application_id: &str, topology: Topology, reads: Vec<String>, replay: bool) -> Result<()> {
        let mut config = StreamsConfig::new(application_id);
        config.state_dir = self.state_dir.clone();
        config.cache_max_bytes = 0;
        config.deserialization_exception_handler = brook_processor_api::HandlerResponse::Continue;
        let id = id.to_owned();
        self.run(move |p| {
            let driver = TopologyTestDriver::new(topology, config, 0).map_err(|e| Error::Eval(format!("query {id} failed to start: {e}")))?;
            if replay {
                for t in &reads {
                    for r in p.topics.get(t).cloned().unwrap_or_default() {
                        driver
                            .pipe_raw(t, r.key.map(Bytes::from), r.value.map(Bytes::from), r.timestamp, headers_of(&r.headers))
                            .map_err(|e| Error::Eval(format!("query {id} failed: {e}")))?;
                    }
                }
            }
            p.queries.push(Query { id, driver, reads });
            Ok(())
        })?
    }

    /// Stops a query.
    pub(crate) fn stop(&self, id: &str) -> Result<()> {
        let id = id.to_owned();
        self.run(move |p| {
            if let Some(i) = p.queries.iter().position(|q| q.id == id) {
                let q = p.queries.remove(i);
                q.driver.close().map_err(|e| Error::Eval(e.to_string()))?;
            }
            Ok(())
        })?
    }

    /// What `read` finds in store `store` of query `id` (`None`: no such query or store).
    pub(crate) fn read_store(&self, id: &str, store: &str, read: StoreRead) -> Result<Option<Vec<StoreEntry>>> {
        let (id, store) = (id.to_owned(), store.to_owned());
        self.run(move |p| -> Result<Option<Vec<StoreEntry>>> {
            let Some(q) = p.queries.iter().find(|q| q.id == id) else { return Ok(None) };
            let err = |e: brook_state_store::Error| Error::Eval(e.to_string());
            let mut out = Vec::new();
            match read {
                StoreRead::KeyValue(keys) => {
                    let Some(s) = q.driver.get_key_value_store(&store) else { return Ok(None) };
                    match keys {
                        Some(keys) => {
                            for k in keys {
                                if let Some(v) = s.get(&k).map_err(err)? {
                                    out.push(StoreEntry { key: Bytes::from(k), window: None, value: v });
                                }
                            }
                        }
                        None => {
                            for e in s.all().map_err(err)? {
                                let (key, value) = e.map_err(err)?;
                                out.push(StoreEntry { key, window: None, value });
                            }
                        }
                    }
                }
                StoreRead::Window { keys, from, to } => {
                    let Some(s) = q.driver.get_window_store(&store) else { return Ok(None) };
                    match keys {
                        Some(keys) => {
                            for k in keys {
                                for e in s.fetch(&k, from, to).map_err(err)? {
                                    let (start, value) = e.map_err(err)?;
                                    out.push(StoreEntry { key: Bytes::from(k.clone()), window: Some((start, start)), value });
                                }
                            }
                        }
                        None => {
                            for e in s.fetch_all(from, to).map_err(err)? {
                                let (w, value) = e.map_err(err)?;
                                out.push(StoreEntry { key: w.key, window: Some((w.window.start, w.window.end)), value });
                            }
                        }
                    }
                }
                StoreRead::Session { keys, earliest_end, latest_start } => {
                    let Some(s) = q.driver.get_session_store(&store) else { return Ok(None) };
                    let found: Vec<_> = match keys {
                        Some(keys) => {
                            let mut all = Vec::new();
                            for k in keys {
                                all.extend(s.find_sessions(&k, earliest_end, latest_start).map_err(err)?.collect::<Vec<_>>());
                            }
                            all
                        }
                        None => s.find_sessions_key_range(None, None, earliest_end, latest_start).map_err(err)?.collect(),
                    };
                    for e in found {
                        let (w, value) = e.map_err(err)?;
                        out.push(StoreEntry { key: w.key, window: Some((w.window.start, w.window.end)), value });
                    }
                }
            }
            Ok(Some(out))
        })?
    }

    /// Closes every driver (their RocksDB stores) before returning.
    pub(crate) fn close_all(&self) {
        let _ = self.run(|p| {
            for q in p.queries.drain(..) {
                if let Err(e) = q.driver.close() {
                    tracing::warn!(query = %q.id, error = %e, "closing a test driver failed");
                }
            }
        });
    }

    /// Writes a record to `topic` and runs every query it reaches.
    pub(crate) fn write(&self, topic: &str, record: OutputRecord) -> Result<()> {
        let topic = topic.to_owned();
        self.run(move |p| p.write(&topic, record, None))?
    }

    /// Every record written to `topic` so far.
    pub(crate) fn records(&self, topic: &str) -> Result<Vec<OutputRecord>> {
        let topic = topic.to_owned();
        self.run(move |p| p.topics.get(&topic).cloned().unwrap_or_default())
    }
}
