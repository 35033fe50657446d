//! Windows ([`TimeWindows`], [`SlidingWindows`], [`SessionWindows`]), windowed aggregations
//! ([`TimeWindowedKStream`], [`SessionWindowedKStream`]) and suppression ([`Suppressed`]).
//!
//! Records later than a window's grace period (window end + grace <= the processor's stream
//! time) are dropped and counted in [`crate::DslMetrics::dropped_records`], once per closed
//! window, as Kafka's `dropped-records` sensor does.

mod session;
mod sliding;
mod suppress;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use brook_processor_api::{ProcessorContext, Record, Result as PResult};
use brook_state_store::{Serde, TimeWindowedSerde, Window, WindowKeySchema, Windowed};
use bytes::Bytes;

pub use self::session::SessionWindowedKStream;
pub use self::suppress::{BufferFull, Suppressed};
use crate::internals::processors::StateProcessor;
use crate::internals::{resolve_serde, Change, DslMetrics, StoreSerdes};
use crate::internals::AggFn;
use crate::kstream::{KGroupedStream, StreamRecord};
use crate::ktable::{KTable, WindowInfo};
use crate::options::Materialized;
use crate::Data;

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Fixed-size windows: tumbling (advance = size) or hopping (Kafka's `TimeWindows`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindows {
    pub(crate) size: i64,
    pub(crate) advance: i64,
    pub(crate) grace: i64,
}

impl TimeWindows {
    /// Tumbling windows of `size` that close at their end.
    pub fn of_size_with_no_grace(size: Duration) -> Self {
        TimeWindows { size: ms(size), advance: ms(size), grace: 0 }
    }

    /// Tumbling windows of `size` accepting records until `grace` after their end.
    pub fn of_size_and_grace(size: Duration, grace: Duration) -> Self {
        TimeWindows { size: ms(size), advance: ms(size), grace: ms(grace) }
    }

    /// Hopping windows: a new window every `advance` (at most the size).
    #[must_use]
    pub fn advance_by(mut self, advance: Duration) -> Self {
        self.advance = ms(advance).clamp(1, self.size.max(1));
        self
    }

    /// The `(start, end)` of every window containing `ts` (Kafka's `windowsFor`).
    pub fn windows_for(&self, ts: i64) -> Vec<(i64, i64)> {
        self.windows_iter(ts).collect()
    }

    /// [`windows_for`](Self::windows_for) without a vector (the aggregations run it per record).
    pub(crate) fn windows_iter(&self, ts: i64) -> impl Iterator<Item = (i64, i64)> {
        let (size, advance) = (self.size, self.advance);
        let first = ((ts - size + advance).max(0) / advance) * advance;
        std::iter::successors(Some(first), move |s| Some(s + advance)).take_while(move |&s| s <= ts).map(move |s| (s, s + size))
    }
}

/// Windows of a maximum time difference between records (Kafka's `SlidingWindows`): one
/// window `[t - difference, t]` per record time `t`, and one starting just after each record
/// with later records within the difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlidingWindows {
    pub(crate) difference: i64,
    pub(crate) grace: i64,
}

impl SlidingWindows {
    /// Windows of `difference` with `grace`.
    pub fn of_time_difference_and_grace(difference: Duration, grace: Duration) -> Self {
        SlidingWindows { difference: ms(difference), grace: ms(grace) }
    }
}

/// Sessions of activity separated by an inactivity gap (Kafka's `SessionWindows`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionWindows {
    pub(crate) gap: i64,
    pub(crate) grace: i64,
}

impl SessionWindows {
    /// Sessions with `gap` and no grace.
    pub fn of_inactivity_gap_with_no_grace(gap: Duration) -> Self {
        SessionWindows { gap: ms(gap), grace: 0 }
    }
    /// Sessions with `gap` and `grace`.
    pub fn of_inactivity_gap_and_grace(gap: Duration, grace: Duration) -> Self {
        SessionWindows { gap: ms(gap), grace: ms(grace) }
    }
}

/// When a windowed aggregation emits (Kafka's `EmitStrategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmitStrategy {
    /// Every update (compacted by the cache). Default.
    #[default]
    OnWindowUpdate,
    /// Once, when the window closes (end + grace passed).
    OnWindowClose,
}

/// A grouped stream windowed by time.
pub struct TimeWindowedKStream<K, V> {
    grouped: KGroupedStream<K, V>,
    windows: TimeWindows,
    sliding: Option<SlidingWindows>,
    emit: EmitStrategy,
}

impl<K, V> fmt::Debug for TimeWindowedKStream<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimeWindowedKStream").field("windows", &self.windows).field("emit", &self.emit).finish()
    }
}

pub(crate) struct WinState<K, V, VA> {
    serdes: StoreSerdes<K, VA>,
    windows: TimeWindows,
    f: AggFn<K, V, VA>,
    metrics: DslMetrics,
    emit: EmitStrategy,
    cached: bool,
    observed: i64,
    emitted_to: i64,
    /// The record's serialized key, reused across records.
    key_buf: Vec<u8>,
    /// The starts of the record's open windows, reused across records.
    starts: Vec<i64>,
}

/// The windowing operations of `KGroupedStream` live with the windows (here and in
/// `session.rs`), so that grouped streams need not know windows: `kstream` does not import
/// `window`.
impl<K: Data, V: Data> KGroupedStream<K, V> {
    /// Aggregates per time window (tumbling or hopping).
    pub fn windowed_by(&self, windows: TimeWindows) -> TimeWindowedKStream<K, V> {
        TimeWindowedKStream::new(self.clone_grouped(), windows)
    }

    /// Aggregates per sliding window.
    pub fn windowed_by_sliding(&self, windows: SlidingWindows) -> TimeWindowedKStream<K, V> {
        TimeWindowedKStream::sliding(self.clone_grouped(), windows)
    }
}

impl<K: Data, V: Data> TimeWindowedKStream<K, V> {
    pub(crate) fn new(grouped: KGroupedStream<K, V>, windows: TimeWindows) -> Self {
        TimeWindowedKStream { grouped, windows, sliding: None, emit: EmitStrategy::default() }
    }

    pub(crate) fn sliding(grouped: KGroupedStream<K, V>, w: SlidingWindows) -> Self {
        let windows = TimeWindows { size: w.difference, advance: w.difference.max(1), grace: w.grace };
        TimeWindowedKStream { grouped, windows, sliding: Some(w), emit: EmitStrategy::default() }
    }

    /// Sets when results are emitted.
    #[must_use]
    pub fn emit_strategy(mut self, emit: EmitStrategy) -> Self {
        self.emit = emit;
        self
    }

    fn aggregate_with<VA: Data>(&self, prefix: &str, m: Materialized<K, VA>, values: Arc<dyn Serde<VA>>, f: AggFn<K, V, VA>) -> KTable<Windowed<K>, VA> {
        let (store, name, stream) = self.grouped.prepare(m.name.clone(), prefix);
        let keys = self.grouped.key_serde(&m.keys);
        let w = self.windows;
        if let Some(sw) = self.sliding {
            let g = &self.grouped;
            let raw_values = resolve_serde(&g.stream.inner, "value", &[&g.grouped.values, &g.stream.values]);
            let raw = format!("{store}-raw");
            let (d, grace) = (sw.difference, sw.grace);
            let b = m.window_store(&store, d + grace + 1, d, false);
            let rb = Materialized::<K, V>::default().with_caching_disabled().window_store(&raw, 2 * d + grace + 2, d, true);
            let aggs = StoreSerdes::new(&store, keys.clone(), values.clone());
            let raws = StoreSerdes::new(&raw, keys.clone(), raw_values);
            let metrics = stream.inner.borrow().metrics.clone();
            let supplier = move || StateProcessor {
                state: sliding::SlidingState {
                    aggs: aggs.clone(),
                    raws: raws.clone(),
                    difference: d,
                    grace,
                    f: f.clone(),
                    metrics: metrics.clone(),
                    observed: -1,
                },
                init: |_, _| Ok(()),
                process: sliding::sliding_step::<K, V, VA>,
            };
            {
                let mut i = stream.inner.borrow_mut();
                i.with_topology(|t| t.add_processor(&name, supplier, &[&stream.node]));
                i.add_store(b.with_caching_disabled(), &[&name]);
                i.add_store(rb, &[&name]);
            }
            let wkeys: Arc<dyn Serde<Windowed<K>>> = Arc::new(TimeWindowedSerde::new(keys, d));
            let mut t = KTable::new(&stream.inner, name, Some(wkeys), Some(values), stream.sources.clone());
            t.window = Some(WindowInfo { end: Arc::new(|k: &Windowed<K>| k.window.end), grace });
            return t;
        }
        let builder = m.window_store(&store, w.size + w.grace, w.size, false);
        let metrics = stream.inner.borrow().metrics.clone();
        let supplier = window_aggregate_supplier(&store, keys.clone(), values.clone(), w, f, metrics, self.emit);
        {
            let mut i = stream.inner.borrow_mut();
            i.with_topology(|t| t.add_processor(&name, supplier, &[&stream.node]));
            i.add_store(builder, &[&name]);
        }
        let wkeys: Arc<dyn Serde<Windowed<K>>> = Arc::new(TimeWindowedSerde::new(keys, w.size));
        let mut t = KTable::new(&stream.inner, name, Some(wkeys), Some(values), stream.sources.clone());
        t.window = Some(WindowInfo { end: Arc::new(|k: &Windowed<K>| k.window.end), grace: w.grace });
        t
    }

    /// Counts records per key and window.
    pub fn count(&self, materialized: Materialized<K, i64>) -> KTable<Windowed<K>, i64> {
        let values = resolve_serde(&self.grouped.stream.inner, "value", &[&materialized.values]);
        self.aggregate_with("KSTREAM-AGGREGATE-", materialized, values, Arc::new(|_, _, a: Option<i64>| a.unwrap_or(0) + 1))
    }

    /// Combines values per key and window.
    pub fn reduce(&self, reducer: impl Fn(&V, &V) -> V + Send + Sync + 'static, materialized: Materialized<K, V>) -> KTable<Windowed<K>, V> {
        let g = &self.grouped;
        let values = resolve_serde(&g.stream.inner, "value", &[&materialized.values, &g.grouped.values, &g.stream.values]);
        let f: AggFn<K, V, V> = Arc::new(move |_, v, a| match a {
            None => v.clone(),
            Some(a) => reducer(&a, v),
        });
        self.aggregate_with("KSTREAM-REDUCE-", materialized, values, f)
    }

    /// Folds values per key and window from `initializer()`.
    pub fn aggregate<VA: Data>(
        &self,
        initializer: impl Fn() -> VA + Send + Sync + 'static,
        adder: impl Fn(&K, &V, VA) -> VA + Send + Sync + 'static,
        materialized: Materialized<K, VA>,
    ) -> KTable<Windowed<K>, VA> {
        let values = resolve_serde(&self.grouped.stream.inner, "value", &[&materialized.values]);
        self.aggregate_with("KSTREAM-AGGREGATE-", materialized, values, Arc::new(move |k, v, a: Option<VA>| adder(k, v, a.unwrap_or_else(&initializer))))
    }
}

/// A supplier of time-window aggregation processors writing the window store `store`.
pub(crate) fn window_aggregate_supplier<K: Data, V: Data, VA: Data>(
    store: &str,
    keys: Arc<dyn Serde<K>>,
    values: Arc<dyn Serde<VA>>,
    windows: TimeWindows,
    f: AggFn<K, V, VA>,
    metrics: DslMetrics,
    emit: EmitStrategy,
) -> impl Fn() -> StateProcessor<WinState<K, V, VA>, Option<K>, Option<V>, Windowed<K>, Change<VA>> + Send + Sync + 'static {
    let serdes = StoreSerdes::new(store, keys, values);
    move || StateProcessor {
        state: WinState {
            serdes: serdes.clone(),
            windows,
            f: f.clone(),
            metrics: metrics.clone(),
            emit,
            cached: false,
            observed: -1,
            emitted_to: -1,
            key_buf: Vec::new(),
            starts: Vec::new(),
        },
        init: win_init::<K, V, VA>,
        process: win_step::<K, V, VA>,
    }
}

fn win_init<K: Data, V: Data, VA: Data>(s: &mut WinState<K, V, VA>, ctx: &mut ProcessorContext<'_, Windowed<K>, Change<VA>>) -> PResult<()> {
    s.observed = ctx.get_window_store(&s.serdes.store)?.observed_stream_time();
    if s.emit == EmitStrategy::OnWindowClose {
        return Ok(());
    }
    let (serdes, size) = (s.serdes.bind(ctx.application_id()).clone(), s.windows.size);
    s.cached = ctx.on_cache_flush(&s.serdes.store, move |ctx, r| {
        let (kb, start) = WindowKeySchema::from_binary(&r.key)?;
        let key = Windowed::new(serdes.key_from(kb)?, Window::new(start, start + size));
        let new = r.new_value.as_ref().map(|b| serdes.timestamped_from(b)).transpose()?;
        let old = r.old_value.as_ref().map(|b| serdes.timestamped_from(b)).transpose()?;
        ctx.forward(Record::new(key, Change::new(new.map(|v| v.value), old.map(|v| v.value)), r.timestamp))
    })?;
    Ok(())
}

fn win_step<K: Data, V: Data, VA: Data>(
    s: &mut WinState<K, V, VA>,
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
    s.key_buf.clear();
    serdes.raw_key_into(&k, &mut s.key_buf)?;
    let kb = &s.key_buf[..];
    let forward = s.emit == EmitStrategy::OnWindowUpdate && !s.cached;
    let size = s.windows.size;
    s.starts.clear();
    for (start, end) in s.windows.windows_iter(ts) {
        if end <= close {
            s.metrics.drop_record();
        } else {
            s.starts.push(start);
        }
    }
    let mut updates = Vec::new();
    {
        // One store lookup per record and one call for all its windows (Kafka's
        // `windowStore.fetch(key, start)` then `put` per window, here one pass through the
        // store's layers with the raw keys built once; hash lookups when the windows are
        // cached); the updates are forwarded after the store is written.
        let store = ctx.get_window_store(&s.serdes.store)?;
        let (f, starts) = (&s.f, &s.starts[..]);
        // The new aggregate is serialized into a buffer the store lends (the cache's, for a
        // cached window), which the store copies once.
        let mut step = |i: usize, old: Option<&[u8]>, buf: &mut Vec<u8>| {
            let (old_value, old_ts) = match old.map(|b| serdes.timestamped_from(b)).transpose()? {
                Some(a) => (Some(a.value), a.timestamp),
                None => (None, i64::MIN),
            };
            let new_ts = ts.max(old_ts);
            if forward {
                let new = f(&k, &v, old_value.clone());
                serdes.raw_timestamped_into(&new, new_ts, buf)?;
                updates.push((Window::new(starts[i], starts[i] + size), Change::new(Some(new), old_value), new_ts));
            } else {
                serdes.raw_timestamped_into(&f(&k, &v, old_value), new_ts, buf)?;
            }
            Ok(true)
        };
        // One window (tumbling windows) goes straight to `update_one`.
        match starts {
            [start] => store.update_one(kb, *start, &mut |old, buf| step(0, old, buf))?,
            _ => store.update_windows(kb, starts, &mut step)?,
        }
    }
    for (window, change, t) in updates {
        ctx.forward(Record::new(Windowed::new(k.clone(), window), change, t))?;
    }
    if s.emit == EmitStrategy::OnWindowClose {
        // Windows with end + grace <= stream time are final: emit those not emitted yet.
        let bound = s.observed - s.windows.grace - s.windows.size;
        if bound > s.emitted_to {
            let from = s.emitted_to + 1;
            let store = ctx.get_window_store(&s.serdes.store)?;
            let closed: Vec<(Windowed<Bytes>, Bytes)> = store.fetch_all(from.max(0), bound)?.collect::<Result<_, _>>()?;
            s.emitted_to = bound;
            for (wk, b) in closed {
                let key = serdes.key_from(&wk.key)?;
                let vt = serdes.timestamped_from(&b)?;
                let (value, t) = (vt.value, vt.timestamp);
                let window = Window::new(wk.window.start, wk.window.start + s.windows.size);
                ctx.forward(Record::new(Windowed::new(key, window), Change::new(Some(value), None), t))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hopping_windows_for_a_timestamp_match_kafka() {
        let w = TimeWindows::of_size_with_no_grace(Duration::from_millis(10)).advance_by(Duration::from_millis(5));
        assert_eq!(w.windows_for(12), vec![(5, 15), (10, 20)]);
        assert_eq!(w.windows_for(3), vec![(0, 10)]);
        let t = TimeWindows::of_size_with_no_grace(Duration::from_millis(10));
        assert_eq!(t.windows_for(10), vec![(10, 20)]);
    }
}
