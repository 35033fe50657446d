//! Processors made of closures: most DSL operations are one function of the context and the
//! record.

use std::marker::PhantomData;
use std::sync::Arc;

use brook_processor_api::{Processor, ProcessorContext, Record, Result as PResult};

use super::Shared;

/// A processor running one closure per record: the closure's own type, so the graph's node
/// calls (and inlines) it directly.
pub(crate) struct FnProcessor<F, KIn, VIn, KOut, VOut> {
    f: Arc<F>,
    _types: PhantomData<fn(KIn, VIn, KOut, VOut)>,
}

impl<F, KIn, VIn, KOut, VOut> Processor<KIn, VIn, KOut, VOut> for FnProcessor<F, KIn, VIn, KOut, VOut>
where
    F: Fn(&mut ProcessorContext<'_, KOut, VOut>, Record<KIn, VIn>) -> PResult<()> + Send + Sync,
{
    #[inline]
    fn process(&mut self, ctx: &mut ProcessorContext<'_, KOut, VOut>, record: Record<KIn, VIn>) -> PResult<()> {
        (self.f)(ctx, record)
    }
}

/// Adds a closure processor named `name` under `parents`.
pub(crate) fn add_fn<KIn, VIn, KOut, VOut>(
    inner: &Shared,
    name: &str,
    parents: &[&str],
    f: impl Fn(&mut ProcessorContext<'_, KOut, VOut>, Record<KIn, VIn>) -> PResult<()> + Send + Sync + 'static,
) where
    KIn: Send + 'static,
    VIn: Send + 'static,
    KOut: 'static,
    VOut: 'static,
{
    let f = Arc::new(f);
    inner.borrow_mut().with_topology(|t| {
        t.add_processor(name, move || FnProcessor { f: f.clone(), _types: PhantomData }, parents)
    });
}

/// A processor built from an `init` and a `process` closure over per-instance state `S`.
pub(crate) struct StateProcessor<S, KIn, VIn, KOut, VOut> {
    pub(crate) state: S,
    pub(crate) init: fn(&mut S, &mut ProcessorContext<'_, KOut, VOut>) -> PResult<()>,
    pub(crate) process: fn(&mut S, &mut ProcessorContext<'_, KOut, VOut>, Record<KIn, VIn>) -> PResult<()>,
}

impl<S: Send, KIn, VIn, KOut, VOut> Processor<KIn, VIn, KOut, VOut> for StateProcessor<S, KIn, VIn, KOut, VOut> {
    fn init(&mut self, ctx: &mut ProcessorContext<'_, KOut, VOut>) -> PResult<()> {
        (self.init)(&mut self.state, ctx)
    }
    fn process(&mut self, ctx: &mut ProcessorContext<'_, KOut, VOut>, record: Record<KIn, VIn>) -> PResult<()> {
        (self.process)(&mut self.state, ctx, record)
    }
}

/// A processing error of node `ctx`.
pub(crate) fn processing_error<K, V>(ctx: &ProcessorContext<'_, K, V>, message: impl Into<String>) -> brook_processor_api::Error {
    brook_processor_api::Error::Processing { processor: ctx.processor_name(), message: message.into() }
}
