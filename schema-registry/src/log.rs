//! Where the registry keeps its records: a log it appends to and reads back ([`SchemaLog`]),
//! the `_schemas` topic of the embedded broker ([`EmbeddedLog`]) or, through an adapter the
//! caller writes, a topic on any Kafka cluster.

use std::time::Duration;

use brook_broker::client::{Consumer, ConsumerConfig, OffsetReset, Producer, ProducerConfig, ProducerRecord, TopicPartition};
use brook_broker::Broker;
use futures::future::BoxFuture;

use crate::{Error, Result};

/// One record read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// Its offset.
    pub offset: i64,
    /// Key bytes.
    pub key: Option<Vec<u8>>,
    /// Value bytes; `None` is a tombstone.
    pub value: Option<Vec<u8>>,
}

/// A single-partition log of registry records.
pub trait SchemaLog: Send + Sync + std::fmt::Debug + 'static {
    /// The offset the next record will get.
    fn end_offset(&self) -> BoxFuture<'_, Result<i64>>;
    /// Appends a record; resolves to an offset past it (so a reader that reached it has
    /// seen the record).
    fn append(&self, key: Vec<u8>, value: Option<Vec<u8>>) -> BoxFuture<'_, Result<i64>>;
    /// The records from `from` on, waiting up to `wait` when there is none yet.
    fn read(&self, from: i64, wait: Duration) -> BoxFuture<'_, Result<Vec<LogRecord>>>;
}

/// The `_schemas` topic (one partition, `cleanup.policy=compact`) on the embedded broker,
/// written with the embedded producer and read with an embedded consumer.
#[derive(Debug)]
pub struct EmbeddedLog {
    broker: Broker,
    tp: TopicPartition,
    producer: Producer,
    consumer: tokio::sync::Mutex<(Consumer, i64)>,
}

fn store_err(e: brook_broker::Error) -> Error {
    Error::Store(e.to_string())
}

impl EmbeddedLog {
    /// Opens `topic`, creating it compacted with one partition. Must be called inside a
    /// tokio runtime (the producer lingers on it).
    ///
    /// # Errors
    /// [`Error::Store`] when the topic cannot be created or the producer started.
    pub fn open(broker: Broker, topic: &str) -> Result<EmbeddedLog> {
        let configs = [("cleanup.policy", "compact")].into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
        match broker.create_topic(topic, 1, configs) {
            Ok(()) | Err(brook_broker::Error::TopicAlreadyExists(_)) => {}
            Err(e) => return Err(store_err(e)),
        }
        let mut pc = ProducerConfig { client_id: "brook-schema-registry".into(), linger: Duration::from_millis(1), ..Default::default() };
        pc.enable_idempotence = true;
        let producer = Producer::new(broker.clone(), pc).map_err(store_err)?;
        let consumer = Self::consumer(&broker, topic);
        Ok(EmbeddedLog { broker, tp: TopicPartition::new(topic, 0), producer, consumer: tokio::sync::Mutex::new((consumer, 0)) })
    }

    fn consumer(broker: &Broker, topic: &str) -> Consumer {
        let config = ConsumerConfig { auto_offset_reset: OffsetReset::Earliest, enable_auto_commit: false, ..Default::default() };
        let mut c = Consumer::new(broker.clone(), config);
        c.assign(&[TopicPartition::new(topic, 0)]);
        c
    }
}

impl SchemaLog for EmbeddedLog {
    fn end_offset(&self) -> BoxFuture<'_, Result<i64>> {
        Box::pin(async move {
            let mut c = Self::consumer(&self.broker, &self.tp.topic);
            c.seek_to_end(std::slice::from_ref(&self.tp)).map_err(store_err)?;
            c.position(&self.tp).await.map_err(store_err)
        })
    }

    fn append(&self, key: Vec<u8>, value: Option<Vec<u8>>) -> BoxFuture<'_, Result<i64>> {
        Box::pin(async move {
            let record = ProducerRecord { partition: Some(0), ..ProducerRecord::new(self.tp.topic.clone(), Some(key), value) };
            let delivery = self.producer.send(record);
            self.producer.flush();
            Ok(delivery.await.map_err(store_err)?.offset + 1)
        })
    }

    fn read(&self, from: i64, wait: Duration) -> BoxFuture<'_, Result<Vec<LogRecord>>> {
        Box::pin(async move {
            let mut guard = self.consumer.lock().await;
            let (consumer, position) = &mut *guard;
            if *position != from {
                consumer.seek(&self.tp, from);
                *position = from;
            }
            let records = consumer.poll(wait).await.map_err(store_err)?;
            if let Some(last) = records.last() {
                *position = last.offset + 1;
            }
            Ok(records
                .into_iter()
                .map(|r| LogRecord { offset: r.offset, key: r.key.map(|b| b.to_vec()), value: r.value.map(|b| b.to_vec()) })
                .collect())
        })
    }
}
