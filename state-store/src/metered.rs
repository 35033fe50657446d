//! The metered layer: counts and latency sums of store operations, in a registry the runtime
//! reads, plus `tracing` events on flush and restore.

use std::collections::BTreeMap;
use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;

use crate::error::Result;
use crate::backend::{Backend, KeyBatch, KeyRange, Layer, RawIter, UpdateFn, UpdateManyFn};

/// Count and total latency of one operation of one store.
#[derive(Debug, Default)]
pub struct OpMetric {
    count: AtomicU64,
    timed: AtomicU64,
    nanos: AtomicU64,
}

impl OpMetric {
    /// Adds `n` operations that took `elapsed` in total.
    pub fn record(&self, n: u64, elapsed: Duration) {
        self.count.fetch_add(n, Ordering::Relaxed);
        self.record_timed(n, elapsed);
    }

    /// Adds `n` operations without timing them (see [`SAMPLE_EVERY`]).
    pub fn record_untimed(&self, n: u64) {
        self.count.fetch_add(n, Ordering::Relaxed);
    }

    fn record_timed(&self, n: u64, elapsed: Duration) {
        self.timed.fetch_add(n, Ordering::Relaxed);
        self.nanos.fetch_add(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }
}

/// `put` and `get` latencies are measured on one call in this many (reading the clock twice
/// would cost more than a cached update); counts are exact. A power of two.
pub const SAMPLE_EVERY: u32 = 32;

/// A point-in-time copy of an [`OpMetric`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricSnapshot {
    /// Operations (restore: records restored).
    pub count: u64,
    /// Operations whose latency was measured (all but sampled `put` / `get`).
    pub timed: u64,
    /// Total time of the timed operations, in nanoseconds.
    pub total_nanos: u64,
}

impl MetricSnapshot {
    /// Mean latency per operation.
    #[must_use]
    pub fn mean(&self) -> Duration {
        Duration::from_nanos(self.total_nanos.checked_div(self.timed).unwrap_or(0))
    }

    /// Operations per second of busy time (restore rate for `restore`).
    #[must_use]
    pub fn rate_per_sec(&self) -> f64 {
        if self.total_nanos == 0 { 0.0 } else { self.timed as f64 * 1e9 / self.total_nanos as f64 }
    }
}

/// Metrics of every metered store, keyed by `(store, operation)`; operations are `put`, `get`,
/// `range`, `flush` and `restore`. Cloning shares the registry.
#[derive(Clone, Default)]
pub struct MetricsRegistry(Arc<Mutex<MetricMap>>);

type MetricMap = BTreeMap<(String, &'static str), Arc<OpMetric>>;

impl fmt::Debug for MetricsRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.snapshot()).finish()
    }
}

impl MetricsRegistry {
    /// An empty registry.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The metric of `op` for `store`, created on first use.
    #[must_use]
    pub fn metric(&self, store: &str, op: &'static str) -> Arc<OpMetric> {
        self.0.lock().entry((store.to_owned(), op)).or_default().clone()
    }

    /// The current value of one metric, if it exists.
    #[must_use]
    pub fn get(&self, store: &str, op: &'static str) -> Option<MetricSnapshot> {
        self.0.lock().get(&(store.to_owned(), op)).map(|m| snap(m))
    }

    /// Every metric.
    #[must_use]
    pub fn snapshot(&self) -> BTreeMap<(String, &'static str), MetricSnapshot> {
        self.0.lock().iter().map(|(k, m)| (k.clone(), snap(m))).collect()
    }
}

fn snap(m: &OpMetric) -> MetricSnapshot {
    MetricSnapshot {
        count: m.count.load(Ordering::Relaxed),
        timed: m.timed.load(Ordering::Relaxed),
        total_nanos: m.nanos.load(Ordering::Relaxed),
    }
}

pub(crate) struct MeteredBackend {
    inner: Box<dyn Backend>,
    store: String,
    put: Arc<OpMetric>,
    get: Arc<OpMetric>,
    range: Arc<OpMetric>,
    flush: Arc<OpMetric>,
    restore: Arc<OpMetric>,
    tick: Cell<u32>,
}

impl fmt::Debug for MeteredBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredBackend").field("store", &self.store).field("inner", &self.inner).finish()
    }
}

impl MeteredBackend {
    pub(crate) fn new(inner: Box<dyn Backend>, store: &str, registry: &MetricsRegistry) -> Self {
        MeteredBackend {
            inner,
            store: store.to_owned(),
            put: registry.metric(store, "put"),
            get: registry.metric(store, "get"),
            range: registry.metric(store, "range"),
            flush: registry.metric(store, "flush"),
            restore: registry.metric(store, "restore"),
            tick: Cell::new(0),
        }
    }

    /// Whether to time this call: one in [`SAMPLE_EVERY`].
    fn should_time(&self) -> bool {
        let tick = self.tick.get().wrapping_add(1);
        self.tick.set(tick);
        tick & (SAMPLE_EVERY - 1) == 0
    }

    /// Runs `n` writes on the inner store in one call, counted as `n` `put`s and timed one call
    /// in [`SAMPLE_EVERY`].
    fn sampled_put(&mut self, n: u64, f: impl FnOnce(&mut dyn Backend) -> Result<()>) -> Result<()> {
        if !self.should_time() {
            self.put.record_untimed(n);
            return f(&mut *self.inner);
        }
        let t = Instant::now();
        let r = f(&mut *self.inner);
        self.put.record(n, t.elapsed());
        r
    }

    /// Runs `f`, timing one call in [`SAMPLE_EVERY`].
    fn sampled<R>(&self, metric: &OpMetric, f: impl FnOnce() -> R) -> R {
        if !self.should_time() {
            metric.record_untimed(1);
            return f();
        }
        let t = Instant::now();
        let r = f();
        metric.record(1, t.elapsed());
        r
    }
}

/// Times and counts what it meters; everything else goes straight through.
impl Layer for MeteredBackend {
    fn inner(&self) -> &dyn Backend {
        &*self.inner
    }

    fn inner_mut(&mut self) -> &mut dyn Backend {
        &mut *self.inner
    }

    fn get(&self, key: &[u8]) -> Result<Option<Bytes>> {
        self.sampled(&self.get, || self.inner.get(key))
    }

    fn put(&mut self, key: Bytes, value: Option<Bytes>) -> Result<()> {
        self.sampled_put(1, |inner| inner.put(key, value))
    }

    fn put_key(&mut self, key: &[u8], value: Option<Bytes>) -> Result<()> {
        self.sampled_put(1, |inner| inner.put_key(key, value))
    }

    /// Counts a `get` and a `put`; the sampled timing goes to `put`.
    fn update_key(&mut self, key: &[u8], f: UpdateFn<'_>) -> Result<()> {
        self.get.record_untimed(1);
        self.sampled_put(1, |inner| inner.update_key(key, f))
    }

    /// Counts a `get` and a `put` per key, in one count each.
    fn update_keys(&mut self, keys: &KeyBatch<'_>, f: UpdateManyFn<'_>) -> Result<()> {
        let n = keys.len() as u64;
        self.get.record_untimed(n);
        self.sampled_put(n, |inner| inner.update_keys(keys, f))
    }

    fn put_all(&mut self, entries: Vec<(Bytes, Option<Bytes>)>) -> Result<()> {
        let t = Instant::now();
        let n = entries.len() as u64;
        let r = self.inner.put_all(entries);
        self.put.record(n, t.elapsed());
        r
    }

    fn range(&self, range: &KeyRange, reverse: bool) -> Result<RawIter<'_>> {
        self.sampled(&self.range, || self.inner.range(range, reverse))
    }

    fn flush(&mut self) -> Result<()> {
        let t = Instant::now();
        let r = self.inner.flush();
        let elapsed = t.elapsed();
        self.flush.record(1, elapsed);
        tracing::debug!(store = %self.store, ?elapsed, "flushed store");
        r
    }

    fn commit(&mut self, offset: Option<i64>) -> Result<()> {
        let t = Instant::now();
        let r = self.inner.commit(offset);
        let elapsed = t.elapsed();
        self.flush.record(1, elapsed);
        tracing::debug!(store = %self.store, ?offset, ?elapsed, "committed store");
        r
    }

    fn restore_batch(&mut self, entries: Vec<(Bytes, Option<Bytes>)>, last_offset: i64) -> Result<()> {
        let t = Instant::now();
        let n = entries.len() as u64;
        let r = self.inner.restore_batch(entries, last_offset);
        let elapsed = t.elapsed();
        self.restore.record(n, elapsed);
        tracing::trace!(store = %self.store, records = n, last_offset, ?elapsed, "restored batch");
        r
    }
}
