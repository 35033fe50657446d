//! Source offsets in `offset.storage.topic` (Kafka's `KafkaOffsetBackingStore`): every worker
//! reads the whole topic (compacted: the last record per key wins) before it starts source
//! tasks, so a task that moves to another worker, or a restarted one, resumes from the offset
//! last flushed; `flush` produces the offsets set since the last flush and waits for them.

use std::collections::BTreeMap;
use std::sync::Arc;

use brook_processor_api::runtime::StreamsProducer;
use brook_processor_api::OutputRecord;
use parking_lot::Mutex;
use serde_json::Value as Json;

use super::records::offset_key;
use crate::clients::{Clients, TopicReader};
use crate::error::Result;
use crate::offsets::{partition_of, OffsetStore};

/// The offsets of every source connector of the group.
pub(crate) struct TopicOffsetStore {
    topic: Arc<str>,
    /// Serialized `["<connector>",{partition}]` -> offset.
    offsets: Mutex<BTreeMap<Vec<u8>, Json>>,
    pending: Mutex<BTreeMap<Vec<u8>, Option<Json>>>,
    producer: Mutex<Box<dyn StreamsProducer>>,
    reader: Mutex<TopicReader>,
}

impl std::fmt::Debug for TopicOffsetStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopicOffsetStore").field("topic", &self.topic).finish_non_exhaustive()
    }
}

impl TopicOffsetStore {
    pub(crate) fn new(clients: &Clients, topic: &str, client_id: &str) -> Result<TopicOffsetStore> {
        Ok(TopicOffsetStore {
            topic: Arc::from(topic),
            offsets: Mutex::default(),
            pending: Mutex::default(),
            producer: Mutex::new(clients.producer(format!("{client_id}-offsets"))?),
            reader: Mutex::new(clients.reader(format!("{client_id}-offsets-reader"))?),
        })
    }

    /// Reads what the group wrote since the last read.
    pub(crate) fn refresh(&self) -> Result<()> {
        let mut offsets = self.offsets.lock();
        self.reader.lock().read_to_end(&self.topic, &mut |r| {
            let Some(k) = r.key.as_ref() else { return };
            match r.value.as_deref().map(serde_json::from_slice::<Json>) {
                Some(Ok(v)) => {
                    offsets.insert(k.to_vec(), v);
                }
                None => {
                    offsets.remove(k.as_ref());
                }
                Some(Err(_)) => tracing::warn!("skipping an offset record that is not JSON"),
            }
        })?;
        Ok(())
    }
}

impl OffsetStore for TopicOffsetStore {
    fn get(&self, connector: &str, partition: &Json) -> Option<Json> {
        let k = offset_key(connector, partition);
        if let Some(p) = self.pending.lock().get(&k) {
            return p.clone();
        }
        self.offsets.lock().get(&k).cloned()
    }

    fn set(&self, connector: &str, partition: &Json, offset: Option<Json>) {
        self.pending.lock().insert(offset_key(connector, partition), offset);
    }

    fn flush(&self) -> Result<()> {
        let pending = std::mem::take(&mut *self.pending.lock());
        if pending.is_empty() {
            return Ok(());
        }
        let mut producer = self.producer.lock();
        for (k, v) in &pending {
            producer.send(OutputRecord {
                topic: self.topic.clone(),
                partition: None,
                key: Some(k.clone().into()),
                value: v.as_ref().map(|v| v.to_string().into_bytes().into()),
                timestamp: super::now_ms(),
                headers: Vec::new(),
            })?;
        }
        producer.flush()?;
        let mut offsets = self.offsets.lock();
        for (k, v) in pending {
            match v {
                Some(v) => offsets.insert(k, v),
                None => offsets.remove(&k),
            };
        }
        Ok(())
    }

    fn connector_offsets(&self, connector: &str) -> Vec<(Json, Json)> {
        self.offsets
            .lock()
            .iter()
            .filter_map(|(k, v)| Some((partition_of(k, connector)?, v.clone())))
            .collect()
    }
}
