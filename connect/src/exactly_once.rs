//! Exactly-once source tasks (KIP-618), for the distributed worker.
//!
//! With the worker key `exactly.once.source.support=enabled`, every source task gets a
//! transactional producer (`transactional.id` `<group.id>-<connector>-<task>`, as Kafka names
//! it) and writes its records and their source offsets (to the offset topic: the worker's, or
//! the connector's `offsets.storage.topic`) in one transaction, committed at the connector's
//! `transaction.boundary`:
//!
//! - `poll` (default): every batch a `poll` returned;
//! - `interval`: every `transaction.boundary.interval.ms` (default: the worker's
//!   `offset.flush.interval.ms`);
//! - `connector`: when the task asks ([`SourceTask::transaction_request`]).
//!
//! A `read_committed` consumer therefore sees each record once, and a task that restarts
//! anywhere resumes from the offsets of its last committed transaction. Zombies are fenced: a
//! task's producer initialises its transactional id before the task reads its offsets (which
//! aborts a transaction a dead or stalled instance left open and fences that instance), and
//! the worker running a connector fences the transactional ids of its previous tasks before it
//! writes new task configs. `preparing` is accepted (a rolling upgrade's middle step: offsets
//! are read `read_committed`, tasks are not transactional); `disabled` is the default.
//!
//! The connector keys `exactly.once.support` (`requested` / `required`) and
//! `transaction.boundary` are validated as Kafka's `DistributedHerder` does, asking the
//! connector ([`SourceConnector::exactly_once_support`],
//! [`SourceConnector::can_define_transaction_boundaries`]).
//!
//! [`SourceConnector::exactly_once_support`]: crate::connector::SourceConnector::exactly_once_support
//! [`SourceConnector::can_define_transaction_boundaries`]: crate::connector::SourceConnector::can_define_transaction_boundaries

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use brook_processor_api::runtime::StreamsProducer;
use parking_lot::Mutex;
use serde_json::Value as Json;

use crate::clients::Clients;
use crate::config::ConfigValue;
use crate::config::Config;
use crate::connector::{Connector, ConnectorTransactionBoundaries, ExactlyOnceSupport, OffsetReader, SourceTask, TransactionAction, TransactionRequest};
use crate::error::{Error, Result};
use crate::offsets::{offset_key, offset_record, OffsetStore, TopicOffsetStore};
use crate::worker::task::{output_record, source_record, Signal, TaskCtx, IDLE_POLL};
use crate::herder::State;

/// The worker key `exactly.once.source.support`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExactlyOnceSourceSupport {
    /// Source tasks are not transactional (at-least-once). The default.
    #[default]
    Disabled,
    /// Offsets are read `read_committed`, tasks are not transactional yet (the step of a
    /// rolling upgrade before `enabled`).
    Preparing,
    /// Source tasks write records and offsets in transactions.
    Enabled,
}

impl ExactlyOnceSourceSupport {
    /// Reads the value (any case).
    ///
    /// # Errors
    /// [`Error::Config`] with Kafka's message for another value.
    pub fn parse(v: &str) -> Result<ExactlyOnceSourceSupport> {
        match v.trim().to_ascii_lowercase().as_str() {
            "disabled" => Ok(ExactlyOnceSourceSupport::Disabled),
            "preparing" => Ok(ExactlyOnceSourceSupport::Preparing),
            "enabled" => Ok(ExactlyOnceSourceSupport::Enabled),
            _ => Err(Error::Config(format!("Invalid value {v} for configuration exactly.once.source.support: String must be one of (case insensitive): disabled, preparing, enabled"))),
        }
    }

    /// Whether the offset topics are read `read_committed` (`preparing` and `enabled`).
    pub fn reads_committed(self) -> bool {
        self != ExactlyOnceSourceSupport::Disabled
    }
}

/// A source connector's `transaction.boundary`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TransactionBoundary {
    /// One transaction per non-empty `poll`.
    Poll,
    /// Committed every interval.
    Interval(Duration),
    /// Where the task asks.
    Connector,
}

impl TransactionBoundary {
    /// The boundary of a connector config; `default_interval` is the worker's
    /// `offset.flush.interval.ms`.
    pub(crate) fn from_config(config: &Config, default_interval: Duration) -> Result<TransactionBoundary> {
        let boundary = config.get("transaction.boundary").map_or("poll", |v| v.trim());
        match boundary.to_ascii_lowercase().as_str() {
            "poll" => Ok(TransactionBoundary::Poll),
            "connector" => Ok(TransactionBoundary::Connector),
            "interval" => {
                let every = match config.get("transaction.boundary.interval.ms") {
                    None => default_interval,
                    Some(v) => v.trim().parse::<u64>().map(Duration::from_millis).map_err(|_| Error::Config(format!("Invalid value {v} for configuration transaction.boundary.interval.ms: Interval must be non-negative")))?,
                };
                Ok(TransactionBoundary::Interval(every))
            }
            _ => Err(Error::Config(format!("Invalid value {boundary} for configuration transaction.boundary: String must be one of (case insensitive): poll, interval, connector"))),
        }
    }
}

/// The connector's `offsets.storage.topic`, when it has its own.
fn own_offsets_topic(config: &Config) -> Option<&str> {
    config.get("offsets.storage.topic").map(|t| t.trim()).filter(|t| !t.is_empty())
}

/// Checks `exactly.once.support` and `transaction.boundary` of a source connector config as
/// Kafka's `DistributedHerder` does, adding the errors to `values` (which hold the keys' own
/// validation: a key already in error is not checked further).
pub(crate) fn validate(connector: &Connector, config: &Config, support: ExactlyOnceSourceSupport, values: &mut [ConfigValue]) {
    if !matches!(connector, Connector::Source(_)) {
        return;
    }
    if let Some(v) = values.iter_mut().find(|v| v.name == "exactly.once.support" && v.errors.is_empty()) {
        if v.value.as_deref().is_some_and(|s| s.trim().eq_ignore_ascii_case("required")) {
            if support != ExactlyOnceSourceSupport::Enabled {
                v.errors.push("This worker does not have exactly-once source support enabled.".into());
            }
            match connector.exactly_once_support(config) {
                Some(ExactlyOnceSupport::Supported) => {}
                Some(ExactlyOnceSupport::Unsupported) => v.errors.push("The connector does not support exactly-once semantics with the provided configuration.".into()),
                None => v.errors.push("The connector does not implement the API required for preflight validation of exactly-once source support. Please consult the documentation for the connector to determine whether it supports exactly-once semantics, and then consider reconfiguring the connector to use the value \"requested\" for this property (which will disable this preflight check and allow the connector to be created).".into()),
            }
        }
    }
    if let Some(v) = values.iter_mut().find(|v| v.name == "transaction.boundary" && v.errors.is_empty()) {
        let connector_defined = v.value.as_deref().is_some_and(|s| s.trim().eq_ignore_ascii_case("connector"));
        if connector_defined && connector.can_define_transaction_boundaries(config) != ConnectorTransactionBoundaries::Supported {
            v.errors.push("The connector does not support connector-defined transaction boundaries with the given configuration. Please reconfigure it to use a different transaction boundary definition.".into());
        }
    }
}

/// What a distributed worker needs for exactly-once source tasks: its group (the prefix of
/// the transactional ids), its offset topic and the connectors' own ones.
#[derive(Debug)]
pub(crate) struct ExactlyOnceWorker {
    pub(crate) support: ExactlyOnceSourceSupport,
    group_id: String,
    clients: Clients,
    client_id: String,
    global: Arc<TopicOffsetStore>,
    /// The stores of connectors' own `offsets.storage.topic`, by topic.
    own: Mutex<BTreeMap<String, Arc<TopicOffsetStore>>>,
}

impl ExactlyOnceWorker {
    pub(crate) fn new(support: ExactlyOnceSourceSupport, group_id: &str, clients: Clients, client_id: &str, global: Arc<TopicOffsetStore>) -> ExactlyOnceWorker {
        ExactlyOnceWorker { support, group_id: group_id.to_owned(), clients, client_id: client_id.to_owned(), global, own: Mutex::default() }
    }

    /// Kafka's transactional id of a source task: `<group.id>-<connector>-<task>`.
    pub(crate) fn transactional_id(&self, connector: &str, task: u32) -> String {
        format!("{}-{connector}-{task}", self.group_id)
    }

    /// The store of the connector's own offsets topic (created compacted if missing), or
    /// `None` when it uses the worker's.
    pub(crate) fn own_store(&self, config: &Config, partitions: i32) -> Result<Option<Arc<TopicOffsetStore>>> {
        let Some(topic) = own_offsets_topic(config) else { return Ok(None) };
        if topic == &**self.global.topic() {
            return Ok(None);
        }
        let mut own = self.own.lock();
        if let Some(s) = own.get(topic) {
            return Ok(Some(s.clone()));
        }
        let compact = BTreeMap::from([("cleanup.policy".to_owned(), "compact".to_owned())]);
        self.clients.create_topic(topic, partitions, compact)?;
        let store = Arc::new(TopicOffsetStore::new(&self.clients, topic, &format!("{}-{topic}", self.client_id), self.support.reads_committed())?);
        own.insert(topic.to_owned(), store.clone());
        Ok(Some(store))
    }

    /// Fences the producers of tasks `0..tasks` of `connector` (Kafka's zombie fencing): each
    /// transactional id is initialised once more, which aborts what an older instance left
    /// open and makes its next transactional call fail.
    ///
    /// # Errors
    /// Client or coordinator errors.
    pub(crate) fn fence(&self, connector: &str, tasks: u32) -> Result<()> {
        for task in 0..tasks {
            let id = self.transactional_id(connector, task);
            let mut p = self.clients.transactional_producer(format!("{}-fencer", self.client_id), id.clone())?;
            p.init_transactions()?;
            tracing::info!(connector, task, transactional_id = %id, "fenced the task's earlier producers");
        }
        Ok(())
    }

    /// Prepares task `task` of `connector` to run exactly-once: its transactional producer,
    /// initialised (fencing zombies), then the offset topics read to their last stable offset.
    /// Returns what the task loop needs and the reader the task starts with.
    pub(crate) fn prepare_task(&self, connector: &str, task: u32, config: &Config, default_interval: Duration, partitions: i32) -> Result<Transactional> {
        let boundary = TransactionBoundary::from_config(config, default_interval)?;
        let own = self.own_store(config, partitions)?;
        let txn_id = self.transactional_id(connector, task);
        let mut producer = self.clients.transactional_producer(format!("connector-producer-{connector}-{task}"), txn_id.clone())?;
        producer.init_transactions()?;
        // After fencing: nothing of an older instance is still open, so the last stable
        // offset covers every transaction it committed.
        self.global.refresh()?;
        if let Some(s) = &own {
            s.refresh()?;
        }
        tracing::info!(connector, task, transactional_id = %txn_id, ?boundary, "exactly-once source task ready");
        Ok(Transactional { producer, boundary, store: own.unwrap_or_else(|| self.global.clone()), global: self.global.clone(), open_since: None, offsets: BTreeMap::new(), topics: Vec::new() })
    }
}

/// A source task's offsets under exactly-once: its connector's own topic first, then the
/// worker's (Kafka's `ConnectorOffsetBackingStore`).
pub(crate) struct EosOffsetReader<'a> {
    pub(crate) store: &'a TopicOffsetStore,
    pub(crate) global: &'a TopicOffsetStore,
    pub(crate) connector: &'a str,
}

impl OffsetReader for EosOffsetReader<'_> {
    fn offset(&self, partition: &Json) -> Option<Json> {
        self.store.get(self.connector, partition).or_else(|| self.global.get(self.connector, partition))
    }
}

/// A source task's transactional side: its producer, boundary, the open transaction's
/// offsets.
pub(crate) struct Transactional {
    producer: Box<dyn StreamsProducer>,
    boundary: TransactionBoundary,
    /// Where the task's offsets go.
    pub(crate) store: Arc<TopicOffsetStore>,
    pub(crate) global: Arc<TopicOffsetStore>,
    /// When the open transaction began; `None`: none open.
    open_since: Option<Instant>,
    /// The offsets of the open transaction, by key.
    offsets: BTreeMap<Vec<u8>, Json>,
    topics: Vec<Arc<str>>,
}

impl Transactional {
    fn begin(&mut self) -> Result<()> {
        if self.open_since.is_none() {
            self.producer.begin_transaction()?;
            self.open_since = Some(Instant::now());
        }
        Ok(())
    }

    /// Writes the open transaction's offsets and commits it; then tells the task.
    fn commit(&mut self, task: &mut dyn SourceTask) -> Result<()> {
        if self.open_since.is_none() {
            return Ok(());
        }
        let topic = self.store.topic().clone();
        for (k, v) in &self.offsets {
            self.producer.send(offset_record(&topic, k.clone(), Some(v)))?;
        }
        self.producer.flush()?;
        self.producer.commit_transaction()?;
        self.open_since = None;
        self.store.committed(&std::mem::take(&mut self.offsets));
        task.commit()
    }

    /// Aborts the open transaction: its records are never read committed, its offsets are
    /// dropped.
    fn abort(&mut self) -> Result<()> {
        if self.open_since.take().is_none() {
            return Ok(());
        }
        self.offsets.clear();
        Ok(self.producer.abort_transaction()?)
    }

    fn end(&mut self, action: TransactionAction, task: &mut dyn SourceTask) -> Result<()> {
        match action {
            TransactionAction::Commit => self.commit(task),
            TransactionAction::Abort => self.abort(),
        }
    }

    /// On pause and stop: `poll` and `interval` commit what is open; under `connector` the
    /// open transaction is the task's to end, so a stop aborts it (as Kafka, which does not
    /// commit a connector-defined transaction on shutdown) and a pause leaves it open.
    fn finish(&mut self, task: &mut dyn SourceTask, stopping: bool) -> Result<()> {
        match (self.boundary, stopping) {
            (TransactionBoundary::Connector, true) => self.abort(),
            (TransactionBoundary::Connector, false) => Ok(()),
            _ => self.commit(task),
        }
    }
}

/// Runs an exactly-once source task until it is stopped or fails; on failure the open
/// transaction is aborted.
pub(crate) fn run(ctx: &mut TaskCtx, task: &mut dyn SourceTask, t: &mut Transactional) -> Result<()> {
    let result = source_loop(ctx, task, t);
    if result.is_err() {
        if let Err(e) = t.abort() {
            tracing::debug!(connector = %ctx.id.connector, task = ctx.id.task, error = %e, "aborting the open transaction of a failed task failed");
        }
    }
    result
}

fn source_loop(ctx: &mut TaskCtx, task: &mut dyn SourceTask, t: &mut Transactional) -> Result<()> {
    loop {
        let signal = ctx.signal();
        if signal == Signal::Pause {
            t.finish(task, false)?;
            ctx.set_state(State::Paused);
            if ctx.idle(IDLE_POLL) == Signal::Shutdown {
                return t.finish(task, true);
            }
            continue;
        }
        ctx.set_state(State::Running);
        let records = if signal == Signal::Run { task.poll()? } else { Vec::new() };
        if !records.is_empty() {
            let request = if t.boundary == TransactionBoundary::Connector { task.transaction_request() } else { None };
            // A request for an index past the batch ends the transaction after the batch.
            let at = request.map(|r| r.after.filter(|i| *i < records.len()).unwrap_or(records.len() - 1));
            for (i, r) in records.iter().enumerate() {
                t.begin()?;
                // Transformed, then converted; a record a transformation dropped or a
                // tolerated failure skipped is not produced, but its offset is stored.
                if let Some(pr) = source_record(ctx, &r.record)? {
                    t.producer.send(output_record(pr, &mut t.topics))?;
                }
                t.offsets.insert(offset_key(&ctx.id.connector, &r.source_partition), r.source_offset.clone());
                ctx.record_topic(&r.record.topic);
                if let (Some(TransactionRequest { action, .. }), Some(at)) = (request, at) {
                    if at == i {
                        t.end(action, task)?;
                    }
                }
            }
            if t.boundary == TransactionBoundary::Poll {
                t.commit(task)?;
            }
        }
        let signal = if records.is_empty() { ctx.idle(IDLE_POLL) } else { ctx.signal() };
        if let TransactionBoundary::Interval(every) = t.boundary {
            if t.open_since.is_some_and(|s| s.elapsed() >= every) {
                t.commit(task)?;
            }
        }
        if signal == Signal::Shutdown {
            return t.finish(task, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_and_worker_support_parse_as_kafkas_keys() {
        let c = |pairs: &[(&str, &str)]| -> Config { pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect() };
        let d = Duration::from_secs(60);
        assert_eq!(TransactionBoundary::from_config(&c(&[]), d).unwrap(), TransactionBoundary::Poll);
        assert_eq!(TransactionBoundary::from_config(&c(&[("transaction.boundary", "INTERVAL")]), d).unwrap(), TransactionBoundary::Interval(d));
        assert_eq!(
            TransactionBoundary::from_config(&c(&[("transaction.boundary", "interval"), ("transaction.boundary.interval.ms", "250")]), d).unwrap(),
            TransactionBoundary::Interval(Duration::from_millis(250))
        );
        assert_eq!(TransactionBoundary::from_config(&c(&[("transaction.boundary", "connector")]), d).unwrap(), TransactionBoundary::Connector);
        let e = TransactionBoundary::from_config(&c(&[("transaction.boundary", "batch")]), d).unwrap_err();
        assert_eq!(e.to_string(), "Invalid value batch for configuration transaction.boundary: String must be one of (case insensitive): poll, interval, connector");
        assert_eq!(ExactlyOnceSourceSupport::parse("Enabled").unwrap(), ExactlyOnceSourceSupport::Enabled);
        assert!(ExactlyOnceSourceSupport::parse("preparing").unwrap().reads_committed());
        assert!(!ExactlyOnceSourceSupport::Disabled.reads_committed());
        assert!(ExactlyOnceSourceSupport::parse("on").is_err());
    }

    /// A record of `topic` for the seam's producer.
    fn record(topic: &str, value: &str) -> brook_processor_api::OutputRecord {
        brook_processor_api::OutputRecord { topic: Arc::from(topic), partition: Some(0), key: None, value: Some(value.as_bytes().to_vec().into()), timestamp: 0, headers: Vec::new() }
    }

    #[test]
    fn a_second_instance_of_a_task_fences_the_first_and_aborts_what_it_left_open() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let broker = rt.block_on(brook_broker::Broker::open(brook_broker::BrokerConfig::new(dir.path()))).unwrap();
        let clients = Clients::embedded(broker.clone());
        let compact = BTreeMap::from([("cleanup.policy".to_owned(), "compact".to_owned())]);
        clients.create_topic("offsets", 1, compact).unwrap();
        clients.create_topic("out", 1, BTreeMap::new()).unwrap();
        let global = Arc::new(TopicOffsetStore::new(&clients, "offsets", "w", true).unwrap());
        let eos = ExactlyOnceWorker::new(ExactlyOnceSourceSupport::Enabled, "grp", clients.clone(), "w", global.clone());
        assert_eq!(eos.transactional_id("src", 3), "grp-src-3");
        let config: Config = Config::new();
        let d = Duration::from_secs(60);

        let mut first = eos.prepare_task("src", 0, &config, d, 1).unwrap();
        first.begin().unwrap();
        first.producer.send(record("out", "a")).unwrap();
        first.offsets.insert(offset_key("src", &serde_json::json!({"p": 0})), serde_json::json!({"n": 1}));
        let mut task = NoTask;
        first.commit(&mut task).unwrap();
        // The first instance opens another transaction, then stalls (a zombie).
        first.begin().unwrap();
        first.producer.send(record("out", "zombie")).unwrap();
        first.producer.flush().unwrap();

        // The task starts again elsewhere: its producer fences the zombie and its open
        // transaction is aborted before the offsets are read.
        let second = eos.prepare_task("src", 0, &config, d, 1).unwrap();
        let reader = EosOffsetReader { store: &second.store, global: &second.global, connector: "src" };
        assert_eq!(reader.offset(&serde_json::json!({"p": 0})), Some(serde_json::json!({"n": 1})));
        first.offsets.insert(offset_key("src", &serde_json::json!({"p": 0})), serde_json::json!({"n": 2}));
        let fenced = first.commit(&mut task);
        assert!(fenced.is_err(), "the zombie's commit must fail");
        // A read_committed reader sees the first transaction's record only.
        let admin = clients.admin().unwrap();
        let tp = brook_common::TopicPartition::new("out", 0);
        let mut restore = clients.reader_with("check".into(), true).unwrap();
        let mut seen = Vec::new();
        restore.read_to_end("out", &mut |r| seen.push(r.value.clone().map(|v| v.to_vec()))).unwrap();
        assert_eq!(seen, vec![Some(b"a".to_vec())], "end offsets: {:?}", admin.end_offset(&tp, true));
        // Fencing by the connector's worker (new task configs) fences the second in turn.
        eos.fence("src", 1).unwrap();
        let mut second = second;
        second.begin().unwrap();
        second.producer.send(record("out", "late")).unwrap();
        assert!(second.commit(&mut task).is_err());
        drop((first, second));
        rt.block_on(broker.shutdown());
    }

    struct NoTask;

    impl SourceTask for NoTask {
        fn start(&mut self, _: &Config, _: &dyn OffsetReader) -> Result<()> {
            Ok(())
        }

        fn poll(&mut self) -> Result<Vec<crate::connector::SourceRecord>> {
            Ok(Vec::new())
        }
    }
}
