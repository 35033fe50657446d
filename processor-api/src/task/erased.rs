//! Records inside a task's graph: typed at the API, erased in the graph.
//!
//! A processor is written against concrete types: it receives `Record<KIn, VIn>` and forwards
//! `Record<KOut, VOut>` through a `ProcessorContext<KOut, VOut>`.
//! Inside a task's graph, records travel with key and value together in a slot on the
//! forwarding node's stack, an `Option<(K, V)>` lent to the receiving node as
//! `&mut dyn Any`: the receiver downcasts the slot to its input types and takes the pair out
//! (nothing is allocated per forward). A mismatch (a processor wired behind a parent that
//! forwards other types) is reported as `Error::Processing` naming both the node and the
//! expected types, on the first record. This keeps the graph a plain `Vec` of nodes (no
//! generic parameters leak into `Topology`). Forwarding to several children clones
//! the record, so output types are `Clone`.
//!

use std::any::{type_name, Any};

use crate::error::Error;
use crate::record::Record;

/// What a node of the graph returns: the error boxed, so the result is a pointer wide and
/// passes through the graph's dynamic calls in a register (the processor API's `Result<()>` is
/// 96 bytes, copied through memory at each node).
pub(crate) type NodeResult<T = ()> = std::result::Result<T, Box<Error>>;

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
#[inline(always)]
pub(crate) fn with_erased<K: Send + 'static, V: Send + 'static, R>(r: Record<K, V>, f: impl FnOnce(ErasedRecord<'_>) -> R) -> R {
    let (k, v, ts, headers) = r.into_parts();
    let mut pair = Some((k, v));
    f(Record::with_all(KvSlot(&mut pair), (), ts, headers))
}

/// Takes a lent `(key, value)` pair out as exactly `T`; a mismatch names the node and the type.
#[inline]
pub(crate) fn downcast<T: 'static>(node: &str, what: &str, mut value: KvSlot<'_>) -> NodeResult<T> {
    match value.take::<T>() {
        Some(v) => Ok(v),
        None => Err(mismatch(node, what, type_name::<T>())),
    }
}

#[cold]
fn mismatch(node: &str, what: &str, expected: &str) -> Box<Error> {
    Box::new(Error::Processing { processor: node.to_owned(), message: format!("{what} is not of the expected type {expected}") })
}
