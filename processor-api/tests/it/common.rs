//! Processors and helpers shared by the tests.

use std::sync::Arc;

use brook_processor_api::{Error, Processor, ProcessorContext, Record, Result, SinkOptions, SourceOptions, Topology};
use brook_state_store::{I64Serde, Serde, StringSerde, Stores};
use bytes::Bytes;

pub(crate) fn strings() -> Arc<StringSerde> {
    Arc::new(StringSerde)
}

pub(crate) fn longs() -> Arc<I64Serde> {
    Arc::new(I64Serde)
}

/// Splits lines into lower-case words, keyed by word.
pub(crate) struct Split;

impl Processor<Option<String>, Option<String>, String, String> for Split {
    fn process(&mut self, ctx: &mut ProcessorContext<'_, String, String>, r: Record<Option<String>, Option<String>>) -> Result<()> {
        let line = r.value().clone().unwrap_or_default();
        for w in line.split_whitespace() {
            let w = w.to_lowercase();
            ctx.forward(r.clone().with_key(w.clone()).with_value(w))?;
        }
        Ok(())
    }
}

/// Counts words in the key-value store `store`, forwarding every new count.
pub(crate) struct Count {
    pub(crate) store: &'static str,
}

impl Processor<String, String, String, i64> for Count {
    fn process(&mut self, ctx: &mut ProcessorContext<'_, String, i64>, r: Record<String, String>) -> Result<()> {
        let store = ctx.get_key_value_store(self.store)?;
        let key = r.key().clone();
        let old = match store.get(key.as_bytes())? {
            Some(b) => I64Serde.deserialize("", &b)?,
            None => 0,
        };
        let new = old + 1;
        store.put(Bytes::from(key.clone()), Some(Bytes::from(I64Serde.serialize("", &new)?)))?;
        ctx.forward(r.with_value(new))
    }
}

/// Fails on the value "boom", forwards everything else.
pub(crate) struct FailOnBoom;

impl Processor<Option<String>, Option<String>> for FailOnBoom {
    fn process(&mut self, ctx: &mut ProcessorContext<'_, Option<String>, Option<String>>, r: Record<Option<String>, Option<String>>) -> Result<()> {
        if r.value().as_deref() == Some("boom") {
            return Err(Error::Processing { processor: ctx.processor_name(), message: "boom".to_owned() });
        }
        ctx.forward(r)
    }
}

/// source -> split -> count(counts) -> sink, written by hand with the Processor API.
pub(crate) fn word_count(persistent: bool) -> Topology {
    let mut t = Topology::new();
    let store = if persistent {
        Stores::persistent_key_value_store("counts")
    } else {
        Stores::in_memory_key_value_store("counts")
    };
    t.add_source("source", SourceOptions::topics(["words-input"]).with_serdes(strings(), strings()))
        .unwrap()
        .add_processor("split", || Split, &["source"])
        .unwrap()
        .add_processor("count", || Count { store: "counts" }, &["split"])
        .unwrap()
        .add_state_store(store, &["count"])
        .unwrap()
        .add_sink("sink", SinkOptions::topic("counts-output", strings(), longs()), &["count"])
        .unwrap();
    t
}

/// A config whose state lives in `dir`.
pub(crate) fn config(dir: &std::path::Path) -> brook_processor_api::StreamsConfig {
    let mut c = brook_processor_api::StreamsConfig::new("test-app");
    c.state_dir = dir.to_path_buf();
    c
}
