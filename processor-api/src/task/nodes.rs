//! Source and sink nodes: where bytes become typed records and back.

use std::any::type_name;
use std::sync::Arc;

use brook_state_store::Serde;
use bytes::Bytes;

use crate::engine::OutputRecord;
use crate::error::{Error, Result};
use crate::processor::{AnyBox, ErasedProcessor, ErasedRecord};
use crate::record::Record;
use crate::task::core::NodeCx;
use crate::topology::{Partitioner, TopicNameExtractor};

/// Deserializes with its serdes and forwards `Record<Option<K>, Option<V>>`.
pub(crate) struct SourceNode<K, V> {
    pub(crate) keys: Arc<dyn Serde<K>>,
    pub(crate) values: Arc<dyn Serde<V>>,
}

impl<K: Clone + Send + 'static, V: Clone + Send + 'static> ErasedProcessor for SourceNode<K, V> {
    fn init(&mut self, _cx: NodeCx<'_>) -> Result<()> {
        Ok(())
    }

    fn process(&mut self, mut cx: NodeCx<'_>, record: ErasedRecord) -> Result<()> {
        let (k, v, ts, headers) = record.into_parts();
        let name = cx.name();
        let k: Option<Bytes> = crate::processor::downcast(&name, "key", k)?;
        let v: Option<Bytes> = crate::processor::downcast(&name, "value", v)?;
        let (key, value) = {
            // Borrowed, not cloned: the topic is only copied into an error.
            let (topic, partition, offset) = match &cx.core.metadata {
                Some(m) => (m.topic.as_str(), m.partition, m.offset),
                None => ("", -1, -1),
            };
            let fail = |what: &str, e: brook_state_store::Error| Error::Deserialization {
                topic: topic.to_owned(),
                partition,
                offset,
                message: format!("{what}: {e}"),
            };
            let key = k.map(|b| self.keys.deserialize(topic, &b)).transpose().map_err(|e| fail("key", e))?;
            let value = v.map(|b| self.values.deserialize(topic, &b)).transpose().map_err(|e| fail("value", e))?;
            (key, value)
        };
        let targets = cx.targets(None)?;
        let Some((&last, rest)) = targets.split_last() else { return Ok(()) };
        for &t in rest {
            let r = Record::with_all(Box::new(key.clone()) as AnyBox, Box::new(value.clone()) as AnyBox, ts, headers.clone());
            cx.dispatch(t, r)?;
        }
        cx.dispatch(last, Record::with_all(Box::new(key) as AnyBox, Box::new(value) as AnyBox, ts, headers))
    }

    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Serializes and buffers the record for the task's `RecordCollector`.
pub(crate) struct SinkNode<K, V> {
    pub(crate) topic: Option<String>,
    pub(crate) extractor: Option<TopicNameExtractor<K, V>>,
    pub(crate) keys: Arc<dyn Serde<K>>,
    pub(crate) values: Arc<dyn Serde<V>>,
    pub(crate) partitioner: Option<Partitioner<K, V>>,
}

/// Accepts `T` or `Option<T>`.
fn nullable<T: 'static>(node: &str, what: &str, b: AnyBox) -> Result<Option<T>> {
    match b.downcast::<Option<T>>() {
        Ok(v) => Ok(*v),
        Err(b) => match b.downcast::<T>() {
            Ok(v) => Ok(Some(*v)),
            Err(_) => Err(Error::Processing {
                processor: node.to_owned(),
                message: format!("{what} is neither {0} nor Option<{0}>", type_name::<T>()),
            }),
        },
    }
}

impl<K: 'static, V: 'static> ErasedProcessor for SinkNode<K, V> {
    fn init(&mut self, _cx: NodeCx<'_>) -> Result<()> {
        Ok(())
    }

    fn process(&mut self, cx: NodeCx<'_>, record: ErasedRecord) -> Result<()> {
        let name = cx.name();
        let (k, v, timestamp, headers) = record.into_parts();
        let key: Option<K> = nullable(&name, "key", k)?;
        let value: Option<V> = nullable(&name, "value", v)?;
        let topic = match (&self.topic, &self.extractor) {
            (Some(t), _) => t.clone(),
            (None, Some(x)) => x(key.as_ref(), value.as_ref()),
            (None, None) => return Err(Error::IllegalState(format!("sink {name} has no topic"))),
        };
        let ser_err = |what: &str, e: brook_state_store::Error| Error::Processing {
            processor: name.to_string(),
            message: format!("cannot serialize {what} for topic {topic}: {e}"),
        };
        let kb = key.as_ref().map(|k| self.keys.serialize(&topic, k)).transpose().map_err(|e| ser_err("key", e))?;
        let vb = value.as_ref().map(|v| self.values.serialize(&topic, v)).transpose().map_err(|e| ser_err("value", e))?;
        let partition = self.partitioner.as_ref().and_then(|p| p(&topic, key.as_ref(), value.as_ref()));
        cx.core.output.push(OutputRecord {
            topic,
            partition,
            key: kb.map(Bytes::from),
            value: vb.map(Bytes::from),
            timestamp,
            headers,
        });
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}
