//! [`TypedProcessor`]: a user's [`Processor`] as a node of the erased graph.

use std::fmt;
use std::marker::PhantomData;

use crate::context::ProcessorContext;
use crate::error::Result;
use crate::processor::Processor;
use crate::record::Record;
use crate::task::core::{ErasedProcessor, NodeCx};
use crate::task::erased::{downcast, ErasedRecord};

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
