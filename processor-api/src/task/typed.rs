//! [`TypedProcessor`]: a user's [`Processor`] as a node of the erased graph, and the
//! [`ProcessorSupplier`] impl of closures, which builds that node around the closure's concrete
//! processor type (one dynamic call per node: the graph's; the processor's own calls are
//! static and inlined). Other suppliers' processors are wrapped as `Box<dyn Processor>`.

use std::fmt;
use std::marker::PhantomData;

use crate::context::ProcessorContext;
use crate::error::Result;
use crate::processor::{GraphNode, Processor, ProcessorSupplier};
use crate::record::Record;
use crate::task::core::{ErasedProcessor, NodeCx};
use crate::task::erased::{downcast, ErasedRecord, NodeResult};

/// A processor `P` (a concrete type, or `Box<dyn Processor>`) taking `Record<KIn, VIn>`.
pub(crate) struct TypedProcessor<P, KIn, VIn, KOut, VOut> {
    inner: P,
    _types: PhantomData<fn(KIn, VIn, KOut, VOut)>,
}

impl<P, KIn, VIn, KOut, VOut> fmt::Debug for TypedProcessor<P, KIn, VIn, KOut, VOut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TypedProcessor")
    }
}

impl<P, KIn, VIn, KOut, VOut> TypedProcessor<P, KIn, VIn, KOut, VOut> {
    pub(crate) fn new(inner: P) -> Self {
        TypedProcessor { inner, _types: PhantomData }
    }
}

impl<F, P, KIn, VIn, KOut, VOut> ProcessorSupplier<KIn, VIn, KOut, VOut> for F
where
    F: Fn() -> P + Send + Sync + 'static,
    P: Processor<KIn, VIn, KOut, VOut> + 'static,
{
    fn get(&self) -> Box<dyn Processor<KIn, VIn, KOut, VOut>> {
        Box::new(self())
    }

    fn graph_node(&self) -> Option<GraphNode>
    where
        KIn: Send + 'static, VIn: Send + 'static, KOut: 'static, VOut: 'static,
    {
        Some(GraphNode(Box::new(TypedProcessor::new(self()))))
    }
}

/// The processor of a supplier other than a closure, behind its box.
pub(crate) struct Boxed<KIn, VIn, KOut, VOut>(pub(crate) Box<dyn Processor<KIn, VIn, KOut, VOut>>);

impl<KIn, VIn, KOut, VOut> Processor<KIn, VIn, KOut, VOut> for Boxed<KIn, VIn, KOut, VOut> {
    fn init(&mut self, ctx: &mut ProcessorContext<'_, KOut, VOut>) -> Result<()> {
        self.0.init(ctx)
    }
    fn process(&mut self, ctx: &mut ProcessorContext<'_, KOut, VOut>, record: Record<KIn, VIn>) -> Result<()> {
        self.0.process(ctx, record)
    }
    fn batching(&self) -> bool {
        self.0.batching()
    }
    fn flush_batch(&mut self, ctx: &mut ProcessorContext<'_, KOut, VOut>) -> Result<()> {
        self.0.flush_batch(ctx)
    }
    fn close(&mut self) -> Result<()> {
        self.0.close()
    }
}

impl<P, KIn, VIn, KOut, VOut> ErasedProcessor for TypedProcessor<P, KIn, VIn, KOut, VOut>
where
    P: Processor<KIn, VIn, KOut, VOut>,
    KIn: Send + 'static,
    VIn: Send + 'static,
    KOut: 'static,
    VOut: 'static,
{
    fn init(&mut self, cx: NodeCx<'_>) -> Result<()> {
        self.inner.init(&mut ProcessorContext::new(cx))
    }

    fn process(&mut self, cx: NodeCx<'_>, record: ErasedRecord<'_>) -> NodeResult {
        let (kv, (), ts, headers) = record.into_parts();
        let (key, value): (KIn, VIn) = downcast(&cx.nodes[cx.node].name, "the record (key, value)", kv)?;
        self.inner.process(&mut ProcessorContext::new(cx), Record::with_all(key, value, ts, headers)).map_err(Box::new)
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
