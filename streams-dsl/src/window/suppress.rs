//! `KTable::suppress` (Kafka's `KTableSuppressProcessor`): hold a table's updates back and
//! emit only the latest per key once its window closes (`until_window_closes`) or a time
//! limit passes (`until_time_limit`).
//!
//! The buffer is kept in the processor, time-ordered, and written through to the store
//! `KTABLE-SUPPRESS-STATE-STORE-<n>` (changelogged), from which a restarted task rebuilds it
//! in `init` (Kafka's `InMemoryTimeOrderedKeyValueBuffer` keeps the same two views).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use brook_processor_api::{ProcessorContext, Record, Result as PResult};
use brook_state_store::{Serde, SerdeContext, StateSerdes, Stores};
use bytes::Bytes;

use crate::internals::processors::{processing_error, StateProcessor};
use crate::internals::{resolve_serde, Change, ChangeSerde, StoreSerdes};
use crate::ktable::{KTable, TableRecord};
use crate::Data;

/// What a bounded buffer does when full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BufferFull {
    /// Fail the task (the only choice for `until_window_closes`). Default.
    #[default]
    ShutDown,
    /// Emit the oldest records early.
    EmitEarly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    WindowCloses,
    TimeLimit(i64),
}

/// A suppression (Kafka's `Suppressed`).
#[derive(Debug, Clone)]
pub struct Suppressed {
    kind: Kind,
    max_records: Option<usize>,
    max_bytes: Option<usize>,
    full: BufferFull,
    name: Option<String>,
}

impl Suppressed {
    /// Only each window's final result, once `end + grace` has passed (unbounded buffer).
    pub fn until_window_closes() -> Self {
        Suppressed { kind: Kind::WindowCloses, max_records: None, max_bytes: None, full: BufferFull::ShutDown, name: None }
    }

    /// The latest value per key, `limit` after its first buffered update (unbounded buffer).
    pub fn until_time_limit(limit: Duration) -> Self {
        let ms = i64::try_from(limit.as_millis()).unwrap_or(i64::MAX);
        Suppressed { kind: Kind::TimeLimit(ms), max_records: None, max_bytes: None, full: BufferFull::ShutDown, name: None }
    }

    /// Bounds the buffer to `n` keys; `until_window_closes` then shuts down when full.
    #[must_use]
    pub fn with_max_records(mut self, n: usize) -> Self {
        self.max_records = Some(n);
        self
    }

    /// Bounds the buffer to `n` bytes of serialized keys and values.
    #[must_use]
    pub fn with_max_bytes(mut self, n: usize) -> Self {
        self.max_bytes = Some(n);
        self
    }

    /// When full, emits the oldest records early (only for `until_time_limit`).
    #[must_use]
    pub fn emit_early_when_full(mut self) -> Self {
        if matches!(self.kind, Kind::TimeLimit(_)) {
            self.full = BufferFull::EmitEarly;
        }
        self
    }

    /// Names the processor `<name>-suppress` and its store `<name>-store`.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}

struct Buffer<K, V> {
    serdes: StoreSerdes<K, V>,
    config: Suppressed,
    delay: i64,
    time_of: Arc<dyn Fn(&K, i64) -> i64 + Send + Sync>,
    seq: u64,
    bytes: usize,
    index: HashMap<Vec<u8>, ((i64, u64), K, Change<V>, i64, usize)>,
    order: BTreeMap<(i64, u64), Vec<u8>>,
}

impl<K: Data, V: Data> Buffer<K, V> {
    /// Store value: buffer time (8 bytes), sequence (8), record timestamp (8), the change.
    fn encode(serdes: &StateSerdes<K, V>, time: (i64, u64), ts: i64, c: &Change<V>) -> PResult<Bytes> {
        let mut b = Vec::new();
        b.extend_from_slice(&time.0.to_be_bytes());
        b.extend_from_slice(&time.1.to_be_bytes());
        b.extend_from_slice(&ts.to_be_bytes());
        let ctx = SerdeContext::value(serdes.topic());
        b.extend_from_slice(&ChangeSerde(serdes.value_serde().clone()).serialize_with(&ctx, c)?);
        Ok(Bytes::from(b))
    }

    /// Rebuilds the buffer from the store (after a restart or a restore).
    fn restore(&mut self, ctx: &mut ProcessorContext<'_, K, Change<V>>) -> PResult<()> {
        let serdes = self.serdes.bind(ctx.application_id()).clone();
        let entries: Vec<(Bytes, Bytes)> = ctx.get_key_value_store(&self.serdes.store)?.all()?.collect::<Result<_, _>>()?;
        for (kb, v) in entries {
            let n = |i: usize| v.get(i * 8..i * 8 + 8).and_then(|b| <[u8; 8]>::try_from(b).ok()).map(i64::from_be_bytes);
            let (Some(time), Some(seq), Some(ts)) = (n(0), n(1), n(2)) else { continue };
            let c = ChangeSerde(serdes.value_serde().clone()).deserialize_with(&SerdeContext::value(serdes.topic()), &v[24..])?;
            let k = serdes.key_from(&kb)?;
            let size = kb.len() + v.len() - 24;
            let at = (time, seq as u64);
            self.seq = self.seq.max(at.1);
            self.order.insert(at, kb.to_vec());
            self.index.insert(kb.to_vec(), (at, k, c, ts, size));
            self.bytes += size;
        }
        Ok(())
    }

    fn emit_first(&mut self, ctx: &mut ProcessorContext<'_, K, Change<V>>) -> PResult<bool> {
        let Some((_, kb)) = self.order.pop_first() else { return Ok(false) };
        ctx.get_key_value_store(&self.serdes.store)?.delete(&kb)?;
        if let Some((_, k, c, ts, size)) = self.index.remove(&kb) {
            self.bytes -= size;
            ctx.forward(Record::new(k, c, ts))?;
        }
        Ok(true)
    }

    fn process(&mut self, ctx: &mut ProcessorContext<'_, K, Change<V>>, r: TableRecord<K, V>) -> PResult<()> {
        let (k, c, ts, _) = r.into_parts();
        let serdes = self.serdes.bind(ctx.application_id()).clone();
        let kb = serdes.raw_key(&k)?.to_vec();
        let size = kb.len() + c.new.as_ref().map(|v| serdes.raw_value(v).map(|b| b.len())).transpose()?.unwrap_or(0);
        let (at, change) = match self.index.get_mut(&kb) {
            Some(e) => {
                self.bytes = self.bytes - e.4 + size;
                e.2.new = c.new;
                e.3 = ts;
                e.4 = size;
                (e.0, e.2.clone())
            }
            None => {
                let t = (self.time_of)(&k, ts);
                self.seq += 1;
                self.order.insert((t, self.seq), kb.clone());
                self.index.insert(kb.clone(), ((t, self.seq), k, c.clone(), ts, size));
                self.bytes += size;
                ((t, self.seq), c)
            }
        };
        let value = Self::encode(&serdes, at, ts, &change)?;
        ctx.get_key_value_store(&self.serdes.store)?.put(Bytes::from(kb), Some(value))?;
        let now = ctx.current_stream_time_ms().max(ts);
        while let Some((&(t, _), _)) = self.order.first_key_value() {
            if t > now - self.delay {
                break;
            }
            self.emit_first(ctx)?;
        }
        let over = |b: &Self| {
            b.config.max_records.is_some_and(|m| b.index.len() > m) || b.config.max_bytes.is_some_and(|m| b.bytes > m)
        };
        while over(self) {
            if self.config.full == BufferFull::ShutDown {
                return Err(processing_error(ctx, "suppression buffer full: shutting down (BufferConfig.shutDownWhenFull)"));
            }
            self.emit_first(ctx)?;
        }
        Ok(())
    }
}

impl<K: Data, V: Data> KTable<K, V> {
    /// Suppresses updates (`KTABLE-SUPPRESS-<n>`, store `KTABLE-SUPPRESS-STATE-STORE-<n>`).
    /// `until_window_closes` needs a windowed aggregation upstream (it reads its grace).
    pub fn suppress(&self, suppressed: Suppressed) -> KTable<K, V> {
        let name = match &suppressed.name {
            Some(n) => format!("{n}-suppress"),
            None => self.inner.borrow_mut().name("KTABLE-SUPPRESS-"),
        };
        let store = match &suppressed.name {
            Some(n) => format!("{n}-store"),
            None => self.inner.borrow_mut().store_name("KTABLE-SUPPRESS-"),
        };
        let (delay, time_of): (i64, Arc<dyn Fn(&K, i64) -> i64 + Send + Sync>) = match (suppressed.kind, &self.window) {
            (Kind::TimeLimit(ms), _) => (ms, Arc::new(|_, ts| ts)),
            (Kind::WindowCloses, Some(w)) => {
                let end = w.end.clone();
                (w.grace, Arc::new(move |k, _| end(k)))
            }
            (Kind::WindowCloses, None) => {
                self.inner.borrow_mut().fail(crate::Error::SuppressNeedsWindows(self.node.clone()));
                (0, Arc::new(|_, ts| ts))
            }
        };
        let keys = resolve_serde(&self.inner, "key", &[&self.keys]);
        let values = resolve_serde(&self.inner, "value", &[&self.values]);
        let serdes = StoreSerdes::new(&store, keys, values);
        let supplier = move || StateProcessor {
            state: Buffer {
                serdes: serdes.clone(),
                config: suppressed.clone(),
                delay,
                time_of: time_of.clone(),
                seq: 0,
                bytes: 0,
                index: HashMap::new(),
                order: BTreeMap::new(),
            },
            init: |b: &mut Buffer<K, V>, ctx| b.restore(ctx),
            process: |b: &mut Buffer<K, V>, ctx, r| b.process(ctx, r),
        };
        {
            let mut i = self.inner.borrow_mut();
            i.with_topology(|t| t.add_processor(&name, supplier, &[&self.node]));
            i.add_store(Stores::in_memory_key_value_store(&store).with_caching_disabled(), &[&name]);
        }
        let mut t = KTable::new(&self.inner, name, self.keys.clone(), self.values.clone(), self.sources.clone());
        t.window = self.window.clone();
        t
    }
}
