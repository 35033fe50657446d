//! [`Cluster`] over the in-process broker: calls go straight to the partition logs (records
//! are appended as one uncompressed batch per partition and read back as stored batches), and
//! queries run over the `Embedded` client seam.

use std::collections::BTreeMap;
use std::sync::Arc;

use brook_broker::record::{decode_batch_bytes, BatchBuilder, BatchHeader, Compression, Header, Record, BATCH_HEADER_LEN};
use brook_broker::{Broker, IsolationLevel, OffsetSpec};
use brook_processor_api::runtime::Embedded;
use brook_processor_api::{KafkaStreams, StreamsConfig, TaskFactory};
use bytes::Bytes;

use super::record::{partition_of, OutputRecord};
use super::seam::{streams_err, Cluster, StreamThreads};
use crate::{Error, Result};

/// The embedded broker as a [`Cluster`].
#[derive(Debug, Clone)]
pub struct EmbeddedCluster {
    broker: Broker,
}

impl EmbeddedCluster {
    /// The cluster of `broker`.
    pub fn new(broker: Broker) -> Self {
        EmbeddedCluster { broker }
    }

    /// The broker.
    pub fn broker(&self) -> &Broker {
        &self.broker
    }
}

fn broker_err(e: brook_broker::Error) -> Error {
    Error::Cluster(e.to_string())
}

impl Cluster for EmbeddedCluster {
    fn create_topic(&self, topic: &str, partitions: i32, configs: &BTreeMap<String, String>) -> Result<bool> {
        match self.broker.create_topic(topic, partitions, configs.clone()) {
            Ok(()) => Ok(true),
            Err(brook_broker::Error::TopicAlreadyExists(_)) => Ok(false),
            Err(e) => Err(broker_err(e)),
        }
    }

    fn partition_count(&self, topic: &str) -> Result<Option<i32>> {
        match self.broker.partition_count(topic, false) {
            Ok(n) => Ok(Some(n)),
            Err(brook_broker::Error::UnknownTopicOrPartition(_)) => Ok(None),
            Err(e) => Err(broker_err(e)),
        }
    }

    fn list_topics(&self) -> Result<Vec<String>> {
        Ok(self.broker.list_topics())
    }

    fn delete_topic(&self, topic: &str) -> Result<()> {
        self.broker.delete_topic(topic).map_err(broker_err)
    }

    fn append_offsets(&self, topic: &str, records: &[OutputRecord]) -> Result<Vec<i64>> {
        let partitions = self.broker.partition_count(topic, false).map_err(broker_err)?;
        // One batch per partition, records in their order; each record's place in its batch.
        let mut batches: BTreeMap<i32, (BatchBuilder, i64)> = BTreeMap::new();
        let mut places = Vec::with_capacity(records.len());
        for r in records {
            let headers: Vec<Header> = r.headers.iter().map(|(k, v)| Header { key: k.clone(), value: v.clone().map(Bytes::from) }).collect();
            let partition = partition_of(r, partitions);
            let (b, n) = batches.entry(partition).or_insert_with(|| (BatchBuilder::new(Compression::None), 0));
            b.push(r.timestamp, r.key.as_deref(), r.value.as_deref(), &headers);
            places.push((partition, *n));
            *n += 1;
        }
        let mut base_offsets = BTreeMap::new();
        for (partition, (b, _)) in batches {
            let mut batch = b.build().map_err(broker_err)?;
            base_offsets.insert(partition, self.broker.produce(topic, partition, &mut batch).map_err(broker_err)?.base_offset);
        }
        Ok(places.into_iter().map(|(p, n)| base_offsets.get(&p).copied().unwrap_or(0) + n).collect())
    }

    fn end_offsets(&self, topic: &str) -> Result<Vec<i64>> {
        let partitions = self.broker.partition_count(topic, false).map_err(broker_err)?;
        (0..partitions)
            .map(|p| Ok(self.broker.list_offset(topic, p, OffsetSpec::Latest, IsolationLevel::ReadCommitted).map_err(broker_err)?.0))
            .collect()
    }

    fn read(&self, topic: &str, partition: i32, from: Option<i64>) -> Result<Vec<(i64, OutputRecord)>> {
        let start = match from {
            Some(o) => o,
            None => self.broker.list_offset(topic, partition, OffsetSpec::Earliest, IsolationLevel::ReadCommitted).map_err(broker_err)?.0,
        };
        let mut offset = start;
        let mut out = Vec::new();
        loop {
            let data = self.broker.fetch(topic, partition, offset, 1 << 20, IsolationLevel::ReadCommitted).map_err(broker_err)?;
            if data.records.is_empty() {
                break;
            }
            let before = offset;
            // A fetch starts at the batch holding `start`: skip the records before it.
            out.extend(committed_records(&data, &mut offset)?.into_iter().filter(|r| r.offset >= start).map(|r| {
                let record = OutputRecord {
                    key: r.key.map(|b| b.to_vec()),
                    value: r.value.map(|b| b.to_vec()),
                    timestamp: r.timestamp,
                    headers: r.headers.into_iter().map(|h| (h.key, h.value.map(|v| v.to_vec()))).collect(),
                };
                (r.offset, record)
            }));
            if offset == before || offset >= data.last_stable_offset {
                break;
            }
        }
        Ok(out)
    }

    fn streams(&self, factory: Arc<dyn TaskFactory>, config: StreamsConfig, threads: StreamThreads<'_>) -> Result<KafkaStreams> {
        let client = Embedded::new(self.broker.clone());
        match threads {
            StreamThreads::Pool(pool) => KafkaStreams::with_pool(factory, config, client, pool.clone()),
            StreamThreads::Own(Some(rt)) => KafkaStreams::with_runtime(factory, config, client, rt.clone()),
            StreamThreads::Own(None) => KafkaStreams::new(factory, config, client),
        }
        .map_err(streams_err)
    }

    fn embedded_broker(&self) -> Option<&Broker> {
        Some(&self.broker)
    }
}

/// The data records of a `read_committed` fetch (control batches and aborted transactions
/// left out); `offset` moves past every whole batch read.
pub(crate) fn committed_records(data: &brook_broker::FetchData, offset: &mut i64) -> Result<Vec<Record>> {
    let mut out = Vec::new();
    let mut rest = data.records.clone();
    while rest.len() >= BATCH_HEADER_LEN {
        let header = BatchHeader::parse(&rest).map_err(broker_err)?;
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
