//! What a topology keeps per node to build it later, as data: a source's serdes, a sink's
//! serdes and routing, a processor's [`ProcessorSupplier`]. The topology builds nothing; the
//! task factory turns each spec into a fresh runtime node per task (`task/build.rs`).
//!
//! A processor's spec is the user's supplier, itself a factory (Kafka's `ProcessorSupplier`,
//! which Kafka's `Topology` keeps too): user processors are arbitrary Rust values, so a
//! description that instantiates them later has to hold what makes them.

use std::marker::PhantomData;
use std::sync::Arc;

use brook_state_store::Serde;

use super::options::{Partitioner, TopicNameExtractor};
use crate::processor::ProcessorSupplier;

/// A source node: the serdes it decodes keys and values with.
pub(crate) struct SourceSpec<K, V> {
    pub(crate) keys: Arc<dyn Serde<K>>,
    pub(crate) values: Arc<dyn Serde<V>>,
}

/// A sink node: how it encodes and where it routes (its static topic is in the node's kind,
/// resolved per application when the node is built).
pub(crate) struct SinkSpec<K, V> {
    pub(crate) extractor: Option<TopicNameExtractor<K, V>>,
    pub(crate) keys: Arc<dyn Serde<K>>,
    pub(crate) values: Arc<dyn Serde<V>>,
    pub(crate) partitioner: Option<Partitioner<K, V>>,
}

/// A processor node: the user's supplier, asked for a new processor per task.
pub(crate) struct ProcessorSpec<S, KIn, VIn, KOut, VOut> {
    pub(crate) supplier: S,
    _types: PhantomData<fn(KIn, VIn, KOut, VOut)>,
}

impl<S: ProcessorSupplier<KIn, VIn, KOut, VOut>, KIn, VIn, KOut, VOut> ProcessorSpec<S, KIn, VIn, KOut, VOut> {
    pub(crate) fn new(supplier: S) -> Self {
        ProcessorSpec { supplier, _types: PhantomData }
    }
}
