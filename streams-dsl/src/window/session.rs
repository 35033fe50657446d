//! [`SessionWindowedKStream`]: session aggregations (Kafka's
//! `KStreamSessionWindowAggregate`). A record merges every session of its key within the
//! inactivity gap; merged sessions are forwarded as deletes, the new one with the session
//! end as timestamp. Session stores are not cached here: every update is forwarded.

use std::fmt;
use std::sync::Arc;

use brook_processor_api::{ProcessorContext, Record, Result as PResult};
use brook_state_store::{Serde, SessionWindowedSerde, Window, Windowed};
use bytes::Bytes;

use super::{EmitStrategy, SessionWindows};
use crate::internals::processors::StateProcessor;
use crate::internals::{resolve_serde, Change, DslMetrics, StoreSerdes};
use crate::kstream::{KGroupedStream, StreamRecord};
use crate::ktable::{KTable, WindowInfo};
use crate::options::Materialized;
use crate::Data;

type Merger<K, VA> = Arc<dyn Fn(&K, VA, VA) -> VA + Send + Sync>;
type Adder<K, V, VA> = Arc<dyn Fn(&K, &V, VA) -> VA + Send + Sync>;

/// A grouped stream windowed by sessions.
pub struct SessionWindowedKStream<K, V> {
    grouped: KGroupedStream<K, V>,
    windows: SessionWindows,
    emit: EmitStrategy,
}

impl<K, V> fmt::Debug for SessionWindowedKStream<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionWindowedKStream").field("windows", &self.windows).finish()
    }
}

struct SessionState<K, V, VA> {
    serdes: StoreSerdes<K, VA>,
    windows: SessionWindows,
    init: Arc<dyn Fn() -> VA + Send + Sync>,
    adder: Adder<K, V, VA>,
    merger: Merger<K, VA>,
    metrics: DslMetrics,
    observed: i64,
    emit: EmitStrategy,
    emitted_to: i64,
}

/// `KGroupedStream::windowed_by_session` lives here, with what it builds, so that grouped
/// streams need not know session windows.
impl<K: Data, V: Data> KGroupedStream<K, V> {
    /// Aggregates per session.
    pub fn windowed_by_session(&self, windows: SessionWindows) -> SessionWindowedKStream<K, V> {
        SessionWindowedKStream::new(self.clone_grouped(), windows)
    }
}

impl<K: Data, V: Data> SessionWindowedKStream<K, V> {
    pub(crate) fn new(grouped: KGroupedStream<K, V>, windows: SessionWindows) -> Self {
        SessionWindowedKStream { grouped, windows, emit: EmitStrategy::OnWindowUpdate }
    }

    /// Sets when results are emitted: on every update (default), or each session once, when
    /// it closes (its end is before `stream time - grace`, as Kafka's close time).
    #[must_use]
    pub fn emit_strategy(mut self, emit: EmitStrategy) -> Self {
        self.emit = emit;
        self
    }

    fn aggregate_with<VA: Data>(
        &self,
        prefix: &str,
        m: Materialized<K, VA>,
        values: Arc<dyn Serde<VA>>,
        init: Arc<dyn Fn() -> VA + Send + Sync>,
        adder: Adder<K, V, VA>,
        merger: Merger<K, VA>,
    ) -> KTable<Windowed<K>, VA> {
        let (store, name, stream) = self.grouped.prepare(m.name.clone(), prefix);
        let keys = self.grouped.key_serde(&m.keys);
        let w = self.windows;
        let builder = m.with_caching_disabled().session_store(&store, w.gap + w.grace);
        let serdes = StoreSerdes::new(&store, keys.clone(), values.clone());
        let (metrics, emit) = (stream.inner.borrow().metrics.clone(), self.emit);
        let supplier = move || StateProcessor {
            state: SessionState {
                serdes: serdes.clone(),
                windows: w,
                init: init.clone(),
                adder: adder.clone(),
                merger: merger.clone(),
                metrics: metrics.clone(),
                observed: -1,
                emit,
                emitted_to: -1,
            },
            init: |_, _| Ok(()),
            process: session_step::<K, V, VA>,
        };
        {
            let mut i = stream.inner.borrow_mut();
            i.with_topology(|t| t.add_processor(&name, supplier, &[&stream.node]));
            i.add_store(builder, &[&name]);
        }
        let wkeys: Arc<dyn Serde<Windowed<K>>> = Arc::new(SessionWindowedSerde(keys));
        let mut t = KTable::new(&stream.inner, name, Some(wkeys), Some(values), stream.sources.clone());
        t.window = Some(WindowInfo { end: Arc::new(|k: &Windowed<K>| k.window.end), grace: w.grace });
        t
    }

    /// Counts records per session.
    pub fn count(&self, materialized: Materialized<K, i64>) -> KTable<Windowed<K>, i64> {
        let values = resolve_serde(&self.grouped.stream.inner, "value", &[&materialized.values]);
        self.aggregate_with("KSTREAM-AGGREGATE-", materialized, values, Arc::new(|| 0), Arc::new(|_, _, a| a + 1), Arc::new(|_, a, b| a + b))
    }

    /// Folds values per session from `initializer()`; `merger` combines two sessions that a
    /// record bridges.
    pub fn aggregate<VA: Data>(
        &self,
        initializer: impl Fn() -> VA + Send + Sync + 'static,
        adder: impl Fn(&K, &V, VA) -> VA + Send + Sync + 'static,
        merger: impl Fn(&K, VA, VA) -> VA + Send + Sync + 'static,
        materialized: Materialized<K, VA>,
    ) -> KTable<Windowed<K>, VA> {
        let values = resolve_serde(&self.grouped.stream.inner, "value", &[&materialized.values]);
        self.aggregate_with("KSTREAM-AGGREGATE-", materialized, values, Arc::new(initializer), Arc::new(adder), Arc::new(merger))
    }
}

fn session_step<K: Data, V: Data, VA: Data>(
    s: &mut SessionState<K, V, VA>,
    ctx: &mut ProcessorContext<'_, Windowed<K>, Change<VA>>,
    r: StreamRecord<K, V>,
) -> PResult<()> {
    let (k, v, ts, _) = r.into_parts();
    let (Some(k), Some(v)) = (k, v) else {
        s.metrics.drop_record();
        return Ok(());
    };
    s.observed = s.observed.max(ts);
    let close = s.observed - s.windows.grace;
    let serdes = s.serdes.bind(ctx.application_id());
    let kb = serdes.raw_key(&k)?;
    let overlapping: Vec<(Windowed<Bytes>, Bytes)> =
        ctx.get_session_store(&s.serdes.store)?.find_sessions(&kb, ts - s.windows.gap, ts + s.windows.gap)?.collect::<Result<_, _>>()?;
    let mut window = Window::new(ts, ts);
    let mut agg = (s.init)();
    let mut merged = Vec::new();
    for (wk, b) in overlapping {
        window = Window::new(window.start.min(wk.window.start), window.end.max(wk.window.end));
        let value = serdes.value_from(&b)?;
        agg = (s.merger)(&k, agg, value.clone());
        merged.push((wk.window, value));
    }
    if window.end < close {
        s.metrics.drop_record();
        return Ok(());
    }
    agg = (s.adder)(&k, &v, agg);
    let mut same = None;
    for (w, old) in merged {
        if w == window {
            same = Some(old);
            continue;
        }
        ctx.get_session_store(&s.serdes.store)?.remove(&Windowed::new(kb.clone(), w))?;
        if s.emit == EmitStrategy::OnWindowUpdate {
            ctx.forward(Record::new(Windowed::new(k.clone(), w), Change::new(None, Some(old)), w.end))?;
        }
    }
    let store = ctx.get_session_store(&s.serdes.store)?;
    store.put(&Windowed::new(kb, window), Some(serdes.raw_value(&agg)?))?;
    if s.emit == EmitStrategy::OnWindowUpdate {
        return ctx.forward(Record::new(Windowed::new(k, window), Change::new(Some(agg), same), window.end));
    }
    emit_closed(s, ctx)
}

/// Emits, once, every session that ended before `stream time - grace` (it can no longer
/// change) and was not emitted yet.
fn emit_closed<K: Data, V: Data, VA: Data>(s: &mut SessionState<K, V, VA>, ctx: &mut ProcessorContext<'_, Windowed<K>, Change<VA>>) -> PResult<()> {
    let close = s.observed - s.windows.grace;
    if close - 1 <= s.emitted_to {
        return Ok(());
    }
    let store = ctx.get_session_store(&s.serdes.store)?;
    let closed: Vec<(Windowed<Bytes>, Bytes)> = store
        .find_sessions_key_range(None, None, s.emitted_to + 1, close)?
        .filter(|r| r.as_ref().map_or(true, |(w, _)| w.window.end > s.emitted_to && w.window.end < close))
        .collect::<Result<_, _>>()?;
    s.emitted_to = close - 1;
    for (w, b) in closed {
        let serdes = s.serdes.bind(ctx.application_id());
        let key = serdes.key_from(&w.key)?;
        let value = serdes.value_from(&b)?;
        ctx.forward(Record::new(Windowed::new(key, w.window), Change::new(Some(value), None), w.window.end))?;
    }
    Ok(())
}
