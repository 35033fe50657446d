//! What every task's thread runs with ([`TaskCtx`]: converters, transformations, error
//! handling, the signal it is controlled by, the status it reports) and the record paths the
//! source loops share: a source record through the transformations and the converters
//! ([`source_record`]) into a record of the clients' seam ([`output_record`]). The plain and
//! the exactly-once source loops and the sink loop build on these.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use brook_broker::client::ProducerRecord;
use brook_processor_api::OutputRecord;
use parking_lot::{Condvar, Mutex};

use crate::clients::Clients;
use crate::config::Config;
use crate::connector::{ConnectRecord, Header};
use crate::converter::{converter_by_class, Converter};
use crate::data::{Schema, SchemaAndValue, SchemaType, Value};
use crate::error::{Error, Result};
use crate::error_handling::{Errant, ErrorHandler, Failure, Stage};
use crate::herder::{ConnectorTaskId, State};
use crate::transforms::TransformationChain;

/// How long an idle task waits before polling again. Default: 100 ms.
pub(crate) const IDLE_POLL: Duration = Duration::from_millis(100);

/// What a task is told to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    Run,
    Pause,
    Shutdown,
}

/// A task's state as the worker sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskStatus {
    /// `RUNNING`, `PAUSED`, `FAILED` or `UNASSIGNED`.
    pub state: State,
    /// The error of a failed task.
    pub trace: Option<String>,
}

/// A task's signal, waited on by its thread (a condition variable: the loops are synchronous).
#[derive(Debug, Clone)]
pub(super) struct Signals(Arc<(Mutex<Signal>, Condvar)>);

impl Signals {
    pub(super) fn new(initial: Signal) -> Signals {
        Signals(Arc::new((Mutex::new(initial), Condvar::new())))
    }

    pub(super) fn send(&self, s: Signal) {
        let (m, cv) = &*self.0;
        *m.lock() = s;
        cv.notify_all();
    }

    fn get(&self) -> Signal {
        *self.0 .0.lock()
    }

    /// Waits up to `d` or until the signal changes; returns the signal.
    fn wait(&self, d: Duration) -> Signal {
        let (m, cv) = &*self.0;
        let mut s = m.lock();
        let before = *s;
        if before != Signal::Shutdown {
            let deadline = Instant::now() + d;
            while *s == before && !cv.wait_until(&mut s, deadline).timed_out() {}
        }
        *s
    }
}

/// What a task's thread runs with: its id, clients, converters, transformations, error
/// handler, signal and status.
pub(crate) struct TaskCtx {
    pub(crate) id: ConnectorTaskId,
    pub(super) clients: Clients,
    pub(super) conv: Converters,
    pub(super) transforms: TransformationChain,
    pub(super) errors: ErrorHandler,
    pub(super) rt: tokio::runtime::Runtime,
    pub(super) flush_every: Duration,
    pub(super) signals: Signals,
    pub(super) status: Arc<Mutex<TaskStatus>>,
    pub(super) topics: Arc<Mutex<BTreeMap<String, BTreeSet<String>>>>,
}

impl TaskCtx {
    pub(crate) fn signal(&self) -> Signal {
        self.signals.get()
    }

    /// Waits up to `d` or until the signal changes; returns the signal.
    pub(crate) fn idle(&self, d: Duration) -> Signal {
        self.signals.wait(d)
    }

    pub(crate) fn set_state(&self, state: State) {
        let mut s = self.status.lock();
        if s.state != State::Failed {
            *s = TaskStatus { state, trace: None };
        }
    }

    pub(crate) fn record_topic(&self, topic: &str) {
        let mut topics = self.topics.lock();
        let set = topics.entry(self.id.connector.clone()).or_default();
        if !set.contains(topic) {
            set.insert(topic.to_owned());
        }
    }

    /// Logs how the task ended and records it in its status.
    pub(super) fn finish(&self, kind: &str, result: &Result<()>) {
        match result {
            Ok(()) => {
                tracing::info!(connector = %self.id.connector, task = self.id.task, "{kind} task stopped");
                self.set_state(State::Unassigned);
            }
            Err(e) => {
                tracing::error!(connector = %self.id.connector, task = self.id.task, error = %e, "{kind} task failed");
                *self.status.lock() = TaskStatus { state: State::Failed, trace: Some(trace(e)) };
            }
        }
    }
}

/// An error as a status trace: the message and its causes, one per line.
pub(crate) fn trace(e: &Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let cause = s.to_string();
        // Errors that print their source already need it once only.
        if !text.contains(&cause) {
            text.push_str("\nCaused by: ");
            text.push_str(&cause);
        }
        source = s.source();
    }
    text
}

/// The key and value converters of a connector: its own `key.converter` / `value.converter`
/// override the worker's, with their `*.converter.` sub-keys.
pub(super) fn converters(worker: &Config, connector: &Config) -> Result<Converters> {
    let make = |prefix: &str, is_key: bool| -> Result<(Box<dyn Converter>, String)> {
        let source = if connector.contains_key(prefix) { connector } else { worker };
        let class = source.get(prefix).ok_or_else(|| Error::Config(format!("Missing required configuration \"{prefix}\"")))?;
        let mut c = converter_by_class(class)?;
        let sub = format!("{prefix}.");
        let config: Config = source.iter().filter_map(|(k, v)| k.strip_prefix(&sub).map(|k| (k.to_owned(), v.clone()))).collect();
        c.configure(&config, is_key)?;
        Ok((c, class.clone()))
    };
    let (key, key_class) = make("key.converter", true)?;
    let (value, value_class) = make("value.converter", false)?;
    Ok(Converters { key, value, key_class, value_class })
}

/// Checks the worker's converter keys.
///
/// # Errors
/// An unknown converter class or a bad converter key.
pub(crate) fn check_converters(worker: &Config) -> Result<()> {
    converters(worker, &Config::new()).map(|_| ())
}

/// A task's converters with their class names (for the error reporters).
pub(super) struct Converters {
    pub(super) key: Box<dyn Converter>,
    pub(super) value: Box<dyn Converter>,
    pub(super) key_class: String,
    pub(super) value_class: String,
}

/// A source record through the transformations and the converters (with error handling);
/// `None`: dropped or skipped.
pub(crate) fn source_record(ctx: &mut TaskCtx, original: &ConnectRecord) -> Result<Option<ProducerRecord>> {
    let mut class = String::new();
    let chain = &ctx.transforms;
    let transformed = ctx.rt.block_on(ctx.errors.execute(Stage::Transformation, "", || {
        chain.apply(original.clone(), None).map_err(|(c, e)| {
            class = c;
            e
        })
    }));
    let r = match transformed {
        Ok(Some(r)) => r,
        Ok(None) => return Ok(None),
        Err(mut f) => {
            f.class_name = class;
            report(ctx, f, Errant::Source(original), None)?;
            return Ok(None);
        }
    };
    let conv = &ctx.conv;
    let key = match ctx.rt.block_on(ctx.errors.execute(Stage::KeyConverter, &conv.key_class, || conv.key.from_connect_data(&r.topic, &r.key))) {
        Ok(k) => k,
        Err(f) => return report(ctx, f, Errant::Source(original), None).map(|()| None),
    };
    let value = match ctx.rt.block_on(ctx.errors.execute(Stage::ValueConverter, &conv.value_class, || conv.value.from_connect_data(&r.topic, &r.value))) {
        Ok(v) => v,
        Err(f) => return report(ctx, f, Errant::Source(original), None).map(|()| None),
    };
    let mut pr = ProducerRecord::new(r.topic.clone(), key, value);
    pr.partition = r.partition;
    pr.timestamp = r.timestamp;
    pr.headers = r.headers.iter().map(header_to_kafka).collect();
    Ok(Some(pr))
}

/// A broker-client record as the seam's producer takes it (the topic's name shared).
pub(crate) fn output_record(pr: ProducerRecord, topics: &mut Vec<Arc<str>>) -> OutputRecord {
    let topic = match topics.iter().find(|t| ***t == *pr.topic) {
        Some(t) => t.clone(),
        None => {
            let t: Arc<str> = Arc::from(pr.topic.as_str());
            topics.push(t.clone());
            t
        }
    };
    OutputRecord { topic, partition: pr.partition, key: pr.key, value: pr.value, timestamp: pr.timestamp.unwrap_or_else(now_ms), headers: pr.headers }
}

pub(super) fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Reports a failed stage: `Ok(())` when tolerated (the record is skipped), the task's error
/// otherwise. Dead letter records are produced before this returns.
pub(super) fn report(ctx: &TaskCtx, failure: Failure, errant: Errant<'_>, dlq: Option<&mut DeadLetterQueue>) -> Result<()> {
    let mut records = Vec::new();
    let verdict = ctx.errors.report(failure, errant, &mut records);
    if let (Some(q), false) = (dlq, records.is_empty()) {
        q.send(records);
    }
    verdict
}

/// A sink task's dead letter queue: a producer of the seam and the topic (created with one
/// partition when missing, as Kafka's `DeadLetterQueueReporter` does).
pub(super) struct DeadLetterQueue {
    producer: Box<dyn brook_processor_api::runtime::StreamsProducer>,
    topics: Vec<Arc<str>>,
}

impl DeadLetterQueue {
    pub(super) fn open(ctx: &TaskCtx) -> Result<Option<DeadLetterQueue>> {
        let Some(topic) = &ctx.errors.config().dlq_topic else { return Ok(None) };
        ctx.clients
            .create_topic(topic, 1, BTreeMap::new())
            .map_err(|e| Error::Config(format!("Could not initialize dead letter queue with topic={topic}: {e}")))?;
        let producer = ctx.clients.producer(format!("connector-dlq-producer-{}-{}", ctx.id.connector, ctx.id.task))?;
        Ok(Some(DeadLetterQueue { producer, topics: Vec::new() }))
    }

    /// Produces and waits; a failed send is logged, as Kafka's reporter does.
    pub(super) fn send(&mut self, records: Vec<ProducerRecord>) {
        for r in records {
            if let Err(e) = self.producer.send(output_record(r, &mut self.topics)) {
                tracing::error!(error = %e, "Could not produce message to dead letter queue");
            }
        }
        if let Err(e) = self.producer.flush() {
            tracing::error!(error = %e, "Could not produce message to dead letter queue");
        }
    }
}

/// A Kafka header as Connect's: UTF-8 bytes as an optional string, other bytes as bytes, null as
/// null (the string part of Kafka's `SimpleHeaderConverter`; numbers stay strings).
pub(super) fn header_from_kafka(h: &brook_common::record::Header) -> Header {
    let value = match &h.value {
        None => SchemaAndValue { schema: None, value: Value::Null },
        Some(b) => match std::str::from_utf8(b) {
            Ok(s) => SchemaAndValue { schema: Some(Schema::optional_string()), value: Value::String(s.to_owned()) },
            Err(_) => SchemaAndValue { schema: Some(Schema::of(SchemaType::Bytes).optional()), value: Value::Bytes(b.to_vec()) },
        },
    };
    Header { key: h.key.clone(), value }
}

/// A Connect header as Kafka's: bytes as they are, null as null, anything else its `toString()`.
pub(super) fn header_to_kafka(h: &Header) -> brook_common::record::Header {
    let value = match &h.value.value {
        Value::Null => None,
        Value::Bytes(b) => Some(bytes::Bytes::from(b.clone())),
        v => Some(bytes::Bytes::from(v.to_string())),
    };
    brook_common::record::Header { key: h.key.clone(), value }
}
