//! Runtime nodes from a topology's description: [`NodeSpec`] turns each node's spec (a
//! source's serdes, a sink's options, a processor's supplier: `topology/spec.rs`) into a fresh
//! erased node; [`crate::task::StreamTask`] calls it once per node and task.

use std::sync::Arc;

use crate::processor::ProcessorSupplier;
use crate::task::core::ErasedProcessor;
use crate::task::nodes::{SerializedBytes, SinkNode, SourceNode};
use crate::task::typed::{Boxed, TypedProcessor};
use crate::topology::spec::{ProcessorSpec, SinkSpec, SourceSpec};

/// A node spec the task factory can instantiate, erased over the node's types.
pub(crate) trait NodeSpec: Send + Sync {
    /// A fresh runtime node; a sink gets its resolved static topic (internal topics prefixed
    /// with the application id).
    fn instantiate(&self, sink_topic: Option<&str>) -> Box<dyn ErasedProcessor>;
}

impl<K: Clone + Send + 'static, V: Clone + Send + 'static> NodeSpec for SourceSpec<K, V> {
    fn instantiate(&self, _sink_topic: Option<&str>) -> Box<dyn ErasedProcessor> {
        Box::new(SourceNode { keys: self.keys.clone(), values: self.values.clone() })
    }
}

impl<K: 'static, V: 'static> NodeSpec for SinkSpec<K, V> {
    fn instantiate(&self, sink_topic: Option<&str>) -> Box<dyn ErasedProcessor> {
        Box::new(SinkNode {
            topic: sink_topic.map(Arc::from),
            extractor: self.extractor.clone(),
            keys: self.keys.clone(),
            values: self.values.clone(),
            partitioner: self.partitioner.clone(),
            bytes: SerializedBytes::default(),
        })
    }
}

impl<S, KIn, VIn, KOut, VOut> NodeSpec for ProcessorSpec<S, KIn, VIn, KOut, VOut>
where
    S: ProcessorSupplier<KIn, VIn, KOut, VOut>,
    KIn: Send + 'static,
    VIn: Send + 'static,
    KOut: 'static,
    VOut: 'static,
{
    fn instantiate(&self, _sink_topic: Option<&str>) -> Box<dyn ErasedProcessor> {
        match self.supplier.graph_node() {
            Some(node) => node.0,
            None => Box::new(TypedProcessor::new(Boxed(self.supplier.get()))),
        }
    }
}
