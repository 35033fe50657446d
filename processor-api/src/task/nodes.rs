//! Source and sink nodes: where bytes become typed records and back.

use std::any::type_name;
use std::sync::Arc;

use brook_state_store::{Serde, SerdeContext};
use bytes::{Bytes, BytesMut};

use crate::engine::OutputRecord;
use crate::error::{Error, Result};
use crate::task::erased::{downcast, with_erased, ErasedRecord, KvSlot, NodeResult};
use crate::record::Record;
use crate::task::core::{ErasedProcessor, NodeCx};
use crate::topology::options::{Partitioner, TopicNameExtractor};

/// Deserializes with its serdes and forwards `Record<Option<K>, Option<V>>`.
pub(crate) struct SourceNode<K, V> {
    pub(crate) keys: Arc<dyn Serde<K>>,
    pub(crate) values: Arc<dyn Serde<V>>,
}

impl<K: Clone + Send + 'static, V: Clone + Send + 'static> ErasedProcessor for SourceNode<K, V> {
    fn init(&mut self, _cx: NodeCx<'_>) -> Result<()> {
        Ok(())
    }

    fn process(&mut self, cx: NodeCx<'_>, record: ErasedRecord<'_>) -> NodeResult {
        let (kv, (), ts, headers) = record.into_parts();
        let (k, v): (Option<Bytes>, Option<Bytes>) =
            downcast(&cx.nodes[cx.node].name, "the record (key, value)", kv)?;
        self.process_input(cx, Record::with_all(k, v, ts, headers))
    }

    fn process_input(&mut self, mut cx: NodeCx<'_>, record: Record<Option<Bytes>, Option<Bytes>>) -> NodeResult {
        let (k, v, ts, headers) = record.into_parts();
        let (key, value) = {
            // Borrowed, not cloned: the topic is only copied into an error.
            let (topic, partition, offset) = match cx.core.record_metadata() {
                Some(m) => (m.topic.as_str(), m.partition, m.offset),
                None => ("", -1, -1),
            };
            let fail = |what: &str, e: brook_state_store::Error| Error::Deserialization {
                topic: topic.to_owned(),
                partition,
                offset,
                message: format!("{what}: {e}"),
            };
            let kc = SerdeContext::key(topic).with_headers(&headers);
            let vc = SerdeContext::value(topic).with_headers(&headers);
            let key = k.map(|b| self.keys.deserialize_bytes(&kc, &b)).transpose().map_err(|e| fail("key", e))?;
            let value = v.map(|b| self.values.deserialize_bytes(&vc, &b)).transpose().map_err(|e| fail("value", e))?;
            (key, value)
        };
        let children = &cx.nodes[cx.node].children;
        if let [only] = children[..] {
            return with_erased(Record::with_all(key, value, ts, headers), |r| cx.dispatch(only, r));
        }
        let targets = cx.targets(None)?;
        let Some((&last, rest)) = targets.split_last() else { return Ok(()) };
        for &t in rest {
            with_erased(Record::with_all(key.clone(), value.clone(), ts, headers.clone()), |r| cx.dispatch(t, r))?;
        }
        with_erased(Record::with_all(key, value, ts, headers), |r| cx.dispatch(last, r))
    }

    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Serializes and buffers the record for the task's `RecordCollector`.
pub(crate) struct SinkNode<K, V> {
    pub(crate) topic: Option<Arc<str>>,
    pub(crate) extractor: Option<TopicNameExtractor<K, V>>,
    pub(crate) keys: Arc<dyn Serde<K>>,
    pub(crate) values: Arc<dyn Serde<V>>,
    pub(crate) partitioner: Option<Partitioner<K, V>>,
    pub(crate) bytes: SerializedBytes,
}

/// Where a sink serializes keys and values: into a scratch buffer, then copied into a shared
/// block that each record's `Bytes` is a slice of (one reference count per record instead of
/// one allocation per key and value); `Bytes` values are passed on as they are. A block is
/// freed when the last record cut from it is dropped (after the producer copied it into a batch).
#[derive(Default)]
pub(crate) struct SerializedBytes {
    scratch: Vec<u8>,
    block: BytesMut,
}

/// Size of the blocks serialized records are cut from (a larger record gets a block of its own).
const BLOCK: usize = 16 << 10;

impl SerializedBytes {
    /// Serializes `value` with `serde` and returns its bytes.
    fn serialize<T: 'static>(&mut self, serde: &dyn Serde<T>, ctx: &SerdeContext<'_>, value: &T) -> brook_state_store::Result<Bytes> {
        if std::any::TypeId::of::<T>() == std::any::TypeId::of::<Bytes>() {
            // Byte serdes hand out the value itself (no copy).
            return serde.serialize_bytes(ctx, value);
        }
        self.scratch.clear();
        serde.serialize_into(ctx, value, &mut self.scratch)?;
        let n = self.scratch.len();
        if self.block.capacity() - self.block.len() < n {
            self.block = BytesMut::with_capacity(BLOCK.max(n));
        }
        self.block.extend_from_slice(&self.scratch);
        Ok(self.block.split().freeze())
    }
}

/// Accepts a `(key, value)` pair of `K` or `Option<K>` and `V` or `Option<V>`.
fn nullable_pair<K: 'static, V: 'static>(node: &str, mut b: KvSlot<'_>) -> Result<(Option<K>, Option<V>)> {
    if let Some(p) = b.take::<(Option<K>, Option<V>)>() {
        return Ok(p);
    }
    if let Some(p) = b.take::<(K, V)>() {
        return Ok((Some(p.0), Some(p.1)));
    }
    if let Some(p) = b.take::<(Option<K>, V)>() {
        return Ok((p.0, Some(p.1)));
    }
    match b.take::<(K, Option<V>)>() {
        Some(p) => Ok((Some(p.0), p.1)),
        None => Err(Error::Processing {
            processor: node.to_owned(),
            message: format!(
                "the record is not a (key, value) of {0} or Option<{0}> and {1} or Option<{1}>",
                type_name::<K>(),
                type_name::<V>()
            ),
        }),
    }
}

impl<K: 'static, V: 'static> ErasedProcessor for SinkNode<K, V> {
    fn init(&mut self, _cx: NodeCx<'_>) -> Result<()> {
        Ok(())
    }

    fn process(&mut self, cx: NodeCx<'_>, record: ErasedRecord<'_>) -> NodeResult {
        let name: &str = &cx.nodes[cx.node].name;
        let (kv, (), timestamp, headers) = record.into_parts();
        let (key, value): (Option<K>, Option<V>) = nullable_pair(name, kv)?;
        let topic = match (&self.topic, &self.extractor) {
            (Some(t), _) => t.clone(),
            (None, Some(x)) => Arc::from(x(key.as_ref(), value.as_ref())),
            (None, None) => return Err(Box::new(Error::IllegalState(format!("sink {name} has no topic")))),
        };
        let ser_err = |what: &str, e: brook_state_store::Error| Error::Processing {
            processor: name.to_owned(),
            message: format!("cannot serialize {what} for topic {topic}: {e}"),
        };
        let kc = SerdeContext::key(&topic).with_headers(&headers);
        let vc = SerdeContext::value(&topic).with_headers(&headers);
        let bytes = &mut self.bytes;
        let kb = key.as_ref().map(|k| bytes.serialize(&*self.keys, &kc, k)).transpose().map_err(|e| ser_err("key", e))?;
        let vb = value.as_ref().map(|v| bytes.serialize(&*self.values, &vc, v)).transpose().map_err(|e| ser_err("value", e))?;
        let partition = self.partitioner.as_ref().and_then(|p| p(&topic, key.as_ref(), value.as_ref()));
        cx.core.output.push(OutputRecord {
            topic,
            partition,
            key: kb,
            value: vb,
            timestamp,
            headers,
        });
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}
