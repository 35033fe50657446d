//! The [`Processor`] trait (Kafka's `api.Processor<KIn, VIn, KOut, VOut>`) and the small types
//! around it: timestamp extraction and offset reset. Inside a task's graph processors are
//! erased (see `task/erased.rs`).
//!
//! Sources deserialize with their serdes and forward `Record<Option<K>, Option<V>>` (`None` is
//! Kafka's null key or value, a tombstone); sinks accept either `K`/`V` or `Option<K>`/`Option<V>`.

pub use brook_common::OffsetReset;

use crate::context::ProcessorContext;
use crate::engine::ConsumerRecord;
use crate::error::Result;
use crate::record::Record;
use crate::task::core::ErasedProcessor;

/// A stream processor: `init` once per task, `process` per record, `close` on shutdown.
///
/// The context is passed to every call (rather than kept from `init`, as Kafka does) so a
/// processor needs no interior mutability to forward.
///
/// # Examples
/// ```
/// use brook_processor_api::{Processor, ProcessorContext, Record, Result};
/// struct Upper;
/// impl Processor<Option<String>, Option<String>, Option<String>, String> for Upper {
///     fn process(&mut self, ctx: &mut ProcessorContext<'_, Option<String>, String>, r: Record<Option<String>, Option<String>>) -> Result<()> {
///         let v = r.value().clone().unwrap_or_default().to_uppercase();
///         ctx.forward(r.with_value(v))
///     }
/// }
/// ```
pub trait Processor<KIn, VIn, KOut = KIn, VOut = VIn>: Send {
    /// Called once before the first record (stores are open and restored): schedule
    /// punctuators, look up stores.
    ///
    /// # Errors
    /// Any error fails the task.
    fn init(&mut self, ctx: &mut ProcessorContext<'_, KOut, VOut>) -> Result<()> {
        let _ = ctx;
        Ok(())
    }

    /// Processes one record.
    ///
    /// # Errors
    /// [`Error::Processing`](crate::Error::Processing) is subject to `processing.exception.handler`; other errors fail the
    /// task.
    fn process(&mut self, ctx: &mut ProcessorContext<'_, KOut, VOut>, record: Record<KIn, VIn>) -> Result<()>;

    /// Whether this processor may keep the records it is given and forward them from
    /// [`Processor::flush_batch`] (a stateless processor working on many records at once).
    /// A task with such a processor and no punctuators processes its buffered records in
    /// runs (up to 1,024, in the order it would process them one by one) and calls
    /// `flush_batch` at the end of each run, before anything of the run is sent, punctuated
    /// or committed. Default: `false`.
    fn batching(&self) -> bool {
        false
    }

    /// Forwards what the processor kept since the last call (see [`Processor::batching`]);
    /// the context has no record metadata here, keep what you need from `process`.
    ///
    /// # Errors
    /// Any error fails the task.
    fn flush_batch(&mut self, ctx: &mut ProcessorContext<'_, KOut, VOut>) -> Result<()> {
        let _ = ctx;
        Ok(())
    }

    /// Called once when the task closes.
    ///
    /// # Errors
    /// Reported by the task's `close`.
    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Creates a fresh processor instance per task (Kafka's `ProcessorSupplier`): any
/// `Fn() -> P + Send + Sync` closure is one (its impl is in `task/typed.rs`, where it builds
/// the graph's node around `P`).
pub trait ProcessorSupplier<KIn, VIn, KOut, VOut>: Send + Sync + 'static {
    /// A new processor.
    fn get(&self) -> Box<dyn Processor<KIn, VIn, KOut, VOut>>;

    /// A new processor as a node of a task's graph, built around its concrete type (the graph
    /// then calls it without a second dynamic call); `None`: the graph wraps
    /// [`ProcessorSupplier::get`]'s box. Closure suppliers implement it (`task/typed.rs`).
    #[doc(hidden)]
    fn graph_node(&self) -> Option<GraphNode>
    where
        KIn: Send + 'static, VIn: Send + 'static, KOut: 'static, VOut: 'static,
    {
        None
    }
}

/// A processor made a node of a task's graph (see [`ProcessorSupplier::graph_node`]): opaque.
#[doc(hidden)]
pub struct GraphNode(pub(crate) Box<dyn ErasedProcessor>);

impl std::fmt::Debug for GraphNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GraphNode")
    }
}

/// Extracts the timestamp of an input record (Kafka's `TimestampExtractor`); a negative result
/// makes the task skip the record with a warning (Kafka's `LogAndSkipOnInvalidTimestamp`).
pub trait TimestampExtractor: Send + Sync {
    /// The record's timestamp; `partition_time` is the largest timestamp seen on its partition
    /// (-1 before the first).
    fn extract(&self, record: &ConsumerRecord, partition_time: i64) -> i64;
}

/// The default extractor: the record's own timestamp (Kafka's `FailOnInvalidTimestamp`, except
/// that invalid timestamps skip the record rather than failing).
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordTimestampExtractor;

impl TimestampExtractor for RecordTimestampExtractor {
    fn extract(&self, record: &ConsumerRecord, _partition_time: i64) -> i64 {
        record.timestamp
    }
}

impl<F> TimestampExtractor for F
where
    F: Fn(&ConsumerRecord, i64) -> i64 + Send + Sync,
{
    fn extract(&self, record: &ConsumerRecord, partition_time: i64) -> i64 {
        self(record, partition_time)
    }
}
