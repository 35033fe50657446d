//! [`Embedded`]: the client seam over the in-process broker. The traits are synchronous (a
//! stream thread is an OS thread): the embedded clients are driven with `block_on` on the
//! stream thread, over small runtimes owned by each client or a shared one.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use brook_broker::client::{
    self as bc, Admin, Consumer, ConsumerConfig, NewTopic, OffsetReset, Producer, ProducerConfig,
};
use brook_broker::{Broker, ErrorCode, IsolationLevel, OffsetSpec};

use super::{
    ClientSupplier, ConsumerSettings, GroupMetadata, InternalTopic, ProducerSettings, RebalanceHandler,
    RestoreConsumer, StreamsAdmin, StreamsConsumer, StreamsProducer, Waker,
};
use crate::engine::{ConsumerRecord, OutputRecord, TopicPartition};
use crate::error::{Error, Result};
use crate::runtime::shared::{ClientRuntime, SharedRuntime};

/// `max.partition.fetch.bytes` of a stream thread's embedded consumer (the client's default is
/// 1 MiB; `consumer.max.partition.fetch.bytes` overrides it). The embedded consumer decodes a
/// whole fetch into its buffer and the thread hands every polled record to its tasks, so the
/// fetch size is the thread's working set: 1 MiB of small records is ~30,000 records per
/// partition (~4 MiB of decoded records, moved through the poll vector and the task queues), and
/// each fresh buffer was page-faulted in (Nexmark q7: ~19,000 of the query's ~20,500 page faults).
/// 64 KiB is about 2,000 small records and one 64 KiB producer batch; the first batch is returned
/// whole when larger (KIP-74), so progress does not depend on it. Kafka's Java consumer bounds the
/// same working set by decoding lazily, `max.poll.records` (1,000 in Kafka Streams) at a time.
const STREAM_FETCH_BYTES: usize = 64 << 10;

/// The client seam over an in-process [`Broker`].
#[derive(Debug, Clone)]
pub struct Embedded {
    broker: Broker,
}

impl Embedded {
    /// Clients over this broker handle.
    pub fn new(broker: Broker) -> Embedded {
        Embedded { broker }
    }

    /// The broker.
    pub fn broker(&self) -> &Broker {
        &self.broker
    }
}

impl ClientSupplier for Embedded {
    fn admin(&self) -> Result<Arc<dyn StreamsAdmin>> {
        Ok(Arc::new(EmbeddedAdmin { broker: self.broker.clone(), admin: Admin::new(self.broker.clone()) }))
    }

    fn consumer(&self, s: &ConsumerSettings) -> Result<Box<dyn StreamsConsumer>> {
        let mut config = ConsumerConfig {
            group_id: s.group_id.clone(),
            client_id: s.client_id.clone(),
            auto_offset_reset: OffsetReset::Earliest,
            enable_auto_commit: false,
            max_poll_records: s.max_poll_records,
            isolation_level: if s.read_committed {
                IsolationLevel::ReadCommitted
            } else {
                IsolationLevel::ReadUncommitted
            },
            session_timeout: s.session_timeout,
            heartbeat_interval: s.heartbeat_interval,
            max_partition_fetch_bytes: STREAM_FETCH_BYTES,
            ..Default::default()
        };
        for (k, v) in &s.overrides {
            config.set(k, v)?;
        }
        // The consumer's heartbeat task runs on a runtime worker (this runtime's one, or the
        // shared runtime's), so a busy stream thread (processing between polls) keeps its group
        // membership, as the Java client's heartbeat thread does. Polls run on the stream thread.
        let rt = ClientRuntime::one_worker(s.runtime.as_ref(), format!("{}-heartbeat", s.client_id))?;
        let consumer = Consumer::new(self.broker.clone(), config);
        Ok(Box::new(EmbeddedConsumer { consumer, rt }))
    }

    fn producer(&self, s: &ProducerSettings) -> Result<Box<dyn StreamsProducer>> {
        let mut config = ProducerConfig {
            client_id: s.client_id.clone(),
            transactional_id: s.transactional_id.clone(),
            linger: Duration::from_millis(100),
            batch_size: 64 << 10,
            ..Default::default()
        };
        for (k, v) in &s.overrides {
            config.set(k, v)?;
        }
        // The producer's linger task sends batches older than `linger.ms` from a runtime worker
        // (this runtime's one, or the shared runtime's); full batches and flushes go out from
        // the stream thread.
        let rt = ClientRuntime::one_worker(s.runtime.as_ref(), format!("{}-linger", s.client_id))?;
        let producer = {
            let _guard = rt.enter();
            Producer::new(self.broker.clone(), config)?
        };
        Ok(Box::new(EmbeddedProducer { producer, _rt: rt }))
    }

    fn restore_consumer(&self, s: &ConsumerSettings) -> Result<Box<dyn RestoreConsumer>> {
        Ok(Box::new(EmbeddedRestore {
            broker: self.broker.clone(),
            isolation: if s.read_committed { IsolationLevel::ReadCommitted } else { IsolationLevel::ReadUncommitted },
            runtime: s.runtime.clone(),
        }))
    }
}

struct EmbeddedAdmin {
    broker: Broker,
    admin: Admin,
}

impl fmt::Debug for EmbeddedAdmin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedAdmin").finish_non_exhaustive()
    }
}

impl StreamsAdmin for EmbeddedAdmin {
    fn partition_count(&self, topic: &str) -> Result<Option<i32>> {
        match self.broker.partition_count(topic, false) {
            Ok(n) => Ok(Some(n)),
            Err(e) if e.code() == ErrorCode::UnknownTopicOrPartition => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn create_topics(&self, topics: &[InternalTopic]) -> Result<()> {
        let new: Vec<NewTopic> = topics
            .iter()
            .map(|t| NewTopic { name: t.name.clone(), partitions: t.partitions, configs: t.configs.clone() })
            .collect();
        for r in self.admin.create_topics(&new) {
            match r {
                Ok(()) => {}
                Err(e) if e.code() == ErrorCode::TopicAlreadyExists => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    fn end_offset(&self, tp: &TopicPartition, read_committed: bool) -> Result<i64> {
        let iso = if read_committed { IsolationLevel::ReadCommitted } else { IsolationLevel::ReadUncommitted };
        Ok(self.broker.list_offset(&tp.topic, tp.partition, OffsetSpec::Latest, iso)?.0)
    }

    fn start_offset(&self, tp: &TopicPartition) -> Result<i64> {
        Ok(self.broker.list_offset(&tp.topic, tp.partition, OffsetSpec::Earliest, IsolationLevel::ReadUncommitted)?.0)
    }

    fn list_topics(&self) -> Result<Vec<String>> {
        Ok(self.admin.list_topics())
    }

    fn group_owners(&self, group_id: &str) -> Result<BTreeMap<TopicPartition, String>> {
        let d = self.admin.describe_group(group_id);
        Ok(d.members.iter().flat_map(|m| m.assignment.iter().map(|tp| (tp.clone(), m.client_id.clone()))).collect())
    }

    fn group_members(&self, group_id: &str) -> Result<Vec<String>> {
        Ok(self.admin.describe_group(group_id).members.into_iter().map(|m| m.client_id).collect())
    }
}

struct EmbeddedConsumer {
    consumer: Consumer,
    rt: ClientRuntime,
}

impl fmt::Debug for EmbeddedConsumer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedConsumer").field("consumer", &self.consumer).finish_non_exhaustive()
    }
}

/// Adapts a [`RebalanceHandler`] to the embedded consumer's listener; offsets commit inside the
/// revocation callback through the consumer's commit handle, with the generation the member
/// still has then.
struct ListenerAdapter {
    handler: Box<dyn RebalanceHandler>,
    commits: bc::CommitHandle,
}

// With the `kafka` feature GroupMetadata has one more field.
#[allow(clippy::needless_update)]
fn group_metadata_of(m: bc::ConsumerGroupMetadata) -> GroupMetadata {
    GroupMetadata {
        group_id: m.group_id,
        generation: m.generation_id,
        member_id: m.member_id,
        group_instance_id: m.group_instance_id,
        ..Default::default()
    }
}

impl bc::RebalanceListener for ListenerAdapter {
    fn on_partitions_revoked(&mut self, partitions: &[bc::TopicPartition]) {
        let group = group_metadata_of(self.commits.group_metadata());
        let commits = &self.commits;
        let mut commit = |offsets: &BTreeMap<TopicPartition, i64>| -> Result<()> { Ok(commits.commit_offsets(offsets)?) };
        self.handler.on_revoked(partitions, &group, &mut commit);
    }

    fn on_partitions_assigned(&mut self, partitions: &[bc::TopicPartition]) {
        self.handler.on_assigned(partitions);
    }
}

impl StreamsConsumer for EmbeddedConsumer {
    fn subscribe(&mut self, topics: &[String], handler: Box<dyn RebalanceHandler>) -> Result<()> {
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        let adapter = ListenerAdapter { handler, commits: self.consumer.commit_handle() };
        self.consumer.subscribe(&names, Some(Box::new(adapter)))?;
        Ok(())
    }

    fn poll(&mut self, timeout: Duration, out: &mut Vec<ConsumerRecord>) -> Result<()> {
        // The broker's records are the seam's (`brook_common::ConsumerRecord`), their topic
        // name shared per fetched partition.
        match self.rt.block_on(self.consumer.poll_into(timeout, out)) {
            // Woken to stop: the stream thread looks at its flags.
            Err(brook_broker::Error::Wakeup) => Ok(()),
            r => r.map(drop).map_err(Into::into),
        }
    }

    fn pause(&mut self, partitions: &[TopicPartition]) {
        self.consumer.pause(partitions);
    }

    fn resume(&mut self, partitions: &[TopicPartition]) {
        self.consumer.resume(partitions);
    }

    fn seek(&mut self, partition: &TopicPartition, offset: i64) {
        self.consumer.seek(partition, offset);
    }

    fn committed(&mut self, partitions: &[TopicPartition]) -> Result<BTreeMap<TopicPartition, i64>> {
        Ok(self.consumer.committed(partitions)?)
    }

    fn commit(&mut self, offsets: &BTreeMap<TopicPartition, i64>) -> Result<()> {
        self.consumer.commit_offsets(offsets)?;
        Ok(())
    }

    fn group_metadata(&self) -> GroupMetadata {
        group_metadata_of(self.consumer.group_metadata())
    }

    fn assignment(&self) -> Vec<TopicPartition> {
        self.consumer.assignment()
    }

    fn waker(&self) -> Option<Waker> {
        let handle = self.consumer.wakeup_handle();
        Some(Box::new(move || handle.wakeup()))
    }

    fn set_cooperative(&mut self, ready: Waker) -> bool {
        self.consumer.set_nonblocking(self.rt.handle().clone(), Arc::from(ready));
        true
    }

    fn close(self: Box<Self>) {
        let EmbeddedConsumer { consumer, rt, .. } = *self;
        rt.block_on(consumer.close());
    }
}

/// The stream thread's producer: records are queued without a delivery future each; `flush`
/// sends every queued batch and reads the producer's delivery report (end offsets per
/// partition, first failure), so what a commit needs is gathered once per batch, not per record.
struct EmbeddedProducer {
    producer: Producer,
    _rt: ClientRuntime,
}

impl fmt::Debug for EmbeddedProducer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedProducer").finish_non_exhaustive()
    }
}

impl StreamsProducer for EmbeddedProducer {
    fn send(&mut self, r: OutputRecord) -> Result<()> {
        self.producer.send_parts_untracked_to(
            &r.topic,
            r.partition,
            r.key.as_deref(),
            r.value.as_deref(),
            Some(r.timestamp),
            &r.headers,
        );
        Ok(())
    }

    fn flush(&mut self) -> Result<BTreeMap<TopicPartition, i64>> {
        // Every queued batch is appended synchronously by `flush` (or was by the linger task
        // before it): the report covers every record sent so far.
        self.producer.flush();
        let report = self.producer.take_delivery_report();
        match report.error {
            Some(e) => Err(e.into()),
            None => Ok(report.ends.into_iter().map(|(t, p, o)| (TopicPartition::new(&*t, p), o)).collect()),
        }
    }

    fn init_transactions(&mut self) -> Result<()> {
        Ok(self.producer.init_transactions()?)
    }

    fn begin_transaction(&mut self) -> Result<()> {
        Ok(self.producer.begin_transaction()?)
    }

    fn send_offsets_to_transaction(
        &mut self,
        offsets: &BTreeMap<TopicPartition, i64>,
        group: &GroupMetadata,
    ) -> Result<()> {
        let group = bc::ConsumerGroupMetadata {
            group_id: group.group_id.clone(),
            generation_id: group.generation,
            member_id: group.member_id.clone(),
            group_instance_id: group.group_instance_id.clone(),
        };
        Ok(self.producer.send_offsets_to_transaction(offsets, &group)?)
    }

    fn commit_transaction(&mut self) -> Result<()> {
        Ok(self.producer.commit_transaction()?)
    }

    fn abort_transaction(&mut self) -> Result<()> {
        let r = self.producer.abort_transaction();
        // What the aborted transaction's batches came to is of no use any more.
        drop(self.producer.take_delivery_report());
        Ok(r?)
    }
}

struct EmbeddedRestore {
    broker: Broker,
    isolation: IsolationLevel,
    runtime: Option<SharedRuntime>,
}

impl fmt::Debug for EmbeddedRestore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedRestore").finish_non_exhaustive()
    }
}

impl RestoreConsumer for EmbeddedRestore {
    fn read(
        &mut self,
        tp: &TopicPartition,
        from: i64,
        to: i64,
        sink: &mut dyn FnMut(&[ConsumerRecord]) -> Result<()>,
    ) -> Result<i64> {
        // A consumer without a group, assigned to the one partition: it filters aborted
        // transactions and control batches like any read_committed consumer.
        let config = ConsumerConfig {
            group_id: None,
            enable_auto_commit: false,
            auto_offset_reset: OffsetReset::Earliest,
            isolation_level: self.isolation,
            max_poll_records: 10_000,
            max_partition_fetch_bytes: 4 << 20,
            ..Default::default()
        };
        let rt = ClientRuntime::current_thread(self.runtime.as_ref())?;
        let mut consumer = Consumer::new(self.broker.clone(), config);
        consumer.assign(std::slice::from_ref(tp));
        consumer.seek(tp, from);
        let mut pos = from;
        let mut progress_at = std::time::Instant::now();
        while pos < to {
            if progress_at.elapsed() > Duration::from_secs(300) {
                return Err(Error::Timeout(format!("restoring {tp} made no progress at {pos} of {to}")));
            }
            let batch = rt.block_on(consumer.poll(Duration::from_millis(200)))?;
            if !batch.is_empty() {
                progress_at = std::time::Instant::now();
            }
            let records: Vec<ConsumerRecord> = batch.into_iter().filter(|r| r.offset < to).collect();
            if !records.is_empty() {
                sink(&records)?;
            }
            pos = rt.block_on(consumer.position(tp))?;
        }
        Ok(pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_producer_reports_end_offsets_and_the_first_failure_per_flush() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let broker = rt.block_on(Broker::open(brook_broker::BrokerConfig::new(dir.path()))).unwrap();
        broker.create_topic("t", 2, Default::default()).unwrap();
        let producer = {
            let _g = rt.enter();
            Producer::new(broker, ProducerConfig { batch_size: 1024, ..Default::default() }).unwrap()
        };
        let mut p = EmbeddedProducer { producer, _rt: ClientRuntime::Own(rt) };
        let record = |partition: i32| OutputRecord {
            topic: "t".into(),
            partition: Some(partition),
            key: None,
            value: Some(bytes::Bytes::from_static(b"v")),
            timestamp: 0,
            headers: Vec::new(),
        };
        // Many batches per partition: the report keeps one end offset per partition.
        let n = 40_000;
        for i in 0..n {
            p.send(record((i % 2) as i32)).unwrap();
        }
        let ends = p.flush().unwrap();
        let half = (n / 2) as i64;
        assert_eq!(ends, BTreeMap::from([(TopicPartition::new("t", 0), half), (TopicPartition::new("t", 1), half)]));
        // The next flush reports only what was sent since.
        assert!(p.flush().unwrap().is_empty());
        // A record that cannot be sent fails the flush that covers it, and only that one.
        p.send(record(0)).unwrap();
        p.send(record(7)).unwrap();
        let err = p.flush().unwrap_err();
        assert!(err.to_string().contains("partition 7 of t does not exist"), "{err}");
        p.send(record(1)).unwrap();
        assert_eq!(p.flush().unwrap(), BTreeMap::from([(TopicPartition::new("t", 1), half + 1)]));
    }
}
