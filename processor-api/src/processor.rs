//! The [`Processor`] trait (Kafka's `api.Processor<KIn, VIn, KOut, VOut>`) and the small types
//! around it: punctuation, timestamp extraction, offset reset.
//!
//! # Typed at the API, erased in the graph
//!
//! A processor is written against concrete types: it receives `Record<KIn, VIn>` and forwards
//! `Record<KOut, VOut>` through a [`ProcessorContext<KOut, VOut>`](crate::ProcessorContext).
//! Inside a task's graph, records travel with key and value together in a slot on the
//! forwarding node's stack, an `Option<(K, V)>` lent to the receiving node as
//! `&mut dyn Any`: the receiver downcasts the slot to its input types and takes the pair out
//! (nothing is allocated per forward). A mismatch (a processor wired behind a parent that
//! forwards other types) is reported as [`Error::Processing`] naming both the node and the
//! expected types, on the first record. This keeps the graph a plain `Vec` of nodes (no
//! generic parameters leak into [`crate::Topology`]). Forwarding to several children clones
//! the record, so output types are `Clone`.
//!
//! Sources deserialize with their serdes and forward `Record<Option<K>, Option<V>>` (`None` is
//! Kafka's null key or value, a tombstone); sinks accept either `K`/`V` or `Option<K>`/`Option<V>`.

use std::any::{type_name, Any};
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::context::ProcessorContext;
use crate::engine::InputRecord;
use crate::error::{Error, Result};
use crate::record::Record;
use crate::task::core::NodeCx;

/// A `(key, value)` pair inside the graph: a borrowed `Option<(K, V)>` that lives on the
/// forwarding node's stack; the receiving node takes the pair out.
pub(crate) struct KvSlot<'a>(&'a mut (dyn Any + Send));

impl KvSlot<'_> {
    /// Takes the pair out if the slot holds a `T` (an `Option<T>` that is still `Some`).
    pub(crate) fn take<T: 'static>(&mut self) -> Option<T> {
        self.0.downcast_mut::<Option<T>>().and_then(Option::take)
    }
}

/// A record inside the graph: the key slot holds the lent `(key, value)` pair.
pub(crate) type ErasedRecord<'a> = Record<KvSlot<'a>, ()>;

/// Lends a typed record to `f` as an [`ErasedRecord`], without allocating: the pair stays on
/// this stack frame while `f` (the dispatch to a child node) runs.
pub(crate) fn with_erased<K: Send + 'static, V: Send + 'static, R>(r: Record<K, V>, f: impl FnOnce(ErasedRecord<'_>) -> R) -> R {
    let (k, v, ts, headers) = r.into_parts();
    let mut pair = Some((k, v));
    f(Record::with_all(KvSlot(&mut pair), (), ts, headers))
}

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
    /// [`Error::Processing`] is subject to `processing.exception.handler`; other errors fail the
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
/// `Fn() -> P + Send + Sync` closure is one.
pub trait ProcessorSupplier<KIn, VIn, KOut, VOut>: Send + Sync + 'static {
    /// A new processor.
    fn get(&self) -> Box<dyn Processor<KIn, VIn, KOut, VOut>>;
}

impl<F, P, KIn, VIn, KOut, VOut> ProcessorSupplier<KIn, VIn, KOut, VOut> for F
where
    F: Fn() -> P + Send + Sync + 'static,
    P: Processor<KIn, VIn, KOut, VOut> + 'static,
{
    fn get(&self) -> Box<dyn Processor<KIn, VIn, KOut, VOut>> {
        Box::new(self())
    }
}

/// When a punctuator fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PunctuationType {
    /// When stream time (the largest record timestamp the task has seen) passes the schedule;
    /// schedules are aligned to 0, so the first one fires with the first record.
    StreamTime,
    /// When wall-clock time passes the schedule; the first one fires one interval after
    /// scheduling.
    WallClockTime,
}

/// A handle on a scheduled punctuator.
#[derive(Debug, Clone)]
pub struct Cancellable(pub(crate) Arc<AtomicBool>);

impl Cancellable {
    /// Cancels the punctuator (also from inside it); it does not fire again.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`Cancellable::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Extracts the timestamp of an input record (Kafka's `TimestampExtractor`); a negative result
/// makes the task skip the record with a warning (Kafka's `LogAndSkipOnInvalidTimestamp`).
pub trait TimestampExtractor: Send + Sync {
    /// The record's timestamp; `partition_time` is the largest timestamp seen on its partition
    /// (-1 before the first).
    fn extract(&self, record: &InputRecord, partition_time: i64) -> i64;
}

/// The default extractor: the record's own timestamp (Kafka's `FailOnInvalidTimestamp`, except
/// that invalid timestamps skip the record rather than failing).
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordTimestampExtractor;

impl TimestampExtractor for RecordTimestampExtractor {
    fn extract(&self, record: &InputRecord, _partition_time: i64) -> i64 {
        record.timestamp
    }
}

impl<F> TimestampExtractor for F
where
    F: Fn(&InputRecord, i64) -> i64 + Send + Sync,
{
    fn extract(&self, record: &InputRecord, partition_time: i64) -> i64 {
        self(record, partition_time)
    }
}

/// Where a source starts when its group has no committed offset (`auto.offset.reset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetReset {
    /// From the beginning.
    Earliest,
    /// From the end.
    Latest,
}

/// A node of the graph as the task engine drives it.
pub(crate) trait ErasedProcessor: Send {
    fn init(&mut self, cx: NodeCx<'_>) -> Result<()>;
    fn process(&mut self, cx: NodeCx<'_>, record: ErasedRecord<'_>) -> Result<()>;
    fn close(&mut self) -> Result<()>;
    /// See [`Processor::batching`].
    fn batching(&self) -> bool {
        false
    }
    /// See [`Processor::flush_batch`].
    fn flush_batch(&mut self, cx: NodeCx<'_>) -> Result<()> {
        let _ = cx;
        Ok(())
    }
}

/// Builds a fresh erased node per task; sinks get their resolved static topic (internal topics
/// prefixed with the application id).
pub(crate) type NodeFactory = Arc<dyn Fn(Option<&str>) -> Box<dyn ErasedProcessor> + Send + Sync>;

pub(crate) struct TypedProcessor<KIn, VIn, KOut, VOut> {
    inner: Box<dyn Processor<KIn, VIn, KOut, VOut>>,
    _types: PhantomData<fn(KIn, VIn, KOut, VOut)>,
}

impl<KIn, VIn, KOut, VOut> fmt::Debug for TypedProcessor<KIn, VIn, KOut, VOut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TypedProcessor")
    }
}

impl<KIn, VIn, KOut, VOut> TypedProcessor<KIn, VIn, KOut, VOut> {
    pub(crate) fn new(inner: Box<dyn Processor<KIn, VIn, KOut, VOut>>) -> Self {
        TypedProcessor { inner, _types: PhantomData }
    }
}

/// Takes a lent `(key, value)` pair out as exactly `T`; a mismatch names the node and the type.
pub(crate) fn downcast<T: 'static>(node: &str, what: &str, mut value: KvSlot<'_>) -> Result<T> {
    value.take::<T>().ok_or_else(|| Error::Processing {
        processor: node.to_owned(),
        message: format!("{what} is not of the expected type {}", type_name::<T>()),
    })
}

impl<KIn, VIn, KOut, VOut> ErasedProcessor for TypedProcessor<KIn, VIn, KOut, VOut>
where
    KIn: Send + 'static,
    VIn: Send + 'static,
    KOut: 'static,
    VOut: 'static,
{
    fn init(&mut self, cx: NodeCx<'_>) -> Result<()> {
        self.inner.init(&mut ProcessorContext::new(cx))
    }

    fn process(&mut self, cx: NodeCx<'_>, record: ErasedRecord<'_>) -> Result<()> {
        let (kv, (), ts, headers) = record.into_parts();
        let (key, value): (KIn, VIn) = downcast(&cx.nodes[cx.node].name, "the record (key, value)", kv)?;
        self.inner.process(&mut ProcessorContext::new(cx), Record::with_all(key, value, ts, headers))
    }

    fn close(&mut self) -> Result<()> {
        self.inner.close()
    }

    fn batching(&self) -> bool {
        self.inner.batching()
    }

    fn flush_batch(&mut self, cx: NodeCx<'_>) -> Result<()> {
        self.inner.flush_batch(&mut ProcessorContext::new(cx))
    }
}
