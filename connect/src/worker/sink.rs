//! The sink loop: a sink task consumes as the group `connect-<name>` (from `earliest` without a
//! committed offset), each record through the converters and the transformations, and commits
//! after the task flushed, every `offset.flush.interval.ms`, when paused, on stop and when a
//! rebalance of its group takes partitions away.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use brook_broker::client::ConsumerRecord;
use brook_common::TopicPartition;
use brook_processor_api::runtime::{GroupMetadata, OffsetCommitFn, RebalanceHandler, StreamsConsumer};
use parking_lot::Mutex;

use super::task::{header_from_kafka, report, DeadLetterQueue, Signal, TaskCtx, IDLE_POLL};
use crate::clients::Clients;
use crate::config::Config;
use crate::connector::{ConnectRecord, SinkRecord, SinkTask};
use crate::error::{Error, Result};
use crate::error_handling::{Errant, Stage};
use crate::herder::{ConnectorTaskId, State};

/// The consumer group of a sink connector: `connect-<name>`, as Kafka names it.
pub fn sink_group(connector: &str) -> String {
    format!("connect-{connector}")
}

type Offsets = BTreeMap<TopicPartition, i64>;

/// What a sink task consumes: `topics`, or the topics whose whole name matches `topics.regex`
/// (Java's `Pattern.matches`), looked up again every [`PATTERN_REFRESH`] so that topics
/// created later are consumed too (Kafka's consumer does so on its metadata refresh).
#[derive(Debug, Clone)]
pub(super) enum Subscription {
    Topics(Vec<String>),
    Pattern(regex::Regex),
}

/// How often a `topics.regex` subscription looks for new topics. Default: 5 s.
const PATTERN_REFRESH: Duration = Duration::from_secs(5);

impl Subscription {
    pub(super) fn of(connector: &str, config: &Config) -> Result<Subscription> {
        let given = |k: &str| config.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        match (given("topics"), given("topics.regex")) {
            (Some(_), Some(_)) => Err(Error::Config(format!("connector {connector}: topics and topics.regex are mutually exclusive options, but both are set."))),
            (Some(t), None) => Ok(Subscription::Topics(t.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())),
            (None, Some(r)) => regex::Regex::new(&format!("^(?:{r})$"))
                .map(Subscription::Pattern)
                .map_err(|e| Error::Config(format!("connector {connector}: Invalid value {r} for configuration topics.regex: Invalid regex: {e}"))),
            (None, None) => Err(Error::Config(format!("connector {connector}: Must configure one of topics or topics.regex"))),
        }
    }

    /// The topics to subscribe to now, sorted (internal topics never match a pattern, as
    /// Kafka's consumer excludes them).
    fn topics(&self, clients: &Clients) -> Result<Vec<String>> {
        match self {
            Subscription::Topics(t) => Ok(t.clone()),
            Subscription::Pattern(re) => {
                let mut t: Vec<String> = clients.admin()?.list_topics()?.into_iter().filter(|t| !matches!(t.as_str(), "__consumer_offsets" | "__transaction_state") && re.is_match(t)).collect();
                t.sort();
                Ok(t)
            }
        }
    }
}

pub(super) fn run_sink(mut ctx: TaskCtx, task: Box<dyn SinkTask>, topics: Subscription) {
    let shared = Arc::new(Mutex::new(SinkShared { task, next: Offsets::new(), committed: Offsets::new() }));
    let result = ctx.clients.consumer(sink_group(&ctx.id.connector), format!("connector-consumer-{}-{}", ctx.id.connector, ctx.id.task)).and_then(|mut consumer| {
        let r = sink_loop(&mut ctx, &shared, consumer.as_mut(), &topics);
        consumer.close();
        r
    });
    shared.lock().task.stop();
    ctx.finish("sink", &result);
}

fn sink_loop(ctx: &mut TaskCtx, shared: &Arc<Mutex<SinkShared>>, consumer: &mut dyn StreamsConsumer, subscription: &Subscription) -> Result<()> {
    let mut last_flush = Instant::now();
    // The topics subscribed to; none yet while a pattern matches nothing.
    let mut subscribed: Vec<String> = Vec::new();
    let mut looked_up: Option<Instant> = None;
    let mut dlq = DeadLetterQueue::open(ctx)?;
    let mut polled = Vec::new();
    let mut paused = false;
    loop {
        if looked_up.is_none_or(|at| matches!(subscription, Subscription::Pattern(_)) && at.elapsed() >= PATTERN_REFRESH) {
            looked_up = Some(Instant::now());
            let topics = subscription.topics(&ctx.clients)?;
            if topics != subscribed && !topics.is_empty() {
                tracing::info!(connector = %ctx.id.connector, task = ctx.id.task, ?topics, "sink task subscribes");
                consumer.subscribe(&topics, Box::new(Revocations { shared: shared.clone(), id: ctx.id.clone() }))?;
                subscribed = topics;
            }
        }
        if subscribed.is_empty() {
            // A pattern matching no topic yet: nothing to consume.
            if ctx.idle(IDLE_POLL) == Signal::Shutdown {
                return Ok(());
            }
            continue;
        }
        let signal = ctx.signal();
        // A paused sink keeps polling (so it stays in its group) with its partitions paused.
        let pause = signal == Signal::Pause;
        let assignment = consumer.assignment();
        if pause {
            consumer.pause(&assignment);
        } else if paused {
            consumer.resume(&assignment);
        }
        paused = pause;
        ctx.set_state(if pause { State::Paused } else { State::Running });
        consumer.poll(IDLE_POLL, &mut polled)?;
        if !polled.is_empty() {
            let mut s = shared.lock();
            let mut batch = Vec::with_capacity(polled.len());
            for r in polled.drain(..) {
                s.next.insert(TopicPartition::new(&*r.topic, r.partition), r.offset + 1);
                ctx.record_topic(&r.topic);
                if let Some(record) = sink_record(ctx, &r, dlq.as_mut())? {
                    batch.push(record);
                }
            }
            if !batch.is_empty() {
                s.task.put(batch)?;
            }
        }
        let stopping = ctx.signal() == Signal::Shutdown;
        if stopping || pause || last_flush.elapsed() >= ctx.flush_every {
            shared.lock().flush_and_commit(&mut |o| Ok(consumer.commit(o)?))?;
            last_flush = Instant::now();
        }
        if stopping {
            return Ok(());
        }
    }
}

/// A consumed record through the converters and the transformations (with error handling);
/// `None`: dropped or skipped (and sent to the dead letter queue if there is one).
fn sink_record(ctx: &mut TaskCtx, r: &ConsumerRecord, mut dlq: Option<&mut DeadLetterQueue>) -> Result<Option<SinkRecord>> {
    let conv = &ctx.conv;
    let key = match ctx.rt.block_on(ctx.errors.execute(Stage::KeyConverter, &conv.key_class, || conv.key.to_connect_data(&r.topic, r.key.as_deref()))) {
        Ok(k) => k,
        Err(f) => return report(ctx, f, Errant::Consumed(r), dlq.as_deref_mut()).map(|()| None),
    };
    let value = match ctx.rt.block_on(ctx.errors.execute(Stage::ValueConverter, &conv.value_class, || conv.value.to_connect_data(&r.topic, r.value.as_deref()))) {
        Ok(v) => v,
        Err(f) => return report(ctx, f, Errant::Consumed(r), dlq.as_deref_mut()).map(|()| None),
    };
    let record = ConnectRecord {
        topic: r.topic.to_string(),
        partition: Some(r.partition),
        key,
        value,
        timestamp: Some(r.timestamp),
        headers: r.headers.iter().map(header_from_kafka).collect(),
    };
    let mut class = String::new();
    let chain = &ctx.transforms;
    let transformed = ctx.rt.block_on(ctx.errors.execute(Stage::Transformation, "", || {
        chain.apply(record.clone(), Some(r.offset)).map_err(|(c, e)| {
            class = c;
            e
        })
    }));
    match transformed {
        Ok(Some(record)) => Ok(Some(SinkRecord { kafka_offset: r.offset, record })),
        Ok(None) => Ok(None),
        Err(mut f) => {
            f.class_name = class;
            report(ctx, f, Errant::Consumed(r), dlq).map(|()| None)
        }
    }
}

/// A sink task and its offsets, shared with the rebalance handler (which runs inside `poll`,
/// on the task's thread).
struct SinkShared {
    task: Box<dyn SinkTask>,
    /// Next offset to commit per partition.
    next: Offsets,
    committed: Offsets,
}

impl SinkShared {
    /// Flushes the task and commits what changed.
    fn flush_and_commit(&mut self, commit: &mut dyn FnMut(&Offsets) -> Result<()>) -> Result<()> {
        if self.next == self.committed {
            return Ok(());
        }
        self.task.flush(&self.next)?;
        commit(&self.next)?;
        self.committed = self.next.clone();
        Ok(())
    }
}

/// Flushes and commits before the sink group moves partitions away (Kafka's
/// `WorkerSinkTask.HandleRebalance`).
struct Revocations {
    shared: Arc<Mutex<SinkShared>>,
    id: ConnectorTaskId,
}

impl RebalanceHandler for Revocations {
    fn on_revoked(&mut self, partitions: &[TopicPartition], _group: &GroupMetadata, commit: &mut OffsetCommitFn<'_>) {
        let mut s = self.shared.lock();
        if let Err(e) = s.flush_and_commit(&mut |o| Ok(commit(o)?)) {
            tracing::warn!(connector = %self.id.connector, task = self.id.task, error = %e, "committing sink offsets on revocation failed; the records since the last commit will be delivered again");
        }
        for tp in partitions {
            s.next.remove(tp);
            s.committed.remove(tp);
        }
    }

    fn on_assigned(&mut self, partitions: &[TopicPartition]) {
        tracing::debug!(connector = %self.id.connector, task = self.id.task, ?partitions, "sink partitions assigned");
    }
}
